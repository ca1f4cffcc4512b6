"""Load: one AsyncClient over a real socket, shared by many tasks, stays within its pool.

The caller passes an ``httpx.AsyncClient`` limited to 20 connections; many
tasks share the one `AsyncClient` and hammer ``music.get`` and
``music.list_page`` on a uvicorn-served emulator. No call may fail, the
server never serves more than 20 requests at once (HTTP/1.1: one per
connection), and the kernel never holds more than 20 established connections
to the server's port, on either side (this process's sockets, sampled from
/proc/net/tcp). Latency percentiles are printed, not asserted.
"""

from __future__ import annotations

import gc
import os
import random
import socket
import statistics
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from pixverse_audio import AsyncClient, PixverseAudioError
from pixverse_audio.emulator import Emulator, serve_emulator

pytestmark = pytest.mark.anyio

POOL = 20


class ConnectionCounter:
    """ASGI middleware counting requests being served at once and distinct client sockets."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()  # uvicorn serves from its own thread
        self.active = 0
        self.peak = 0
        self.clients: set[tuple[Any, ...]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.clients.add(tuple(scope.get("client") or ()))
        try:
            await self._app(scope, receive, send)
        finally:
            with self._lock:
                self.active -= 1


def own_sockets() -> set[str]:
    """Inodes of the sockets this process holds (other test workers share /proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def established(port: int) -> tuple[int, int] | None:
    """This process's ESTABLISHED TCP connections (server side, client side) on ``port``.

    None without /proc. Only this process's sockets count: other processes on the
    machine (parallel test workers among them) may hold connections whose port
    numbers happen to match.
    """
    server: set[str] = set()
    client: set[str] = set()
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            rows = table.read().splitlines()[1:]
        owned = own_sockets()
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state != "01" or inode not in owned:  # ESTABLISHED, and ours
            continue
        if int(local.rpartition(":")[2], 16) == port:
            server.add(inode)
        if int(remote.rpartition(":")[2], 16) == port:
            client.add(inode)
    # by inode: the kernel writes the table while it is read, so a row can come twice
    return len(server), len(client)


def percentile(samples: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_load(tasks: int, seconds: float, backend: str) -> None:
    """``tasks`` tasks share one client for ``seconds``; check errors and connections; print."""
    emulator = Emulator(accounts=1, seed=3)
    ids = [job.audio_id for job in emulator.preload(300)]
    counter = ConnectionCounter(emulator.app)
    emulator.app = counter  # type: ignore[assignment]  # serve through the counter
    latencies: list[float] = []
    errors: list[BaseException] = []
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)

    async def hammer(client: AsyncClient, seed: int, until: float) -> None:
        rng = random.Random(seed)
        while anyio.current_time() < until:
            started = time.perf_counter()
            try:
                if rng.random() < 0.7:
                    track = await client.music.get(rng.choice(ids))
                    assert track.completed
                else:
                    page = await client.music.list_page(limit=20, offset=rng.randint(0, 280))
                    assert len(page.items) == 20
            except PixverseAudioError as exc:
                errors.append(exc)
            latencies.append(time.perf_counter() - started)

    open_peak = [0, 0]  # established connections at once: server side, client side

    async def sample(port: int) -> None:
        while True:
            counts = established(port)
            if counts is None:
                return
            open_peak[:] = [max(a, b) for a, b in zip(open_peak, counts, strict=True)]
            await anyio.sleep(0.02)

    async with serve_emulator(emulator) as url, httpx.AsyncClient(limits=limits) as http:
        client = AsyncClient(emulator.token, base_url=url, http_client=http, timeout=30)
        async with client, anyio.create_task_group() as sampling:
            sampling.start_soon(sample, httpx.URL(url).port)
            until = anyio.current_time() + seconds
            with anyio.fail_after(seconds + 60):
                async with anyio.create_task_group() as group:
                    for seed in range(tasks):
                        group.start_soon(hammer, client, seed, until)
            sampling.cancel_scope.cancel()

    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"\nload[{backend}]: {tasks} tasks x {seconds:g} s, {len(latencies)} calls "
        f"({len(latencies) / seconds:.0f}/s), errors {len(errors)}; p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms; server saw "
        f"at most {counter.peak} requests at once; at most {open_peak[0]} connections open "
        f"at once (client side {open_peak[1]}), {len(counter.clients)} opened in all"
    )
    assert errors == [], errors[:3]
    assert len(latencies) >= tasks  # every task got through at least once
    assert counter.peak <= POOL
    # the server sees a connection the client just closed as open until the FIN
    # is read: one replaced keep-alive connection may overlap by a moment
    assert open_peak[0] <= POOL + 1
    assert open_peak[1] >= 1  # the sampling saw this process's connections at all
    assert open_peak[1] <= POOL
    assert emulator.stats().responses.keys() == {200}


@pytest.mark.soak
@pytest.mark.timeout(600)
async def test_load_200_tasks_for_30_seconds(anyio_backend: str) -> None:
    """200 tasks on one client for 30 s: no errors, never more than 20 connections."""
    await run_load(200, 30.0, anyio_backend)


async def test_load_quick_50_tasks_for_3_seconds(anyio_backend: str) -> None:
    """50 tasks on one client for 3 s (the default-run version): no errors, within the pool."""
    await run_load(50, 3.0, anyio_backend)


async def test_served_connections_send_without_nagle_delays() -> None:
    """serve_emulator's accepted sockets set TCP_NODELAY, so no answer waits for a delayed ACK.

    uvicorn writes a response's head and body separately; with Nagle's
    algorithm on, the body waits for the client's delayed ACK (about 40 ms on
    Linux), which caps one connection at ~25 requests per second. asyncio sets
    TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP, and a listening
    socket made as ``socket.socket(family, SOCK_STREAM)`` has ``proto`` 0, as
    do the connections it accepts. The server-side socket is found among the
    process's live sockets by its local port.
    """
    emulator = Emulator()
    async with serve_emulator(emulator) as url, httpx.AsyncClient() as http:
        port = httpx.URL(url).port
        headers = {"Authorization": f"Bearer {emulator.token}"}
        response = await http.get(f"{url}/_emulator/stats", headers=headers)
        assert response.status_code == 200
        accepted = []
        for sock in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:
            try:
                if sock.getsockname()[1] == port and sock.getpeername():
                    accepted.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            except (OSError, IndexError, TypeError):
                continue  # a listening, closed or non-TCP socket
    assert accepted, "the server's side of the connection was not found"
    assert all(accepted), "the emulator's server answers with Nagle's algorithm on"
