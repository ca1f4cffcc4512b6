"""The client layer's side of the engine's interface (`pixverse_audio._ports.Gateway`).

It turns the engine's needs into calls through the session, and reads the
server's clock from the ``Date`` header of the replies that matter for
reconciliation (creates and list pages).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import TypeVar

import attrs

from . import _sansio as sansio
from ._kinds import Kind
from ._models import Account, Availability, Job, Page, SpeechClip, SpeechModels, Track
from ._pricing import music_credits, speech_credits
from ._protocol import Reply
from ._requests import MusicRequest, SpeechRequest
from ._server_clock import ServerClock
from ._session import Session

__all__ = ["ClientGateway"]

T = TypeVar("T")
R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


class ClientGateway:
    """What the engine asks of the API, sent through a `Session`.

    Args:
        session: Where calls go.
        catalogue: The speech catalogue fetched for an account (for the live
            limits of a speech create), or ``None``.
        clock: The server's clock to update (a new one by default).
    """

    def __init__(
        self,
        session: Session,
        catalogue: Callable[[str | None], SpeechModels | None],
        clock: ServerClock | None = None,
    ) -> None:
        self.session = session
        self._catalogue = catalogue
        self.clock = clock if clock is not None else ServerClock()

    def with_session(self, session: Session) -> ClientGateway:
        """The same gateway sending through ``session`` (one server clock, one catalogue)."""
        return ClientGateway(session, self._catalogue, self.clock)

    def _dated(self, parse: Callable[[Reply], T], sent: float) -> Callable[[Reply], T]:
        """``parse``, noting the reply's ``Date`` (the server's clock) first."""

        def parse_dated(reply: Reply) -> T:
            stamp = reply.headers.get("date")
            if stamp:
                try:
                    when = email.utils.parsedate_to_datetime(stamp)
                except (TypeError, ValueError, IndexError):
                    pass
                else:
                    self.clock.observe(sent, time.time(), when)
            return parse(reply)

        return parse_dated

    def check(self, kind: Kind[R, O], request: R) -> None:
        """Check ``request`` against the live catalogue of its account (before a slot)."""
        kind.create(request, request.email, self._catalogue(request.email))

    def estimate(self, kind: Kind[R, O], request: R, reported: float | None) -> float:
        """What ``request``'s job should cost: `pixverse_audio._pricing`, with the live
        speech catalogue's ``credit_formula`` when it was fetched."""
        if isinstance(request, SpeechRequest):
            catalogue = self._catalogue(request.email)
            model = catalogue.get(request.model) if catalogue else None
            formula = model.credit_formula if model else None
            return speech_credits(request.model, request.text, formula)
        return music_credits(request.model, reported)

    async def create(self, kind: Kind[R, O], request: R, email: str) -> Job:
        """Send one create on ``email``; a 429 raises `BusyError` at once."""
        call = kind.create(request, email, self._catalogue(email))
        parse = self._dated(sansio.parse_job, time.time())
        return await self.session.call(call, parse, retry_busy=False)

    async def get(self, kind: Kind[R, O], audio_id: str) -> O:
        """GET one job by id."""
        return await self.session.call(kind.get(audio_id), kind.parse)

    async def recent(self, email: str, limit: int) -> Page[Track | SpeechClip]:
        """GET music/?email=: the account's newest jobs, speech included."""
        call = sansio.music_list(email=email or None, limit=limit)
        parse = self._dated(lambda reply: sansio.parse_audio_page(reply, offset=0), time.time())
        return await self.session.call(call, parse)

    async def release(self, job_id: str, *, timeout: float) -> bool:
        """DELETE scheduler/{id}, each attempt within ``timeout`` seconds."""
        call = attrs.evolve(sansio.scheduler_cancel(job_id), timeout=timeout)
        return await self.session.call(call, sansio.parse_cancel)

    async def availability(self) -> Availability:
        """GET scheduler/available."""
        return await self.session.call(sansio.scheduler_available(), sansio.parse_availability)

    async def accounts(self) -> list[Account]:
        """GET accounts."""
        return await self.session.call(sansio.accounts_list(), sansio.parse_accounts)
