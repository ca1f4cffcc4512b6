"""Typing smoke test: mypy --strict checks this file; pytest never runs it.

It uses the public API the way an application would, so a change that breaks
users' type checking fails CI.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import anyio

import pixverse_audio
from pixverse_audio import (
    Account,
    AsyncClient,
    AudioStatus,
    Availability,
    BusyError,
    Job,
    JobEvent,
    LimiterError,
    MinimaxSong,
    MusicRequest,
    OutcomeUnknownError,
    Page,
    PixverseAudioError,
    PollPolicy,
    RedisLimiter,
    RetryPolicy,
    ScheduledJob,
    SlotUsage,
    SpeechClip,
    SpeechModels,
    SpeechRequest,
    Track,
    UploadedFile,
    Voice,
    parse_callback,
)


async def use_everything(client: AsyncClient) -> None:
    job: Job = await client.music.create(
        "upbeat synthwave",
        model="music-2.6",
        instrumental=True,
        reply_url="https://example.com/hook",
        reply_ref="order-1",
        max_jobs=2,
    )
    track: Track = await client.music.get(job.audio_id)
    again: Track = await client.music.get(track)
    status: AudioStatus | int | None = again.status
    done: bool = again.final and again.completed
    created: datetime | None = track.created_at
    email: str | None = track.email
    page: Page[Track] = await client.music.list_page(limit=10, offset=0)
    tracks: tuple[Track, ...] = page.items
    more: bool = page.has_more
    async for item in client.music.list(page_size=20):
        duration: float | None = item.duration

    clip_job: Job = await client.speech.create("Hello", "voice-1", speed=1.0, emotion="calm")
    clip: SpeechClip = await client.speech.get(clip_job)
    text: str | None = clip.text
    async for listed in client.speech.list():
        language: str | None = listed.language_code
    async for voice in client.speech.voices(model="eleven-v3"):
        voice_id: str = voice.voice_id
    voices: Page[Voice] = await client.speech.voices_page()
    models: SpeechModels = await client.speech.models()
    hd = models.get("speech-2.8-hd")
    limit: int | None = hd.max_characters if hd else None

    async for song in client.minimax.music.list(account="acct"):
        final: bool = song.final
    songs: list[MinimaxSong] = await client.minimax.music.list_page(limit=5)
    song_one: MinimaxSong = await client.minimax.music.get("id")

    running: list[ScheduledJob] = await client.scheduler.list()
    available: Availability = await client.scheduler.available()
    removed: bool = await client.scheduler.cancel(job)
    uploaded: UploadedFile = await client.files.upload(b"\x89PNG\r\n\x1a\n", email="a@b.c")
    path: str = uploaded.path
    accounts: list[Account] = await client.accounts.list()
    account: Account = await client.accounts.get("a@b.c")
    max_jobs: int | None = account.max_jobs

    del status, done, created, email, tracks, more, duration, text, voice_id, voices, language
    del limit, final, songs, song_one, running, available, removed, path, accounts, max_jobs


async def engine(client: AsyncClient) -> None:
    track: Track = await client.music.generate("p", timeout=600, model="music-v1")
    again: Track = await client.music.wait(track.audio_id, timeout=math.inf)
    clip: SpeechClip = await client.speech.generate("Hi", "voice-1", timeout=60)
    requests = [MusicRequest(prompt="a"), MusicRequest(prompt="b", email="a@b.c", max_jobs=2)]
    events: list[JobEvent] = []
    async with client.music.generate_many(
        requests, timeout=900, max_attempts=3, on_event=events.append
    ) as results:
        async for result in results:
            request: MusicRequest = result.request
            done: Track | None = result.track
            error: PixverseAudioError | None = result.error
            attempts: int = result.attempts
            del request, done, error, attempts
    speech_requests = (SpeechRequest(text="t", voice_id="v") for _ in range(3))
    async with client.speech.generate_many(speech_requests) as clips:
        async for speech_result in clips:
            spoken: SpeechClip | None = speech_result.track
            del spoken
    path: Path = await client.download(track, ".", overwrite=True, progress=lambda n, t: None)
    async with client.stream_audio(clip) as audio:
        async for chunk in audio:
            size: int = len(chunk)
            del size
    parsed: Track | SpeechClip = parse_callback(b"{}")
    confirmed: Track = await client.music.confirm(track)
    del again, path, parsed, confirmed
    policy = PollPolicy(first=1.0, cap=10.0)
    async with AsyncClient("t", max_jobs={"a@b.c": 2}, poll=policy.scaled(60)) as other:
        del other


async def errors() -> None:
    policy = RetryPolicy(max_retries=5, busy_delay=(10.0, 30.0))
    async with AsyncClient("token", retry=policy, timeout=30.0) as client:
        try:
            await use_everything(client)
        except BusyError as exc:
            wait: float | None = exc.retry_after
            del wait
        except OutcomeUnknownError as exc:
            endpoint: str = exc.endpoint
            del endpoint
        except PixverseAudioError:
            raise


async def shared() -> None:
    limiter = RedisLimiter("redis://cache:6379/0", namespace="svc", lease_ttl=30.0, poll=2.0)
    async with AsyncClient("token", limiter=limiter) as client:
        await limiter.set_capacity({"a@b.c": 3})
        usage: dict[str, SlotUsage] = await limiter.usage()
        held: int = usage["a@b.c"].held + usage["a@b.c"].max_jobs + limiter.round_trips
        del held
        try:
            async with client.music.generate_many([MusicRequest(prompt="x")]) as results:
                async for result in results:
                    del result
        except LimiterError as exc:
            message: str = str(exc)
            del message


version: str = pixverse_audio.__version__

if __name__ == "__main__":
    anyio.run(errors)


async def typed_arguments(client: AsyncClient) -> None:
    """The create and generate arguments are typed: a misspelt or mistyped one is an error.

    ``warn_unused_ignores`` (on under ``--strict``) fails this file if any of
    these lines stopped being an error.
    """
    track: Track = await client.music.generate("x", model="music-2.6", timeout=60)
    clip: SpeechClip = await client.speech.generate("Hi.", "voice", speed=1.0)
    job: Job = await client.music.create("x", instrumental=True)
    await client.music.generate("x", modle="music-2.6")  # type: ignore[call-arg]
    await client.music.create("x", instrumental="yes")  # type: ignore[arg-type]
    await client.speech.create("Hi.")  # type: ignore[call-arg]
    bad: SpeechClip = await client.music.generate("x")  # type: ignore[assignment]
    del track, clip, job, bad
