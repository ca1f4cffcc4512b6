"""Issue 15, correctness under faults: the scheduler's promises when answers are lost.

Emulator in-process with fault injection, asyncio and trio: repeated prompts
under dropped create answers, a rerun right after a batch, jobs that vanish,
a release that gets no answer, and a deadline around a create that hangs.
Times are only ever used as upper bounds on a hang, never to assert speed.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import anyio
import attrs
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from pixverse_audio import (
    AsyncClient,
    GenerationResult,
    JobEvent,
    MusicRequest,
    NotFoundError,
    OutcomeUnknownError,
    PollPolicy,
    RetryPolicy,
    Track,
    WaitTimeoutError,
    _reconcile,
    _scheduler,
)
from pixverse_audio.emulator import Emulator, EmulatorTransport, Fault, Timing

pytestmark = pytest.mark.anyio

POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=1.0)
FAST_RETRY = RetryPolicy(
    max_retries=3, backoff_base=0.01, backoff_cap=0.1, busy_delay=(0.01, 0.1), retry_after_cap=0.1
)
SCHEDULER_PATH = "/v2/pixverse/scheduler/"
CREATE_PATH = "/v2/pixverse/music/create"
CLEANUP = 0.6  # the cleanup budget the tests set (CLEANUP_SECONDS)
MARGIN = 1.0  # slack on every upper bound of a hang

MusicResult = GenerationResult[MusicRequest, Track]


class Gate:
    """An ASGI wrapper of the emulator's app: records requests; can hold some back first.

    ``hold(method, path, seen_before)`` gives the seconds a request is held
    before the emulator sees it (``math.inf``: it never gets an answer), or
    ``None``; ``seen_before`` counts earlier requests with that method and
    path. A held request has not been acted on: the in-process transport's
    read timeout cancels it before it reaches the emulator.
    """

    def __init__(
        self, app: ASGIApp, hold: Callable[[str, str, int], float | None] | None = None
    ) -> None:
        self.app = app
        self.hold = hold
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = (scope["method"], unquote(scope["path"]).rstrip("/"))
            before = self.seen.count(key)
            self.seen.append(key)
            seconds = self.hold(*key, before) if self.hold else None
            if seconds is not None:
                await anyio.sleep(seconds)  # math.inf: until the client gives up
        await self.app(scope, receive, send)

    def deletes(self) -> Counter[str]:
        """``DELETE scheduler/{id}`` requests sent, per job id (held ones included)."""
        return Counter(
            path.removeprefix(SCHEDULER_PATH)
            for method, path in self.seen
            if method == "DELETE" and path.startswith(SCHEDULER_PATH)
        )


def wired(
    emulator: Emulator,
    hold: Callable[[str, str, int], float | None] | None = None,
    **kwargs: Any,
) -> tuple[AsyncClient, EmulatorTransport, Gate]:
    """A client on the emulator in-process through a `Gate`, its transport and the gate."""
    gate = Gate(emulator.app, hold)
    transport = EmulatorTransport(gate)
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", POLL)
    client = AsyncClient(emulator.token, base_url=emulator.base_url, transport=transport, **kwargs)
    return client, transport, gate


async def run(
    client: AsyncClient, requests: list[MusicRequest], **kwargs: Any
) -> list[MusicResult]:
    """Run a music batch to the end; its results."""
    kwargs.setdefault("timeout", 10)
    async with client.music.generate_many(requests, **kwargs) as results:
        return [result async for result in results]


def assert_slots_free(client: AsyncClient, transport: EmulatorTransport) -> None:
    """Every slot given back, nothing tracked, no request in flight."""
    held = client._scheduler.pool.held()
    assert set(held.values()) <= {0}, held
    assert len(client._scheduler.tracker) == 0
    assert transport.in_flight == 0


def assert_accounted_for(
    results: list[MusicResult], paid: set[str], *, no_job_made: bool = False
) -> set[str]:
    """One result per request, no job in two results, every paid job in some result.

    A job is in a result as its track or among an `OutcomeUnknownError`'s
    candidates; such an error is allowed only where the candidates could not
    be told apart (two or more of them, none handed to another request), or,
    with ``no_job_made`` (creates dropped before the server acted), with no
    candidate at all. Returns the ids handed to requests as their tracks.
    """
    assert sorted(r.index for r in results) == list(range(len(results)))
    handed = [r.track.audio_id for r in results if r.track is not None]
    assert len(handed) == len(set(handed)), Counter(handed).most_common(3)
    owned = [job_id for r in results for job_id in r.job_ids]
    assert len(owned) == len(set(owned)), Counter(owned).most_common(3)
    candidates: set[str] = set()
    for result in results:
        if result.ok:
            assert result.track is not None
            assert result.track.completed
            assert result.track.prompt == result.request.prompt
            assert result.job_ids == (result.track.audio_id,)
            continue
        error = result.error
        assert isinstance(error, OutcomeUnknownError), repr(error)
        if not (no_job_made and error.candidates == ()):
            assert len(error.candidates) >= 2, (error, error.candidates)
        assert result.job_ids == ()
        candidates.update(error.candidates)
    assert not candidates & set(handed), candidates & set(handed)
    outside = paid - set(handed) - candidates
    assert outside == set(), f"{len(outside)} paid jobs appear in no result"
    assert set(handed) <= paid
    return set(handed)


# ------------------------------------------------------------- repeated prompts


async def test_60_same_prompt_requests_with_dropped_create_answers() -> None:
    """60 identical requests, 10 create answers dropped after the job was made: all accounted.

    Every request has one result; no job id is in two results; every job the
    emulator made (each one paid) is some request's track or a candidate of an
    OutcomeUnknownError, which is allowed only where candidates could not be
    told apart. No create is sent twice.
    """
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(0.1))
    dropped = [Fault("drop_after") if i % 6 == 2 else None for i in range(60)]
    emulator.faults.script("music.create", *dropped)
    client, transport, _ = wired(emulator)
    events: list[JobEvent] = []
    requests = [MusicRequest(prompt="the same variation") for _ in range(60)]
    async with client:
        results = await run(client, requests, on_event=events.append)
        assert_slots_free(client, transport)
    stats = emulator.stats()

    assert stats.faults == {"drop_after": 10}
    assert stats.requests["music.create"] == 60  # never resent
    assert stats.jobs == 60
    assert len(results) == 60
    handed = assert_accounted_for(results, set(emulator.jobs))
    adopted = [e.job_id for e in events if e.kind == "adopted"]
    assert len(adopted) == len(set(adopted))
    assert set(adopted) <= handed
    assert Counter(e.kind for e in events)["unknown"] == 10
    assert emulator.running() == []
    assert all(peak <= 4 for peak in stats.peak_running.values()), stats.peak_running


# ------------------------------------------------------------------- old jobs


@pytest.mark.parametrize("drop", ["drop_after", "drop_before"])
@pytest.mark.parametrize("rerun_client", ["same", "fresh"])
async def test_a_rerun_adopts_nothing_from_the_previous_run(
    rerun_client: str, drop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch rerun right after another, its create answers lost, adopts only its own jobs.

    The first run leaves finished jobs with the very same prompts on the same
    account. The rerun (by the same client, or a fresh one that owns none of
    them) loses every other create answer, after the emulator made the job
    (``drop_after``) or before it acted (``drop_before``: no job). Every job
    handed to a rerun request, adopted or not, was created during the rerun;
    every rerun job is accounted for; an unknown outcome lists no job of the
    first run as its own (it may list them as candidates it cannot tell apart).
    """
    monkeypatch.setattr(_reconcile, "PAUSE", 0.1)  # list reads for a job not made: 3 tries
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(0.1))
    client, transport, _ = wired(emulator)
    requests = [MusicRequest(prompt=f"again {i}") for i in range(8)]
    async with client:
        first = await run(client, requests)
        assert all(r.ok for r in first), [r.error for r in first]
        previous = set(emulator.jobs)
        assert len(previous) == 8
        before = emulator.stats()
        emulator.faults.script("music.create", *[Fault(drop) if i % 2 else None for i in range(8)])
        events: list[JobEvent] = []
        if rerun_client == "same":
            rerun = await run(client, requests, on_event=events.append)
            assert_slots_free(client, transport)
        else:
            other, other_transport, _ = wired(emulator)
            async with other:
                rerun = await run(other, requests, on_event=events.append)
                assert_slots_free(other, other_transport)
    after = emulator.stats()
    new = set(emulator.jobs) - previous

    assert after.faults == {drop: 4}
    busy = after.busy - before.busy  # a 429 makes no job and is sent again
    assert after.requests["music.create"] - before.requests["music.create"] == 8 + busy
    assert len(new) == sum(after.creates.values()) - sum(before.creates.values())
    adopted = {e.job_id for e in events if e.kind == "adopted"}
    handed = {r.track.audio_id for r in rerun if r.track is not None}
    assert handed & previous == set(), sorted(handed & previous)  # nothing of the first run
    assert adopted & previous == set(), sorted(adopted & previous)
    assert handed <= new
    assert_accounted_for(rerun, new, no_job_made=drop == "drop_before")
    if rerun_client == "same" and drop == "drop_after":  # it owns the old jobs: all adopted
        assert all(r.ok for r in rerun), [r.error for r in rerun]
        assert len(adopted) == 4


# ---------------------------------------------------------------- vanished jobs


def forget_jobs(emulator: Emulator, job_ids: set[str]) -> None:
    """The emulator loses these jobs: gone from its lists, 404 by id, no slot held."""
    state = emulator.state
    for job_id in job_ids:
        job = state.jobs.pop(job_id)
        state.by_account[job.email].remove(job)
        account = state.accounts[job.email]
        if job in account.running:
            account.running.remove(job)


@pytest.mark.parametrize("how", ["forgotten", "answers_404"])
async def test_a_batch_whose_jobs_vanish_ends_within_the_not_found_grace(how: str) -> None:
    """Jobs that start answering 404 end as NotFoundError after the grace and free their slots.

    ``forgotten``: the emulator drops the jobs from its state (missing from the
    list, 404 by id). ``answers_404``: every status request (list and get)
    answers 404, as after the server lost its state. Either way each request
    ends with NotFoundError within the not-found grace (plus a margin), far
    before its per-job timeout, and every slot is given back.
    """
    grace = 0.5
    per_job_timeout = 4.0
    emulator = Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(30.0))
    client, transport, _ = wired(emulator, poll=attrs.evolve(POLL, not_found_grace=grace))
    submitted: list[str] = []
    all_in = anyio.Event()

    def watch(event: JobEvent) -> None:
        if event.kind == "submitted" and event.job_id:
            submitted.append(event.job_id)
            if len(submitted) == 12:
                all_in.set()

    results: list[MusicResult] = []
    vanished_at = math.inf

    async def batch() -> None:
        requests = [MusicRequest(prompt=f"vanishing {i}") for i in range(12)]
        results.extend(await run(client, requests, timeout=per_job_timeout, on_event=watch))

    async with client:
        async with anyio.create_task_group() as group:
            group.start_soon(batch)
            await all_in.wait()
            await anyio.sleep(0.1)  # followed for a while: seen running
            if how == "forgotten":
                forget_jobs(emulator, set(submitted))
            else:
                emulator.faults.add("music.list", Fault("status", status=404))
                emulator.faults.add("music.get", Fault("status", status=404))
            vanished_at = anyio.current_time()
        ended = anyio.current_time() - vanished_at
        assert_slots_free(client, transport)

    assert ended < grace + MARGIN, f"ended {ended:.1f} s after the jobs vanished"
    assert sorted(r.index for r in results) == list(range(12))
    for result in results:
        assert isinstance(result.error, NotFoundError), repr(result.error)
        assert result.attempts == 1
    assert sorted(j for r in results for j in r.job_ids) == sorted(submitted)
    assert emulator.stats().requests["music.create"] == 12


# ------------------------------------------------------------------- releases


@pytest.fixture(name="short_cleanup")
def _short_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleanup budget of `CLEANUP` s, each release attempt at most 0.2 s."""
    monkeypatch.setattr(_scheduler, "CLEANUP_SECONDS", CLEANUP)
    monkeypatch.setattr(_scheduler, "RELEASE_ATTEMPT", 0.2)


def release_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "pixverse_audio" and r.levelno == logging.WARNING and "release" in r.msg
    ]


@pytest.mark.usefixtures("short_cleanup")
async def test_a_release_without_answer_is_retried_within_the_cleanup_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first DELETE scheduler/{id} of each job gets no answer: it is sent again and works."""
    caplog.set_level(logging.WARNING, logger="pixverse_audio")
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(5.0))

    def hold(method: str, path: str, before: int) -> float | None:
        return math.inf if method == "DELETE" and before == 0 else None

    client, transport, gate = wired(emulator, hold)
    events: list[JobEvent] = []
    async with client:
        start = anyio.current_time()
        results = await run(
            client,
            [MusicRequest(prompt=f"slow {i}") for i in range(3)],
            timeout=0.3,
            on_event=events.append,
        )
        elapsed = anyio.current_time() - start
        assert_slots_free(client, transport)

    assert all(isinstance(r.error, WaitTimeoutError) for r in results), [r.error for r in results]
    jobs = set(emulator.jobs)
    assert len(jobs) == 3
    assert gate.deletes() == dict.fromkeys(jobs, 2)  # one unanswered, one answered
    assert all(not job.tracked for job in emulator.jobs.values())  # released after all
    assert emulator.running() == []
    assert sorted(e.job_id or "" for e in events if e.kind == "released") == sorted(jobs)
    assert release_warnings(caplog) == []
    assert elapsed < 0.3 + CLEANUP + MARGIN


@pytest.mark.usefixtures("short_cleanup")
async def test_a_release_that_never_answers_is_retried_then_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No DELETE scheduler/{id} ever answers: retried until the budget ends, each job named."""
    caplog.set_level(logging.WARNING, logger="pixverse_audio")
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(5.0))

    def hold(method: str, path: str, before: int) -> float | None:
        return math.inf if method == "DELETE" else None

    client, transport, gate = wired(emulator, hold)
    events: list[JobEvent] = []
    async with client:
        start = anyio.current_time()
        results = await run(
            client,
            [MusicRequest(prompt=f"stuck {i}") for i in range(3)],
            timeout=0.3,
            on_event=events.append,
        )
        elapsed = anyio.current_time() - start
        assert_slots_free(client, transport)  # our slots come back even so

    assert all(isinstance(r.error, WaitTimeoutError) for r in results), [r.error for r in results]
    jobs = set(emulator.jobs)
    assert len(jobs) == 3
    attempts = gate.deletes()
    assert set(attempts) == jobs
    assert all(count >= 2 for count in attempts.values()), attempts  # retried
    assert all(job.tracked for job in emulator.jobs.values())  # none reached the emulator
    assert [e for e in events if e.kind == "released"] == []
    warnings = release_warnings(caplog)
    for job_id in jobs:
        assert sum(job_id in message for message in warnings) == 1, (job_id, warnings)
    assert elapsed < 0.3 + CLEANUP + MARGIN


# ------------------------------------------------------------------- deadlines


@pytest.mark.usefixtures("short_cleanup")
async def test_a_deadline_around_a_hanging_create_overshoots_by_the_cleanup_budget_at_most(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """fail_after around generate, the create's answer 30 s late: over within the budget.

    The job was made (the emulator acts, then stalls its answer), but the
    client never learns its id: a WARNING says a paid job may exist.
    """
    caplog.set_level(logging.WARNING, logger="pixverse_audio")
    deadline = 0.3
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(0.3))
    emulator.faults.slow("music.create", 30.0)
    client, transport, _ = wired(emulator)
    async with client:
        await client._scheduler.pool.load()
        start = anyio.current_time()
        with pytest.raises(TimeoutError):
            with anyio.fail_after(deadline):
                await client.music.generate("hanging", timeout=10)
        elapsed = anyio.current_time() - start
        assert_slots_free(client, transport)
    assert elapsed < deadline + CLEANUP + MARGIN, f"{elapsed:.1f} s for a {deadline} s deadline"
    assert emulator.stats().requests["music.create"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("paid job may exist" in w for w in warnings), warnings


@pytest.mark.usefixtures("short_cleanup")
async def test_a_create_answered_after_the_deadline_is_released() -> None:
    """The create reaches the emulator after the deadline but within the budget: released."""
    deadline = 0.3
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(5.0))

    def hold(method: str, path: str, before: int) -> float | None:
        return 0.5 if (method, path) == ("POST", CREATE_PATH) else None

    client, transport, gate = wired(emulator, hold)
    async with client:
        await client._scheduler.pool.load()
        start = anyio.current_time()
        emulator_start = emulator.state.now()
        with pytest.raises(TimeoutError):
            with anyio.fail_after(deadline):
                await client.music.generate("late", timeout=10)
        elapsed = anyio.current_time() - start
        assert_slots_free(client, transport)
    assert elapsed < deadline + CLEANUP + MARGIN, f"{elapsed:.1f} s for a {deadline} s deadline"
    (job,) = emulator.jobs.values()
    assert job.created >= emulator_start + deadline  # made after the deadline had passed
    assert gate.deletes() == {job.audio_id: 1}
    assert not job.tracked
    assert emulator.running() == []


@pytest.mark.usefixtures("short_cleanup")
async def test_a_reconciliation_past_its_deadline_ends_as_an_unknown_outcome() -> None:
    """A lost create whose reconciliation cannot finish within its bound (6 cleanup budgets,
    here 3.6 s: the account's list answers late) ends with OutcomeUnknownError."""
    emulator = Emulator(accounts=1, max_jobs=2, music_timing=Timing.fixed(0.1))
    emulator.faults.drop("music.create", after=True)
    emulator.faults.add("music.list", Fault("delay", seconds=5.0))
    client, _, _ = wired(emulator)
    async with client:
        with anyio.fail_after(20), pytest.raises(OutcomeUnknownError):
            await client.music.generate("a song whose answer is lost")
    assert emulator.stats().requests["music.create"] == 1  # never resent
