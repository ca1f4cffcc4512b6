"""The narrow interface the engine is written against: what it needs from the client.

The engine (`pixverse_audio._scheduler` and its helpers) never sees the HTTP
client, the endpoints or their private state: it is given a `Gateway`, which
the client layer implements (`pixverse_audio._gateway`) and tests may fake.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from ._kinds import Kind
from ._models import Account, Availability, Job, Page, SpeechClip, Track
from ._requests import MusicRequest, SpeechRequest
from ._server_clock import ServerClock

__all__ = ["Gateway"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


class Gateway(Protocol):
    """The API calls the engine makes.

    Attributes:
        clock: What the server's clock says, updated by every call that can tell.
    """

    clock: ServerClock

    def check(self, kind: Kind[R, O], request: R) -> None:
        """Check ``request`` against what is known live (the speech catalogue).

        Raises:
            ValidationError: It breaks a live limit; nothing is sent.
        """
        ...

    def estimate(self, kind: Kind[R, O], request: R, reported: float | None) -> float:
        """What ``request``'s job should cost in credits (``reported``: the most a
        finished job of the batch cost, for a model without a known price)."""
        ...

    async def create(self, kind: Kind[R, O], request: R, email: str) -> Job:
        """Send one create on ``email``.

        Raises:
            BusyError: At once on a 429 (the engine decides what to do).
            OutcomeUnknownError: The create may have reached the server.
        """
        ...

    async def get(self, kind: Kind[R, O], audio_id: str) -> O:
        """GET one job by id."""
        ...

    async def recent(self, email: str, limit: int) -> Page[Track | SpeechClip]:
        """The newest jobs of ``email``, music and speech alike, newest first."""
        ...

    async def release(self, job_id: str, *, timeout: float) -> bool:
        """DELETE scheduler/{id} with a per-attempt ``timeout``; whether it was running."""
        ...

    async def availability(self) -> Availability:
        """GET scheduler/available."""
        ...

    async def accounts(self) -> list[Account]:
        """GET accounts."""
        ...
