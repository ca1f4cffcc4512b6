"""Web service: N concurrent ``music.generate()`` calls, each from its own task.

This is how an async web service uses the library: one `AsyncClient` for the
process, and every request handler awaits ``client.music.generate(prompt)``.
The emulator runs as a separate server process with its clock unscaled
(``--speed 1``; every job takes ``--job-seconds``) on 3 accounts x maxJobs 4,
and the client is default-configured (``AsyncClient(token, base_url=url)``):
the headline figure. Callers arrive 1 ms apart.

The FIFO ideal for the caller that arrived i-th (from 0) is
``(i // slots + 1) x job seconds``: served in order on 12 slots, each job as
long as the server makes it. Reported: p50 and p95 latency over the ideal's,
the 429s the server sent, and status requests per job.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import urllib.request
from typing import Any

import anyio

from benchmarks._common import emit, emulator_process
from pixverse_audio import AsyncClient, PixverseAudioError
from pixverse_audio.emulator import DEFAULT_TOKEN

ACCOUNTS = 3
MAX_JOBS = 4


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def server_stats(url: str) -> dict[str, Any]:
    """The emulator process's own counters."""
    request = urllib.request.Request(  # noqa: S310 - an http URL on loopback
        f"{url}/_emulator/stats", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        stats: dict[str, Any] = json.loads(answer.read())
    return stats


async def run(url: str, callers: int, job_seconds: float) -> dict[str, Any]:
    latencies: list[float] = [math.nan] * callers
    failed = 0

    async def handler(client: AsyncClient, i: int) -> None:
        nonlocal failed
        started = time.perf_counter()
        try:
            await client.music.generate(f"request {i}")
        except PixverseAudioError:
            failed += 1
        latencies[i] = time.perf_counter() - started

    async with AsyncClient(DEFAULT_TOKEN, base_url=url) as client:
        await client.scheduler.available()  # the client is warm, as in a running service
        async with anyio.create_task_group() as group:
            for i in range(callers):
                group.start_soon(handler, client, i)
                await anyio.sleep(0.001)
    slots = ACCOUNTS * MAX_JOBS
    ideal = [(i // slots + 1) * job_seconds for i in range(callers)]
    stats = server_stats(url)
    requests = stats["requests"]
    status = requests.get("music.list", 0) + requests.get("music.get", 0)
    return {
        "callers": callers,
        "job_seconds": job_seconds,
        "latency_s": {
            "min": round(min(latencies), 3),
            "p50": round(percentile(latencies, 0.5), 3),
            "p95": round(percentile(latencies, 0.95), 3),
            "max": round(max(latencies), 3),
        },
        "ideal_s": {"p50": percentile(ideal, 0.5), "p95": percentile(ideal, 0.95)},
        "p50_over_ideal": round(percentile(latencies, 0.5) / percentile(ideal, 0.5), 3),
        "p95_over_ideal": round(percentile(latencies, 0.95) / percentile(ideal, 0.95), 3),
        "http_429": stats["busy"],
        "status_requests_per_job": round(status / max(1, stats["jobs"]), 3),
        "jobs_created": stats["jobs"],
        "failed": failed,
        "peak_running_per_account": stats["peak_running"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 callers, 0.5 s jobs")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--job-seconds", type=float, default=1.4)
    args = parser.parse_args(argv)
    callers, job_seconds = (20, 0.5) if args.quick else (args.callers, args.job_seconds)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    for backend in backends:
        server = ("--speed", "1", "--job-seconds", str(job_seconds))
        with emulator_process(
            *server, "--accounts", str(ACCOUNTS), "--max-jobs", str(MAX_JOBS)
        ) as url:
            result = anyio.run(run, url, callers, job_seconds, backend=backend)
        latency = result["latency_s"]
        emit(
            "web_service",
            {"backend": backend, "clock": "unscaled", "client": "default", **result},
            [
                (
                    f"{backend} {callers} callers, {job_seconds:g} s jobs",
                    f"p50 {latency['p50']:.2f} s ({result['p50_over_ideal']:.2f}x ideal), "
                    f"p95 {latency['p95']:.2f} s ({result['p95_over_ideal']:.2f}x), "
                    f"429s {result['http_429']}, status/job "
                    f"{result['status_requests_per_job']:.2f}, failed {result['failed']}",
                )
            ],
        )


if __name__ == "__main__":
    main()
