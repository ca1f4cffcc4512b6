"""Pagination: iterate 100,000 music items (2,000 pages of 50) from the emulator.

The emulator (in-process) is filled before measuring; memory is sampled while
iterating to show it stays flat (the iterator keeps a bounded window of ids).
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from benchmarks._common import current_rss_mb, emit, timed
from pixverse_audio.emulator import Emulator


async def run(items: int, page_size: int) -> dict[str, Any]:
    emulator = Emulator()
    emulator.preload(items)
    samples: list[float] = []
    count = 0
    async with emulator.client() as client:
        start_rss = current_rss_mb()
        with timed() as clock:
            async for _ in client.music.list(page_size=page_size):
                count += 1
                if count % (items // 10) == 0:
                    samples.append(round(current_rss_mb() - start_rss, 2))
    return {
        "items": count,
        "pages": -(-count // page_size),
        "items_per_second": round(count / clock.wall),
        "cpu_s": round(clock.cpu, 3),
        "rss_growth_mb_at_each_tenth": samples,
        "rss_growth_mb_max": max(samples, default=0.0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 items")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="asyncio")
    args = parser.parse_args(argv)
    if args.backend == "both":  # runs on asyncio only (the bulk benchmarks run on both)
        args.backend = "asyncio"
    items = 10_000 if args.quick else 100_000
    result = anyio.run(run, items, 50, backend=args.backend)
    result["backend"] = args.backend
    emit(
        "pagination",
        result,
        [
            ("items", f"{result['items']:,} in {result['pages']:,} pages"),
            ("throughput", f"{result['items_per_second']:,} items/s (emulator included)"),
            ("RSS growth at each tenth (MB)", str(result["rss_growth_mb_at_each_tenth"])),
        ],
    )


if __name__ == "__main__":
    main()
