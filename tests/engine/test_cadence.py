"""Poll timing, pure: PollPolicy gaps, DurationEstimate learning, Cadence's decisions."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

import pixverse_audio
from pixverse_audio import PollPolicy, ValidationError
from pixverse_audio._cadence import (
    AIM,
    AIM_SPREAD,
    MIN_GAP,
    STEP,
    Cadence,
    DurationEstimate,
    grow,
    poll_policy,
)

EXACT = PollPolicy(first=0.5, factor=1.3, cap=10.0, jitter=0.0)  # the defaults without jitter


def learned(kind: str = "music", mean: float = 100.0, deviation: float = 0.0) -> Cadence:
    """A cadence that knows ``kind`` jobs take ``mean`` seconds, give or take ``deviation``."""
    cadence = Cadence(rng=random.Random(0))
    cadence.estimates[kind] = DurationEstimate(mean=mean, deviation=deviation, samples=10)
    return cadence


# -------------------------------------------------------------- PollPolicy


def test_poll_policy_defaults() -> None:
    """0.5 s first, x1.3, 10 s cap, 10% jitter, 30 s not-found grace, adaptive."""
    policy = PollPolicy()
    assert (policy.first, policy.factor, policy.cap) == (0.5, 1.3, 10.0)
    assert policy.jitter == 0.1
    assert policy.not_found_grace == 30.0
    assert policy.adaptive is True
    assert pixverse_audio.PollPolicy is PollPolicy


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
    policy = PollPolicy()  # 1.3**2706 overflows a float
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
    gaps = {policy.gap(2, random.Random(seed)) for seed in range(20)}
    assert len(gaps) == 1
    assert gaps.pop() == pytest.approx(0.3 * 1.3**2)


def test_fixed_asks_at_one_gap_and_does_not_learn() -> None:
    """PollPolicy.fixed(s): every gap is s, no growth, no jitter, not adaptive."""
    policy = PollPolicy.fixed(2.0)
    assert (policy.first, policy.factor, policy.cap, policy.jitter) == (2.0, 1.0, 2.0, 0.0)
    assert policy.adaptive is False
    rng = random.Random(0)
    assert {policy.gap(i, rng) for i in (0, 1, 7, 10_000)} == {2.0}


def test_scaled_divides_the_times_only() -> None:
    """scaled(speed) divides first, cap and not_found_grace; factor, jitter, adaptive stay."""
    policy = PollPolicy(
        first=2.0, factor=1.7, cap=20.0, jitter=0.3, not_found_grace=60.0, adaptive=False
    )
    fast = policy.scaled(10)
    assert fast.first == pytest.approx(0.2)
    assert fast.cap == pytest.approx(2.0)
    assert fast.not_found_grace == pytest.approx(6.0)
    assert (fast.factor, fast.jitter, fast.adaptive) == (1.7, 0.3, False)
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
        PollPolicy(1.0)  # type: ignore[call-arg]
    policy = PollPolicy()
    with pytest.raises(AttributeError):
        policy.first = 2.0  # type: ignore[misc]


# ------------------------------------------------------------- poll_policy


def test_poll_policy_none_is_the_default_and_a_policy_is_itself() -> None:
    """None gives the default back; a PollPolicy is used as it is."""
    default = PollPolicy(first=0.2)
    mine = PollPolicy(cap=3.0)
    assert poll_policy(None, default) is default
    assert poll_policy(mine, default) is mine


@pytest.mark.parametrize("seconds", [2, 0.25, 1e-3])
def test_poll_policy_seconds_are_a_fixed_gap(seconds: float) -> None:
    """A positive number of seconds is PollPolicy.fixed(seconds), whatever the default."""
    policy = poll_policy(seconds, PollPolicy())
    assert policy == PollPolicy.fixed(float(seconds))
    assert isinstance(policy.first, float)


@pytest.mark.parametrize("value", [0, -1, -0.5, math.nan, math.inf, True, False, "1", [1.0]])
def test_poll_policy_refuses_anything_else(value: object) -> None:
    """Zero, negative, non-finite, bool or non-number values raise ValidationError."""
    with pytest.raises(ValidationError, match="poll_interval"):
        poll_policy(value, PollPolicy())


# ------------------------------------------------------------------- grow


def test_grow_multiplies_up_to_the_cap() -> None:
    """grow is first * factor**steps, capped."""
    assert grow(1.0, 2.0, 0, 100.0) == 1.0
    assert grow(1.0, 2.0, 3, 100.0) == 8.0
    assert grow(1.0, 2.0, 7, 100.0) == 100.0
    assert grow(50.0, 2.0, 0, 10.0) == 10.0  # first above the cap: the cap


@pytest.mark.parametrize(
    ("factor", "steps"), [(1e300, 5), (1.3, 10**6), (2.0, 10**7), (1.0, 10**9)]
)
def test_grow_never_overflows_or_runs_long(factor: float, steps: int) -> None:
    """Huge factors or step counts give the cap (or first, for factor 1) without an error."""
    expected = 0.5 if factor == 1.0 else 10.0
    assert grow(0.5, factor, steps, 10.0) == expected


# -------------------------------------------------------- DurationEstimate


def test_first_observation_is_the_geometric_midpoint() -> None:
    """Seen unfinished at +4 s and final at +6 s: the job took about sqrt(4 x 6) s."""
    estimate = DurationEstimate()
    assert estimate.mean is None
    estimate.observe(submitted=10.0, last_unfinished=14.0, seen_final=16.0)
    assert estimate.mean == pytest.approx(math.sqrt(24.0))
    assert estimate.samples == 1
    assert estimate.deviation == 0.0


def test_midpoint_lies_above_the_lower_bound() -> None:
    """A job seen unfinished at +8 s took longer than 8 s: the estimate is above it."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=8.0, seen_final=8.5)
    assert estimate.mean is not None
    assert 8.0 < estimate.mean <= 8.5


def test_the_first_samples_count_fully_then_by_weight() -> None:
    """The first samples give their plain average; later ones move it by weight (0.3)."""
    estimate = DurationEstimate()
    for length in (5.0, 7.0, 9.0):  # each bracket 2 s wide around ``length``
        estimate.observe(100.0, 100.0 + length - 1, 100.0 + length + 1)
    assert estimate.samples == 3
    first = sum(math.sqrt(length**2 - 1) for length in (5.0, 7.0, 9.0)) / 3
    assert estimate.mean == pytest.approx(first)
    estimate.observe(0.0, 16.0, 18.0)  # sqrt(16 x 18)
    assert estimate.mean == pytest.approx(0.7 * first + 0.3 * math.sqrt(16.0 * 18.0))


def test_deviation_follows_the_spread_of_samples() -> None:
    """Equal samples keep the deviation at 0; scattered ones raise it."""
    steady = DurationEstimate()
    scattered = DurationEstimate()
    for i in range(10):
        steady.observe(0.0, 9.0, 11.0)
        spread = 4.0 if i % 2 else -4.0
        scattered.observe(0.0, 9.0 + spread, 11.0 + spread)
    assert steady.mean == pytest.approx(math.sqrt(99.0))
    assert steady.deviation == pytest.approx(0.0)
    assert scattered.mean == pytest.approx(10.0, abs=2.0)
    assert 2.0 < scattered.deviation < 6.0


def test_the_server_stamps_pin_a_wide_bracket() -> None:
    """A 30 s job first seen final at +40 s, stamped 30 s apart by the server, took 30 s."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=-math.inf, seen_final=40.0, server=30.0)
    assert estimate.mean == pytest.approx(30.0)
    bracketed = DurationEstimate()
    bracketed.observe(submitted=0.0, last_unfinished=28.0, seen_final=37.0, server=30.0)
    assert bracketed.mean == pytest.approx(30.0)


def test_the_server_stamps_stay_within_the_bracket() -> None:
    """Stamps just outside what the checks saw count at the bracket's nearer end."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=31.0, seen_final=40.0, server=30.5)
    assert estimate.mean == pytest.approx(31.0)


@pytest.mark.parametrize(
    ("last_unfinished", "seen_final", "server"),
    [
        (-math.inf, 10.0, 30.0),  # stamps that disagree with the checks: a length past the end
        (-math.inf, 10.0, -5.0),  # ... or before the create
        (1.0, 1.8, 1.0),  # stamps (whole seconds) coarser than the checks' bracket
    ],
)
def test_server_stamps_that_say_less_than_the_checks_are_not_used(
    last_unfinished: float, seen_final: float, server: float
) -> None:
    """The estimate is what the checks alone give."""
    with_stamps, without = DurationEstimate(), DurationEstimate()
    with_stamps.observe(0.0, last_unfinished, seen_final, server=server)
    without.observe(0.0, last_unfinished, seen_final)
    assert with_stamps.mean == without.mean


def test_an_upper_bound_only_counts_slightly_below_it() -> None:
    """A job first seen already final (no unfinished sighting) counts just below that time."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=-math.inf, seen_final=10.0)
    assert estimate.mean is not None
    assert estimate.mean < 10.0
    assert estimate.mean == pytest.approx(10.0 * estimate.drift)


def test_a_wide_bracket_counts_as_an_upper_bound() -> None:
    """An unfinished sighting long before the end says little: only the upper bound counts."""
    estimate = DurationEstimate()
    estimate.observe(submitted=0.0, last_unfinished=2.0, seen_final=10.0)  # 8 s of 10 unknown
    assert estimate.mean == pytest.approx(10.0 * estimate.drift)


def test_a_too_long_estimate_creeps_down_below_the_upper_bound() -> None:
    """Jobs always final at the first check pull an overlong estimate below their end time."""
    estimate = DurationEstimate(mean=20.0, samples=10)
    means = []
    for i in range(40):
        start = 100.0 * i
        estimate.observe(start, -math.inf, start + 10.0)
        assert estimate.mean is not None
        means.append(estimate.mean)
    assert means == sorted(means, reverse=True)
    assert means[0] > 15.0  # one sample moves it by its weight, not all the way
    assert 9.0 < means[-1] < 10.0


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
    assert (fresh.mean, fresh.deviation, fresh.samples) == (None, 0.0, 0)
    known = DurationEstimate(mean=3.0, deviation=0.5, samples=4)
    known.observe(submitted, last_unfinished, seen_final)
    assert (known.mean, known.deviation, known.samples) == (3.0, 0.5, 4)


# ------------------------------------------------------------------ Cadence


def test_an_unknown_kind_is_first_checked_after_the_first_gap() -> None:
    """Before anything is learnt, the first check is policy.first after the create."""
    cadence = Cadence(rng=random.Random(0))
    assert cadence.first_check(EXACT, "music", 100.0) == pytest.approx(100.5)
    jittered = [
        Cadence(rng=random.Random(s)).first_check(PollPolicy(), "music", 0.0) for s in range(50)
    ]
    assert all(0.45 <= t <= 0.55 for t in jittered)
    assert len(set(jittered)) > 1


def test_checks_of_an_unknown_kind_grow_geometrically() -> None:
    """After each miss the next gap is the policy's gap for that many checks, at least MIN_GAP."""
    cadence = Cadence(rng=random.Random(0))
    gaps = [cadence.next_check(EXACT, "music", 0.0, checks, 50.0) - 50.0 for checks in range(12)]
    assert gaps == pytest.approx([grow(0.5, 1.3, c, 10.0) for c in range(12)])
    tiny = PollPolicy(first=0.001, factor=1.0, cap=0.001, jitter=0.0)
    assert cadence.next_check(tiny, "music", 0.0, 3, 50.0) == pytest.approx(50.0 + MIN_GAP)


def test_the_first_check_aims_just_past_the_learnt_length() -> None:
    """With a learnt mean the first check comes at mean + max(2% of it, 0.3 deviations)."""
    assert learned(mean=100.0).first_check(EXACT, "music", 1000.0) == pytest.approx(
        1000.0 + 100.0 * (1 + AIM)
    )
    spread = learned(mean=100.0, deviation=20.0)
    assert spread.first_check(EXACT, "music", 1000.0) == pytest.approx(
        1000.0 + 100.0 + AIM_SPREAD * 20.0
    )
    assert learned(mean=0.001).first_check(EXACT, "music", 5.0) == pytest.approx(5.0 + MIN_GAP)


def test_what_is_learnt_stays_with_its_kind() -> None:
    """A learnt music length does not move speech checks."""
    cadence = learned("music", mean=180.0)
    assert cadence.first_check(EXACT, "music", 0.0) > 180.0
    assert cadence.first_check(EXACT, "speech", 0.0) == pytest.approx(0.5)
    assert cadence.estimate("speech").mean is None


def test_a_policy_that_is_not_adaptive_ignores_what_was_learnt() -> None:
    """adaptive=False (and PollPolicy.fixed) keep to the growing schedule."""
    cadence = learned(mean=100.0)
    fixed = PollPolicy.fixed(2.0)
    assert cadence.first_check(fixed, "music", 10.0) == pytest.approx(12.0)
    assert cadence.next_check(fixed, "music", 10.0, 5, 20.0) == pytest.approx(22.0)
    plain = PollPolicy(first=0.5, factor=1.3, cap=10.0, jitter=0.0, adaptive=False)
    assert cadence.first_check(plain, "music", 10.0) == pytest.approx(10.5)


def test_checks_after_a_miss_step_by_a_share_of_the_mean() -> None:
    """A job unfinished past its expected end is asked again 4% of the mean later
    (or half a deviation), never more than cap apart."""
    assert learned(mean=100.0).next_check(EXACT, "music", 0.0, 1, 101.0) == pytest.approx(
        101.0 + STEP * 100.0
    )
    spread = learned(mean=100.0, deviation=12.0)
    assert spread.next_check(EXACT, "music", 0.0, 1, 101.0) == pytest.approx(107.0)
    long_jobs = learned(mean=1000.0)
    assert long_jobs.next_check(EXACT, "music", 0.0, 1, 1001.0) == pytest.approx(1011.0)
    short_jobs = learned(mean=0.1)
    assert short_jobs.next_check(EXACT, "music", 0.0, 1, 0.2) == pytest.approx(0.2 + MIN_GAP)


def test_a_job_far_past_the_usual_length_is_asked_about_less_often() -> None:
    """Beyond mean*1.1 + 4 deviations the gap grows with the lateness, up to cap."""
    cadence = learned(mean=100.0)
    roomy = PollPolicy(first=0.5, factor=1.3, cap=100.0, jitter=0.0)
    gaps = [cadence.next_check(roomy, "music", 0.0, 5, now) - now for now in (105, 150, 250, 500)]
    assert gaps[0] == pytest.approx(STEP * 100.0)  # not late yet
    assert gaps == sorted(gaps)
    assert gaps[2] == pytest.approx((250 - 110) * 0.3)
    assert gaps[3] == pytest.approx(100.0)  # capped
    assert cadence.next_check(EXACT, "music", 0.0, 5, 10_000.0) == pytest.approx(10_010.0)


def test_finished_teaches_the_kind_its_length() -> None:
    """finished() feeds the bracket of a job into its kind's estimate."""
    cadence = Cadence(rng=random.Random(0))
    cadence.finished("speech", 10.0, 14.0, 16.0)
    learnt = math.sqrt(24.0)
    assert cadence.estimate("speech").mean == pytest.approx(learnt)
    assert cadence.estimate("music").mean is None
    assert cadence.first_check(EXACT, "speech", 100.0) == pytest.approx(100.0 + learnt * (1 + AIM))
    assert cadence.aimed(EXACT, "speech", 100.0) == cadence.first_check(EXACT, "speech", 100.0)
    assert cadence.aimed(EXACT, "music", 100.0) is None
    assert cadence.aimed(PollPolicy(adaptive=False), "speech", 100.0) is None


@pytest.mark.parametrize(
    ("length", "stamps", "most_requests"),
    [(5.0, True, 1.1), (180.0, True, 1.1), (1.4, False, 1.6), (180.0, False, 1.6)],
)
def test_learnt_checks_notice_jobs_within_a_few_percent_with_few_requests(
    length: float, stamps: bool, most_requests: float
) -> None:
    """Once learnt, a job of any length is seen final within ~5% of its length. With the
    server's stamps (whole seconds) most jobs take a single check; without them, about
    one in two takes a second (an early check that keeps the estimate honest)."""
    cadence = Cadence(rng=random.Random(1))
    policy = PollPolicy()
    requests: list[int] = []
    late: list[float] = []
    for i in range(30):
        submitted = 1000.0 * i + 0.37 * i % 1
        now = cadence.first_check(policy, "music", submitted)
        checks, last_unfinished = 0, -math.inf
        while now - submitted < length:  # the job is still running at this check
            checks += 1
            last_unfinished = now
            now = cadence.next_check(policy, "music", submitted, checks, now)
        server = math.floor(submitted + length) - math.floor(submitted) if stamps else None
        cadence.finished("music", submitted, last_unfinished, now, server)
        requests.append(checks + 1)
        late.append((now - submitted - length) / length)
    assert requests[0] >= 3  # blind: growing gaps from 0.5 s
    settled_requests, settled_late = requests[20:], late[20:]
    assert sum(settled_requests) / len(settled_requests) <= most_requests
    assert max(settled_late) <= 0.05
    assert all(delay >= 0 for delay in late)


def test_backoff_grows_with_the_streak_and_stays_within_1_to_30_seconds() -> None:
    """429 streaks back off 2**streak s (halved at random), never above 30 s."""
    cadence = Cadence(rng=random.Random(3))
    for streak, (low, high) in {1: (1.0, 2.0), 3: (4.0, 8.0), 5: (15.0, 30.0)}.items():
        delays = [cadence.backoff(streak) for _ in range(200)]
        assert all(low <= d <= high for d in delays)
        assert max(delays) - min(delays) > (high - low) / 2  # it is spread out
    assert all(15.0 <= cadence.backoff(1000) <= 30.0 for _ in range(50))


def test_refresh_every_is_at_most_5_seconds_and_at_most_the_cap() -> None:
    """Availability is re-read every min(5 s, cap) while an account is shrunk."""
    cadence = Cadence()
    assert cadence.refresh_every(PollPolicy()) == 5.0
    assert cadence.refresh_every(PollPolicy(cap=2.0)) == 2.0
    assert cadence.refresh_every(PollPolicy.fixed(0.1)) == 0.1


def test_a_seeded_cadence_repeats() -> None:
    """Two cadences with the same seed make the same jittered decisions."""
    one, two = Cadence(rng=random.Random(7)), Cadence(rng=random.Random(7))
    policy = PollPolicy()
    made = [
        (
            c.first_check(policy, "music", 0.0),
            c.next_check(policy, "music", 0.0, 3, 9.0),
            c.backoff(2),
        )
        for c in (one, two)
    ]
    assert made[0] == made[1]


# ------------------------------------------------------ MIN_GAP floors every check

TINY = PollPolicy(first=0.001, factor=1.3, cap=0.01, jitter=0.0)  # every gap below MIN_GAP


def test_min_gap_is_a_twentieth_of_a_second() -> None:
    """The floor the docs promise for PollPolicy.fixed: at least 0.05 s apart."""
    assert MIN_GAP == 0.05
    assert "at least 0.05 s apart" in (PollPolicy.fixed.__doc__ or "")


@pytest.mark.parametrize("first", [0.001, 0.01, 0.049])
def test_the_first_check_of_an_unknown_length_is_at_least_min_gap_away(first: float) -> None:
    """Nothing learnt yet: a first gap below MIN_GAP is raised to MIN_GAP."""
    policy = PollPolicy(first=first, cap=first, jitter=0.0)
    assert Cadence(rng=random.Random(0)).first_check(policy, "music", 100.0) == pytest.approx(
        100.0 + MIN_GAP
    )
    jittered = PollPolicy(first=first, cap=1.0, jitter=1.0)  # up to twice first, down to 0
    for seed in range(50):
        at = Cadence(rng=random.Random(seed)).first_check(jittered, "music", 100.0)
        assert at >= 100.0 + MIN_GAP


def test_a_learnt_check_is_at_least_min_gap_away_even_with_a_smaller_cap() -> None:
    """Learnt lengths: the step after a miss is capped by policy.cap, but a cap below
    MIN_GAP does not bring checks closer than MIN_GAP."""
    cadence = learned(mean=100.0, deviation=10.0)  # the step would be 5 s, capped to 0.01 s
    assert cadence.next_check(TINY, "music", 0.0, 1, 101.0) == pytest.approx(101.0 + MIN_GAP)
    below = PollPolicy(first=0.03, factor=1.3, cap=0.03, jitter=0.0)
    assert cadence.next_check(below, "music", 0.0, 1, 101.0) == pytest.approx(101.0 + MIN_GAP)
    at_floor = PollPolicy(first=0.05, factor=1.3, cap=MIN_GAP, jitter=0.0)
    assert cadence.next_check(at_floor, "music", 0.0, 1, 101.0) == pytest.approx(101.0 + MIN_GAP)
    above = PollPolicy(first=0.5, factor=1.3, cap=0.2, jitter=0.0)
    assert cadence.next_check(above, "music", 0.0, 1, 101.0) == pytest.approx(101.2)


def test_a_late_check_is_at_least_min_gap_away_even_with_a_smaller_cap() -> None:
    """Far past the learnt length (the back-off branch) a cap below MIN_GAP still
    leaves MIN_GAP between checks."""
    cadence = learned(mean=100.0)
    for now in (200.0, 1_000.0, 100_000.0):  # late by 90 s and more: backs off to the cap
        assert cadence.next_check(TINY, "music", 0.0, 50, now) == pytest.approx(now + MIN_GAP)
    roomy = PollPolicy(first=0.5, factor=1.3, cap=100.0, jitter=0.0)
    assert cadence.next_check(roomy, "music", 0.0, 50, 1_000.0) > 1_000.0 + MIN_GAP


def test_a_slightly_late_check_of_short_jobs_is_at_least_min_gap_away() -> None:
    """Just past the learnt length of very short jobs, the back-off step (lateness x 0.3)
    is below MIN_GAP, and MIN_GAP is the gap, whatever the cap."""
    cadence = learned(mean=0.1)
    # late by 0.2 - 0.11 = 0.09 s: a back-off step of 0.027 s
    assert cadence.next_check(EXACT, "music", 0.0, 3, 0.2) == pytest.approx(0.2 + MIN_GAP)
    assert cadence.next_check(TINY, "music", 0.0, 3, 0.2) == pytest.approx(0.2 + MIN_GAP)


def test_learnt_first_checks_are_at_least_min_gap_after_the_create() -> None:
    """A learnt length below MIN_GAP aims the first check at MIN_GAP, whatever the cap."""
    for policy in (EXACT, TINY):
        assert learned(mean=0.01).first_check(policy, "music", 7.0) == pytest.approx(7.0 + MIN_GAP)


@pytest.mark.parametrize("seconds", [0.001, 0.01, 0.049])
def test_fixed_below_min_gap_asks_min_gap_apart(seconds: float) -> None:
    """PollPolicy.fixed(s) with s below 0.05: every check, first or later, learnt or not,
    is 0.05 s after the one before."""
    policy = PollPolicy.fixed(seconds)
    for cadence in (Cadence(rng=random.Random(0)), learned(mean=100.0), learned(mean=0.01)):
        at = cadence.first_check(policy, "music", 10.0)
        assert at == pytest.approx(10.0 + MIN_GAP)
        for checks in range(1, 20):
            after = cadence.next_check(policy, "music", 10.0, checks, at)
            assert after == pytest.approx(at + MIN_GAP)
            at = after


def test_fixed_at_or_above_min_gap_keeps_its_gap() -> None:
    """The floor changes nothing for fixed gaps of 0.05 s or more."""
    cadence = Cadence(rng=random.Random(0))
    for seconds in (MIN_GAP, 0.2, 3.0):
        policy = PollPolicy.fixed(seconds)
        assert cadence.first_check(policy, "music", 1.0) == pytest.approx(1.0 + seconds)
        assert cadence.next_check(policy, "music", 1.0, 4, 9.0) == pytest.approx(9.0 + seconds)
