"""Leaving a batch early (cancel, break, deadline) releases every job, slot and request."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from pixverse_audio import (
    AsyncClient,
    GenerationResult,
    JobEvent,
    MusicRequest,
    PollPolicy,
    RetryPolicy,
    Track,
    WaitTimeoutError,
)
from pixverse_audio.emulator import Emulator, EmulatorTransport, Timing

pytestmark = pytest.mark.anyio

POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=1.0)
FAST_RETRY = RetryPolicy(
    max_retries=3, backoff_base=0.01, backoff_cap=0.1, busy_delay=(0.01, 0.1), retry_after_cap=0.1
)
SETTLE = 0.1  # long enough for a leaked worker to send another create

MusicResult = GenerationResult[MusicRequest, Track]


def wired(emulator: Emulator, **kwargs: Any) -> tuple[AsyncClient, EmulatorTransport]:
    """A client on the emulator in-process, and its transport (for the in-flight counters)."""
    transport = emulator.transport()
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", POLL)
    client = AsyncClient(emulator.token, base_url=emulator.base_url, transport=transport, **kwargs)
    return client, transport


def prompts(n: int) -> list[MusicRequest]:
    """``n`` music requests with distinct prompts."""
    return [MusicRequest(prompt=f"track {i}") for i in range(n)]


async def assert_stopped(
    emulator: Emulator, client: AsyncClient, transport: EmulatorTransport
) -> None:
    """Nothing runs, nothing is held, nothing is in flight, and no create comes later."""
    assert emulator.running() == [], [j.audio_id for j in emulator.running()]
    assert client._scheduler.pool is not None
    assert set(client._scheduler.pool.held().values()) <= {0}, client._scheduler.pool.held()
    assert transport.in_flight == 0
    jobs = emulator.stats().jobs
    creates = emulator.stats().requests.get("music.create", 0)
    await anyio.sleep(SETTLE)
    assert emulator.stats().jobs == jobs
    assert emulator.stats().requests.get("music.create", 0) == creates
    assert transport.in_flight == 0


def assert_every_running_job_released(emulator: Emulator, events: list[JobEvent]) -> None:
    """Every job the batch left running got a DELETE scheduler and exactly one "released" event.

    A job that turned final just before the cancel may still get a DELETE (it
    answers 404), but no "released" event: the event means a slot was freed.
    """
    released = [e.job_id for e in events if e.kind == "released"]
    untracked = {job_id for job_id, job in emulator.jobs.items() if not job.tracked}
    assert set(released) == untracked
    assert len(released) == len(set(released))
    assert emulator.stats().requests.get("scheduler.cancel", 0) >= len(released)


async def test_move_on_after_around_the_batch_releases_everything() -> None:
    """A deadline around `async with` mid-batch releases every running job and stops creating."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.5))
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    received: list[MusicResult] = []
    async with client:
        with anyio.move_on_after(0.3) as scope:
            async with client.music.generate_many(
                prompts(40), timeout=10, on_event=events.append
            ) as results:
                async for result in results:
                    received.append(result)
        assert scope.cancelled_caught
        await assert_stopped(emulator, client, transport)
    assert received == []  # no job could finish in time
    stats = emulator.stats()
    assert stats.jobs == 12  # one per slot, nothing after the cancel
    assert stats.requests["scheduler.cancel"] == 12
    assert all(not job.tracked for job in emulator.jobs.values())
    assert_every_running_job_released(emulator, events)


async def test_cancelling_the_enclosing_task_group_releases_everything() -> None:
    """Cancelling the task that runs a batch releases its jobs like a deadline does."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.5))
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    submitted = anyio.Event()

    def watch(event: JobEvent) -> None:
        events.append(event)
        if event.kind == "submitted":
            submitted.set()

    async def consume() -> None:
        async with client.music.generate_many(prompts(30), timeout=10, on_event=watch) as batch:
            async for _ in batch:
                pass

    async with client:
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await submitted.wait()
            await anyio.sleep(0.05)
            group.cancel_scope.cancel()
        await assert_stopped(emulator, client, transport)
    assert emulator.stats().jobs >= 1
    assert_every_running_job_released(emulator, events)


async def test_break_after_a_few_results_releases_the_rest() -> None:
    """Breaking out of the loop after three results stops the batch and releases its jobs."""
    emulator = Emulator(
        accounts=3,
        max_jobs=4,
        seed=3,
        music_timing=Timing(queued=(0, 0.02), generating=(0.1, 0.6), audio=(3, 3)),
    )
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    received: list[MusicResult] = []
    async with client:
        async with client.music.generate_many(
            prompts(40), timeout=10, on_event=events.append
        ) as results:
            async for result in results:
                received.append(result)
                if len(received) == 3:
                    break
        await assert_stopped(emulator, client, transport)
    assert len(received) == 3
    assert all(r.ok for r in received)
    assert emulator.stats().jobs < 40
    assert_every_running_job_released(emulator, events)
    assert any(e.kind == "released" for e in events)


async def test_the_client_is_whole_after_a_cancelled_batch() -> None:
    """After a cancelled batch the same client runs a new batch on every slot."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.2))
    client, transport = wired(emulator)
    async with client:
        with anyio.move_on_after(0.1):
            async with client.music.generate_many(prompts(30), timeout=10) as results:
                async for _ in results:
                    pass
        await assert_stopped(emulator, client, transport)
        before = emulator.stats().jobs
        async with client.music.generate_many(prompts(12), timeout=10) as results:
            again = [r async for r in results]
        await assert_stopped(emulator, client, transport)
    assert sorted(r.index for r in again) == list(range(12))
    assert all(r.ok for r in again)
    assert emulator.stats().jobs == before + 12
    assert client._scheduler.pool is not None
    assert client._scheduler.pool.capacity() == 12


async def test_deadline_inside_a_batch_gives_timeout_results() -> None:
    """Jobs slower than the batch timeout end as WaitTimeoutError results, released."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(2.0))
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    async with client:
        async with client.music.generate_many(
            prompts(6), timeout=0.2, on_event=events.append
        ) as results:
            got = [r async for r in results]
        await assert_stopped(emulator, client, transport)
    assert sorted(r.index for r in got) == list(range(6))
    for result in got:
        assert isinstance(result.error, WaitTimeoutError)
        assert result.attempts == 1
        assert result.error.audio_id == result.job_ids[0]
    assert emulator.stats().jobs == 6  # a timeout is not retried
    assert emulator.stats().requests["scheduler.cancel"] == 6
    assert_every_running_job_released(emulator, events)


async def test_deadline_without_cancel_on_timeout_keeps_the_jobs() -> None:
    """cancel_on_timeout=False: timeout results, but the jobs keep running on the server."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(2.0))
    client, transport = wired(emulator)
    async with client:
        async with client.music.generate_many(
            prompts(3), timeout=0.2, cancel_on_timeout=False
        ) as results:
            got = [r async for r in results]
        assert client._scheduler.pool is not None
        assert set(client._scheduler.pool.held().values()) == {0}
        assert transport.in_flight == 0
    assert all(isinstance(r.error, WaitTimeoutError) for r in got)
    assert len(emulator.running()) == 3
    assert "scheduler.cancel" not in emulator.stats().requests


async def test_cancel_while_reconciling_a_lost_create_releases_its_job() -> None:
    """A cancel arriving while a lost create is being looked up still releases that job."""
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(2.0))
    emulator.faults.drop("music.create", after=True)  # the job exists, its answer is lost
    emulator.faults.slow("music.list", 0.3)  # the lookup is under way at the cancel
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    async with client:
        with anyio.move_on_after(0.1):
            async with client.music.generate_many(
                prompts(1), timeout=10, on_event=events.append
            ) as results:
                async for _ in results:
                    pass
        assert [e.kind for e in events][:1] == ["unknown"]
        await assert_stopped(emulator, client, transport)
    assert emulator.stats().jobs == 1
    assert emulator.stats().requests.get("scheduler.cancel", 0) == 1


@pytest.mark.parametrize("seed", range(10))
async def test_cancel_at_a_random_point(seed: int) -> None:
    """Cancelling (deadline or break) at a seeded random point always leaves a clean state."""
    rng = random.Random(seed)
    emulator = Emulator(
        accounts=3,
        max_jobs=4,
        seed=seed,
        music_timing=Timing(queued=(0, 0.05), generating=(0.05, 0.2), audio=(3, 3)),
    )
    client, transport = wired(emulator)
    events: list[JobEvent] = []
    received: list[MusicResult] = []
    by_time = seed % 2 == 0
    delay = rng.uniform(0, 0.25)
    stop_after = rng.randint(1, 6)
    async with client:
        with anyio.move_on_after(delay if by_time else 10):
            async with client.music.generate_many(
                prompts(30), timeout=10, on_event=events.append
            ) as results:
                async for result in results:
                    received.append(result)
                    if not by_time and len(received) == stop_after:
                        break
        await assert_stopped(emulator, client, transport)
    assert len({r.index for r in received}) == len(received)
    assert all(r.ok for r in received)
    done = {r.job_ids[-1] for r in received}
    assert done <= set(emulator.jobs)
    assert_every_running_job_released(emulator, events)
    assert all(job.tracked for job_id, job in emulator.jobs.items() if job_id in done)
