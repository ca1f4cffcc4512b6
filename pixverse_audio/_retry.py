"""Retries as data: which failures may be resent, and how long to wait.

The API has no idempotency key: every create the server accepts is a separate
paid job. So a create is resent only when no job can exist: the request never
left (connect error, waiting for a pool connection) or useapi.net refused it
with 429 busy. Reads (GET, DELETE) and uploads are resent on any transient
failure. 400, 401, 402, 404, 422 and 596 are answers, never retried.
"""

from __future__ import annotations

import enum
import math
import random
from typing import Final

import attrs

from ._protocol import CallKind

__all__ = ["Failure", "RetryPolicy", "failure_of_status", "may_resend"]


class Failure(enum.Enum):
    """Why an attempt did not produce a usable answer."""

    CONNECT = "connect"  # no connection was made: the request never left
    POOL = "pool"  # no pooled connection came free in time: never left
    SEND = "send"  # failed while sending: the server may have it
    READ = "read"  # sent, but the answer was lost (timeout, dropped connection)
    BUSY = "busy"  # 429: refused, no job created
    SERVER = "server"  # 5xx other than 596: the server may have acted


_NO_JOB: Final = frozenset({Failure.CONNECT, Failure.POOL, Failure.BUSY})
NEVER_SENT: Final = frozenset({Failure.CONNECT, Failure.POOL})


def may_resend(kind: CallKind, failure: Failure) -> bool:
    """Whether a call of ``kind`` may be sent again after ``failure``.

    >>> may_resend(CallKind.CREATE, Failure.READ)
    False
    >>> may_resend(CallKind.READ, Failure.READ)
    True
    """
    return kind is not CallKind.CREATE or failure in _NO_JOB


def failure_of_status(status_code: int) -> Failure | None:
    """The retryable failure a status stands for, or ``None`` for an answer."""
    if status_code == 429:
        return Failure.BUSY
    if 500 <= status_code < 600 and status_code != 596:
        return Failure.SERVER
    return None


def _check_delay(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    try:
        valid = math.isfinite(value) and value >= 0
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(f"{attribute.name} must be a finite number of seconds >= 0")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how long to retry (a value; pass it as ``AsyncClient(retry=...)``).

    Attributes:
        max_retries: Retries after the first attempt (so ``3`` means up to 4 sends).
        backoff_base: First backoff ceiling in seconds; doubles per retry
            ("full jitter": the wait is uniform between 0 and the ceiling).
        backoff_cap: Largest backoff ceiling in seconds.
        retry_after_cap: Largest ``Retry-After`` honoured, in seconds.
        busy_delay: Range of the jittered wait before resending a read refused
            with 429. Creates refused with 429 are resent by the client's
            scheduler, which backs the account off instead.
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=_check_delay)
    backoff_cap: float = attrs.field(default=8.0, validator=_check_delay)
    retry_after_cap: float = attrs.field(default=60.0, validator=_check_delay)
    busy_delay: tuple[float, float] = (10.0, 30.0)

    def __attrs_post_init__(self) -> None:
        low, high = self.busy_delay
        if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high):
            raise ValueError("busy_delay must be (low, high) with 0 <= low <= high")

    def should_retry(self, kind: CallKind, failure: Failure, retries_done: int) -> bool:
        """Whether to resend after ``failure`` when ``retries_done`` retries were made."""
        return retries_done < self.max_retries and may_resend(kind, failure)

    def delay(
        self,
        kind: CallKind,
        failure: Failure,
        retries_done: int,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait before retry number ``retries_done + 1``."""
        rng = rng or random.Random()
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        if failure is Failure.BUSY and kind is CallKind.CREATE:
            return rng.uniform(*self.busy_delay)
        ceiling = min(self.backoff_cap, self.backoff_base * 2**retries_done)
        return rng.uniform(0, ceiling)
