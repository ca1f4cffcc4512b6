"""Every poll-timing decision, in one place: when to ask about a job, and how long to back off.

`PollPolicy` is the caller's setting (a value). `Cadence` applies it: it
learns how long jobs of each kind take (`DurationEstimate`: the mean and the
spread of what polls saw) and aims each job's checks at its expected end, so
5-second clips and 3-minute songs are both noticed within a few percent of
their length, with about one status request per job. Until a length is known,
checks start soon and grow geometrically. Pure: times are numbers passed in
(``anyio.current_time()`` in the engine); randomness comes from a seeded
``random.Random``.
"""

from __future__ import annotations

import math
import random
from typing import Final

import attrs

from ._errors import ValidationError

__all__ = ["Cadence", "DurationEstimate", "PollPolicy", "grow", "poll_policy"]

MIN_GAP: Final = 0.05  # never ask about an account more often than this (seconds)
AIM: Final = 0.02  # the first check comes this share of the mean after it ...
AIM_SPREAD: Final = 0.3  # ... or this many mean deviations after it, whichever is later
STEP: Final = 0.04  # checks after a miss come this share of the mean apart ...
STEP_SPREAD: Final = 0.5  # ... or half a mean deviation, whichever is longer
OUTLIER: Final = 4.0  # past mean + this many deviations (+10%), gaps grow again
NARROW: Final = 0.5  # a bracket this share of the length or less gives a midpoint sample


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How often to ask for a job's status.

    With ``adaptive`` (the default) the client learns how long jobs take and
    asks near the moment each job should end; until it knows, it asks after
    ``first`` seconds, then each gap ``factor`` times longer (with ``jitter``),
    at most ``cap``. Without ``adaptive``, that growing schedule is all there
    is; `PollPolicy.fixed` asks at one fixed gap.

    Attributes:
        first: Seconds before the first check of a job of unknown length.
        factor: Growth of the gap after each check that found nothing new.
        cap: The longest gap.
        jitter: Relative random spread of each growing gap (0.1 is +-10%).
        not_found_grace: Seconds after a create during which a 404 means
            "not visible yet" rather than "gone".
        adaptive: Aim checks at the learned length of jobs.
    """

    first: float = attrs.field(default=0.5, validator=_positive)
    factor: float = attrs.field(default=1.3, validator=attrs.validators.ge(1.0))
    cap: float = attrs.field(default=10.0, validator=_positive)
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    not_found_grace: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    adaptive: bool = True

    @classmethod
    def fixed(cls, seconds: float) -> PollPolicy:
        """Ask every ``seconds`` (no growth, no jitter, no learning; at least 0.05 s apart)."""
        return cls(first=seconds, factor=1.0, cap=seconds, jitter=0.0, adaptive=False)

    def scaled(self, speed: float) -> PollPolicy:
        """This policy on a clock ``speed`` times faster (for the emulator's ``speed``)."""
        return attrs.evolve(
            self,
            first=self.first / speed,
            cap=self.cap / speed,
            not_found_grace=self.not_found_grace / speed,
        )

    def gap(self, checks: int, rng: random.Random) -> float:
        """The wait before check number ``checks + 1`` (0 is the first), never above ``cap``."""
        base = grow(self.first, self.factor, checks, self.cap)
        return min(self.cap, base * (1 + self.jitter * rng.uniform(-1, 1)))


def poll_policy(value: object, default: PollPolicy) -> PollPolicy:
    """``poll_interval`` as a `PollPolicy`: ``None`` is ``default``; seconds are a fixed gap.

    Raises:
        ValidationError: Neither a `PollPolicy` nor a positive, finite number.
    """
    if value is None:
        return default
    if isinstance(value, PollPolicy):
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(
            "poll_interval", "must be a positive number of seconds or a PollPolicy"
        )
    return PollPolicy.fixed(float(value))


def grow(first: float, factor: float, steps: int, cap: float) -> float:
    """``first * factor**steps``, capped at ``cap``, without ever overflowing."""
    value = first
    for _ in range(steps):
        if value >= cap:
            break
        value *= factor
        if factor == 1.0:
            break
    return min(cap, value)


@attrs.define
class DurationEstimate:
    """How long jobs take from create to final: a smoothed mean and mean deviation.

    A job turned final between the last check that saw it unfinished and the
    first that saw it final. The server's own stamps (``updated_at -
    created_at``, whole seconds) narrow that bracket when they agree with it.
    A narrow bracket gives one sample, its geometric midpoint (checks of a job
    of unknown length are spaced geometrically). A job first seen already
    final gives only an upper bound: it counts ``drift`` below it, so an
    estimate that is too long comes down within a few jobs, until a check
    comes early and finds a job unfinished, which pins it again.
    """

    mean: float | None = None
    deviation: float = 0.0
    samples: int = 0
    weight: float = 0.3
    drift: float = 0.93

    def observe(
        self,
        submitted: float,
        last_unfinished: float,
        seen_final: float,
        server: float | None = None,
    ) -> None:
        """Record one job's bounds (``server``: its length by the server's stamps, if known)."""
        upper = seen_final - submitted
        lower = last_unfinished - submitted if last_unfinished >= submitted else 0.0
        if server is not None and upper - lower > 2 and lower < server + 1 and server - 1 < upper:
            sample = min(upper, max(lower, server))  # the stamps say more than the checks
        elif lower > 0 and upper - lower <= NARROW * upper:
            sample = math.sqrt(lower * upper)
        else:  # no lower bound, or one too far back to say much
            sample = upper * self.drift
        if not sample > 0 or not math.isfinite(sample):
            return
        self.samples += 1
        if self.mean is None:
            self.mean = sample
            return
        weight = max(self.weight, 1 / self.samples)  # the first few count fully
        self.deviation = (1 - weight) * self.deviation + weight * abs(sample - self.mean)
        self.mean = (1 - weight) * self.mean + weight * sample


@attrs.define
class Cadence:
    """The timing of one client's checks: learned lengths per kind of job, and the rules.

    Each job keeps its own schedule (``checks`` made, the last one unfinished);
    the engine asks about an account when its earliest job is due, and every
    job of the account learns from that one answer.
    """

    rng: random.Random = attrs.field(factory=random.Random)
    estimates: dict[str, DurationEstimate] = attrs.field(factory=dict)

    def estimate(self, kind: str) -> DurationEstimate:
        """The learned length of ``kind`` jobs."""
        found = self.estimates.get(kind)
        if found is None:
            found = self.estimates[kind] = DurationEstimate()
        return found

    def first_check(self, policy: PollPolicy, kind: str, submitted: float) -> float:
        """When to first ask about a job created at ``submitted``."""
        mean = self.estimate(kind).mean if policy.adaptive else None
        if mean is None:
            return submitted + max(MIN_GAP, policy.gap(0, self.rng))
        deviation = self.estimate(kind).deviation
        return submitted + max(MIN_GAP, mean + max(AIM * mean, AIM_SPREAD * deviation))

    def aimed(self, policy: PollPolicy, kind: str, submitted: float) -> float | None:
        """When a job created at ``submitted`` ends by the learnt length (``None``: unknown)."""
        if not policy.adaptive or self.estimate(kind).mean is None:
            return None
        return self.first_check(policy, kind, submitted)

    def next_check(
        self, policy: PollPolicy, kind: str, submitted: float, checks: int, now: float
    ) -> float:
        """When to ask again about a job still unfinished at ``now`` after ``checks`` checks."""
        estimate = self.estimate(kind)
        mean = estimate.mean if policy.adaptive else None
        if mean is None:
            return now + max(MIN_GAP, policy.gap(checks, self.rng))
        step = min(policy.cap, max(STEP * mean, STEP_SPREAD * estimate.deviation))
        late = now - submitted - (mean * 1.1 + OUTLIER * estimate.deviation)
        if late > 0:  # far beyond the usual length: back off as if unknown
            step = min(policy.cap, max(step, late * (policy.factor - 1)))
        return now + max(MIN_GAP, step)

    def finished(
        self,
        kind: str,
        submitted: float,
        last_unfinished: float,
        now: float,
        server: float | None = None,
    ) -> None:
        """A job created at ``submitted`` was seen final at ``now``: learn from it.

        ``server`` is its length by the server's stamps (whole seconds), if known.
        """
        self.estimate(kind).observe(submitted, last_unfinished, now, server)

    def backoff(self, streak: int) -> float:
        """How long an account takes no new job after ``streak`` 429s in a row (1 to 30 s)."""
        base = min(30.0, 2.0 ** min(streak, 5))
        return base * self.rng.uniform(0.5, 1.0)

    def refresh_every(self, policy: PollPolicy) -> float:
        """Most seconds between availability reads while an account is shrunk by 429s."""
        return min(5.0, policy.cap)
