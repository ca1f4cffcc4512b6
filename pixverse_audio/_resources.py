"""The small endpoint namespaces of the client (minimax, scheduler, files, accounts)
and what every namespace shares; music and speech are in `pixverse_audio._endpoints`.

Each method is three lines: build a `Call` (pure, validates), send it through
the session's single `send`, parse the reply (pure, maps errors).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread

from . import _sansio as sansio
from ._errors import PixverseAudioError, ValidationError, _without_secrets
from ._models import (
    Account,
    Availability,
    Job,
    MinimaxSong,
    ScheduledJob,
    SpeechClip,
    Track,
    UploadedFile,
)
from ._pagination import CursorScan
from ._session import Session

__all__ = ["AccountsAPI", "FilesAPI", "MinimaxAPI", "MinimaxMusicAPI", "Resource", "SchedulerAPI"]
__all__ += ["audio_id_of"]


def audio_id_of(job: str | Job | Track | SpeechClip) -> object:
    """The id of a job, track or clip; anything else as given, for the id check."""
    return job.audio_id if isinstance(job, (Job, Track, SpeechClip)) else job


class Resource:
    """What every namespace holds: the session its calls go through."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session.connection.root!r}>"


class MinimaxMusicAPI(Resource):
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
        return await self._session.call(call, sansio.parse_minimax_songs)

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
        return await self._session.call(call, sansio.parse_minimax_song)


class MinimaxAPI(Resource):
    """Legacy MiniMax v1: ``client.minimax``."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.music = MinimaxMusicAPI(session)


class SchedulerAPI(Resource):
    """Jobs useapi.net is tracking: ``client.scheduler``."""

    async def list(self) -> list[ScheduledJob]:
        """The running jobs of every account (GET scheduler/)."""
        return await self._session.call(sansio.scheduler_list(), sansio.parse_scheduled_jobs)

    async def available(self) -> Availability:
        """Running jobs and free slots per account (GET scheduler/available)."""
        return await self._session.call(sansio.scheduler_available(), sansio.parse_availability)

    async def cancel(self, job_id: str | Job | Track | SpeechClip) -> bool:
        """Stop tracking a job and free its slot (DELETE scheduler/{id}).

        The job is not stopped at PixVerse: it may still finish and bill.

        Returns:
            ``True`` if the job was running, ``False`` if it was not (404).
        """
        call = sansio.scheduler_cancel(audio_id_of(job_id))
        return await self._session.call(call, sansio.parse_cancel)


class FilesAPI(Resource):
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
        return await self._session.call(call, sansio.parse_uploaded_file)


def _size_and_head(path: Path) -> tuple[int, bytes]:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return size, handle.read(16)
    except OSError as exc:
        raise ValidationError("file", f"cannot read {str(path)!r}: {exc.strerror}") from None


class AccountsAPI(Resource):
    """Configured PixVerse accounts: ``client.accounts``."""

    async def list(self) -> list[Account]:
        """Every configured account (GET accounts).

        Raises:
            NotFoundError: No account is configured yet.
        """
        return await self._session.call(sansio.accounts_list(), sansio.parse_accounts)

    async def get(self, email: str) -> Account:
        """One configured account (GET accounts/{email}); ``.max_jobs`` is its cap.

        Raises:
            NotFoundError: ``email`` is not configured.
        """
        return await self._session.call(sansio.accounts_get(email), sansio.parse_account)

    async def create(
        self, email: str, *, password: str, max_jobs: int, token: str | None = None
    ) -> Account:
        """Add or update an account (POST accounts/{email}); returns it as saved (201).

        This is how an account's ``maxJobs`` is set, and how an account is
        recovered after a 596 (`AccountError`): fix it on pixverse.ai, then
        save it again. The password and ``token`` are never logged, shown in
        a repr, or quoted in an error.

        Args:
            email: The PixVerse account's email.
            password: Its PixVerse password.
            max_jobs: Jobs useapi.net runs at once on it (1..8); keep it within
                the plan's concurrent generations.
            token: A PixVerse session token (for development only).

        Raises:
            ValidationError: A bad argument; nothing was sent.
            BadRequestError: useapi.net refused the account (e.g. a wrong password).
        """
        call = sansio.accounts_create(
            email=email, password=password, max_jobs=max_jobs, token=token
        )
        try:
            return await self._session.call(call, sansio.parse_account)
        except PixverseAudioError as exc:
            error = exc
        # Raised here, not in the except block: no __context__ keeps the original.
        raise _without_secrets(error, (password, token))

    async def delete(self, email: str) -> bool:
        """Remove an account's configuration (DELETE accounts/{email}).

        Returns:
            ``True`` if it was configured, ``False`` if it was not (404).
        """
        return await self._session.call(sansio.accounts_delete(email), sansio.parse_cancel)
