"""Helpers shared by the benchmarks: timing, memory and output."""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs


@attrs.define
class Timer:
    """Wall and CPU seconds of a block."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """Measure the wall and process CPU time of the ``with`` block."""
    timer = Timer()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield timer
    finally:
        timer.wall = time.perf_counter() - wall
        timer.cpu = time.process_time() - cpu


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """The process's resident set size now, in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def environment() -> dict[str, Any]:
    """Facts about the machine that explain the numbers."""
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def emit(name: str, results: Mapping[str, Any], rows: list[tuple[str, str]]) -> None:
    """Print ``results`` as one JSON line to stdout and ``rows`` as a table to stderr."""
    print(json.dumps({"benchmark": name, **results, "environment": environment()}), flush=True)
    width = max(len(label) for label, _ in rows) if rows else 0
    print(f"\n{name}", file=sys.stderr)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}", file=sys.stderr)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_process(*args: str) -> Iterator[str]:
    """Run ``python -m pixverse_audio.emulator`` in a separate process; yield its URL.

    The client under test then has its process (CPU, memory) to itself.
    """
    import subprocess
    import urllib.request

    from pixverse_audio.emulator import DEFAULT_TOKEN

    port = free_port()
    command = [sys.executable, "-m", "pixverse_audio.emulator", "--port", str(port), "--quiet"]
    server = subprocess.Popen([*command, *args], stdout=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            request = urllib.request.Request(  # noqa: S310 - an http URL on loopback
                f"{url}/v2/pixverse/accounts",
                headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the emulator process did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
