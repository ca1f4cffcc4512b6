"""Bulk makespan: music jobs on 3 accounts x maxJobs 4.

Headline (as users run it): ``generate_many`` over 60 requests from a
default-configured client (``AsyncClient(token, base_url=url)``) against the
emulator as a separate server process with its clock unscaled (``--speed 1``),
every job taking 5 s and then 30 s. Reported: makespan over the ideal
``ceil(60 / 12) x job seconds``, 429s, and status requests per job, read from
the server's own counters.

Scaled (labelled ``scaled`` in the output; not the headline): N jobs on the
in-process emulator, three ways, with the client handed settings scaled to the
emulator's clock:
(a) ``generate_many``; (b) the pattern of useapi.net's example scripts:
sequential submit, sleep 10 s on 429, poll each job every 15 s; (c) a naive
task group of ``create`` + ``wait`` per prompt with no limiter. Every job takes
exactly ``JOB_SECONDS`` on the in-process emulator; all waits are scaled by
``SCALE`` (a typical two-minute track becomes half a second), so the script's
15 s poll becomes 62.5 ms. Ideal makespan = ceil(N / slots) x job time.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import anyio
import httpx

from benchmarks._common import emit, emulator_process, timed
from benchmarks.web_service import server_stats
from pixverse_audio import AsyncClient, MusicRequest, PixverseAudioError, PollPolicy, RetryPolicy
from pixverse_audio.emulator import DEFAULT_TOKEN, Emulator, Timing

ACCOUNTS = 3
MAX_JOBS = 4
JOB_SECONDS = 0.5
SCALE = 240.0  # API seconds per emulated second: 120 s of music in 0.5 s


def _emulator(seed: int) -> Emulator:
    return Emulator(
        accounts=ACCOUNTS, max_jobs=MAX_JOBS, seed=seed, music_timing=Timing.fixed(JOB_SECONDS)
    )


def _poll() -> PollPolicy:
    return PollPolicy().scaled(SCALE)


def _retry() -> RetryPolicy:
    return RetryPolicy(
        busy_delay=(10 / SCALE, 30 / SCALE),
        backoff_base=0.5 / SCALE,
        backoff_cap=8 / SCALE,
        retry_after_cap=60 / SCALE,
    )


def _report(emulator: Emulator, n: int, wall: float, cpu: float, failed: int) -> dict[str, Any]:
    stats = emulator.stats()
    ideal = math.ceil(n / (ACCOUNTS * MAX_JOBS)) * JOB_SECONDS
    status = stats.requests.get("music.get", 0) + stats.requests.get("music.list", 0)
    return {
        "makespan_s": round(wall, 3),
        "ideal_s": ideal,
        "makespan_over_ideal": round(wall / ideal, 3),
        "http_429": stats.busy,
        "status_requests_per_job": round(status / n, 3),
        "creates_sent": stats.requests.get("music.create", 0),
        "jobs_created": stats.jobs,
        "failed": failed,
        "peak_slots_per_account": stats.peak_running,
        "cpu_s": round(cpu, 3),
    }


async def ours(n: int, seed: int) -> dict[str, Any]:
    emulator = _emulator(seed)
    failed = 0
    async with emulator.client(poll=_poll(), retry=_retry()) as client:
        requests = (MusicRequest(prompt=f"track {i}") for i in range(n))
        with timed() as clock:
            async with client.music.generate_many(requests, timeout=60) as results:
                async for result in results:
                    failed += not result.ok
    return _report(emulator, n, clock.wall, clock.cpu, failed)


async def example_scripts(n: int, seed: int) -> dict[str, Any]:
    """Sequential submit with a 10 s sleep on 429, each job polled every 15 s (scaled)."""
    emulator = _emulator(seed)
    headers = {"Authorization": f"Bearer {emulator.token}", "Content-Type": "application/json"}
    api = f"{emulator.base_url}/v2/pixverse/music"
    failed = 0

    async def poll(http: httpx.AsyncClient, audio_id: str) -> None:
        nonlocal failed
        while True:
            await anyio.sleep(15 / SCALE)
            body = json.loads((await http.get(f"{api}/{audio_id}", headers=headers)).content)
            if body.get("audio_status_final"):
                failed += body.get("audio_status") != 1
                return

    async with emulator.http_client() as http:
        with timed() as clock:
            async with anyio.create_task_group() as tg:  # waits for every poll
                for i in range(n):
                    while True:
                        answer = await http.post(
                            f"{api}/create", headers=headers, json={"prompt": f"track {i}"}
                        )
                        if answer.status_code != 429:
                            break
                        await anyio.sleep(10 / SCALE)
                    tg.start_soon(poll, http, json.loads(answer.content)["audio_id"])
    return _report(emulator, n, clock.wall, clock.cpu, failed)


async def naive(n: int, seed: int) -> dict[str, Any]:
    """Every prompt at once: create + wait in a task group, no limiter."""
    emulator = _emulator(seed)
    failed = 0

    async def one(client: Any, i: int) -> None:
        nonlocal failed
        try:
            await client.music.generate(f"track {i}", timeout=60)
        except PixverseAudioError:
            failed += 1

    async with emulator.client(poll=_poll(), retry=_retry()) as client:
        with timed() as clock:
            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(one, client, i)
    return _report(emulator, n, clock.wall, clock.cpu, failed)


STRATEGIES = {"generate_many": ours, "example_scripts": example_scripts, "naive_taskgroup": naive}

HEADLINE_JOBS = 60
HEADLINE_SECONDS = (5.0, 30.0)


async def headline(url: str, n: int, job_seconds: float) -> dict[str, Any]:
    """``generate_many`` from a default client against a real server, unscaled."""
    failed = 0
    async with AsyncClient(DEFAULT_TOKEN, base_url=url) as client:
        requests = (MusicRequest(prompt=f"track {i}") for i in range(n))
        with timed() as clock:
            async with client.music.generate_many(requests) as results:
                async for result in results:
                    failed += not result.ok
    stats = server_stats(url)
    status = stats["requests"].get("music.list", 0) + stats["requests"].get("music.get", 0)
    ideal = math.ceil(n / (ACCOUNTS * MAX_JOBS)) * job_seconds
    return {
        "jobs": n,
        "job_seconds": job_seconds,
        "makespan_s": round(clock.wall, 3),
        "ideal_s": ideal,
        "makespan_over_ideal": round(clock.wall / ideal, 3),
        "http_429": stats["busy"],
        "status_requests_per_job": round(status / n, 3),
        "jobs_created": stats["jobs"],
        "failed": failed,
        "peak_slots_per_account": stats["peak_running"],
        "cpu_s": round(clock.cpu, 3),
    }


def run_headline(backend: str, n: int, lengths: tuple[float, ...]) -> None:
    for job_seconds in lengths:
        server = ("--speed", "1", "--job-seconds", str(job_seconds))
        with emulator_process(
            *server, "--accounts", str(ACCOUNTS), "--max-jobs", str(MAX_JOBS)
        ) as url:
            r = anyio.run(headline, url, n, job_seconds, backend=backend)
        emit(
            "bulk_makespan",
            {"backend": backend, "clock": "unscaled", "client": "default", **r},
            [
                (
                    f"{backend} {n} jobs of {job_seconds:g} s (unscaled, default client)",
                    f"{r['makespan_over_ideal']:.2f}x ideal, 429s {r['http_429']}, "
                    f"status/job {r['status_requests_per_job']:.2f}, failed {r['failed']}",
                )
            ],
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="48 jobs instead of 200")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only", choices=["headline", "scaled"], default=None, help="Run one part only."
    )
    args = parser.parse_args(argv)
    n = 48 if args.quick else 200
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    if args.only != "scaled":
        for backend in backends:
            if args.quick:
                run_headline(backend, 24, (1.0,))
            else:
                run_headline(backend, HEADLINE_JOBS, HEADLINE_SECONDS)
    if args.only == "headline":
        return
    for backend in backends:
        runs = {
            name: anyio.run(fn, n, args.seed, backend=backend) for name, fn in STRATEGIES.items()
        }
        rows = []
        for name, r in runs.items():
            rows.append(
                (
                    f"{backend} {name} (scaled)",
                    f"{r['makespan_over_ideal']:.2f}x ideal, 429s {r['http_429']}, "
                    f"status/job {r['status_requests_per_job']:.2f}, failed {r['failed']}, "
                    f"peak {max(r['peak_slots_per_account'].values(), default=0)}",
                )
            )
        emit(
            "bulk_makespan",
            {
                "backend": backend,
                "clock": f"scaled x{SCALE:g}, client settings scaled to it",
                "jobs": n,
                "accounts": ACCOUNTS,
                "max_jobs": MAX_JOBS,
                "job_seconds": JOB_SECONDS,
                "scale": SCALE,
                "results": runs,
            },
            rows,
        )


if __name__ == "__main__":
    main()
