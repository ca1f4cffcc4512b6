"""Typing smoke test of the blocking `Client`: mypy --strict checks this file; pytest never runs it.

The blocking methods take their parameters from the async ones, so the same
mistakes are type errors here (the ``type: ignore`` comments must be needed:
``--strict`` reports an unused one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pixverse_audio import (
    Client,
    GenerationResult,
    Job,
    MusicRequest,
    SpeechClip,
    SyncBatch,
    Track,
    Voice,
)


def script(prompts: list[str]) -> list[Path]:
    with Client(backend="trio") as client:
        job: Job = client.music.create("lo-fi", instrumental=True)
        track: Track = client.music.wait(job, timeout=300)
        clip: SpeechClip = client.speech.generate("Hello.", "voice-1", speed=1.1)
        voices: Iterator[Voice] = client.speech.voices(language="en")
        tracks: Iterator[Track] = client.music.list(page_size=20)
        paths = [client.download(track, ".")]
        batch: SyncBatch[MusicRequest, Track] = client.music.generate_many(
            [MusicRequest(prompt=p) for p in prompts]
        )
        with batch as results:
            for result in results:
                done: GenerationResult[MusicRequest, Track] = result
                if done.track is not None:
                    paths.append(client.download(done.track, "."))
        with client.stream_audio(track) as audio:
            size = sum(len(chunk) for chunk in audio)
        fast = client.with_options(timeout=5).music.get(track.audio_id)
        del clip, voices, tracks, size, fast
        client.music.generate("x", modle="music-2.6")  # type: ignore[call-arg]
        client.music.create("x", instrumental="yes")  # type: ignore[arg-type]
        client.speech.create("Hi.")  # type: ignore[call-arg]
        wrong: SpeechClip = client.music.generate("x")  # type: ignore[assignment]
        del wrong
        return paths
