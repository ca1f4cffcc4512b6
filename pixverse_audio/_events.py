"""Progress events: where the engine reports each step of each job (`JobEvent`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._jobs import EventKind, JobEvent
from ._logging import logger

if TYPE_CHECKING:
    from ._models import SpeechClip, Track
    from ._tracker import Tracked

__all__ = ["EventCallback", "Events"]

EventCallback = Callable[[JobEvent], None]


@attrs.frozen
class Events:
    """The callbacks of one request (the client's and its batch's), and its place.

    Attributes:
        callbacks: Called with every event; one that raises is logged, not fatal.
        index: The request's position in its batch (``None`` outside one).
        attempt: Which job of the request this is (1 for the first).
    """

    callbacks: tuple[EventCallback | None, ...] = ()
    index: int | None = None
    attempt: int = 1

    def also(self, callback: EventCallback | None) -> Events:
        """These events, also given to ``callback``."""
        return attrs.evolve(self, callbacks=(*self.callbacks, callback))

    def at(self, index: int | None, attempt: int = 1) -> Events:
        """These callbacks for request ``index``, job ``attempt``."""
        return attrs.evolve(self, index=index, attempt=attempt)

    def emit(self, kind: EventKind, **fields: Any) -> None:
        """Give a `JobEvent` to every callback."""
        if not any(self.callbacks):
            return
        event = JobEvent(
            kind=kind, at=anyio.current_time(), index=self.index, attempt=self.attempt, **fields
        )
        _call(self.callbacks, event)

    def on_status(self, tracked: Tracked, item: Track | SpeechClip) -> None:
        """A followed job's status changed."""
        kind: EventKind = "status"
        if item.final:
            kind = "completed" if item.completed else "failed"
        self.emit(kind, job_id=tracked.job_id, status=item.status, email=item.email)


def _call(callbacks: Iterable[EventCallback | None], event: JobEvent) -> None:
    for callback in callbacks:
        if callback is None:
            continue
        try:
            callback(event)
        except Exception:  # a progress display must never break the jobs it shows
            logger.exception("on_event callback failed for %s", event)
