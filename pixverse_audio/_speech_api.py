"""``client.speech``: text to speech, voices and the live model catalogue."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from . import _sansio as sansio
from ._engine import Batch, wait_for
from ._errors import ValidationError
from ._jobs import JobEvent, PollPolicy, SpeechRequest, poll_policy
from ._models import Job, Page, SpeechClip, SpeechModels, Voice
from ._resources import Resource, audio_id_of
from ._validate import check_timeout

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["SpeechAPI"]


class SpeechAPI(Resource):
    """Text to speech: ``client.speech``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self._catalogues: dict[str | None, SpeechModels] = {}

    async def create(
        self,
        text: str,
        voice_id: str,
        *,
        model: str = "speech-2.8-hd",
        language_code: str | None = None,
        speed: float | None = None,
        volume: float | None = None,
        pitch: int | None = None,
        emotion: str | None = None,
        stability: float | None = None,
        similarity_boost: float | None = None,
        style: float | None = None,
        use_speaker_boost: bool | None = None,
        email: str | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
    ) -> Job:
        """Start a text-to-speech job (POST speech/create) and return it at once.

        Args:
            text: The words to speak (10,000 characters; 5,000 on eleven-v3,
                40,000 on eleven-turbo-v2.5, or the live limit once `models`
                was fetched).
            voice_id: A voice from `voices`.
            model: MiniMax ``speech-2.8-hd`` (default) or ``speech-2.8-turbo``;
                ElevenLabs ``eleven-multilingual-v2``, ``eleven-v3`` or
                ``eleven-turbo-v2.5``. Other names are sent unchecked.
            language_code: Not accepted by eleven-v3, which detects it.
            speed: MiniMax 0.5 to 2; ElevenLabs 0.7 to 1.2.
            volume: MiniMax only, 0 to 10.
            pitch: MiniMax only, -12 to 12.
            emotion: MiniMax only: auto, happy, sad, angry, fearful, disgusted,
                surprised, neutral or calm.
            stability: ElevenLabs only, 0 to 1.
            similarity_boost: ElevenLabs only, 0 to 1.
            style: eleven-multilingual-v2 only, 0 to 1.
            use_speaker_boost: eleven-multilingual-v2 only.
            email: The account to run on.
            reply_url: A URL that receives progress and result callbacks.
            reply_ref: Your reference, echoed with the result.
            max_jobs: Override the account's ``maxJobs`` (1 to 8) for this job.

        Raises:
            ValidationError: An argument breaks a documented rule; nothing was sent.
            OutcomeUnknownError: The request may have reached the server; not resent.
        """
        call = sansio.speech_create(
            text=text,
            voice_id=voice_id,
            model=model,
            language_code=language_code,
            email=email,
            reply_url=reply_url,
            reply_ref=reply_ref,
            max_jobs=max_jobs,
            catalogue=self._catalogues.get(email) or self._catalogues.get(None),
            speed=speed,
            volume=volume,
            pitch=pitch,
            emotion=emotion,
            stability=stability,
            similarity_boost=similarity_boost,
            style=style,
            use_speaker_boost=use_speaker_boost,
        )
        return await self._client._call(call, sansio.parse_job)

    async def get(self, audio_id: str | Job | SpeechClip) -> SpeechClip:
        """Fetch the current state of a speech job (GET speech/{audio_id})."""
        call = sansio.speech_get(audio_id_of(audio_id))
        return await self._client._call(call, sansio.parse_speech_clip)

    async def confirm(self, callback: SpeechClip) -> SpeechClip:
        """Check an (unsigned) speech callback against the API; see `MusicAPI.confirm`."""
        if not isinstance(callback, SpeechClip):
            raise ValidationError(
                "callback", f"must be a SpeechClip, not {type(callback).__name__}"
            )
        return await self.get(callback.audio_id)

    async def wait(
        self,
        job: str | Job | SpeechClip,
        *,
        timeout: float = 600.0,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
    ) -> SpeechClip:
        """Poll a speech job until it is final and return the COMPLETED clip.

        See `MusicAPI.wait`.

        Raises:
            GenerationFailedError: The job ended FAILED.
            WaitTimeoutError: The deadline passed first.
        """
        result = await wait_for(
            self._client,
            "speech",
            job,
            timeout=timeout,
            poll=poll_policy(poll_interval, self._client.poll),
            cancel_on_timeout=cancel_on_timeout,
        )
        return cast(SpeechClip, result)

    async def generate(
        self,
        text: str,
        voice_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
        **create_kwargs: Any,
    ) -> SpeechClip:
        """Create a speech job and wait for its clip: `create` then `wait`."""
        check_timeout(timeout)  # before the paid create, not after it
        poll_policy(poll_interval, self._client.poll)
        job = await self.create(text, voice_id, **create_kwargs)
        return await self.wait(
            job, timeout=timeout, poll_interval=poll_interval, cancel_on_timeout=cancel_on_timeout
        )

    def generate_many(
        self,
        requests: Iterable[SpeechRequest] | AsyncIterable[SpeechRequest],
        *,
        timeout: float = 600.0,
        max_attempts: int = 2,
        raise_on_error: bool = False,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> Batch[SpeechRequest, SpeechClip]:
        """Run many speech jobs; see `MusicAPI.generate_many` (with `SpeechRequest`)."""
        return Batch(
            self._client,
            "speech",
            requests,
            timeout=timeout,
            max_attempts=max_attempts,
            raise_on_error=raise_on_error,
            poll=poll_policy(poll_interval, self._client.poll),
            cancel_on_timeout=cancel_on_timeout,
            on_event=on_event,
        )

    async def list_page(
        self, *, email: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[SpeechClip]:
        """Fetch one page of the account's speech clips, newest first (GET speech/)."""
        call = sansio.speech_list(email=email, limit=limit, offset=offset)
        page, _ = await self._client._call(call, partial(sansio.parse_speech_page, offset=offset))
        return page

    async def list(
        self, *, email: str | None = None, page_size: int = 50
    ) -> AsyncIterator[SpeechClip]:
        """Iterate over every speech clip of the account (see `MusicAPI.list`)."""
        pages = self._client._pages(
            lambda offset: sansio.speech_list(email=email, limit=page_size, offset=offset),
            lambda offset: partial(sansio.parse_speech_page, offset=offset),
            page_size,
            key=lambda clip: clip.audio_id,
        )
        async for clip in pages:
            yield clip

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
        page, _ = await self._client._call(call, parse)
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
        """
        pages = self._client._pages(
            lambda offset: sansio.speech_voices(
                model=model, language=language, email=email, limit=page_size, offset=offset
            ),
            lambda offset: partial(sansio.parse_voice_page, offset=offset, limit=page_size),
            page_size,
            key=lambda voice: voice.voice_id,
        )
        async for voice in pages:
            yield voice

    async def models(self, *, email: str | None = None, refresh: bool = False) -> SpeechModels:
        """The live speech model catalogue (GET speech/models), cached per ``email``.

        Once fetched, `create` checks ``text`` against each model's live
        ``max_characters`` and ``language_code`` against its supported codes
        (using the catalogue of the create's ``email``, else the default one).

        Args:
            email: The account whose catalogue to read.
            refresh: Fetch again even if a catalogue is cached.
        """
        cached = self._catalogues.get(email)
        if cached is None or refresh:
            call = sansio.speech_models(email=email)
            cached = await self._client._call(call, sansio.parse_speech_models)
            self._catalogues[email] = cached
        return cached
