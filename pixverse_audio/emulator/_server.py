"""Serving the emulator over real HTTP with uvicorn, from Python or the shell.

uvicorn runs on its own asyncio loop in a worker thread, so `serve_emulator`
works the same under asyncio and trio. The server's lifespan runs a task that
POSTs due callbacks to their ``replyUrl``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from . import Emulator

__all__ = ["bind", "run_emulator", "serve_emulator"]

CALLBACK_TICK: Final = 0.05


class _ServerApp:
    """The emulator app plus a lifespan that delivers callbacks while serving."""

    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self._emu.app(scope, receive, send)
            return
        await receive()  # lifespan.startup
        async with httpx.AsyncClient(timeout=5.0) as http, anyio.create_task_group() as tg:
            self._emu._outbox = []
            tg.start_soon(self._deliver, http)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            tg.cancel_scope.cancel()
        self._emu._outbox = None
        await send({"type": "lifespan.shutdown.complete"})

    async def _deliver(self, http: httpx.AsyncClient) -> None:
        outbox = self._emu._outbox
        if outbox is None:
            return
        while True:
            await self._emu.pump()
            while outbox:
                record = outbox.pop(0)
                try:
                    response = await http.post(record.url, json=dict(record.body))
                    record.delivered = response.is_success
                except httpx.HTTPError:
                    record.delivered = False
            await anyio.sleep(CALLBACK_TICK)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; OSError (a busy port, say) before anything runs."""
    return _bind(host, port)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections
    # only for sockets that say so; without it every answer waits ~40 ms for the
    # client's delayed ACK (uvicorn writes the head and the body separately).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _server(emulator: Emulator, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        _ServerApp(emulator),
        lifespan="on",
        log_level=log_level,
        access_log=False,
        date_header=False,  # the emulator writes Date by its own clock
    )
    return uvicorn.Server(config)


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    media_host: str | None = None,
    log_level: str = "critical",
) -> AsyncIterator[str]:
    """Serve ``emulator`` on a real socket for the duration of the block; yield its URL.

    Finished tracks' ``url`` values point at ``media_host`` on the same port
    (``localhost`` when serving on 127.0.0.1), a different origin from the API,
    as media.pixverse.ai is in production. ``port=0`` picks a free port.
    """
    from . import Emulator

    emulator = emulator or Emulator()
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    media = media_host or ("localhost" if host == "127.0.0.1" else url_host)
    previous_media = emulator.state.media_url
    emulator.state.media_url = f"http://{media}:{actual}"
    server = _server(emulator, log_level)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(anyio.to_thread.run_sync, partial(server.run, sockets=[sock])))
            with anyio.fail_after(15):
                # uvicorn sets ``started`` in its own thread: there is no event to await.
                while not server.started:  # noqa: ASYNC110
                    await anyio.sleep(0.005)
            try:
                yield f"http://{url_host}:{actual}"
            finally:
                server.should_exit = True
    finally:
        sock.close()
        emulator.state.media_url = previous_media


def run_emulator(emulator: Emulator, sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve ``emulator`` on the bound ``sock`` in the foreground until interrupted."""
    host, port = sock.getsockname()[:2]
    media = "localhost" if host == "127.0.0.1" else f"[{host}]" if ":" in host else host
    emulator.state.media_url = f"http://{media}:{port}"
    try:
        _server(emulator, log_level).run(sockets=[sock])
    finally:
        sock.close()
