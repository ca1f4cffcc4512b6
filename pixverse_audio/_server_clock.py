"""What time it is on the server, learned from the server's own timestamps.

Reconciling a lost create must only adopt a job created after that create was
sent, by the server's clock. Each reply's ``Date`` header and each job's
``created_at`` (read back for jobs whose create we timed) bound the difference
between the server's clock and ours; the bounds are narrowed as evidence
arrives, and restarted when new evidence contradicts them (a clock that
jumped). Server timestamps have one-second resolution, which the bounds allow
for. Pure: local times are passed in (``time.time()`` in the engine).
"""

from __future__ import annotations

import math
from datetime import datetime

import attrs

__all__ = ["ServerClock"]


@attrs.define
class ServerClock:
    """Bounds on ``server time - local time``, in seconds.

    Attributes:
        low: The smallest offset the evidence allows (``-inf``: no evidence yet).
        high: The largest.
    """

    low: float = -math.inf
    high: float = math.inf

    @property
    def known(self) -> bool:
        """Whether any evidence arrived."""
        return math.isfinite(self.low)

    def observe(self, sent: float, received: float, stamp: datetime) -> None:
        """The server wrote ``stamp`` (whole seconds) between our ``sent`` and ``received``."""
        at = stamp.timestamp()
        low, high = at - received, at + 1.0 - sent
        if low > self.high or high < self.low:  # contradicts what we knew: start again
            self.low, self.high = low, high
        else:
            self.low, self.high = max(self.low, low), min(self.high, high)

    def latest_stamp_before(self, sent: float) -> float | None:
        """The latest ``created_at`` (whole seconds) a job created before ``sent`` can carry.

        A stamp above it proves the job newer than ``sent``; ``None`` when
        nothing is known about the server's clock.
        """
        if not self.known:
            return None
        return math.floor(sent + self.high)

    def earliest_stamp(self, sent: float) -> float | None:
        """The earliest ``created_at`` (epoch seconds, whole) of a job created after ``sent``.

        ``None`` when nothing is known about the server's clock.
        """
        if not self.known:
            return None
        return math.floor(sent + self.low)
