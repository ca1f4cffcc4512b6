"""Every public method of AsyncClient against the in-process emulator, on asyncio and trio."""

from __future__ import annotations

import io
from pathlib import Path

import anyio
import pytest
from mutagen.mp3 import MP3

from pixverse_audio import (
    AudioStatus,
    Job,
    MinimaxStatus,
    NotFoundError,
    SpeechClip,
    Track,
)
from pixverse_audio._cli import main as cli_main
from pixverse_audio.emulator import Emulator, ManualClock, Timing

pytestmark = pytest.mark.anyio

EMAIL = "account1@emulator.test"


async def wait_final(get, job_id: str, clock: ManualClock) -> Track | SpeechClip:  # type: ignore[no-untyped-def]
    """Advance the manual clock a second at a time until the job is final."""
    for _ in range(200):
        item = await get(job_id)
        if item.final:
            return item
        clock.advance(1.0)
    raise AssertionError(f"{job_id} never became final")


async def test_whole_public_api_end_to_end(tmp_path: Path) -> None:
    """create -> poll -> COMPLETED -> media decodes, and every other endpoint answers."""
    clock = ManualClock()
    emulator = Emulator(
        accounts=1,
        max_jobs=2,
        clock=clock,
        music_timing=Timing(queued=(1, 1), generating=(5, 5), audio=(4, 4)),
        speech_timing=Timing(queued=(1, 1), generating=(2, 2), audio=(1, 30)),
    )
    async with emulator.client() as client, emulator.http_client() as media:
        # music: create, poll to COMPLETED, list
        job = await client.music.create("lofi beats", instrumental=True, reply_ref="ref-1")
        assert job.status is AudioStatus.QUEUED
        assert job.email == EMAIL
        track = await wait_final(client.music.get, job.audio_id, clock)
        assert isinstance(track, Track)
        assert track.completed
        assert track.prompt == "lofi beats"
        assert track.created_at is not None
        assert track.created_at.tzinfo is not None
        page = await client.music.list_page(limit=10)
        assert [t.audio_id for t in page.items] == [job.audio_id]
        assert [t.audio_id async for t in client.music.list(page_size=1)] == [job.audio_id]

        # the finished MP3, fetched without the API token, decodes to the reported length
        assert track.url is not None
        answer = await media.get(track.url)
        assert answer.status_code == 200
        assert "authorization" not in emulator.media_requests[-1]
        length = MP3(io.BytesIO(answer.content)).info.length
        assert track.duration is not None
        assert abs(length - track.duration) <= 0.05 * track.duration
        assert track.file_size == len(answer.content)

        # speech: models, voices, create, poll, list
        models = await client.speech.models()
        hd = models.get("speech-2.8-hd")
        assert hd is not None
        assert hd.max_characters == 10_000
        voices = [v async for v in client.speech.voices(page_size=25)]
        assert len(voices) == 60
        assert len({v.voice_id for v in voices}) == 60
        first = await client.speech.voices_page(limit=5)
        assert [v.voice_id for v in first.items] == [v.voice_id for v in voices[:5]]
        assert first.has_more
        clip_job = await client.speech.create(
            "Hello from the emulator.", voices[0].voice_id, language_code="en", emotion="calm"
        )
        clip = await wait_final(client.speech.get, clip_job.audio_id, clock)
        assert isinstance(clip, SpeechClip)
        assert clip.completed
        assert clip.text == "Hello from the emulator."
        assert clip.voice_id == voices[0].voice_id
        assert [c.audio_id async for c in client.speech.list()] == [clip_job.audio_id]
        assert (await client.speech.list_page()).items[0].language_code == "en"
        # the music list leaves the speech clip out although the endpoint returns it
        assert [t.audio_id async for t in client.music.list()] == [job.audio_id]

        # scheduler: running jobs, free slots, release
        running = await client.music.create("second", max_jobs=2)
        third = await client.music.create("third", max_jobs=2)
        scheduled = await client.scheduler.list()
        assert {j.id for j in scheduled} == {running.audio_id, third.audio_id}
        available = await client.scheduler.available()
        entry = available.for_email(EMAIL)
        assert entry is not None
        assert (entry.executing, entry.available) == (2, 0)
        # a create beyond maxJobs is not sent: it waits in line for a slot,
        # which releasing a job from the scheduler frees
        created = emulator.stats().requests["music.create"]
        box: dict[str, Job] = {}

        async def create_fourth() -> None:
            box["fourth"] = await client.music.create("fourth", email=EMAIL)

        async with anyio.create_task_group() as group:
            group.start_soon(create_fourth)
            await anyio.wait_all_tasks_blocked()
            assert box == {}
            assert emulator.stats().requests["music.create"] == created
            assert await client.scheduler.cancel(running) is True
        assert await client.scheduler.cancel(running) is False
        fourth = box["fourth"]
        assert fourth.email == EMAIL
        assert emulator.stats().requests["music.create"] == created + 1

        # files: bytes and a path
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        uploaded = await client.files.upload(png)
        assert uploaded.path.startswith("upload/")
        assert uploaded.size == len(png)
        wav = tmp_path / "voice.wav"
        wav.write_bytes(b"RIFF\0\0\0\0WAVEfmt " + b"\0" * 100)
        audio = await client.files.upload(wav)
        assert audio.path.endswith(".wav")
        assert emulator.state.uploads[audio.path] == wav.stat().st_size

        # accounts
        accounts = await client.accounts.list()
        assert [(a.email, a.max_jobs) for a in accounts] == [(EMAIL, 2)]
        assert (await client.accounts.get(EMAIL)).max_jobs == 2
        with pytest.raises(NotFoundError):
            await client.accounts.get("nobody@emulator.test")

        # legacy MiniMax v1: cursor pages, moderated songs only by id
        songs = [s async for s in client.minimax.music.list(page_size=7)]
        assert len(songs) == 39  # 45 songs, 6 moderated left out
        assert len({s.music_id for s in songs}) == 39
        assert all(s.status != MinimaxStatus.MODERATED for s in songs)
        moderated = next(s for s in emulator.state.minimax if s["status"] == 4)
        song = await client.minimax.music.get(moderated["musicId"])
        assert song.status is MinimaxStatus.MODERATED
        assert song.final
        assert len(await client.minimax.music.list_page(limit=5)) == 5

    stats = emulator.stats()
    assert stats.creates == {EMAIL: 5}
    assert stats.busy == 0  # the client never sent a create beyond maxJobs
    assert stats.peak_running[EMAIL] == 2


async def test_fast_emulator_finishes_in_real_time() -> None:
    """Emulator.fast jobs complete within a second of real time."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        job = await client.music.create("quick")
        with anyio.fail_after(5):
            for _ in range(100):  # polling is the API's contract: no event to wait on
                track = await client.music.get(job)
                if track.final:
                    break
                await anyio.sleep(0.05)
    assert track.completed


def test_console_script_dispatches_to_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """`pixverse-audio emulator --help` prints the emulator's options; unknown commands exit 2."""
    assert cli_main(["emulator", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("Usage: pixverse-audio emulator [OPTIONS]")
    assert "--max-jobs INTEGER" in help_text
    assert "[default: 4]" in help_text
    assert cli_main(["nonsense"]) == 2
    assert "No such command 'nonsense'" in capsys.readouterr().err
    assert cli_main([]) == 2
