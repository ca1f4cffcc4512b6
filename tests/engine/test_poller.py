"""Polling: PollPolicy gaps, DurationEstimate learning, one list request per account per tick."""

from __future__ import annotations

import math
import random
from typing import Any

import anyio
import pytest

from pixverse_audio import AsyncClient, MusicRequest, PollPolicy, Track
from pixverse_audio._poller import AccountPoller, DurationEstimate, Watch
from pixverse_audio.emulator import Emulator, Timing

EMAIL = "account1@emulator.test"
VOICE = "minimax_english_radiant_girl"
POLL = PollPolicy(first=0.05, cap=0.2, not_found_grace=1.0)


# -------------------------------------------------------------- PollPolicy


def test_poll_policy_defaults() -> None:
    """The defaults are 1 s first, x1.5, 10 s cap, 10% jitter, 30 s not-found grace."""
    policy = PollPolicy()
    assert (policy.first, policy.factor, policy.cap) == (1.0, 1.5, 10.0)
    assert policy.jitter == 0.1
    assert policy.not_found_grace == 30.0


def test_gaps_grow_by_the_factor() -> None:
    """Without jitter each gap is the previous one times factor, from first."""
    policy = PollPolicy(first=0.5, factor=2.0, cap=100.0, jitter=0)
    rng = random.Random(0)
    assert [policy.gap(i, rng) for i in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_gaps_stop_growing_at_the_cap() -> None:
    """Gaps never pass cap (without jitter) however many checks came before."""
    policy = PollPolicy(first=1.0, factor=1.5, cap=10.0, jitter=0)
    rng = random.Random(0)
    gaps = [policy.gap(i, rng) for i in range(30)]
    assert gaps == sorted(gaps)
    assert max(gaps) == 10.0
    assert gaps[-1] == 10.0


@pytest.mark.parametrize("checks", [1_000, 1_800, 5_000, 100_000])
def test_gap_after_very_many_checks_is_the_cap(checks: int) -> None:
    """The gap after thousands of checks (hours at the cap) is the cap, not an OverflowError."""
    policy = PollPolicy()  # 1.5**1751 overflows a float: about 4.9 h of polling at 10 s
    assert policy.gap(checks, random.Random(0)) == pytest.approx(policy.cap, rel=policy.jitter)


def test_jitter_stays_within_its_bounds() -> None:
    """Each gap is within +-jitter of its un-jittered value, never above cap, and does vary."""
    policy = PollPolicy(first=1.0, factor=1.5, cap=10.0, jitter=0.2)
    exact = PollPolicy(first=1.0, factor=1.5, cap=10.0, jitter=0)
    rng = random.Random(42)
    for checks in (0, 1, 3):
        base = exact.gap(checks, rng)
        gaps = [policy.gap(checks, rng) for _ in range(500)]
        assert all(base * 0.8 <= g <= base * 1.2 for g in gaps)
        assert min(gaps) < base < max(gaps)
        assert max(gaps) - min(gaps) > base * 0.2  # spread over most of the range
    capped = [policy.gap(50, rng) for _ in range(500)]
    assert all(10.0 * 0.8 <= g <= 10.0 for g in capped)  # jitter only shortens a capped gap
    assert min(capped) < 9.0


def test_zero_jitter_is_exact() -> None:
    """jitter=0 gives the same gap whatever the random generator says."""
    policy = PollPolicy(first=0.3, jitter=0)
    assert {policy.gap(2, random.Random(seed)) for seed in range(20)} == {0.3 * 1.5**2}


def test_scaled_divides_the_times_only() -> None:
    """scaled(speed) divides first, cap and not_found_grace; factor and jitter stay."""
    policy = PollPolicy(first=2.0, factor=1.7, cap=20.0, jitter=0.3, not_found_grace=60.0)
    fast = policy.scaled(10)
    assert fast.first == pytest.approx(0.2)
    assert fast.cap == pytest.approx(2.0)
    assert fast.not_found_grace == pytest.approx(6.0)
    assert (fast.factor, fast.jitter) == (1.7, 0.3)
    assert policy.first == 2.0  # the original is unchanged (frozen)
    with pytest.raises(ValueError, match="first"):
        policy.scaled(-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first": 0},
        {"first": -1},
        {"first": math.nan},
        {"cap": 0},
        {"cap": -0.5},
        {"factor": 0.99},
        {"factor": 0},
        {"jitter": -0.1},
        {"jitter": 1.01},
        {"not_found_grace": -1},
    ],
)
def test_invalid_poll_policy_values_raise(kwargs: dict[str, Any]) -> None:
    """Non-positive times, a shrinking factor or jitter outside 0..1 raise ValueError."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PollPolicy(**kwargs)


def test_poll_policy_is_keyword_only_and_frozen() -> None:
    """PollPolicy takes keywords only and cannot be changed after creation."""
    with pytest.raises(TypeError):
        PollPolicy(1.0)  # type: ignore[misc]
    policy = PollPolicy()
    with pytest.raises(AttributeError):
        policy.first = 2.0  # type: ignore[misc]


# -------------------------------------------------------- DurationEstimate


def test_first_observation_is_the_midpoint() -> None:
    """Seen unfinished at +4 s and final at +6 s: the job took about 5 s."""
    estimate = DurationEstimate()
    assert estimate.value is None
    estimate.observe(submitted=10.0, last_unfinished=14.0, seen_final=16.0)
    assert estimate.value == pytest.approx(5.0)


def test_midpoint_lies_above_the_lower_bound() -> None:
    """A job seen unfinished at +8 s took longer than 8 s: the estimate is above it."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=8.0, seen_final=8.5)
    assert estimate.value is not None
    assert 8.0 < estimate.value <= 8.5


def test_observations_are_smoothed() -> None:
    """Later observations move the estimate by their weight (0.3), not all the way."""
    estimate = DurationEstimate()
    estimate.observe(0.0, 4.0, 6.0)  # 5
    estimate.observe(20.0, 26.0, 28.0)  # 7
    assert estimate.value == pytest.approx(0.7 * 5 + 0.3 * 7)


def test_an_upper_bound_only_counts_slightly_below_it() -> None:
    """A job first seen already final (no unfinished sighting) counts just below that time."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=-math.inf, seen_final=10.0)
    assert estimate.value is not None
    assert estimate.value < 10.0
    assert estimate.value == pytest.approx(10.0 * estimate.drift)


def test_a_too_long_estimate_creeps_down_below_the_upper_bound() -> None:
    """Jobs always final at the first check pull an overlong estimate below their end time."""
    estimate = DurationEstimate(value=20.0)
    values = []
    for i in range(40):
        start = 100.0 * i
        estimate.observe(start, -math.inf, start + 10.0)
        assert estimate.value is not None
        values.append(estimate.value)
    assert values == sorted(values, reverse=True)
    assert values[-1] < 10.0
    assert values[-1] > 9.0


@pytest.mark.parametrize(
    ("submitted", "last_unfinished", "seen_final"),
    [
        (10.0, -math.inf, 5.0),  # final before it was submitted
        (10.0, -math.inf, 10.0),  # no time at all
        (10.0, 5.0, 8.0),  # an unfinished sighting from before the submit
        (0.0, 2.0, math.nan),
        (0.0, -math.inf, math.inf),
        (0.0, 2.0, math.inf),
        (math.nan, 1.0, 2.0),
    ],
)
def test_nonsense_observations_are_ignored(
    submitted: float, last_unfinished: float, seen_final: float
) -> None:
    """Non-positive, infinite or NaN durations leave the estimate as it was."""
    fresh = DurationEstimate()
    fresh.observe(submitted, last_unfinished, seen_final)
    assert fresh.value is None
    known = DurationEstimate(value=3.0)
    known.observe(submitted, last_unfinished, seen_final)
    assert known.value == 3.0


# ----------------------------------------------------------- AccountPoller


async def follow(
    client: AsyncClient, job_ids: list[str], policy: PollPolicy = POLL, **kwargs: Any
) -> tuple[AccountPoller[Track], list[Watch[Track]]]:
    """Watch ``job_ids`` with one poller until every one is final."""
    poller: AccountPoller[Track] = AccountPoller(
        client, EMAIL, "music", policy, DurationEstimate(), **kwargs
    )
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(poller.run)
            watches = [poller.watch(job_id) for job_id in job_ids]
            for watch in watches:
                await watch.done.wait()
            group.cancel_scope.cancel()
    return poller, watches


@pytest.mark.anyio
async def test_one_list_request_answers_for_every_job_of_the_account() -> None:
    """Eight jobs of one account are followed with a few list requests and no GET by id."""
    emulator = Emulator(accounts=1, max_jobs=8, music_timing=Timing.fixed(0.2))
    statuses: list[tuple[str, object]] = []
    async with emulator.client() as client:
        jobs = [(await client.music.create(f"p {i}")).audio_id for i in range(8)]
        poller, watches = await follow(
            client, jobs, on_status=lambda w, item: statuses.append((w.job_id, item.status))
        )
    requests = emulator.stats().requests
    assert all(w.result is not None and w.result.completed for w in watches)
    assert [w.result.audio_id for w in watches if w.result] == jobs
    assert requests.get("music.get", 0) == 0
    assert 1 <= requests["music.list"] < 8
    assert poller.requests == requests["music.list"]
    assert {job_id for job_id, status in statuses if status == 1} == set(jobs)


@pytest.mark.anyio
async def test_a_job_missing_from_the_page_is_fetched_by_id() -> None:
    """A job pushed off the list page by newer items is fetched by id after two misses."""
    emulator = Emulator(
        accounts=1,
        max_jobs=8,
        music_timing=Timing.fixed(0.3),
        speech_timing=Timing.fixed(0.001),
    )
    async with emulator.client() as client:
        job = await client.music.create("buried")
        for i in range(12):  # newer speech items fill the first page of GET music/
            await client.speech.create(f"Line {i}.", VOICE)
        poller, [watch] = await follow(client, [job.audio_id])
    assert watch.result is not None
    assert watch.result.audio_id == job.audio_id
    assert watch.result.completed
    requests = emulator.stats().requests
    assert requests["music.get"] >= 1
    assert requests["music.list"] >= 2  # two misses before the first GET
    assert poller.requests == requests["music.list"] + requests["music.get"]


@pytest.mark.anyio
async def test_failed_polls_are_tried_again() -> None:
    """List requests that fail are logged and retried later; the job is still followed."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(0.1))
    async with emulator.client() as client:
        job = await client.music.create("patient")
        emulator.faults.fail("music.list", 400, times=3)
        _, [watch] = await follow(client, [job.audio_id])
    assert watch.result is not None
    assert watch.result.completed
    assert emulator.stats().faults == {"400": 3}
    assert emulator.stats().requests["music.list"] >= 4


@pytest.mark.anyio
async def test_an_unwatched_job_is_no_longer_polled() -> None:
    """After unwatch the poller sends no more requests for that job."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(30.0))
    async with emulator.client() as client:
        job = await client.music.create("abandoned")
        poller: AccountPoller[Track] = AccountPoller(
            client, EMAIL, "music", POLL, DurationEstimate()
        )
        async with anyio.create_task_group() as group:
            group.start_soon(poller.run)
            watch = poller.watch(job.audio_id)
            await anyio.sleep(0.12)
            poller.unwatch(watch)
            sent = emulator.stats().requests.get("music.list", 0)
            await anyio.sleep(0.25)
            assert emulator.stats().requests.get("music.list", 0) == sent
            group.cancel_scope.cancel()
    assert sent >= 1
    assert not watch.done.is_set()


@pytest.mark.anyio
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
