"""`AsyncClient`: owns one ``httpx.AsyncClient`` and the single `_send`.

`_send` is the only place that touches the network for API calls: it applies
the token, timeouts, the retry policy and the mapping of transport failures to
library errors. Everything it sends comes from a `pixverse_audio._sansio.Call`.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Final, TypeVar
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread
import httpx

from ._download import AudioStream, finish_chunks
from ._download import download as download_audio
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    OutcomeUnknownError,
    ResponseFormatError,
    ServerError,
)
from ._jobs import JobEvent, PollPolicy
from ._logging import logger
from ._models import Page, SpeechClip, Track
from ._music_api import MusicAPI
from ._pagination import OffsetScan
from ._parse import parse_retry_after, raise_for_status
from ._protocol import Call, CallKind, Reply
from ._redis_limiter import RedisLimiter
from ._resources import AccountsAPI, FilesAPI, MinimaxAPI, SchedulerAPI
from ._retry import NEVER_SENT, Failure, RetryPolicy, failure_of_status
from ._sansio import encode_multipart
from ._shared_slots import SharedSlotPool
from ._slots import AccountPool, SlotPool
from ._speech_api import SpeechAPI

__all__ = ["DEFAULT_BASE_URL", "AsyncClient"]

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.useapi.net"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
TOKEN_ENV: Final = "USEAPI_TOKEN"  # noqa: S105 - the variable's name, not a secret
BASE_URL_ENV: Final = "USEAPI_BASE_URL"
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024  # far above any real page (a 1,000-item list)
_UPLOAD_CHUNK: Final = 1024 * 1024


@functools.cache
def _user_agent() -> str:
    from . import __version__  # package metadata: read once, not per request

    return f"pixverse-audio/{__version__} httpx/{httpx.__version__}"


# Raised before any byte is sent, and retrying cannot help: a bad URL scheme or
# a request h11 refuses to write.
_REFUSED_LOCALLY: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
# httpx errors that do not derive from httpx.HTTPError.
_OTHER_HTTPX: Final = (httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError)


def _classify(exc: Exception) -> Failure | None:
    """The failure a transport error stands for; ``None`` when retrying cannot help."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)):
        return Failure.CONNECT
    if isinstance(exc, httpx.PoolTimeout):
        return Failure.POOL
    if isinstance(exc, (httpx.WriteError, httpx.WriteTimeout)):
        return Failure.SEND
    if isinstance(exc, (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError)):
        return Failure.READ
    if isinstance(exc, (httpx.DecodingError, httpx.CloseError)):
        return Failure.READ
    return None


class _FileBody:
    """An async byte iterator over an open file, read in a worker thread."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def __aiter__(self) -> _FileBody:
        return self

    async def __anext__(self) -> bytes:
        chunk = await anyio.to_thread.run_sync(self._file.read, _UPLOAD_CHUNK)
        if not chunk:
            raise StopAsyncIteration
        return chunk


class AsyncClient:
    """Async client for useapi.net's PixVerse v2 audio API (asyncio and trio).

    Use it as an async context manager, or call `aclose` when done::

        async with AsyncClient() as client:          # token from $USEAPI_TOKEN
            job = await client.music.create("upbeat synthwave")
            track = await client.music.get(job.audio_id)

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
        max_jobs: Concurrent jobs per account for the engine (``generate_many``):
            one number for every account, or a map of email to number (1..8).
            ``None`` reads each account's ``maxJobs`` from the API once.
        poll: How often `wait` and batches ask for status (`PollPolicy`).
        on_event: Called with a `JobEvent` for every step of every batch job.
        limiter: A `RedisLimiter` to share each account's ``maxJobs`` with other
            processes and machines; ``None`` counts slots in this process.
            The client closes it in `aclose`.
        max_response_bytes: The largest API response body read (16 MiB by
            default, far above any real page); a larger one raises
            `ResponseFormatError` as soon as the limit is passed, without
            reading the rest.

    Raises:
        ConfigurationError: No token was given or found, or ``base_url`` is not
            an absolute http(s) URL.

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
        poll: PollPolicy | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
        limiter: RedisLimiter | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        if not token or not token.strip():
            raise ConfigurationError(f"no API token: pass token= or set ${TOKEN_ENV}")
        if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
            raise ConfigurationError(
                "the API token must be printable ASCII without whitespace or control characters"
            )
        self._headers = {  # the only place the token is kept
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": _user_agent(),
        }
        self._base_url = self._parse_base_url(base_url)
        size: object = max_response_bytes  # checked at run time too: callers may pass anything
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ConfigurationError("max_response_bytes must be an integer of at least 1024")
        self._max_body = max_response_bytes
        self._root = str(self._base_url).rstrip("/")  # origin and path prefix
        self._retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._timeout = (
            DEFAULT_TIMEOUT
            if timeout is None
            else timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout)
        )
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        self._extensions = {"timeout": self._timeout.as_dict()}  # the same for every request
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self._timeout, transport=transport)
        self._rng = random.Random()
        self._closed = False
        self._max_jobs = _check_max_jobs(max_jobs)
        self._slots: AccountPool | None = None
        if limiter is not None and not isinstance(limiter, RedisLimiter):
            raise ConfigurationError("limiter must be a RedisLimiter (or None: in memory)")
        self._limiter = limiter
        self.poll = poll if poll is not None else PollPolicy()
        self._on_event = on_event
        self.music = MusicAPI(self)
        self.speech = SpeechAPI(self)
        self.minimax = MinimaxAPI(self)
        self.scheduler = SchedulerAPI(self)
        self.files = FilesAPI(self)
        self.accounts = AccountsAPI(self)

    @staticmethod
    def _parse_base_url(base_url: str | None) -> httpx.URL:
        name = "base_url"
        if base_url is None:
            from_env = os.environ.get(BASE_URL_ENV, "").strip()
            base_url = from_env or DEFAULT_BASE_URL
            name = f"${BASE_URL_ENV}" if from_env else name
        try:
            url = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigurationError(f"{name} is not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(f"{name} must be an absolute http:// or https:// URL")
        if url.query or url.fragment or url.userinfo:
            raise ConfigurationError(f"{name} must not carry a query, fragment or user info")
        path = url.path.rstrip("/")
        for api_prefix in ("/v2/pixverse", "/v1/minimax"):
            if path.endswith(api_prefix):
                origin = str(url.copy_with(path=path[: -len(api_prefix)] or "/")).rstrip("/")
                raise ConfigurationError(
                    f"{name} is the API origin, without {api_prefix}: use {origin!r}"
                )
        return url

    @property
    def base_url(self) -> str:
        """The API origin (and path prefix) requests go to."""
        return str(self._base_url).rstrip("/")

    def _slot_pool(self) -> AccountPool:
        """The per-account job slots shared by every batch of this client."""
        if self._slots is None:
            if self._limiter is not None:
                self._slots = SharedSlotPool(self, self._max_jobs, self._limiter)
            else:
                self._slots = SlotPool(self, self._max_jobs)
        return self._slots

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._retry

    def __repr__(self) -> str:
        return f"<AsyncClient base_url={self.base_url!r} token=<hidden>>"

    async def __aenter__(self) -> AsyncClient:
        self._check_open()
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

        A `RedisLimiter` given to the client is closed too.
        """
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._owns_http:
                await self._http.aclose()
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
        self._check_open()
        return await download_audio(self, track, dest, overwrite=overwrite, progress=progress)

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
        self._check_open()
        return AudioStream(self, track)

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this AsyncClient is closed")

    # ------------------------------------------------------------- sending

    async def _call(self, call: Call, parse: Callable[[Reply], T], *, retry_busy: bool = True) -> T:
        """Send ``call`` and parse the reply; creates map a garbled 2xx to an unknown outcome."""
        try:
            return parse(await self._send(call, retry_busy=retry_busy))
        except ResponseFormatError as exc:
            if call.kind is not CallKind.CREATE or not 200 <= exc.status_code < 300:
                raise
            raise self._unknown(
                call, "the server accepted it but its answer is unreadable"
            ) from exc

    async def _pages(
        self,
        build: Callable[[int], Call],
        parse: Callable[[int], Callable[[Reply], tuple[Page[T], int]]],
        page_size: int,
        *,
        key: Callable[[T], Hashable],
    ) -> AsyncIterator[T]:
        """Every item of an offset-paginated list, each once (see `OffsetScan`).

        ``build(offset)`` makes the call for a page (it validates, so the first
        one is made before any request); ``parse(offset)`` reads its reply.
        """
        build(0)
        scan: OffsetScan[T] = OffsetScan(page_size=page_size, key=key)
        while not scan.done:
            offset = scan.offset
            page, received = await self._call(build(offset), parse(offset))
            for item in scan.take(page, received):
                yield item

    def _unknown(self, call: Call, why: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"{call.method} {call.path}: {why}. A paid job may exist; it was not resent. "
            "Reconcile with client.scheduler.list() or the account's newest list items.",
            endpoint=call.path,
            payload=dict(call.payload),
        )

    async def _send(self, call: Call, *, retry_busy: bool = True) -> Reply:
        """Send ``call`` under the retry policy; return the final reply.

        Error statuses are returned for the parser to raise, except a 5xx on a
        create, which raises `OutcomeUnknownError` (the job may exist). With
        ``retry_busy=False`` a 429 is returned at once (the engine handles it).
        """
        self._check_open()
        retries = 0
        while True:
            reply: Reply | None = None
            try:
                reply = await self._attempt(call)
            except (httpx.HTTPError, *_OTHER_HTTPX) as exc:
                logger.debug("%s %s -> %s", call.method, call.path, type(exc).__name__)
                failure = _classify(exc)
                if failure is None or not self._retry.should_retry(call.kind, failure, retries):
                    raise self._transport_error(call, exc, failure) from exc
                error_name = type(exc).__name__
                retry_after = None
            else:
                failure = failure_of_status(reply.status_code)
                if failure is Failure.BUSY and not retry_busy:
                    return reply
                if failure is None or not self._retry.should_retry(call.kind, failure, retries):
                    if failure is Failure.SERVER and call.kind is CallKind.CREATE:
                        try:
                            raise_for_status(reply)
                        except ServerError as exc:
                            raise self._unknown(call, f"the server failed: {exc}") from exc
                    return reply
                error_name = f"HTTP {reply.status_code}"
                retry_after = _retry_after(reply)
            delay = self._retry.delay(
                call.kind, failure, retries, retry_after=retry_after, rng=self._rng
            )
            retries += 1
            logger.info(
                "retrying %s %s after %s (retry %d of %d) in %.1f s",
                call.method,
                call.path,
                error_name,
                retries,
                self._retry.max_retries,
                delay,
            )
            await anyio.sleep(delay)

    def _transport_error(self, call: Call, exc: Exception, failure: Failure | None) -> Exception:
        what = f"{call.method} {call.path}: {type(exc).__name__}"
        detail = str(exc)
        if detail:
            what = f"{what}: {detail}"
        never_sent = failure in NEVER_SENT or isinstance(exc, _REFUSED_LOCALLY)
        if call.kind is CallKind.CREATE and not never_sent:
            return self._unknown(call, f"no answer arrived ({type(exc).__name__})")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return ConfigurationError(what)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(what)
        return APIConnectionError(what)

    def _request(
        self, call: Call, content: object = None, length: int | None = None
    ) -> httpx.Request:
        # One string, parsed once by httpx: ids stay raw in the path (':' and '@'
        # are legal there), query values get ordinary percent-encoding.
        url = self._root + call.path
        if call.params:
            url += "?" + urlencode(call.params, quote_via=quote, safe="")
        headers = dict(self._headers)
        extensions = self._extensions
        if call.form is not None:
            body, headers["Content-Type"] = encode_multipart(call.form, secrets.token_hex(16))
            return httpx.Request(
                call.method,
                url,
                content=body,
                headers=headers,
                extensions=extensions,
            )
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        if length is not None:
            headers["Content-Length"] = str(length)  # a known size: not chunked
        return httpx.Request(
            call.method,
            url,
            json=call.json,
            content=content,  # type: ignore[arg-type]
            headers=headers,
            extensions=extensions,
        )

    async def _attempt(self, call: Call) -> Reply:
        started = time.perf_counter()
        if isinstance(call.content, Path):
            reply = await self._attempt_file(call, call.content)
        else:
            reply = await self._exchange(self._request(call, call.content))
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s %s -> %d in %.0f ms", call.method, call.path, reply.status_code, elapsed
            )
        return reply

    async def _attempt_file(self, call: Call, path: Path) -> Reply:
        try:
            file = await anyio.to_thread.run_sync(path.open, "rb")
        except OSError as exc:
            raise APIConnectionError(f"cannot read {path.name}: {exc.strerror}") from exc
        try:
            size = os.fstat(file.fileno()).st_size
            return await self._exchange(self._request(call, _FileBody(file), size))
        finally:
            file.close()

    async def _exchange(self, request: httpx.Request) -> Reply:
        # auth=None: a caller's http_client auth never replaces the API token.
        response = await self._http.send(request, auth=None, follow_redirects=False, stream=True)
        body = await self._read_body(response)
        # httpx.Headers is a case-insensitive mapping already: no copy needed.
        return Reply(status_code=response.status_code, headers=response.headers, body=body)

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The (decoded) body, refused as soon as it passes ``max_response_bytes``.

        The response is closed in every case; a body cut short (the limit, an
        error, a cancellation) has its chunk generators run to their end after
        the close, shielded, so none is left for the garbage collector.
        """
        limit = self._max_body
        declared = response.headers.get("content-length", "")
        chunks = response.aiter_bytes()
        done = False
        try:
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(response, f"is {int(declared):,} bytes, over")
            parts = []
            size = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise self._too_large(response, "passed")
                parts.append(chunk)
            done = True
            return b"".join(parts)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
                if not done:
                    await finish_chunks(chunks)

    def _too_large(self, response: httpx.Response, what: str) -> ResponseFormatError:
        return ResponseFormatError(
            response.status_code,
            f"the response body {what} the {self._max_body:,}-byte limit "
            "(AsyncClient max_response_bytes); the rest was not read",
        )


def _check_max_jobs(value: object) -> int | Mapping[str, int] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        entries = [(f"max_jobs[{key!r}]", cap) for key, cap in value.items()]
    else:
        entries = [("max_jobs", value)]
    for name, cap in entries:
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 8:
            raise ConfigurationError(f"{name} must be an integer within 1..8")
    return value  # type: ignore[return-value]


def _retry_after(reply: Reply) -> float | None:
    return parse_retry_after(reply.headers.get("retry-after"))
