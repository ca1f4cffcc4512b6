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
