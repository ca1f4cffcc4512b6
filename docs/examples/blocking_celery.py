"""A Celery task generating a voice-over: one blocking Client per worker process."""

from __future__ import annotations

import functools
from pathlib import Path

from celery import Celery

from pixverse_audio import Client

app = Celery("voiceovers")  # configure your broker as usual


# --8<-- [start:task]
@functools.cache
def pixverse() -> Client:
    """The worker process's client, made on first use: after the fork, never before it."""
    return Client()


@app.task  # no autoretry_for: a task sent again would pay for a second job
def voice_over(text: str, voice_id: str, out_dir: str) -> str:
    clip = pixverse().speech.generate(text, voice_id, timeout=300)
    return str(pixverse().download(clip, Path(out_dir), overwrite=True))


# --8<-- [end:task]

if __name__ == "__main__":
    app.conf.task_always_eager = True  # run in this process, no broker, to try it out
    voices = pixverse().speech.voices()
    print(voice_over.delay("Welcome to the store.", next(voices).voice_id, ".").get())
    voices.close()
    pixverse().close()
