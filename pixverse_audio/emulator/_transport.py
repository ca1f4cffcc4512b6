"""The in-process transport: ``httpx.ASGITransport`` plus what a network would do.

``ASGITransport`` calls the app directly, so it knows nothing of timeouts or
broken connections. This wrapper enforces the request's read timeout, turns the
app's dropped and refused connections into the ``httpx`` errors a real socket
gives, and counts requests in flight (a leak check for tests).
"""

from __future__ import annotations

import contextlib

import anyio
import httpx
from starlette.types import ASGIApp

from ._app import ConnectionDropped, ConnectionRefused

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that serves requests from an emulator app in-process.

    Attributes:
        in_flight: Requests currently being answered.
        peak_in_flight: The most requests answered at once.
        total: Requests handled in all.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.total = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the app, as a network would (timeouts, drops)."""
        request = await _buffered(request)
        timeouts = request.extensions.get("timeout", {})
        read = timeouts.get("read")
        self.in_flight += 1
        self.total += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            scope = anyio.fail_after(read) if read is not None else contextlib.nullcontext()
            with scope:
                answered = await self._asgi.handle_async_request(request)
                body = await answered.aread()  # within the read timeout, as a socket would be
        except TimeoutError as exc:
            raise httpx.ReadTimeout("emulated read timeout", request=request) from exc
        except ConnectionRefused as exc:
            raise httpx.ConnectError("emulated connection refused", request=request) from exc
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "emulated: server disconnected without sending a complete response",
                request=request,
            ) from exc
        finally:
            self.in_flight -= 1
        return httpx.Response(
            answered.status_code,
            headers=answered.headers,
            stream=_Body(body),
            extensions=answered.extensions,
        )

    async def aclose(self) -> None:
        """Close the underlying ASGI transport."""
        await self._asgi.aclose()


class _Body(httpx.AsyncByteStream):
    """A request body already in memory, iterated without an async generator.

    ``ASGITransport`` hands the app an iterator over the request stream; if the
    app answers before reading it all (a 413, a malformed form), an async
    generator would be left unfinished, which trio reports when it is
    collected. A plain iterator has nothing to finalise.
    """

    def __init__(self, body: bytes) -> None:
        self._chunks = [body] if body else []

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if not self._chunks:
            raise StopAsyncIteration
        return self._chunks.pop()


async def _buffered(request: httpx.Request) -> httpx.Request:
    body = await request.aread()
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        stream=_Body(body),
        extensions=request.extensions,
    )
