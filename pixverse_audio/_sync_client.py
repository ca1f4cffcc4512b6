"""`Client`: the blocking client, built on `AsyncClient` rather than beside it.

One private event-loop thread (`pixverse_audio._portal`) runs an `AsyncClient`;
the blocking namespaces below list the async methods they offer, each taking
its parameters from the async method (`pixverse_audio._blocking`). Calls from
any number of threads run concurrently on that one loop, through one
connection pool and one account scheduler.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from ._audio_api import EngineSchedulerAPI, MusicAPI, SpeechAPI
from ._blocking import SyncAudioStream, batching, blocking, in_loop, iterating
from ._cadence import PollPolicy
from ._client import AsyncClient
from ._errors import ConfigurationError
from ._jobs import JobEvent
from ._models import SpeechClip, Track
from ._portal import LoopThread
from ._redis_limiter import RedisLimiter
from ._resources import AccountsAPI, FilesAPI, MinimaxMusicAPI
from ._retry import RetryPolicy

__all__ = [
    "Client",
    "SyncAccountsAPI",
    "SyncFilesAPI",
    "SyncMinimaxAPI",
    "SyncMinimaxMusicAPI",
    "SyncMusicAPI",
    "SyncSchedulerAPI",
    "SyncSpeechAPI",
]


class _Namespace:
    def __init__(self, loop: LoopThread, wrapped: Any) -> None:
        self._loop = loop
        self._async = wrapped

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class SyncMusicAPI(_Namespace):
    """Music tracks, blocking: ``client.music`` (see `MusicAPI`)."""

    get = blocking(MusicAPI.get)
    list_page = blocking(MusicAPI.list_page)
    list = iterating(MusicAPI.list)
    create = blocking(MusicAPI.create)
    generate = blocking(MusicAPI.generate)
    wait = blocking(MusicAPI.wait)
    generate_many = batching(MusicAPI.generate_many)
    confirm = blocking(MusicAPI.confirm)


class SyncSpeechAPI(_Namespace):
    """Text to speech, blocking: ``client.speech`` (see `SpeechAPI`)."""

    get = blocking(SpeechAPI.get)
    list_page = blocking(SpeechAPI.list_page)
    list = iterating(SpeechAPI.list)
    create = blocking(SpeechAPI.create)
    generate = blocking(SpeechAPI.generate)
    wait = blocking(SpeechAPI.wait)
    generate_many = batching(SpeechAPI.generate_many)
    confirm = blocking(SpeechAPI.confirm)
    catalogue = in_loop(SpeechAPI.catalogue)
    voices_page = blocking(SpeechAPI.voices_page)
    voices = iterating(SpeechAPI.voices)
    models = blocking(SpeechAPI.models)


class SyncMinimaxMusicAPI(_Namespace):
    """Legacy MiniMax v1 music, blocking: ``client.minimax.music``."""

    list_page = blocking(MinimaxMusicAPI.list_page)
    list = iterating(MinimaxMusicAPI.list)
    get = blocking(MinimaxMusicAPI.get)


class SyncMinimaxAPI(_Namespace):
    """Legacy MiniMax v1, blocking: ``client.minimax``.

    Attributes:
        music: `SyncMinimaxMusicAPI`.
    """

    def __init__(self, loop: LoopThread, wrapped: Any) -> None:
        super().__init__(loop, wrapped)
        self.music = SyncMinimaxMusicAPI(loop, wrapped.music)


class SyncSchedulerAPI(_Namespace):
    """Jobs useapi.net is running, blocking: ``client.scheduler``."""

    list = blocking(EngineSchedulerAPI.list)
    available = blocking(EngineSchedulerAPI.available)
    cancel = blocking(EngineSchedulerAPI.cancel)


class SyncFilesAPI(_Namespace):
    """Uploads, blocking: ``client.files``."""

    upload = blocking(FilesAPI.upload)


class SyncAccountsAPI(_Namespace):
    """Configured PixVerse accounts, blocking: ``client.accounts``."""

    list = blocking(AccountsAPI.list)
    get = blocking(AccountsAPI.get)
    create = blocking(AccountsAPI.create)
    delete = blocking(AccountsAPI.delete)


class Client:
    """Blocking client for useapi.net's PixVerse v2 audio API: scripts, notebooks, threads.

    ::

        with Client() as client:                 # token from $USEAPI_TOKEN
            track = client.music.generate("upbeat synthwave")
            client.download(track, ".")

    The same arguments, namespaces, methods, models and errors as `AsyncClient`,
    which it runs on one private event-loop thread. It works where an event
    loop already runs in the calling thread (Jupyter), and may be shared
    between threads: their calls run concurrently on the one loop and share
    one connection pool and one account scheduler, so any number of threads
    generating at once respect each account's ``maxJobs``. Callbacks
    (``on_event``, ``progress``) run on the loop's thread and must not call
    the client. A client never closed does not keep the interpreter from
    exiting; close it (or use ``with``) to end its connections cleanly.

    The arguments ``token``, ``base_url``, ``timeout``, ``max_retries``,
    ``retry``, ``http_client``, ``transport``, ``max_jobs``, ``poll``,
    ``on_event``, ``limiter`` and ``max_response_bytes`` are `AsyncClient`'s
    (``http_client`` and ``transport`` are async ones, used on the loop's
    thread).

    Args:
        backend: The event loop to run: ``"asyncio"`` (default) or ``"trio"``.
        backend_options: Passed to ``anyio.run`` (e.g. ``{"use_uvloop": True}``).

    Raises:
        ConfigurationError: As for `AsyncClient`, or an unknown ``backend``.

    Attributes:
        music: `SyncMusicAPI`.
        speech: `SyncSpeechAPI`.
        minimax: `SyncMinimaxAPI`.
        scheduler: `SyncSchedulerAPI`.
        files: `SyncFilesAPI`.
        accounts: `SyncAccountsAPI`.
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
        max_response_bytes: int = 16 * 2**20,
        backend: str = "asyncio",
        backend_options: Mapping[str, Any] | None = None,
    ) -> None:
        loop = LoopThread(backend, backend_options)
        make = functools.partial(
            AsyncClient,
            token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            http_client=http_client,
            transport=transport,
            max_jobs=max_jobs,
            poll=poll,
            on_event=on_event,
            limiter=limiter,
            max_response_bytes=max_response_bytes,
        )
        try:
            wrapped = loop.run_sync(make)
        except BaseException:
            loop.stop()
            raise
        self._wrap(loop, wrapped, root=True)

    def _wrap(self, loop: LoopThread, wrapped: AsyncClient, *, root: bool) -> None:
        self._loop = loop
        self._async = wrapped
        self._root = root
        self.music = SyncMusicAPI(loop, wrapped.music)
        self.speech = SyncSpeechAPI(loop, wrapped.speech)
        self.minimax = SyncMinimaxAPI(loop, wrapped.minimax)
        self.scheduler = SyncSchedulerAPI(loop, wrapped.scheduler)
        self.files = SyncFilesAPI(loop, wrapped.files)
        self.accounts = SyncAccountsAPI(loop, wrapped.accounts)

    @property
    def base_url(self) -> str:
        """The API origin (and path prefix) requests go to."""
        return self._async.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._async.retry

    @property
    def poll(self) -> PollPolicy:
        """The status polling policy in use."""
        return self._async.poll

    def __repr__(self) -> str:
        return f"<Client base_url={self.base_url!r} token=<hidden>>"

    def __enter__(self) -> Client:
        if self._loop.closed:
            raise ConfigurationError("this client is closed")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the loop's thread (on a copy: nothing).

        Calls still running in other threads are cancelled (their jobs
        released); later calls raise `ConfigurationError`.
        """
        if self._root:
            self._loop.stop(final=self._async.aclose)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | float | None = None,
    ) -> Client:
        """A light copy with other settings (see `AsyncClient.with_options`).

        It shares the loop, the connection pool, the slots and the scheduler;
        closing it closes nothing.
        """
        wrapped = self._async.with_options(
            timeout=timeout, max_retries=max_retries, retry=retry, poll=poll
        )
        copy = object.__new__(Client)
        copy._wrap(self._loop, wrapped, root=False)
        return copy

    download = blocking(AsyncClient.download)

    def stream_audio(self, track: Track | SpeechClip) -> SyncAudioStream:
        """The bytes of a finished track, for ``with ... as audio: for chunk in audio:``.

        Raises:
            ValidationError: The track is not COMPLETED or has no url.
            DownloadError: The URL's scheme is unsafe, or the media host failed.
        """
        return SyncAudioStream(
            self._loop, self._loop.run_sync(lambda: self._async.stream_audio(track))
        )
