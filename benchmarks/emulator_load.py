"""Emulator load: 3 accounts x maxJobs 8 and 500 creates in-process (CPU seconds).

Every job takes exactly one API second on a manual clock that moves one second
after each round of 24 creates, so every create is accepted and slots cycle as
they would in a real batch. Reports CPU and wall time for building the
emulator and for the creates (through `AsyncClient`, in-process transport).
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from benchmarks._common import emit, timed
from pixverse_audio.emulator import Emulator, ManualClock, Timing

ACCOUNTS = 3
MAX_JOBS = 8


async def run(creates: int) -> dict[str, Any]:
    clock = ManualClock()
    with timed() as setup:
        emulator = Emulator(
            accounts=ACCOUNTS,
            max_jobs=MAX_JOBS,
            clock=clock,
            music_timing=Timing.fixed(1.0),
        )
    slots = ACCOUNTS * MAX_JOBS
    with timed() as work:
        async with emulator.client() as client:
            done = 0
            while done < creates:
                batch = min(slots, creates - done)
                async with anyio.create_task_group() as tg:
                    for i in range(batch):
                        tg.start_soon(client.music.create, f"track {done + i}")
                done += batch
                clock.advance(1.0)
    stats = emulator.stats()
    return {
        "creates": creates,
        "accepted": stats.jobs,
        "busy_429": stats.busy,
        "setup_cpu_s": round(setup.cpu, 4),
        "creates_cpu_s": round(work.cpu, 4),
        "total_cpu_s": round(setup.cpu + work.cpu, 4),
        "wall_s": round(setup.wall + work.wall, 4),
        "cpu_ms_per_create": round(1000 * work.cpu / creates, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 creates instead of 500")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    args = parser.parse_args(argv)
    if args.backend == "both":  # runs on asyncio only (the bulk benchmarks run on both)
        args.backend = "asyncio"
    creates = 50 if args.quick else 500
    results = anyio.run(run, creates, backend=args.backend)
    results["backend"] = args.backend
    emit(
        "emulator_load",
        results,
        [
            (
                "creates accepted",
                f"{results['accepted']} of {creates} (429s: {results['busy_429']})",
            ),
            ("CPU, setup + creates", f"{results['total_cpu_s']:.3f} s"),
            ("CPU per create", f"{results['cpu_ms_per_create']:.2f} ms"),
            ("wall", f"{results['wall_s']:.3f} s"),
        ],
    )


if __name__ == "__main__":
    main()
