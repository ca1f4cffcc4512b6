"""The music and speech endpoints, written once over a `Kind`: get and list.

These are the raw reads; creating and waiting go through the engine and are
added by the public namespaces (`pixverse_audio._audio_api`). Speech adds its
voices and its live model catalogue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Generic, TypeVar

from . import _sansio as sansio
from ._kinds import Kind
from ._models import Job, Page, SpeechClip, SpeechModels, Track, Voice
from ._requests import MusicRequest, SpeechRequest
from ._resources import Resource, audio_id_of
from ._session import Session

__all__ = ["AudioEndpoints", "SpeechEndpoints"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


class AudioEndpoints(Resource, Generic[R, O]):
    """GET one job, one page, or every job of an account, for one kind."""

    def __init__(self, session: Session, kind: Kind[R, O]) -> None:
        super().__init__(session)
        self._kind: Kind[R, O] = kind

    async def get(self, audio_id: str | Job | O) -> O:
        """Fetch the current state of a job (GET {kind}/{audio_id}).

        Raises:
            NotFoundError: No such job (deleted, or never existed).
        """
        return await self._session.call(self._kind.get(audio_id_of(audio_id)), self._kind.parse)

    async def list_page(
        self, *, email: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[O]:
        """Fetch one page of the account's jobs of this kind, newest first.

        GET music/ also lists speech jobs: they are left out of ``items``;
        ``next_offset`` still counts them.

        Args:
            email: Required by the server when several accounts are configured.
            limit: Items per page (1 to 1000).
            offset: Where the page starts.
        """
        call = self._kind.list(email=email, limit=limit, offset=offset)
        kind = self._kind
        page, _ = await self._session.call(call, lambda reply: kind.parse_page(reply, offset))
        return page

    async def list(self, *, email: str | None = None, page_size: int = 50) -> AsyncIterator[O]:
        """Iterate over every job of this kind of the account, page by page.

        Stops on ``has_more == false``, an empty page or an offset that does not
        advance; yields each ``audio_id`` once even if items shift between pages.
        """
        kind = self._kind
        pages = self._session.pages(
            lambda offset: kind.list(email=email, limit=page_size, offset=offset),
            lambda offset: lambda reply: kind.parse_page(reply, offset),
            page_size,
            key=lambda item: item.audio_id,
        )
        async with contextlib.aclosing(pages):  # closed with this generator, not by the GC
            async for item in pages:
                yield item


class SpeechEndpoints(AudioEndpoints[SpeechRequest, SpeechClip]):
    """Speech reads, its voices, and the live model catalogue (cached per account)."""

    def __init__(self, session: Session, kind: Kind[SpeechRequest, SpeechClip]) -> None:
        super().__init__(session, kind)
        self._catalogues: dict[str | None, SpeechModels] = {}

    def catalogue(self, email: str | None) -> SpeechModels | None:
        """The catalogue fetched for ``email`` (else the default one), if any."""
        return self._catalogues.get(email) or self._catalogues.get(None)

    async def voices_page(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        email: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Voice]:
        """Fetch one page of voices for ``model``'s provider (GET speech/voices)."""
        call = sansio.speech_voices(
            model=model, language=language, email=email, limit=limit, offset=offset
        )
        parse = partial(sansio.parse_voice_page, offset=offset, limit=limit)
        page, _ = await self._session.call(call, parse)
        return page

    async def voices(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        email: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Voice]:
        """Iterate over the voices for ``model``'s provider (default speech-2.8-hd).

        Args:
            model: The model whose provider's voices to list.
            language: A language filter (the server's default is ``auto``).
            email: The account, when several are configured.
            page_size: Voices per request.
        """
        pages = self._session.pages(
            lambda offset: sansio.speech_voices(
                model=model, language=language, email=email, limit=page_size, offset=offset
            ),
            lambda offset: partial(sansio.parse_voice_page, offset=offset, limit=page_size),
            page_size,
            key=lambda voice: voice.voice_id,
        )
        async with contextlib.aclosing(pages):
            async for voice in pages:
                yield voice

    async def models(self, *, email: str | None = None, refresh: bool = False) -> SpeechModels:
        """The live speech model catalogue (GET speech/models), cached per ``email``.

        Once fetched, creates check ``text`` against each model's live
        ``max_characters`` and ``language_code`` against its supported codes
        (using the catalogue of the create's account, else the default one).

        Args:
            email: The account whose catalogue to read.
            refresh: Fetch again even if a catalogue is cached.
        """
        cached = self._catalogues.get(email)
        if cached is None or refresh:
            call = sansio.speech_models(email=email)
            cached = await self._session.call(call, sansio.parse_speech_models)
            self._catalogues[email] = cached
        return cached
