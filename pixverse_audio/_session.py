"""The HTTP session every endpoint sends through: the token, timeouts, retries, one `send`.

`Session.send` is the only place that touches the network for API calls: it
applies the token, timeouts, the retry policy, the response size cap and the
mapping of transport failures to library errors. Everything it sends comes
from a `pixverse_audio._protocol.Call`. `Connection` is what sessions share
(the ``httpx.AsyncClient``, the token, the base URL); `Session.with_options`
makes a light copy with other timeouts or retries over the same connection.
`Connection` lives in `pixverse_audio._connection`.

Every error of a call (from `send` or from the parser) gets the request's
method, path, number of attempts and elapsed time (`_Tally`), and every attempt
logs one DEBUG line: the last one sums up the call, e.g.
``GET /v2/pixverse/music/x -> 200 in 12 ms (1 attempt)``. Only the method, the
path and the outcome are logged: no headers, bodies or query strings.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncGenerator, Callable, Hashable
from pathlib import Path
from typing import IO, Final, TypeVar
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread
import attrs
import httpx

from ._connection import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES, Connection
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    OutcomeUnknownError,
    PixverseAudioError,
    ResponseFormatError,
    ServerError,
)
from ._logging import logger
from ._models import Page
from ._pagination import OffsetScan
from ._parse import parse_retry_after, raise_for_status
from ._protocol import Call, CallKind, Reply
from ._retry import NEVER_SENT, Failure, RetryPolicy, failure_of_status
from ._sansio import encode_multipart
from ._streams import finish_chunks

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "MAX_RESPONSE_BYTES", "Connection", "Session"]

T = TypeVar("T")

# Raised before any byte is sent, and retrying cannot help: a bad URL scheme or
# a request h11 refuses to write.
_REFUSED_LOCALLY: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
# httpx errors that do not derive from httpx.HTTPError.
_OTHER_HTTPX: Final = (httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError)
_UPLOAD_CHUNK: Final = 1024 * 1024
# The errors that say which request they came from (.method .path .attempts .elapsed).
_REQUEST_ERRORS: Final = (APIError, APIConnectionError, OutcomeUnknownError)


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


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """A timeout setting as an ``httpx.Timeout`` (``None``: the default)."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)


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


@attrs.define
class _Tally:
    """The requests sent for one call: how many, and from the first to the final answer."""

    attempts: int = 0
    started: float = 0.0
    elapsed: float = 0.0

    def begin(self) -> float:
        """Count an attempt; its start (``time.perf_counter()``)."""
        now = time.perf_counter()
        if not self.attempts:
            self.started = now
        self.attempts += 1
        return now

    def finish(self, call: Call, outcome: object) -> None:
        """Stop the clock at the final answer and log the call's DEBUG line."""
        self.elapsed = time.perf_counter() - self.started
        plural = "" if self.attempts == 1 else "s"
        logger.debug(
            "%s %s -> %s in %.0f ms (%d attempt%s)",
            call.method,
            call.path,
            outcome,
            self.elapsed * 1000,
            self.attempts,
            plural,
        )

    def stamp(self, error: BaseException, call: Call) -> None:
        """Record on ``error`` (if it is a request's error) which request it was."""
        if isinstance(error, _REQUEST_ERRORS) and self.attempts:
            error.method = call.method
            error.path = call.path  # the query (``call.params``) is left out
            error.attempts = self.attempts
            error.elapsed = self.elapsed


@attrs.frozen(eq=False)
class Session:
    """Sends `Call` s through a `Connection` with one timeout and retry policy."""

    connection: Connection
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    _extensions: dict[str, object] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_extensions", {"timeout": self.timeout.as_dict()})

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, retry: RetryPolicy | None = None
    ) -> Session:
        """This session with another timeout or retry policy, over the same connection."""
        return Session(
            self.connection,
            timeout=self.timeout if timeout is None else as_timeout(timeout),
            retry=self.retry if retry is None else retry,
        )

    async def call(self, call: Call, parse: Callable[[Reply], T], *, retry_busy: bool = True) -> T:
        """Send ``call`` and parse the reply; a create's garbled 2xx is an unknown outcome.

        Every error it raises about the request carries the request's metadata.
        """
        tally = _Tally()
        try:
            try:
                return parse(await self.send(call, retry_busy=retry_busy, tally=tally))
            except ResponseFormatError as exc:
                if call.kind is not CallKind.CREATE or not 200 <= exc.status_code < 300:
                    raise
                raise unknown(call, "the server accepted it but its answer is unreadable") from exc
        except PixverseAudioError as exc:
            tally.stamp(exc, call)
            raise

    async def pages(
        self,
        build: Callable[[int], Call],
        parse: Callable[[int], Callable[[Reply], tuple[Page[T], int]]],
        page_size: int,
        *,
        key: Callable[[T], Hashable],
    ) -> AsyncGenerator[T, None]:
        """Every item of an offset-paginated list, each once (see `OffsetScan`).

        ``build(offset)`` makes the call for a page (it validates, so the first
        one is made before any request); ``parse(offset)`` reads its reply.
        """
        build(0)
        scan: OffsetScan[T] = OffsetScan(page_size=page_size, key=key)
        while not scan.done:
            offset = scan.offset
            page, received = await self.call(build(offset), parse(offset))
            for item in scan.take(page, received):
                yield item

    async def send(
        self, call: Call, *, retry_busy: bool = True, tally: _Tally | None = None
    ) -> Reply:
        """Send ``call`` under the retry policy; return the final reply.

        Error statuses are returned for the parser to raise, except a 5xx on a
        create, which raises `OutcomeUnknownError` (the job may exist). With
        ``retry_busy=False`` a 429 is returned at once (the engine handles it).
        ``tally`` (a fresh one if not given) counts the attempts and times them;
        errors raised here carry them already.
        """
        self.connection.check_open()
        tally = _Tally() if tally is None else tally
        try:
            return await self._send(call, retry_busy, tally)
        except PixverseAudioError as exc:
            tally.stamp(exc, call)
            raise

    async def _send(self, call: Call, retry_busy: bool, tally: _Tally) -> Reply:
        retry = self.retry
        while True:
            retries = tally.attempts
            started = tally.begin()
            try:
                reply = await self._attempt(call)
            except (httpx.HTTPError, *_OTHER_HTTPX) as exc:
                error_name = type(exc).__name__
                failure = _classify(exc)
                if failure is None or not retry.should_retry(call.kind, failure, retries):
                    tally.finish(call, error_name)
                    raise _transport_error(call, exc, failure) from exc
                retry_after = None
                outcome: object = error_name
            except PixverseAudioError as exc:  # an unreadable file, a body over the limit
                tally.finish(call, type(exc).__name__)
                raise
            else:
                failure = failure_of_status(reply.status_code)
                if (
                    failure is None
                    or (failure is Failure.BUSY and not retry_busy)
                    or not retry.should_retry(call.kind, failure, retries)
                ):
                    tally.finish(call, reply.status_code)
                    if failure is Failure.SERVER and call.kind is CallKind.CREATE:
                        try:
                            raise_for_status(reply)
                        except ServerError as exc:
                            tally.stamp(exc, call)  # the cause a reconciled error keeps
                            raise unknown(call, f"the server failed: {exc}") from exc
                    return reply
                error_name = f"HTTP {reply.status_code}"
                retry_after = parse_retry_after(reply.headers.get("retry-after"))
                outcome = reply.status_code
            logger.debug(
                "%s %s -> %s in %.0f ms (attempt %d, retrying)",
                call.method,
                call.path,
                outcome,
                (time.perf_counter() - started) * 1000,
                tally.attempts,
            )
            delay = retry.delay(
                call.kind, failure, retries, retry_after=retry_after, rng=self.connection.rng
            )
            logger.info(
                "retrying %s %s after %s (retry %d of %d) in %.1f s",
                call.method,
                call.path,
                error_name,
                retries + 1,
                retry.max_retries,
                delay,
            )
            await anyio.sleep(delay)

    def _request(
        self, call: Call, content: object = None, length: int | None = None
    ) -> httpx.Request:
        # One string, parsed once by httpx: ids stay raw in the path (':' and '@'
        # are legal there), query values get ordinary percent-encoding.
        url = self.connection.root + call.path
        if call.params:
            url += "?" + urlencode(call.params, quote_via=quote, safe="")
        headers = dict(self.connection.headers)
        extensions = self._extensions
        if call.timeout is not None:
            extensions = {"timeout": httpx.Timeout(call.timeout).as_dict()}
        if call.form is not None:
            body, headers["Content-Type"] = encode_multipart(call.form, secrets.token_hex(16))
            return httpx.Request(
                call.method, url, content=body, headers=headers, extensions=extensions
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
        if isinstance(call.content, Path):
            return await self._attempt_file(call, call.content)
        return await self._exchange(self._request(call, call.content))

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
        response = await self.connection.http.send(
            request, auth=None, follow_redirects=False, stream=True
        )
        body = await self._read_body(response)
        # httpx.Headers is a case-insensitive mapping already: no copy needed.
        return Reply(status_code=response.status_code, headers=response.headers, body=body)

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The (decoded) body, refused as soon as it passes ``max_response_bytes``.

        The response is closed in every case; a body cut short (the limit, an
        error, a cancellation) has its chunk generators run to their end after
        the close, shielded, so none is left for the garbage collector.
        """
        limit = self.connection.max_body
        declared = response.headers.get("content-length", "")
        chunks = response.aiter_bytes()
        done = False
        try:
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(response, limit, f"is {int(declared):,} bytes, over")
            parts = []
            size = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(response, limit, "passed")
                parts.append(chunk)
            done = True
            return b"".join(parts)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
                if not done:
                    await finish_chunks(chunks)


def _too_large(response: httpx.Response, limit: int, what: str) -> ResponseFormatError:
    return ResponseFormatError(
        response.status_code,
        f"the response body {what} the {limit:,}-byte limit "
        "(AsyncClient max_response_bytes); the rest was not read",
    )


def unknown(call: Call, why: str) -> OutcomeUnknownError:
    """The error of a create whose outcome is not known (a paid job may exist)."""
    return OutcomeUnknownError(
        f"{call.method} {call.path}: {why}. A paid job may exist; it was not resent. "
        "Reconcile with client.scheduler.list() or the account's newest list items.",
        endpoint=call.path,
        payload=dict(call.payload),
    )


def _transport_error(call: Call, exc: Exception, failure: Failure | None) -> Exception:
    what = f"{call.method} {call.path}: {type(exc).__name__}"
    detail = str(exc)
    if detail:
        what = f"{what}: {detail}"
    never_sent = failure in NEVER_SENT or isinstance(exc, _REFUSED_LOCALLY)
    if call.kind is CallKind.CREATE and not never_sent:
        return unknown(call, f"no answer arrived ({type(exc).__name__})")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return ConfigurationError(what)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(what)
    return APIConnectionError(what)
