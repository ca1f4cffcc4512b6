"""Deadlines: a job that never finishes, or a server that stops answering, never outlasts a wait.

Every wait here has a small real deadline; ``anyio.fail_after`` around it is a
generous bound that only a hang would reach. After the deadline the job is
removed from the scheduler (its slot is free again) and the error names it.
"""

from __future__ import annotations

import logging

import anyio
import pytest

from pixverse_audio import JobEvent, RetryPolicy, WaitTimeoutError
from pixverse_audio.emulator import Emulator, Fault, Timing
from reliability._support import MusicResult, assert_clean, prompts, wired

pytestmark = pytest.mark.anyio

NEVER = Timing.fixed(10**9)  # a job that would take 30 years
QUICK = Timing.fixed(0.1)
BOUND = 10  # seconds: only a hang gets there


async def test_wait_for_a_job_that_never_finishes_raises_and_releases_it() -> None:
    """wait(timeout=0.2) on an endless job raises WaitTimeoutError with .audio_id and frees it."""
    emulator = Emulator(music_timing=NEVER)
    client, transport = wired(emulator)
    async with client:
        job = await client.music.create("an endless drone")
        assert [j.audio_id for j in emulator.running()] == [job.audio_id]
        with anyio.fail_after(BOUND), pytest.raises(WaitTimeoutError) as caught:
            await client.music.wait(job, timeout=0.2)
        assert transport.in_flight == 0
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.audio_id == job.audio_id
    assert job.audio_id in str(caught.value)
    assert emulator.running() == []
    assert not emulator.jobs[job.audio_id].tracked
    assert emulator.stats().requests["scheduler.cancel"] == 1


async def test_deadline_holds_while_status_reads_hang() -> None:
    """A server holding every status read for 30 s cannot stretch wait(timeout=0.3)."""
    emulator = Emulator(music_timing=NEVER)
    emulator.faults.add("music.list", Fault("delay", seconds=30))
    client, transport = wired(emulator, timeout=60)
    async with client:
        job = await client.music.create("a stalled server")
        with anyio.fail_after(BOUND), pytest.raises(WaitTimeoutError) as caught:
            await client.music.wait(job, timeout=0.3)
        assert transport.in_flight == 0  # the hanging GET was abandoned, not left behind
    assert caught.value.audio_id == job.audio_id
    assert emulator.stats().requests.get("music.list", 0) >= 1  # status comes from the list
    assert emulator.running() == []


async def test_a_hanging_release_is_bounded_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """When DELETE scheduler hangs, the wait still raises soon and a warning names the job."""
    emulator = Emulator(music_timing=NEVER)
    emulator.faults.add("scheduler.cancel", Fault("delay", seconds=30))
    retry = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_cap=0.01)
    client, transport = wired(emulator, timeout=0.2, retry=retry)
    async with client:
        job = await client.music.create("a release that never answers")
        with anyio.fail_after(BOUND), pytest.raises(WaitTimeoutError) as caught:
            await client.music.wait(job, timeout=0.2)
        assert transport.in_flight == 0
    assert caught.value.audio_id == job.audio_id
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("could not release" in m and job.audio_id in m for m in warnings), warnings
    # The emulator acts on a request before holding its answer: the slot is free
    # although the client never heard so.
    assert emulator.running() == []


async def test_batch_jobs_that_never_finish_become_timeout_results() -> None:
    """In generate_many an endless job ends as a WaitTimeoutError result naming its job, freed."""
    emulator = Emulator(accounts=2, max_jobs=2, music_timing=NEVER)
    client, transport = wired(emulator)
    async with client:
        with anyio.fail_after(BOUND):
            async with client.music.generate_many(prompts(6), timeout=0.2) as batch:
                results: list[MusicResult] = [r async for r in batch]
        assert_clean(emulator, client, transport)
    assert sorted(r.index for r in results) == list(range(6))
    for result in results:
        assert isinstance(result.error, WaitTimeoutError), repr(result.error)
        assert result.track is None
        assert result.attempts == 1
        assert result.error.audio_id in result.job_ids
    assert emulator.stats().jobs == 6  # a timeout is never retried with a new paid job
    assert all(not job.tracked for job in emulator.jobs.values())


async def test_a_stuck_job_times_out_alone_while_the_others_complete() -> None:
    """Two jobs that never finish time out; every other job of the batch completes normally."""
    emulator = Emulator(accounts=3, max_jobs=2, music_timing=QUICK)
    stuck = {0, 3}

    def freeze(event: JobEvent) -> None:
        if event.kind == "submitted" and event.index in stuck:
            assert event.job_id is not None
            emulator.jobs[event.job_id].finished = 10.0**9  # it never leaves GENERATING

    client, transport = wired(emulator)
    async with client:
        with anyio.fail_after(BOUND):
            async with client.music.generate_many(prompts(10), timeout=0.6, on_event=freeze) as b:
                results: list[MusicResult] = [r async for r in b]
        assert_clean(emulator, client, transport)
    assert sorted(r.index for r in results) == list(range(10))
    timed_out = {r.index for r in results if isinstance(r.error, WaitTimeoutError)}
    assert timed_out == stuck
    assert all(r.ok for r in results if r.index not in stuck)
    for result in results:
        if result.index in stuck:
            assert isinstance(result.error, WaitTimeoutError)
            assert result.job_ids == (result.error.audio_id,)
            assert not emulator.jobs[result.error.audio_id].tracked


async def test_batch_deadline_holds_while_every_status_read_hangs() -> None:
    """With list and GET answers held for 30 s, a batch with timeout=0.3 still ends, released."""
    emulator = Emulator(accounts=1, max_jobs=3, music_timing=NEVER)
    emulator.faults.add("music.list", Fault("delay", seconds=30))
    emulator.faults.add("music.list", Fault("delay", seconds=30))
    client, transport = wired(emulator, timeout=60)
    async with client:
        with anyio.fail_after(BOUND):
            async with client.music.generate_many(prompts(3), timeout=0.3) as batch:
                results: list[MusicResult] = [r async for r in batch]
        assert_clean(emulator, client, transport)
    assert sorted(r.index for r in results) == [0, 1, 2]
    for result in results:
        assert isinstance(result.error, WaitTimeoutError)
        assert result.error.audio_id == result.job_ids[0]
    assert emulator.stats().requests["scheduler.cancel"] == 3
