"""Issue 15 acceptance: every generating call shares one scheduler (slots, FIFO, polling).

Emulator in-process, 3 accounts x maxJobs 4, short fixed job timings, asyncio and
trio. What is checked is what a web service calling ``generate`` from many
handlers relies on: no 429 from its own traffic, never more than maxJobs per
account, each caller its own track, first come first served, and a cancelled
caller releasing its own job only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from pixverse_audio import (
    AsyncClient,
    GenerationResult,
    JobEvent,
    MusicRequest,
    PollPolicy,
    RetryPolicy,
    Track,
)
from pixverse_audio.emulator import Emulator, EmulatorTransport, Timing

pytestmark = pytest.mark.anyio

EMAILS = [f"account{i}@emulator.test" for i in (1, 2, 3)]
POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=1.0)
FAST_RETRY = RetryPolicy(
    max_retries=3, backoff_base=0.01, backoff_cap=0.1, busy_delay=(0.01, 0.1), retry_after_cap=0.1
)
SCHEDULER_PATH = "/v2/pixverse/scheduler/"

MusicResult = GenerationResult[MusicRequest, Track]


class Recording:
    """An ASGI wrapper of the emulator's app that records each request's method and path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], unquote(scope["path"])))
        await self.app(scope, receive, send)

    def released(self) -> list[str]:
        """The job ids of every ``DELETE scheduler/{id}`` that reached the emulator, in order."""
        return [
            path.removeprefix(SCHEDULER_PATH).rstrip("/")
            for method, path in self.seen
            if method == "DELETE" and path.startswith(SCHEDULER_PATH)
        ]


def wired(
    emulator: Emulator, wrap: Callable[[ASGIApp], ASGIApp] | None = None, **kwargs: Any
) -> tuple[AsyncClient, EmulatorTransport]:
    """A client on the emulator in-process (its app optionally wrapped), and its transport."""
    transport = EmulatorTransport(wrap(emulator.app) if wrap else emulator.app)
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", POLL)
    client = AsyncClient(emulator.token, base_url=emulator.base_url, transport=transport, **kwargs)
    return client, transport


def assert_clean(emulator: Emulator, client: AsyncClient, transport: EmulatorTransport) -> None:
    """Nothing left behind: no scheduled job, no slot held, no request in flight."""
    assert emulator.running() == [], [j.audio_id for j in emulator.running()]
    assert set(client._scheduler.pool.held().values()) <= {0}, client._scheduler.pool.held()
    assert len(client._scheduler.tracker) == 0
    assert transport.in_flight == 0


def assert_within_max_jobs(emulator: Emulator, client: AsyncClient) -> None:
    """No account ran more than its maxJobs (the emulator's count and the client's own)."""
    peaks = emulator.stats().peak_running
    assert set(peaks) == set(EMAILS), peaks  # every account was used
    assert all(peak <= 4 for peak in peaks.values()), peaks
    slot_peaks = client._scheduler.pool.peaks()
    assert all(peak <= 4 for peak in slot_peaks.values()), slot_peaks


def caller_of(prompt: str) -> int:
    """``"caller 17"`` -> 17."""
    return int(prompt.rsplit(" ", 1)[1])


# ------------------------------------------------------------------ generate


async def test_50_concurrent_generate_calls_are_served_fifo_without_429() -> None:
    """50 generate() tasks on 3 x maxJobs 4: no 429, <= 4 per account, own track each, FIFO.

    Caller i starts waiting i ms after the first. The emulator records jobs in
    the order their creates arrived: the first 12 creates are the first 12
    callers, and no caller is created more than 11 places away from its place
    in line (grants made at the same poll tick are sent concurrently and may
    arrive in any order among themselves, at most 12 of them).
    """
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.2))
    client, transport = wired(emulator)
    tracks: dict[int, Track] = {}

    arrivals: list[int] = []  # the order the callers called (trio may wake sleepers
    # due at the same tick in any order): nothing awaits between the call and its
    # place in line

    async def caller(i: int) -> None:
        await anyio.sleep(i * 0.001)
        arrivals.append(i)
        tracks[i] = await client.music.generate(f"caller {i}", timeout=10)

    async with client:
        async with anyio.create_task_group() as group:
            for i in range(50):
                group.start_soon(caller, i)
        assert_clean(emulator, client, transport)
        assert client._scheduler.pool.capacity() == 12
    stats = emulator.stats()

    assert sorted(tracks) == list(range(50))  # one result per call
    for i, track in tracks.items():
        assert track.completed
        assert track.prompt == f"caller {i}"  # its own track, not another caller's
        assert emulator.jobs[track.audio_id].prompt == f"caller {i}"
    assert len({t.audio_id for t in tracks.values()}) == 50
    assert stats.jobs == 50
    assert stats.requests["music.create"] == 50
    assert stats.busy == 0, stats.responses
    assert_within_max_jobs(emulator, client)

    place = {caller: position for position, caller in enumerate(arrivals)}
    order = [place[caller_of(job.prompt)] for job in emulator.jobs.values()]
    assert sorted(order[:12]) == list(range(12)), (order, arrivals)
    jumps = {i: position - i for position, i in enumerate(order) if abs(position - i) > 11}
    assert jumps == {}, order  # place in line -> places it moved


async def test_generate_calls_share_the_slots_with_a_running_batch() -> None:
    """generate() calls started while generate_many runs take turns on the same 12 slots."""
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.15))
    client, transport = wired(emulator)
    batch_started = anyio.Event()
    results: list[MusicResult] = []
    tracks: dict[int, Track] = {}
    batch_busy = 0

    def watch(event: JobEvent) -> None:
        if event.kind == "submitted":
            batch_started.set()

    async def batch() -> None:
        nonlocal batch_busy
        requests = [MusicRequest(prompt=f"batch {i}") for i in range(30)]
        async with client.music.generate_many(requests, timeout=10, on_event=watch) as batch:
            async for result in batch:
                results.append(result)
        batch_busy = batch.busy

    async def caller(i: int) -> None:
        await batch_started.wait()
        await anyio.sleep(i * 0.005)
        tracks[i] = await client.music.generate(f"caller {i}", timeout=10)

    async with client:
        async with anyio.create_task_group() as group:
            group.start_soon(batch)
            for i in range(20):
                group.start_soon(caller, i)
        assert_clean(emulator, client, transport)
    stats = emulator.stats()

    assert sorted(r.index for r in results) == list(range(30))
    for result in results:
        assert result.ok, result.error
        assert result.track is not None
        assert result.track.prompt == result.request.prompt
    assert sorted(tracks) == list(range(20))
    assert all(t.completed and t.prompt == f"caller {i}" for i, t in tracks.items())
    assert stats.jobs == 50
    assert stats.requests["music.create"] == 50
    assert stats.busy == 0, stats.responses
    assert batch_busy == 0
    assert_within_max_jobs(emulator, client)
    # shared, not one after the other: single calls ran while batch jobs were still created
    prompts = [job.prompt for job in emulator.jobs.values()]
    first_single = min(i for i, p in enumerate(prompts) if p.startswith("caller"))
    last_batch = max(i for i, p in enumerate(prompts) if p.startswith("batch"))
    assert first_single < last_batch, prompts


async def test_cancelling_one_waiting_caller_releases_exactly_its_job() -> None:
    """A cancel scope around one generate, cancelled while its job runs, releases that job only.

    One DELETE scheduler/{id} reaches the emulator, for the cancelled caller's
    job; every other job stays tracked by useapi.net until it finishes, and
    every other caller (some waiting in line for a slot) gets its track.
    """
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.5))
    recording: Recording | None = None

    def wrap(app: ASGIApp) -> ASGIApp:
        nonlocal recording
        recording = Recording(app)
        return recording

    victim_created = anyio.Event()

    def watch(event: JobEvent) -> None:
        job = emulator.jobs.get(event.job_id or "")
        if event.kind == "submitted" and job is not None and job.prompt == "victim":
            victim_created.set()

    client, transport = wired(emulator, wrap, on_event=watch)
    assert recording is not None
    tracks: dict[int, Track] = {}
    victim_scope = anyio.CancelScope()
    victim_returned = False

    async def caller(i: int) -> None:
        await anyio.sleep(i * 0.002)
        tracks[i] = await client.music.generate(f"caller {i}", timeout=10)

    async def victim() -> None:
        nonlocal victim_returned
        with victim_scope:
            await client.music.generate("victim", timeout=10)
            victim_returned = True

    def victim_job() -> str | None:
        return next((j.audio_id for j in emulator.jobs.values() if j.prompt == "victim"), None)

    async with client:
        async with anyio.create_task_group() as group:
            for i in range(6):
                group.start_soon(caller, i)
            await anyio.sleep(0.02)
            group.start_soon(victim)
            for i in range(6, 16):  # these wait in line behind the victim
                group.start_soon(caller, i)
            with anyio.fail_after(5):
                await victim_created.wait()
            await anyio.sleep(0.1)  # its job runs (0.5 s) and its caller waits
            assert emulator.jobs[victim_job() or ""].tracked
            victim_scope.cancel()
        assert_clean(emulator, client, transport)
    victim_id = victim_job()
    assert victim_id is not None

    assert victim_scope.cancelled_caught
    assert not victim_returned
    assert recording.released() == [victim_id]  # one DELETE, for its job
    assert emulator.stats().requests["scheduler.cancel"] == 1
    assert not emulator.jobs[victim_id].tracked
    others = [job for job in emulator.jobs.values() if job.audio_id != victim_id]
    assert len(others) == 16
    assert all(job.tracked for job in others)  # finished on their own, not released
    assert sorted(tracks) == list(range(16))
    assert all(t.completed and t.prompt == f"caller {i}" for i, t in tracks.items())
    assert emulator.stats().busy == 0
    assert_within_max_jobs(emulator, client)


async def test_a_bare_create_holds_its_slot_until_its_job_is_seen_final() -> None:
    """create() takes a slot and its job keeps it until the client sees the job final.

    The check: 12 creates on 3 x maxJobs 4 fill the pool (4 held per account,
    12 jobs running at the emulator). A 13th create then waits in line: while
    none of the 12 jobs (0.4 s each) can have ended it sends nothing (still 12
    creates at the emulator, no 429). Its waiting drives the polling, which
    sees a job final and frees that slot: the 13th job is created no earlier
    than the first of the 12 ended, by the emulator's own clock. Its slot stays
    held after create() returns, until a wait sees it final.
    """
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.4))
    client, transport = wired(emulator)
    box: dict[str, Any] = {}
    returned = anyio.Event()

    async def thirteenth() -> None:
        box["job"] = await client.music.create("bare 12")
        returned.set()

    async with client:
        jobs = [await client.music.create(f"bare {i}") for i in range(12)]
        pool = client._scheduler.pool
        assert pool.held() == dict.fromkeys(EMAILS, 4)
        assert len(emulator.running()) == 12
        async with anyio.create_task_group() as group:
            group.start_soon(thirteenth)
            await anyio.sleep(0.1)
            assert not returned.is_set()  # no slot is free
            assert emulator.stats().requests["music.create"] == 12
            assert emulator.stats().jobs == 12
        late = emulator.jobs[box["job"].audio_id]
        first_end = min(emulator.jobs[job.audio_id].finished for job in jobs)
        assert late.created >= first_end
        assert pool.held()[late.email] >= 1  # the 13th job holds its slot once created
        assert sum(pool.held().values()) >= 1
        for job in [*jobs, box["job"]]:
            track = await client.music.wait(job, timeout=10)
            assert track.completed
        assert_clean(emulator, client, transport)
    stats = emulator.stats()
    assert stats.jobs == 13
    assert stats.busy == 0, stats.responses
    assert all(peak <= 4 for peak in stats.peak_running.values()), stats.peak_running
