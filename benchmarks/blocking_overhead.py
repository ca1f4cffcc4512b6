"""Blocking overhead: the same music.get calls through `Client` and through `AsyncClient`.

Both send to the same kind of in-process emulator transport with the same
settings; the difference is what the blocking client adds per call: handing
the call to its event-loop thread (anyio's blocking portal), a task there, and
handing the result back. Rounds alternate and the best of each is kept.
CPU counts every thread of the process.
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from benchmarks._common import emit, timed
from pixverse_audio.emulator import Emulator


async def _async_round(emulator: Emulator, audio_id: str, calls: int) -> tuple[float, float]:
    async with emulator.client() as client:
        await client.music.get(audio_id)  # warm: the connection and the first parse
        with timed() as took:
            for _ in range(calls):
                await client.music.get(audio_id)
    return took.wall, took.cpu


def _blocking_round(
    emulator: Emulator, audio_id: str, calls: int, backend: str
) -> tuple[float, float]:
    with emulator.blocking_client(backend=backend) as client:
        client.music.get(audio_id)
        with timed() as took:
            for _ in range(calls):
                client.music.get(audio_id)
    return took.wall, took.cpu


def run(calls: int, rounds: int, backend: str) -> dict[str, Any]:
    emulator = Emulator()
    (job,) = emulator.preload(1)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        measured = {
            "async": anyio.run(_async_round, emulator, job.audio_id, calls, backend=backend),
            "blocking": _blocking_round(emulator, job.audio_id, calls, backend),
        }
        for name, (wall, cpu) in measured.items():
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    (async_wall, async_cpu), (sync_wall, sync_cpu) = best["async"], best["blocking"]
    return {
        "backend": backend,
        "calls": calls,
        "rounds": rounds,
        "async_us_per_call": round(1e6 * async_wall / calls, 1),
        "blocking_us_per_call": round(1e6 * sync_wall / calls, 1),
        "added_us_per_call": round(1e6 * (sync_wall - async_wall) / calls, 1),
        "wall_ratio": round(sync_wall / async_wall, 3),
        "async_cpu_us_per_call": round(1e6 * async_cpu / calls, 1),
        "blocking_cpu_us_per_call": round(1e6 * sync_cpu / calls, 1),
        "cpu_ratio": round(sync_cpu / async_cpu, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 calls, 1 round")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    args = parser.parse_args(argv)
    calls, rounds = (200, 1) if args.quick else (2000, 5)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    for backend in backends:
        result = run(calls, rounds, backend)
        emit(
            "blocking_overhead",
            result,
            [
                (
                    f"{backend} AsyncClient",
                    f"{result['async_us_per_call']:.0f} us per get "
                    f"({result['async_cpu_us_per_call']:.0f} us CPU)",
                ),
                (
                    f"{backend} Client (blocking)",
                    f"{result['blocking_us_per_call']:.0f} us per get "
                    f"({result['blocking_cpu_us_per_call']:.0f} us CPU)",
                ),
                (
                    "added per call",
                    f"{result['added_us_per_call']:.0f} us ({result['wall_ratio']:.2f}x wall, "
                    f"{result['cpu_ratio']:.2f}x CPU)",
                ),
            ],
        )


if __name__ == "__main__":
    main()
