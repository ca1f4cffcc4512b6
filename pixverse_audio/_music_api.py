"""``client.music``: create, get, list, wait for and generate music tracks."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import Any, cast

from . import _sansio as sansio
from ._engine import Batch, wait_for
from ._errors import ValidationError
from ._jobs import JobEvent, MusicRequest, PollPolicy, poll_policy
from ._models import Job, Page, Track
from ._resources import Resource, audio_id_of
from ._validate import check_timeout

__all__ = ["MusicAPI"]


class MusicAPI(Resource):
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
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
    ) -> Track:
        """Poll a music job until it is final and return the COMPLETED track.

        The first check comes after about a second, then each gap is 1.5 times
        longer (with jitter) up to 10 s (see `PollPolicy`). A 404 just after the
        create means "not visible yet", for ``poll.not_found_grace`` seconds.

        Args:
            job: The job, track or ``audio_id``.
            timeout: Seconds to wait in all (``math.inf``: no deadline).
            poll_interval: A `PollPolicy` instead of the client's, or a number of
                seconds between checks (a fixed gap).
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
            poll=poll_policy(poll_interval, self._client.poll),
            cancel_on_timeout=cancel_on_timeout,
        )
        return cast(Track, result)

    async def generate(
        self,
        prompt: str,
        *,
        timeout: float = 1200.0,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
        **create_kwargs: Any,
    ) -> Track:
        """Create a music job and wait for its track: `create` then `wait`.

        ``create_kwargs`` are the arguments of `create` (``model``, ``lyrics``, ...).
        """
        check_timeout(timeout)  # before the paid create, not after it
        poll_policy(poll_interval, self._client.poll)
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
        poll_interval: PollPolicy | float | None = None,
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
            poll_interval: A `PollPolicy` instead of the client's, or a number of
                seconds between checks (a fixed gap).
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
            poll=poll_policy(poll_interval, self._client.poll),
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
