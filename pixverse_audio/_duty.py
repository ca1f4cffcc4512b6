"""Work that must go on while anyone waits, done by the waiters themselves, one at a time.

The engine's status polling (and a shared limiter's lease renewals) must run
while some task waits for a job or a slot, and need not run otherwise. Rather
than a background task, which would need an owner that outlives every caller
(a web service calls ``generate`` from request handlers that come and go), the
waiting tasks take turns: the first to wait runs the service in a task group
of its own until what it waits for has happened, then hands the duty to the
longest-waiting task still waiting. A cancelled driver hands over in its
``finally``. Every task therefore has a parent that waits for it, and when
nobody waits, nothing runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import attrs

__all__ = ["Duty", "Waiter"]


@attrs.define(eq=False)
class Waiter:
    """A task waiting in the engine: ``wake`` is set when it should look again.

    Attributes:
        done: Set once what it waits for has happened (its `wait` loop ends).
        wake: Set to make the task look at its state again.
    """

    done: bool = False
    wake: anyio.Event = attrs.field(factory=anyio.Event)

    def nudge(self) -> None:
        """Make the task look at its state again."""
        self.wake.set()

    def finish(self) -> None:
        """What it waits for has happened."""
        self.done = True
        self.wake.set()

    def rearm(self) -> None:
        """Before waiting again: forget a wake-up that was already seen."""
        if self.wake.is_set():
            self.wake = anyio.Event()


class Duty:
    """A service run by one waiting task at a time (see the module documentation)."""

    def __init__(self, service: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._service = service
        self._driver: Waiter | None = None
        self._standby: deque[Waiter] = deque()
        self.handovers = 0

    @property
    def running(self) -> bool:
        """Whether some waiting task runs the service now."""
        return self._driver is not None

    async def wait(self, waiter: Waiter) -> None:
        """Wait until ``waiter`` is woken, running the service meanwhile if nobody does.

        Returns after one wake-up (or when the duty falls vacant); the caller
        checks its state, calls `Waiter.rearm`, and waits again if needed.
        """
        if waiter.wake.is_set():
            return
        if self._driver is None:
            await self._drive(waiter)
            return
        self._standby.append(waiter)
        try:
            await waiter.wake.wait()
        finally:
            if waiter in self._standby:  # woken by its own event, or cancelled
                self._standby.remove(waiter)

    async def _drive(self, waiter: Waiter) -> None:
        self._driver = waiter
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._service)
                await waiter.wake.wait()
                group.cancel_scope.cancel()
        finally:
            self._driver = None
            self._hand_over()

    def _hand_over(self) -> None:
        """Wake the longest-waiting task still waiting: it takes the duty."""
        while self._standby:
            successor = self._standby.popleft()
            if not successor.done:
                self.handovers += 1
                successor.nudge()
                return
