"""Shared limiter: worker processes on the same accounts, with and without Redis.

W worker processes (``examples/shared_worker.py``) each run N music jobs on one
emulator process with 2 accounts x maxJobs 3, where every job takes exactly
``--job-seconds``. With ``RedisLimiter`` they share the 6 slots; without it each
believes it owns all 6 and they meet 429s. Makespan runs from the first
worker's start of work to the last one's end (interpreter start-up excluded);
ideal = ceil(W x N / 6) x job time. Needs ``redis-server`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks._common import emit, emulator_process, free_port
from pixverse_audio.emulator import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "examples" / "shared_worker.py"
ACCOUNTS, MAX_JOBS = 2, 3


def _stats(url: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - an http URL on loopback
        f"{url}/_emulator/stats", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        data: dict[str, Any] = json.load(answer)
    return data


def _run(
    redis_url: str, workers: int, jobs: int, job_seconds: float, backends: list[str]
) -> dict[str, Any]:
    with emulator_process(
        "--accounts",
        str(ACCOUNTS),
        "--max-jobs",
        str(MAX_JOBS),
        "--speed",
        "1",
        "--job-seconds",
        str(job_seconds),
    ) as api:
        namespace = f"bench{time.time_ns()}"  # one for all the workers: they share it
        procs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and example
                [
                    sys.executable,
                    str(WORKER),
                    "--api",
                    api,
                    "--redis",
                    redis_url,
                    "--namespace",
                    namespace,
                    "--jobs",
                    str(jobs),
                    "--name",
                    f"w{n}",
                    "--backend",
                    backends[n % len(backends)],
                    "--status-poll",
                    str(job_seconds / 4),
                ],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env={"PYTHONPATH": str(ROOT), "PATH": ""},
            )
            for n in range(workers)
        ]
        summaries = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            summaries.append(json.loads(out.splitlines()[-1]))
        stats = _stats(api)
    total = workers * jobs
    start = min(s["started_at"] for s in summaries)
    end = max(s["started_at"] + s["seconds"] for s in summaries)
    ideal = math.ceil(total / (ACCOUNTS * MAX_JOBS)) * job_seconds
    return {
        "jobs": total,
        "ok": sum(s["ok"] for s in summaries),
        "makespan_s": end - start,
        "ideal_s": ideal,
        "makespan_vs_ideal": (end - start) / ideal,
        "busy_429": stats["busy"],
        "peak_running": stats["peak_running"],
        "redis_round_trips_per_job": sum(s["redis_round_trips"] for s in summaries) / total,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="4 x 10 jobs of 0.3 s")
    parser.add_argument("--backend", default="both", choices=["asyncio", "trio", "both"])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=None, help="jobs per worker (25)")
    parser.add_argument("--job-seconds", type=float, default=None, help="seconds per job (1.0)")
    args = parser.parse_args(argv)
    jobs = args.jobs or (10 if args.quick else 25)
    job_seconds = args.job_seconds or (0.3 if args.quick else 1.0)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    binary = shutil.which("redis-server")
    if binary is None:
        emit(
            "shared_limiter",
            {"skipped": "redis-server is not installed"},
            [("skipped", "no redis-server")],
        )
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(  # noqa: S603 - the installed redis-server
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.3)
            shared = _run(f"redis://127.0.0.1:{port}/0", args.workers, jobs, job_seconds, backends)
        finally:
            server.terminate()
            server.wait(10)
    alone = _run("", args.workers, jobs, job_seconds, backends)
    results = {
        "workers": args.workers,
        "backends": backends,
        "job_seconds": job_seconds,
        "redis": shared,
        "in_memory": alone,
    }
    emit(
        "shared_limiter",
        results,
        [
            (
                "jobs",
                f"{args.workers} workers x {jobs} ({'/'.join(backends)}), {job_seconds:g} s each",
            ),
            (
                "Redis: makespan vs ideal",
                f"{shared['makespan_s']:.2f} s vs {shared['ideal_s']:.2f} s "
                f"({shared['makespan_vs_ideal']:.2f}x)",
            ),
            ("Redis: 429s, peak per account", f"{shared['busy_429']}, {shared['peak_running']}"),
            ("Redis: round trips per job", f"{shared['redis_round_trips_per_job']:.1f}"),
            (
                "in memory: makespan vs ideal",
                f"{alone['makespan_s']:.2f} s ({alone['makespan_vs_ideal']:.2f}x)",
            ),
            ("in memory: 429s", f"{alone['busy_429']}"),
        ],
    )


if __name__ == "__main__":
    main()
