"""`AsyncClient`: the session, the namespaces and the one scheduler, put together.

The client holds its parts and knows none of their insides: the session
(`pixverse_audio._session`) sends calls, the namespaces build them, and the
engine (`pixverse_audio._scheduler`) is given a narrow gateway to the API
(`pixverse_audio._gateway`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import anyio
import httpx

from ._audio_api import EngineSchedulerAPI, MusicAPI, SpeechAPI
from ._cadence import PollPolicy
from ._client_settings import (
    check_callback,
    check_max_jobs,
    check_poll,
    check_retry,
    check_timeout,
)
from ._connection import DEFAULT_BASE_URL, MAX_RESPONSE_BYTES, Connection
from ._download import AudioStream
from ._download import download as download_audio
from ._errors import ConfigurationError
from ._events import Events
from ._gateway import ClientGateway
from ._jobs import JobEvent
from ._kinds import MUSIC, SPEECH
from ._models import SpeechClip, SpeechModels, Track
from ._redis_limiter import RedisLimiter
from ._resources import AccountsAPI, FilesAPI, MinimaxAPI
from ._retry import RetryPolicy
from ._scheduler import Scheduler
from ._session import Session, as_timeout

__all__ = ["DEFAULT_BASE_URL", "AsyncClient"]


class AsyncClient:
    """Async client for useapi.net's PixVerse v2 audio API (asyncio and trio).

    Use it as an async context manager, or call `aclose` when done::

        async with AsyncClient() as client:          # token from $USEAPI_TOKEN
            track = await client.music.generate("upbeat synthwave")

    Every generating call (``create``, ``wait``, ``generate``, ``generate_many``,
    music and speech, from any number of tasks) goes through one scheduler:
    each account runs at most its ``maxJobs`` jobs, callers are served first
    come first served, and status is polled once per account per tick.

    Args:
        token: The useapi.net API token. ``None`` reads ``$USEAPI_TOKEN``.
        base_url: Where the API lives; point it at the emulator for offline
            work. ``None`` reads ``$USEAPI_BASE_URL``, else uses
            ``https://api.useapi.net``.
        timeout: Per-request timeout in seconds, or an ``httpx.Timeout``.
        max_retries: Retries after the first attempt (shortcut for ``retry``).
        retry: A full `RetryPolicy`; overrides ``max_retries``.
        http_client: An ``httpx.AsyncClient`` to send through (for custom
            proxies or limits). It is not closed by `aclose`; its base URL,
            auth and redirect settings are not used.
        transport: An ``httpx`` transport for the client's own HTTP client
            (for example the emulator's in-process transport); closed by
            `aclose`. Not together with ``http_client``.
        max_jobs: Concurrent jobs per account: one number for every account,
            or a map of email to number (1..8). ``None`` reads each account's
            ``maxJobs`` from the API once (and again after a 429).
        poll: How status is polled (`PollPolicy`, or seconds for a fixed gap);
            by default the client learns how long jobs take and asks near their end.
        on_event: Called with a `JobEvent` for every step of every job.
        limiter: A `RedisLimiter` to share each account's ``maxJobs`` with other
            processes and machines; ``None`` counts slots in this process.
            The client closes it in `aclose`.
        max_response_bytes: The largest API response body read (16 MiB by
            default, far above any real page); a larger one raises
            `ResponseFormatError` as soon as the limit is passed, without
            reading the rest.

    Raises:
        ConfigurationError: No token was given or found, ``base_url`` is not an
            absolute http(s) URL, or a setting is out of range.

    Attributes:
        music: Music tracks (`MusicAPI`).
        speech: Text to speech (`SpeechAPI`).
        minimax: Legacy MiniMax v1 music (`MinimaxAPI`).
        scheduler: Jobs useapi.net is running (`SchedulerAPI`).
        files: Uploads (`FilesAPI`).
        accounts: Configured PixVerse accounts (`AccountsAPI`).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_jobs: int | Mapping[str, int] | None = None,
        poll: PollPolicy | float | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
        limiter: RedisLimiter | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._connection = Connection(
            token,
            base_url=base_url,
            http_client=http_client,
            transport=transport,
            max_response_bytes=max_response_bytes,
        )
        self._session = Session(
            self._connection,
            timeout=as_timeout(check_timeout(timeout)),
            retry=check_retry(retry, max_retries, RetryPolicy()) or RetryPolicy(),
        )
        if limiter is not None and not isinstance(limiter, RedisLimiter):
            raise ConfigurationError("limiter must be a RedisLimiter (or None: in memory)")
        self._limiter = limiter
        self._root = True  # this client owns the connection (a with_options copy does not)
        self._gateway = ClientGateway(self._session, lambda email: self.speech.catalogue(email))
        self._events = Events((check_callback(on_event),))
        self._scheduler = Scheduler(
            self._gateway,
            max_jobs=check_max_jobs(max_jobs),
            limiter=limiter,
            poll=check_poll(poll) or PollPolicy(),
            events=self._events,
        )
        self._poll: PollPolicy | None = None
        self._catalogues: dict[str | None, SpeechModels] = {}  # shared with every copy
        self._namespaces(via=None)

    def _namespaces(self, via: ClientGateway | None) -> None:
        session, scheduler, events = self._session, self._scheduler, self._events
        self.music = MusicAPI(session, MUSIC, scheduler, events, poll=self._poll, via=via)
        self.speech = SpeechAPI(
            session,
            SPEECH,
            scheduler,
            events,
            poll=self._poll,
            via=via,
            catalogues=self._catalogues,
        )
        self.minimax = MinimaxAPI(session)
        self.scheduler = EngineSchedulerAPI(session, scheduler)
        self.files = FilesAPI(session)
        self.accounts = AccountsAPI(session)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | float | None = None,
    ) -> AsyncClient:
        """A light copy of this client with other settings, for one call site::

            track = await client.with_options(timeout=5).music.get(audio_id)

        The copy shares the connection pool, the account slots and the
        scheduler (its jobs count against the same ``maxJobs`` and are polled
        with the rest); only what is given changes. Closing the copy closes
        nothing: the client it came from owns the connections.

        Args:
            timeout: Per-request timeout in seconds, or an ``httpx.Timeout``.
            max_retries: Retries after the first attempt (shortcut for ``retry``).
            retry: A full `RetryPolicy`; overrides ``max_retries``.
            poll: The `PollPolicy` (or fixed seconds) for the copy's waits,
                ``generate`` and ``generate_many``.

        Raises:
            ConfigurationError: A setting is of the wrong type or out of range.
        """
        timeout = check_timeout(timeout)
        retry = check_retry(retry, max_retries, None if max_retries is None else self.retry)
        policy = check_poll(poll)
        copy = object.__new__(AsyncClient)
        copy.__dict__.update(self.__dict__)
        copy._root = False
        copy._session = self._session.with_options(timeout=timeout, retry=retry)
        if policy is not None:
            copy._poll = policy
        copy._namespaces(via=self._gateway.with_session(copy._session))
        return copy

    @property
    def base_url(self) -> str:
        """The API origin (and path prefix) requests go to."""
        return self._connection.root

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._session.retry

    @property
    def poll(self) -> PollPolicy:
        """The status polling policy in use."""
        return self._poll or self._scheduler.poll

    def __repr__(self) -> str:
        return f"<AsyncClient base_url={self.base_url!r} token=<hidden>>"

    async def __aenter__(self) -> AsyncClient:
        self._connection.check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client opened (not a caller's ``http_client``).

        A `RedisLimiter` given to the client is closed too. On a copy made by
        `with_options` this does nothing: the original owns the connections.
        """
        if self._connection.closed or not self._root:
            return
        with anyio.CancelScope(shield=True):
            await self._connection.aclose()
            if self._limiter is not None:
                await self._limiter.aclose()

    async def download(
        self,
        track: Track | SpeechClip,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """Download a finished track's MP3 to ``dest`` and return its path.

        Streams in 64 KiB chunks into a temporary file beside the destination
        and renames it into place once the size matches ``Content-Length`` and
        the job's ``file_size``; on any failure or cancellation nothing is left.
        A dropped connection resumes with a ``Range`` request (or restarts)
        up to three times. The media host never receives the API token.

        Args:
            track: A COMPLETED `Track` or `SpeechClip`.
            dest: A directory (the name comes from the track, made safe) or a file path.
            overwrite: Replace an existing file.
            progress: Called with ``(bytes_received, total_or_None)`` after each chunk.

        Raises:
            ValidationError: The track is not COMPLETED or has no url, the
                directory does not exist, or the file exists; nothing was fetched.
            DownloadError: The media host failed, the size did not match, or a
                redirect pointed somewhere unsafe.
        """
        self._connection.check_open()
        return await download_audio(
            self._connection, track, dest, overwrite=overwrite, progress=progress
        )

    def stream_audio(self, track: Track | SpeechClip) -> AudioStream:
        """The bytes of a finished track as a stream, for piping into storage.

        ::

            async with client.stream_audio(track) as audio:
                async for chunk in audio:
                    ...

        Raises:
            ValidationError: The track is not COMPLETED or has no url.
            DownloadError: The URL's scheme is unsafe, or the media host failed.
        """
        self._connection.check_open()
        return AudioStream(self._connection, track)
