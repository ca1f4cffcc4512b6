"""Scale: 1,000 and 10,000 music jobs on 3 accounts x maxJobs 8, input read lazily.

The emulator runs in its own process (every job takes ``JOB_SECONDS``), so the
numbers are the client's alone: CPU seconds per 1,000 jobs and peak RSS. Each
size runs in a fresh process so peaks do not carry over. The requests come from
a generator: memory must not grow with the number of jobs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from typing import Any

import anyio

from benchmarks._common import current_rss_mb, emit, emulator_process, timed
from pixverse_audio import AsyncClient, MusicRequest, PollPolicy
from pixverse_audio.emulator import DEFAULT_TOKEN

JOB_SECONDS = 0.02
SIZES = (1_000, 10_000)


async def one(url: str, jobs: int) -> dict[str, Any]:
    poll = PollPolicy(first=JOB_SECONDS / 4, cap=JOB_SECONDS * 2, not_found_grace=1.0)
    failed = 0
    async with AsyncClient(DEFAULT_TOKEN, base_url=url, poll=poll) as client:
        requests = (MusicRequest(prompt=f"track {i}") for i in range(jobs))
        start_rss = current_rss_mb()
        with timed() as clock:
            async with client.music.generate_many(requests, timeout=60) as results:
                async for result in results:
                    failed += not result.ok
            status = results.status_requests
    return {
        "jobs": jobs,
        "failed": failed,
        "makespan_s": round(clock.wall, 2),
        "client_cpu_s": round(clock.cpu, 3),
        "cpu_s_per_1000_jobs": round(1000 * clock.cpu / jobs, 3),
        "status_requests_per_job": round(status / jobs, 3),
        "rss_start_mb": round(start_rss, 1),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def single(jobs: int, backend: str) -> None:
    args = ["--accounts", "3", "--max-jobs", "8", "--speed", "1"]
    with emulator_process(*args, "--job-seconds", str(JOB_SECONDS)) as url:
        print(json.dumps(anyio.run(one, url, jobs, backend=backend)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 jobs")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:
        single(args.single, args.backend)
        return
    sizes = (200, 1_000) if args.quick else SIZES
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    for backend in backends:
        series = []
        for jobs in sizes:
            command = [sys.executable, "-m", "benchmarks.scale", "--single", str(jobs)]
            out = subprocess.run(  # noqa: S603 - this very module
                [*command, "--backend", backend], capture_output=True, text=True, check=True
            )
            series.append(json.loads(out.stdout.strip().splitlines()[-1]))
        emit(
            "scale",
            {"backend": backend, "job_seconds": JOB_SECONDS, "slots": 24, "series": series},
            [
                (
                    f"{backend} {r['jobs']:,} jobs",
                    f"{r['cpu_s_per_1000_jobs']:.2f} s CPU per 1k jobs, peak RSS "
                    f"{r['rss_peak_mb']:.0f} MB (start {r['rss_start_mb']:.0f}), "
                    f"{r['status_requests_per_job']:.2f} status/job, failed {r['failed']}",
                )
                for r in series
            ],
        )


if __name__ == "__main__":
    main()
