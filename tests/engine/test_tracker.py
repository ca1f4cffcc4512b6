"""The tracker against the emulator: one list request per account per tick, GET by id
after misses, the not-found grace, slots given back and waiters woken."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import anyio
import attrs
import pytest

from pixverse_audio import (
    AsyncClient,
    AudioStatus,
    MusicRequest,
    NotFoundError,
    PollPolicy,
    Track,
)
from pixverse_audio._cadence import Cadence
from pixverse_audio._duty import Waiter
from pixverse_audio._kinds import MUSIC, Kind
from pixverse_audio._models import Job, Page, SpeechClip
from pixverse_audio._ports import Gateway
from pixverse_audio._slots import Lease
from pixverse_audio._tracker import Tracked, Tracker
from pixverse_audio.emulator import Emulator, ManualClock, Timing

pytestmark = pytest.mark.anyio

A1, A2 = "account1@emulator.test", "account2@emulator.test"
POLL = PollPolicy(first=0.05, cap=0.2, not_found_grace=1.0)
SLOW = Timing.fixed(30.0)  # no test waits for it
MISSING_ID = f"user:1000-pixverse:{A1}-music:99999999"
NO_EMAIL_ID = "user:1000-music:424242"  # an audio_id naming no account (Job.email is None)


class Spy:
    """A client's gateway that notes every status request, in order.

    ``calls`` holds ``("recent", email, limit)`` and ``("get", audio_id, None)``.
    """

    def __init__(self, client: AsyncClient) -> None:
        self._gateway = client._gateway
        self.clock = self._gateway.clock
        self.calls: list[tuple[str, str, int | None]] = []

    async def recent(self, email: str, limit: int) -> Page[Track | SpeechClip]:
        self.calls.append(("recent", email, limit))
        return await self._gateway.recent(email, limit)

    async def get(self, kind: Kind[Any, Any], audio_id: str) -> Any:
        self.calls.append(("get", audio_id, None))
        return await self._gateway.get(kind, audio_id)

    @property
    def names(self) -> list[str]:
        """Just the kind of each call: ``recent`` or ``get``."""
        return [name for name, _, _ in self.calls]


def own_tracker(spy: Spy, returned: list[Lease] | None = None) -> Tracker:
    """A tracker of its own on ``spy``, noting the leases it gives back."""
    gave_back = returned if returned is not None else []

    async def give_back(lease: Lease) -> None:
        gave_back.append(lease)

    return Tracker(cast(Gateway, spy), Cadence(), give_back)


def tracked(job_id: str, email: str = A1, policy: PollPolicy = POLL, **kwargs: Any) -> Tracked:
    """A music job to follow, due at once."""
    now = anyio.current_time()
    kwargs.setdefault("submitted", now)
    return Tracked(job_id=job_id, kind=MUSIC, email=email, policy=policy, next_check=now, **kwargs)


async def follow(tracker: Tracker, jobs: Sequence[Tracked]) -> None:
    """Run the tracker's loop until every one of ``jobs`` has ended (and woken its waiter)."""
    waiters = []
    for job in jobs:
        job.waiter = Waiter()
        waiters.append(job.waiter)
        if tracker.get(job.job_id) is None:
            tracker.track(job)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(tracker.run)
            for waiter in waiters:
                await waiter.wake.wait()
            group.cancel_scope.cancel()
    assert all(waiter.done for waiter in waiters)


async def run_until(tracker: Tracker, condition: Callable[[], bool]) -> None:
    """Run the tracker's loop until ``condition()`` holds, then stop it."""
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(tracker.run)
            while not condition():  # noqa: ASYNC110 - any state the loop changes
                await anyio.sleep(0.005)
            group.cancel_scope.cancel()


def requests_to(emulator: Emulator, route: str) -> int:
    return emulator.stats().requests.get(route, 0)


# ------------------------------------------------------------ list requests


async def test_one_list_request_answers_for_every_job_of_the_account() -> None:
    """Eight jobs of one account are followed with a few list requests and no GET by id;
    each gives its slot back once seen final."""
    emulator = Emulator(accounts=1, max_jobs=8, music_timing=Timing.fixed(0.2))
    statuses: list[tuple[str, object]] = []
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        jobs = [(await client.music.create(f"p {i}")).audio_id for i in range(8)]
        assert engine.pool.held() == {A1: 8}
        followed = [engine.tracker.get(job_id) for job_id in jobs]
        assert all(job is not None for job in followed)
        for job in followed:
            assert job is not None
            job.on_status = lambda t, item: statuses.append((t.job_id, item.status))
        await follow(engine.tracker, [job for job in followed if job is not None])
        assert engine.pool.held() == {A1: 0}
        assert len(engine.tracker) == 0
    results = [job.result for job in followed if job is not None]
    assert all(isinstance(r, Track) and r.completed for r in results)
    assert [r.audio_id for r in results if r is not None] == jobs
    assert all(job is not None and job.lease is None for job in followed)
    assert requests_to(emulator, "music.get") == 0
    assert 1 <= requests_to(emulator, "music.list") < 8
    assert engine.tracker.requests == requests_to(emulator, "music.list")
    assert {job_id for job_id, status in statuses if status == AudioStatus.COMPLETED} == set(jobs)
    assert len(statuses) == len(set(statuses))  # each status reported once per job


async def test_each_account_due_gets_one_list_request_per_tick() -> None:
    """Jobs on two accounts due together: one list request per account, sized to its jobs."""
    emulator = Emulator(accounts=2, max_jobs=4, clock=ManualClock(), music_timing=SLOW)
    async with emulator.client(poll=POLL) as client:
        ids = [(await client.music.create("a", email=A1)).audio_id for _ in range(3)]
        ids.append((await client.music.create("b", email=A2)).audio_id)
        spy = Spy(client)
        tracker = own_tracker(spy)
        slow = PollPolicy(first=1.0, cap=2.0)  # no second tick while the test looks
        jobs = [tracked(job_id, A2 if i == 3 else A1, slow) for i, job_id in enumerate(ids)]
        for job in jobs:
            tracker.track(job)
        await run_until(tracker, lambda: all(job.checks for job in jobs))
    assert sorted(spy.calls) == [("recent", A1, 11), ("recent", A2, 10)]
    assert tracker.requests == 2
    assert [job.status for job in jobs] == [AudioStatus.GENERATING] * 4
    assert all(job.checks == 1 and not job.ended for job in jobs)
    assert all(job.next_check > job.submitted for job in jobs)
    assert len(tracker) == 4


async def test_the_loop_runs_only_while_someone_waits() -> None:
    """Created jobs are not polled while nobody waits; a wait polls them, then stops."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(0.1))
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        job = await client.music.create("idle")
        await anyio.sleep(0.15)  # the job is final at the server, nobody asks
        assert requests_to(emulator, "music.list") == 0
        assert not engine.duty.running
        assert engine.pool.held() == {A1: 1}  # its slot waits for a poll to see it final
        with anyio.fail_after(5):
            track = await client.music.wait(job)
        assert track.completed
        assert not engine.duty.running
        assert engine.pool.held() == {A1: 0}
        polls = requests_to(emulator, "music.list")
        await anyio.sleep(0.15)
        assert requests_to(emulator, "music.list") == polls >= 1


# --------------------------------------------------------- GET by id, 404s


async def test_a_job_missing_from_the_page_is_fetched_by_id_after_two_misses() -> None:
    """A job pushed off the list page by newer items is fetched by id every second miss."""
    emulator = Emulator(accounts=1, max_jobs=8, music_timing=Timing.fixed(0.15))
    async with emulator.client(poll=POLL) as client:
        job_id = (await client.music.create("buried")).audio_id
        emulator.preload(12, email=A1, kind="speech")  # newer: the page of 10 misses it
        spy = Spy(client)
        tracker = own_tracker(spy)
        job = tracked(job_id)
        await follow(tracker, [job])
    assert isinstance(job.result, Track)
    assert job.result.audio_id == job_id
    assert job.result.completed
    assert spy.names[:3] == ["recent", "recent", "get"]
    assert spy.names == ["recent", "recent", "get"] * (len(spy.calls) // 3)
    assert {call for call in spy.calls if call[0] == "get"} == {("get", job_id, None)}
    assert tracker.requests == len(spy.calls)


async def test_a_job_seen_on_the_page_again_is_not_fetched_by_id() -> None:
    """One miss (then a sighting) is no reason for a GET by id: misses count in a row."""
    emulator = Emulator(accounts=1, clock=ManualClock(), music_timing=SLOW)
    async with emulator.client(poll=POLL) as client:
        job_id = (await client.music.create("flaky page")).audio_id
        spy = Spy(client)
        tracker = own_tracker(spy)
        job = tracker.track(tracked(job_id))
        job.missing = 1  # as if the last page had missed it
        await run_until(tracker, lambda: job.checks >= 3)
    assert "get" not in spy.names
    assert job.missing == 0
    assert not job.ended


async def test_a_404_within_the_grace_keeps_the_job_followed() -> None:
    """Just after a create, a 404 by id means "not visible yet": the job is asked about again."""
    emulator = Emulator(accounts=1)
    async with emulator.client(poll=POLL) as client:
        spy = Spy(client)
        returned: list[Lease] = []
        tracker = own_tracker(spy, returned)
        job = tracker.track(tracked(MISSING_ID, policy=PollPolicy(first=0.05, cap=0.1)))
        await run_until(tracker, lambda: spy.names.count("get") >= 2)
    assert spy.names[:5] == ["recent", "recent", "get", "recent", "get"]
    assert not job.ended
    assert job.error is None
    assert tracker.get(MISSING_ID) is job
    assert returned == []


async def test_a_404_after_the_grace_ends_the_job_with_not_found() -> None:
    """A job still 404 after not_found_grace ends with NotFoundError; its slot goes back."""
    emulator = Emulator(accounts=1)
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        await engine.pool.load()
        lease = await engine.pool.adopt(A1)
        assert engine.pool.held() == {A1: 1}
        job = tracked(MISSING_ID, lease=lease, submitted=anyio.current_time() - 60.0)
        await follow(engine.tracker, [job])
        assert engine.pool.held() == {A1: 0}
    assert isinstance(job.error, NotFoundError)
    assert job.result is None
    assert job.ended
    assert job.lease is None
    assert engine.tracker.get(MISSING_ID) is None
    assert requests_to(emulator, "music.list") == 2
    assert requests_to(emulator, "music.get") == 1


async def test_failed_polls_are_tried_again_and_are_not_misses() -> None:
    """List requests that fail are retried later; a failed page is no miss: a buried job
    is fetched by id only after two pages that answered without it."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(0.15))
    async with emulator.client(poll=POLL) as client:
        job_id = (await client.music.create("patient")).audio_id
        emulator.preload(12, email=A1, kind="speech")  # every page misses it
        emulator.faults.fail("music.list", 400, times=3)
        spy = Spy(client)
        tracker = own_tracker(spy)
        job = tracked(job_id)
        await follow(tracker, [job])
    assert isinstance(job.result, Track)
    assert job.result.completed
    assert emulator.stats().faults == {"400": 3}
    answered = spy.names[3:]  # after the three failed pages
    assert spy.names[:3] == ["recent"] * 3
    assert answered == ["recent", "recent", "get"] * (len(answered) // 3)
    assert len(answered) >= 3


# ---------------------------------------------------- ids naming no account


def no_email_job(emulator: Emulator, audio_id: str, seconds: float) -> None:
    """Give ``emulator`` a music job ``audio_id`` (naming no account) that ends in ``seconds``.

    The emulator only makes ids that name their account, so a copy of a preloaded job
    is filed under ``audio_id``: a GET by that id answers, no account's list holds it.
    """
    (template,) = emulator.preload(1, email=A2)
    now = emulator.state.now()
    emulator.state.jobs[audio_id] = attrs.evolve(
        template, audio_id=audio_id, created=now, started=now, finished=now + seconds
    )


async def test_wait_on_an_id_naming_no_account_asks_by_id_only() -> None:
    """wait() on an id naming no account, with two accounts (where a list request needs an
    email): every check is a GET by id, no list request is sent, and the result comes back."""
    assert Job(audio_id=NO_EMAIL_ID).email is None
    emulator = Emulator(accounts=2)
    no_email_job(emulator, NO_EMAIL_ID, seconds=0.2)
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        with anyio.fail_after(5):
            track = await client.music.wait(NO_EMAIL_ID)
        assert not any(engine.pool.held().values())  # no account's slot was taken
        assert len(engine.tracker) == 0
    assert isinstance(track, Track)
    assert track.audio_id == NO_EMAIL_ID
    assert track.completed
    assert requests_to(emulator, "music.list") == 0
    assert requests_to(emulator, "music.get") >= 2  # asked while it ran, then seen final
    assert engine.tracker.requests == requests_to(emulator, "music.get")
    assert emulator.stats().responses.get(400, 0) == 0


async def test_wait_on_an_unknown_id_naming_no_account_ends_with_not_found() -> None:
    """An id naming no account that answers 404 is asked about by id through the grace,
    then wait() raises NotFoundError; no list request is sent."""
    emulator = Emulator(accounts=2)
    unknown = "some-id-without-email"
    assert Job(audio_id=unknown).email is None
    policy = PollPolicy(first=0.05, cap=0.1, not_found_grace=0.3)
    async with emulator.client(poll=POLL) as client:
        with anyio.fail_after(5), pytest.raises(NotFoundError):
            await client.music.wait(unknown, poll_interval=policy)
        assert client._scheduler.tracker.get(unknown) is None
    assert requests_to(emulator, "music.list") == 0
    assert requests_to(emulator, "music.get") >= 2  # a 404 within the grace is asked again
    assert emulator.stats().responses.get(400, 0) == 0


async def test_a_tracked_job_with_no_email_is_fetched_by_id_at_each_check() -> None:
    """A tracked job whose email is "" gets one GET by id per check, from the first check
    (no misses to wait for), and never a list request."""
    emulator = Emulator(accounts=2)
    no_email_job(emulator, NO_EMAIL_ID, seconds=0.2)
    async with emulator.client(poll=POLL) as client:
        spy = Spy(client)
        tracker = own_tracker(spy)
        job = tracked(NO_EMAIL_ID, email="")
        await follow(tracker, [job])
    assert isinstance(job.result, Track)
    assert job.result.completed
    assert job.result.audio_id == NO_EMAIL_ID
    assert len(spy.calls) >= 2
    assert spy.calls == [("get", NO_EMAIL_ID, None)] * len(spy.calls)
    assert job.checks == len(spy.calls) - 1  # a GET at every check, the last one final
    assert tracker.requests == len(spy.calls)
    assert requests_to(emulator, "music.list") == 0


# ------------------------------------------------------ statuses, endings


async def test_on_status_is_called_once_per_new_status() -> None:
    """Repeated sightings of one status are reported once; each new status once more."""
    clock = ManualClock()
    timing = Timing(queued=(10.0, 10.0), generating=(10.0, 10.0), audio=(3.0, 3.0))
    emulator = Emulator(accounts=1, clock=clock, music_timing=timing)
    seen: list[object] = []
    async with emulator.client(poll=POLL) as client:
        job_id = (await client.music.create("in steps")).audio_id
        tracker = own_tracker(Spy(client))
        job = tracked(job_id, on_status=lambda t, item: seen.append(item.status))
        tracker.track(job)
        await run_until(tracker, lambda: job.checks >= 3)
        assert seen == [AudioStatus.QUEUED]
        clock.advance(10.0)
        await run_until(tracker, lambda: job.status == AudioStatus.GENERATING)
        clock.advance(10.0)
        await follow(tracker, [job])
    assert seen == [AudioStatus.QUEUED, AudioStatus.GENERATING, AudioStatus.COMPLETED]
    assert job.result is not None
    assert job.result.completed


async def test_a_final_job_teaches_the_cadence_its_kind() -> None:
    """Every polled job seen final is one sample of its kind's length; other kinds learn nothing."""
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(0.1))
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        ids = [(await client.music.create(f"learn {i}")).audio_id for i in range(3)]
        jobs = [engine.tracker.get(job_id) for job_id in ids]
        await follow(engine.tracker, [job for job in jobs if job is not None])
    music = engine.cadence.estimate("music")
    assert music.samples == 3
    assert music.mean is not None
    assert music.mean > 0
    assert engine.cadence.estimate("speech").samples == 0


async def test_the_first_learnt_length_brings_blind_checks_forward_on_every_account() -> None:
    """Jobs created together on two accounts: once one is seen final, the other account's
    job of that kind is asked about at once, not at its next blind check; a job polled
    without learning (adaptive off) keeps its own schedule."""
    emulator = Emulator(accounts=2, max_jobs=4, music_timing=Timing.fixed(0.1))
    async with emulator.client(poll=POLL) as client:
        first = (await client.music.create("a", email=A1)).audio_id
        second = (await client.music.create("b", email=A2)).audio_id
        fixed = (await client.music.create("c", email=A2)).audio_id
        spy = Spy(client)
        tracker = own_tracker(spy)
        now = anyio.current_time()
        blind = PollPolicy(first=60.0, cap=60.0)
        leader = tracked(first, A1, POLL, submitted=now)
        leader.next_check = now + 0.3  # the job is final at the server by then
        follower = tracked(second, A2, blind, submitted=now)
        follower.next_check = now + 60.0
        unlearning = tracked(fixed, A2, PollPolicy.fixed(60.0), submitted=now)
        unlearning.next_check = now + 60.0
        for job in (leader, follower, unlearning):
            tracker.track(job)
        await run_until(tracker, lambda: leader.ended)
        assert follower.next_check <= anyio.current_time()
        assert unlearning.next_check == now + 60.0
        await run_until(tracker, lambda: follower.ended)
    assert isinstance(follower.result, Track)
    assert follower.result.completed
    assert spy.calls == [("recent", A1, 10), ("recent", A2, 10)]  # one list answers both of A2
    assert unlearning.ended


async def test_an_ended_job_is_no_longer_polled() -> None:
    """end() stops following a job at once: its slot goes back, its waiter is woken,
    and no request about it is sent any more."""
    emulator = Emulator(accounts=1, music_timing=SLOW)
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        job_id = (await client.music.create("abandoned")).audio_id
        job = engine.tracker.get(job_id)
        assert job is not None
        job.waiter = waiter = Waiter()
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(engine.tracker.run)
                while engine.tracker.requests < 1:  # noqa: ASYNC110 - counted by the loop
                    await anyio.sleep(0.005)
                await engine.tracker.end(job)
                sent = engine.tracker.requests
                await anyio.sleep(0.3)  # longer than POLL's cap: a poll would have come
                assert engine.tracker.requests == sent
                group.cancel_scope.cancel()
        assert engine.pool.held() == {A1: 0}
    assert waiter.done
    assert engine.tracker.get(job_id) is None
    assert len(engine.tracker) == 0
    assert job.lease is None
    assert requests_to(emulator, "music.list") == sent


async def test_observe_ends_a_tracked_job_without_a_poll() -> None:
    """A final state learnt elsewhere (a confirmed callback) ends the job and frees its slot."""
    clock = ManualClock()
    emulator = Emulator(accounts=1, clock=clock, music_timing=Timing.fixed(5.0))
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        job_id = (await client.music.create("called back")).audio_id
        job = engine.tracker.get(job_id)
        assert job is not None
        job.waiter = waiter = Waiter()
        clock.advance(5.0)
        track = await client.music.get(job_id)
        assert track.completed
        assert await engine.tracker.observe(track) is True
        assert engine.pool.held() == {A1: 0}
        assert await engine.tracker.observe(track) is False  # no longer tracked
    assert job.result == track
    assert waiter.done
    assert engine.tracker.requests == 0
    assert requests_to(emulator, "music.list") == 0
    assert engine.cadence.estimate("music").samples == 1


async def test_observe_of_an_unfinished_state_keeps_following() -> None:
    """An unfinished state learnt elsewhere updates the job but does not end it."""
    emulator = Emulator(accounts=1, clock=ManualClock(), music_timing=SLOW)
    async with emulator.client(poll=POLL) as client:
        engine = client._scheduler
        job_id = (await client.music.create("still going")).audio_id
        track = await client.music.get(job_id)
        assert await engine.tracker.observe(track) is True
        job = engine.tracker.get(job_id)
        assert job is not None
        assert not job.ended
        assert job.status == AudioStatus.GENERATING
        assert job.checks == 1
        assert engine.pool.held() == {A1: 1}


async def test_a_steep_poll_factor_never_overflows_in_a_batch() -> None:
    """A batch whose poll gaps would overflow factor**checks still finishes its job."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(0.1))
    poll = PollPolicy(first=0.01, factor=1e300, cap=0.01)
    async with (
        emulator.client(poll=poll) as client,
        client.music.generate_many([MusicRequest(prompt="steep")], timeout=10) as results,
    ):
        got = [r async for r in results]
    assert [r.ok for r in got] == [True]
