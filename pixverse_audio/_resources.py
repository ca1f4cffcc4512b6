"""The endpoint namespaces of `AsyncClient`: music, speech, minimax, scheduler, files, accounts.

Each method is three lines: build a `Call` (pure, validates), send it through
the client's single `_send`, parse the reply (pure, maps errors).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread

from . import _sansio as sansio
from ._engine import Batch, check_timeout, wait_for
from ._errors import ValidationError
from ._jobs import JobEvent, MusicRequest, PollPolicy, SpeechRequest
from ._models import (
    Account,
    Availability,
    Job,
    MinimaxSong,
    Page,
    ScheduledJob,
    SpeechClip,
    SpeechModels,
    Track,
    UploadedFile,
    Voice,
)
from ._pagination import CursorScan

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AccountsAPI", "FilesAPI", "MinimaxAPI", "MinimaxMusicAPI", "MusicAPI"]
__all__ += ["SchedulerAPI", "SpeechAPI"]


def audio_id_of(job: str | Job | Track | SpeechClip) -> object:
    """The id of a job, track or clip; anything else as given, for the id check."""
    return job.audio_id if isinstance(job, (Job, Track, SpeechClip)) else job


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


class MusicAPI(_Resource):
    """Music generation: ``client.music``."""

    async def create(
        self,
        prompt: str,
        *,
        model: str = "music-2.6",
        email: str | None = None,
        instrumental: bool | None = None,
        lyrics: str | None = None,
        image_paths: Sequence[str] = (),
        reply_url: str | None = None,
        reply_ref: str | None = None,
        max_jobs: int | None = None,
    ) -> Job:
        """Start a music job (POST music/create) and return it at once.

        Poll it with `get` until ``final``, or receive it at ``reply_url``.

        Args:
            prompt: What the track should be (2,000 characters for music-2.6,
                4,000 for music-v1, 5,000 for lyria-3-pro-preview).
            model: ``music-2.6`` (default), ``music-v1`` or ``lyria-3-pro-preview``;
                other names are sent unchecked.
            email: The account to run on; ``None`` lets useapi.net pick one with room.
            instrumental: ``True`` for no vocals. Not with ``lyrics``.
            lyrics: Words to sing (up to 3,500 characters; not on lyria).
            image_paths: Up to 10 ``UploadedFile.path`` values (lyria only).
            reply_url: A URL that receives progress and result callbacks.
            reply_ref: Your reference, echoed with the result.
            max_jobs: Override the account's ``maxJobs`` (1 to 8) for this job.

        Raises:
            ValidationError: An argument breaks a documented rule; nothing was sent.
            BusyError: Every account is at ``maxJobs`` (after the retries).
            OutcomeUnknownError: The request may have reached the server but no
                answer came back; it is not resent, as that could pay twice.
            InsufficientCreditsError: The account has no credits left.
        """
        call = sansio.music_create(
            prompt=prompt,
            model=model,
            email=email,
            instrumental=instrumental,
            lyrics=lyrics,
            image_paths=image_paths,
            reply_url=reply_url,
            reply_ref=reply_ref,
            max_jobs=max_jobs,
        )
        return await self._client._call(call, sansio.parse_job)

    async def get(self, audio_id: str | Job | Track) -> Track:
        """Fetch the current state of a music job (GET music/{audio_id}).

        Raises:
            NotFoundError: No such track (deleted, or never existed).
        """
        call = sansio.music_get(audio_id_of(audio_id))
        return await self._client._call(call, sansio.parse_track)

    async def confirm(self, callback: Track) -> Track:
        """Check an (unsigned) callback against the API: GET the job it names.

        Returns the job as the API reports it now, which is what to act on.

        Raises:
            ValidationError: ``callback`` is not a music track.
            NotFoundError: No such job: the callback was not genuine.
        """
        if not isinstance(callback, Track):
            raise ValidationError("callback", f"must be a Track, not {type(callback).__name__}")
        return await self.get(callback.audio_id)

    async def wait(
        self,
        job: str | Job | Track,
        *,
        timeout: float = 1200.0,
        poll_interval: PollPolicy | None = None,
        cancel_on_timeout: bool = True,
    ) -> Track:
        """Poll a music job until it is final and return the COMPLETED track.

        The first check comes after about a second, then each gap is 1.5 times
        longer (with jitter) up to 10 s (see `PollPolicy`). A 404 just after the
        create means "not visible yet", for ``poll.not_found_grace`` seconds.

        Args:
            job: The job, track or ``audio_id``.
            timeout: Seconds to wait in all (``math.inf``: no deadline).
            poll_interval: A `PollPolicy` instead of the client's.
            cancel_on_timeout: On the deadline (or a cancellation), release the
                job from the scheduler so its slot is free; it may still finish
                and bill.

        Raises:
            GenerationFailedError: The job ended FAILED (``.track`` has the details).
            WaitTimeoutError: The deadline passed first (``.audio_id`` to resume).
        """
        result = await wait_for(
            self._client,
            "music",
            job,
            timeout=timeout,
            poll=poll_interval or self._client.poll,
            cancel_on_timeout=cancel_on_timeout,
        )
        return cast(Track, result)

    async def generate(
        self,
        prompt: str,
        *,
        timeout: float = 1200.0,
        poll_interval: PollPolicy | None = None,
        cancel_on_timeout: bool = True,
        **create_kwargs: Any,
    ) -> Track:
        """Create a music job and wait for its track: `create` then `wait`.

        ``create_kwargs`` are the arguments of `create` (``model``, ``lyrics``, ...).
        """
        check_timeout(timeout)  # before the paid create, not after it
        job = await self.create(prompt, **create_kwargs)
        return await self.wait(
            job, timeout=timeout, poll_interval=poll_interval, cancel_on_timeout=cancel_on_timeout
        )

    def generate_many(
        self,
        requests: Iterable[MusicRequest] | AsyncIterable[MusicRequest],
        *,
        timeout: float = 1200.0,
        max_attempts: int = 2,
        raise_on_error: bool = False,
        poll_interval: PollPolicy | None = None,
        cancel_on_timeout: bool = True,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> Batch[MusicRequest, Track]:
        """Run many music jobs as fast as the accounts allow; stream results as they finish.

        ::

            requests = [MusicRequest(prompt=p) for p in prompts]
            async with client.music.generate_many(requests) as results:
                async for result in results:
                    ...  # result.request, result.track, result.error, result.attempts

        Requests (a list, any iterable, or an async iterable) are read lazily,
        a few at a time, so any number runs in constant memory. Each account
        runs at most its ``maxJobs`` jobs at once (`AsyncClient` ``max_jobs``);
        requests without an ``email`` go to the least busy account. A 429 makes
        the engine re-read the accounts' free slots and send the create again
        (a 429 never creates a job). Status is read with one list request per
        account per tick.

        Args:
            requests: `MusicRequest` values.
            timeout: Seconds each job may take from create to final.
            max_attempts: Jobs to create per request when they end FAILED (each
                one is paid; FAILED is usually transient).
            raise_on_error: Raise the first failed result's error instead of
                yielding it (the rest of the batch is stopped).
            poll_interval: A `PollPolicy` instead of the client's.
            cancel_on_timeout: Release a job from the scheduler at its deadline.
            on_event: Called with a `JobEvent` for every step of every job.

        Returns:
            A `Batch`: enter it with ``async with`` to run it and iterate the results.
        """
        return Batch(
            self._client,
            "music",
            requests,
            timeout=timeout,
            max_attempts=max_attempts,
            raise_on_error=raise_on_error,
            poll=poll_interval or self._client.poll,
            cancel_on_timeout=cancel_on_timeout,
            on_event=on_event,
        )

    async def list_page(
        self, *, email: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[Track]:
        """Fetch one page of the account's tracks, newest first (GET music/).

        Speech items, which the endpoint also returns, are left out of
        ``items``; ``next_offset`` still counts them.

        Args:
            email: Required by the server when several accounts are configured.
        """
        call = sansio.music_list(email=email, limit=limit, offset=offset)
        page, _ = await self._client._call(call, partial(sansio.parse_music_page, offset=offset))
        return page

    async def list(self, *, email: str | None = None, page_size: int = 50) -> AsyncIterator[Track]:
        """Iterate over every music track of the account, page by page.

        Stops on ``has_more == false``, an empty page or an offset that does not
        advance; yields each ``audio_id`` once even if items shift between pages.
        """
        pages = self._client._pages(
            lambda offset: sansio.music_list(email=email, limit=page_size, offset=offset),
            lambda offset: partial(sansio.parse_music_page, offset=offset),
            page_size,
            key=lambda track: track.audio_id,
        )
        async for track in pages:
            yield track


class SpeechAPI(_Resource):
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
        poll_interval: PollPolicy | None = None,
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
            poll=poll_interval or self._client.poll,
            cancel_on_timeout=cancel_on_timeout,
        )
        return cast(SpeechClip, result)

    async def generate(
        self,
        text: str,
        voice_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: PollPolicy | None = None,
        cancel_on_timeout: bool = True,
        **create_kwargs: Any,
    ) -> SpeechClip:
        """Create a speech job and wait for its clip: `create` then `wait`."""
        check_timeout(timeout)  # before the paid create, not after it
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
        poll_interval: PollPolicy | None = None,
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
            poll=poll_interval or self._client.poll,
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


class MinimaxMusicAPI(_Resource):
    """Legacy MiniMax v1 music: ``client.minimax.music`` (decommissioned upstream)."""

    async def list_page(
        self,
        *,
        account: str | None = None,
        limit: int = 20,
        last_music_id: str | None = None,
    ) -> list[MinimaxSong]:
        """Fetch one page of songs after ``last_music_id`` (GET /v1/minimax/music/).

        Moderated songs (status 4) are left out by the server; use `get` for them.
        """
        call = sansio.minimax_music_list(account=account, limit=limit, last_music_id=last_music_id)
        return await self._client._call(call, sansio.parse_minimax_songs)

    async def list(
        self, *, account: str | None = None, page_size: int = 20
    ) -> AsyncIterator[MinimaxSong]:
        """Iterate over every song, following the ``lastMusicId`` cursor.

        Stops on an empty or short page or a cursor seen before, and yields each
        ``music_id`` once.
        """
        sansio.minimax_music_list(account=account, limit=page_size)
        scan: CursorScan[MinimaxSong] = CursorScan(page_size=page_size, key=lambda s: s.music_id)
        while not scan.done:
            songs = await self.list_page(
                account=account, limit=page_size, last_music_id=scan.cursor
            )
            for song in scan.take(songs):
                yield song

    async def get(self, music_id: str) -> MinimaxSong:
        """Fetch one song (GET /v1/minimax/music/{musicId}), moderated ones included."""
        call = sansio.minimax_music_get(music_id)
        return await self._client._call(call, sansio.parse_minimax_song)


class MinimaxAPI(_Resource):
    """Legacy MiniMax v1: ``client.minimax``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self.music = MinimaxMusicAPI(client)


class SchedulerAPI(_Resource):
    """Jobs useapi.net is tracking: ``client.scheduler``."""

    async def list(self) -> list[ScheduledJob]:
        """The running jobs of every account (GET scheduler/)."""
        return await self._client._call(sansio.scheduler_list(), sansio.parse_scheduled_jobs)

    async def available(self) -> Availability:
        """Running jobs and free slots per account (GET scheduler/available/)."""
        return await self._client._call(sansio.scheduler_available(), sansio.parse_availability)

    async def cancel(self, job_id: str | Job | Track | SpeechClip) -> bool:
        """Stop tracking a job and free its slot (DELETE scheduler/{id}).

        The job is not stopped at PixVerse: it may still finish and bill.

        Returns:
            ``True`` if the job was running, ``False`` if it was not (404).
        """
        call = sansio.scheduler_cancel(audio_id_of(job_id))
        return await self._client._call(call, sansio.parse_cancel)


class FilesAPI(_Resource):
    """Uploads: ``client.files``."""

    async def upload(
        self,
        file: bytes | str | os.PathLike[str],
        *,
        content_type: str | None = None,
        email: str | None = None,
    ) -> UploadedFile:
        """Upload an image, audio or video file (POST files/, the raw bytes as the body).

        Files are streamed from disk, never read whole into memory.

        Args:
            file: The bytes, or a path to the file.
            content_type: e.g. ``image/png``; guessed from the suffix or the
                first bytes when omitted.
            email: The account to store it with (send it when several are configured).

        Returns:
            The stored file; pass ``.path`` in ``image_paths``.
        """
        if isinstance(file, (bytes, bytearray, memoryview)):
            data = bytes(file)
            call = sansio.files_upload(
                data, size=len(data), head=data[:16], content_type=content_type, email=email
            )
        elif isinstance(file, (str, os.PathLike)):
            path = Path(file)
            size, head = await anyio.to_thread.run_sync(_size_and_head, path)
            call = sansio.files_upload(
                path, size=size, head=head, content_type=content_type, email=email
            )
        else:
            raise ValidationError("file", f"must be bytes or a path, not {type(file).__name__}")
        return await self._client._call(call, sansio.parse_uploaded_file)


def _size_and_head(path: Path) -> tuple[int, bytes]:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return size, handle.read(16)
    except OSError as exc:
        raise ValidationError("file", f"cannot read {str(path)!r}: {exc.strerror}") from None


class AccountsAPI(_Resource):
    """Configured PixVerse accounts: ``client.accounts``."""

    async def list(self) -> list[Account]:
        """Every configured account (GET accounts/).

        Raises:
            NotFoundError: No account is configured yet.
        """
        return await self._client._call(sansio.accounts_list(), sansio.parse_accounts)

    async def get(self, email: str) -> Account:
        """One configured account (GET accounts/{email}); ``.max_jobs`` is its cap."""
        return await self._client._call(sansio.accounts_get(email), sansio.parse_account)
