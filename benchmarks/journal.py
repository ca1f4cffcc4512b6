"""Journal: what a durable batch costs, and how fast it resumes.

Overhead (scaled clock, labelled so): 10,000 music jobs of 20 ms on 3 accounts
x maxJobs 8, the emulator in its own process, the client handed a poll scaled
to those jobs (as ``scale`` does), without and with ``journal=``, three times
each, interleaved (CPU time on a 2-core machine shared with the server varies
by several percent from run to run). Reported: client CPU per job each way
(medians) and the median of the three ratios (target <= 1.25), with all three.

Resume: a journal of 100,000 finished requests (written straight into the
file, as a run would have left it), then the same batch plus one new request:
seconds from the ``generate_many`` call to the new request's create reaching
the server (target: under 2 s), and to the last replayed result.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._common import emit, emulator_process, timed
from pixverse_audio import AsyncClient, MusicRequest, PollPolicy
from pixverse_audio._journal_rows import DONE, INSERT, SCHEMA, VERSION, content_of, key_of
from pixverse_audio.emulator import DEFAULT_TOKEN

JOB_SECONDS = 0.02
PAIRS = 3  # runs without and with the journal, interleaved


async def overhead_run(url: str, jobs: int, journal: Path | None) -> dict[str, Any]:
    poll = PollPolicy(first=JOB_SECONDS / 4, cap=JOB_SECONDS * 2, not_found_grace=1.0)
    failed = 0
    async with AsyncClient(DEFAULT_TOKEN, base_url=url, poll=poll) as client:
        requests = [MusicRequest(prompt=f"track {i}") for i in range(jobs)]
        with timed() as clock:
            async with client.music.generate_many(requests, timeout=60, journal=journal) as results:
                async for result in results:
                    failed += not result.ok
    return {"cpu_s": clock.cpu, "wall_s": clock.wall, "failed": failed}


def write_finished(path: Path, requests: list[MusicRequest]) -> None:
    """A journal in which every one of ``requests`` is done, as a finished run leaves it."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("kind", "music"), ("version", VERSION)])
    rows = []
    for index, request in enumerate(requests):
        content = content_of(request)
        job_id = f"user:1000-pixverse:account1@emulator.test-music:{10_000_000 + index}"
        result = {
            "audio_id": job_id,
            "status": 2,
            "final": True,
            "url": f"https://media.emulator.test/{index}.mp3",
            "credits": 40.0,
            "prompt": request.prompt,
            "created_at": "2026-12-04T10:00:00+00:00",
        }
        rows.append(
            (
                key_of(request, index, content),
                index,
                content,
                DONE,
                "account1@emulator.test",
                time.time(),
                job_id,
                json.dumps([job_id]),
                1,
                json.dumps(result),
                None,
                40.0,
                None,
                None,
                time.time(),
            )
        )
    db.executemany(INSERT, rows)
    db.commit()
    db.close()


async def resume_run(url: str, finished: int, directory: Path) -> dict[str, Any]:
    requests = [MusicRequest(prompt=f"old {i}") for i in range(finished)]
    journal = directory / "resume.sqlite"
    write_finished(journal, requests)
    requests.append(MusicRequest(prompt="the new one"))
    first_create: list[float] = []
    replayed = 0
    async with AsyncClient(DEFAULT_TOKEN, base_url=url) as client:
        await client.scheduler.available()  # a warm client, as after its first call
        started = time.perf_counter()

        def note(event: Any) -> None:
            if event.kind == "submitted" and not first_create:
                first_create.append(time.perf_counter() - started)

        async with client.music.generate_many(requests, journal=journal, on_event=note) as results:
            async for result in results:
                replayed += result.resumed
                if replayed == finished:
                    all_replayed = time.perf_counter() - started
    return {
        "finished_entries": finished,
        "first_new_create_s": round(first_create[0], 3),
        "all_replayed_s": round(all_replayed, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 jobs, 10,000 entries")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    args = parser.parse_args(argv)
    jobs, entries = (1_000, 10_000) if args.quick else (10_000, 100_000)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    server = ["--accounts", "3", "--max-jobs", "8", "--speed", "1"]
    for backend in backends:
        with (
            tempfile.TemporaryDirectory() as directory,
            emulator_process(*server, "--job-seconds", str(JOB_SECONDS)) as url,
        ):
            pairs = []
            for run in range(PAIRS):
                plain = anyio.run(overhead_run, url, jobs, None, backend=backend)
                journaled = anyio.run(
                    overhead_run, url, jobs, Path(directory) / f"j{run}.sqlite", backend=backend
                )
                pairs.append((plain, journaled))
            resume = anyio.run(resume_run, url, entries, Path(directory), backend=backend)
        ratios = sorted(j["cpu_s"] / p["cpu_s"] for p, j in pairs)
        ratio = statistics.median(ratios)
        plain = {"cpu_s": statistics.median(p["cpu_s"] for p, _ in pairs)}
        journaled = {"cpu_s": statistics.median(j["cpu_s"] for _, j in pairs)}
        failed = sum(p["failed"] + j["failed"] for p, j in pairs)
        emit(
            "journal",
            {
                "backend": backend,
                "clock": "scaled: 20 ms jobs, client poll scaled to them",
                "jobs": jobs,
                "cpu_ms_per_job": round(1000 * plain["cpu_s"] / jobs, 3),
                "journal_cpu_ms_per_job": round(1000 * journaled["cpu_s"] / jobs, 3),
                "cpu_ratio": round(ratio, 3),
                "cpu_ratios": [round(r, 3) for r in ratios],
                "failed": failed,
                "resume": resume,
            },
            [
                (
                    f"{backend} {jobs:,} jobs (scaled)",
                    f"{1000 * plain['cpu_s'] / jobs:.2f} ms CPU per job, with the journal "
                    f"{1000 * journaled['cpu_s'] / jobs:.2f} ({ratio:.2f}x, median of "
                    f"{', '.join(f'{r:.2f}' for r in ratios)}; target <= 1.25)",
                ),
                (
                    f"{backend} resume of {entries:,} finished",
                    f"first new create after {resume['first_new_create_s']:.2f} s (target < 2), "
                    f"all replayed after {resume['all_replayed_s']:.2f} s",
                ),
            ],
        )


if __name__ == "__main__":
    main()
