"""``python -m benchmarks [name ...] [--quick] [--backend asyncio|trio|both]``: run benchmarks.

Names come first (default: all); every option after them is passed to each
benchmark. Each prints one JSON object per run to stdout and a table to stderr.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "request_overhead",
    "blocking_overhead",
    "parse_throughput",
    "bulk_makespan",
    "web_service",
    "scale",
    "download_memory",
    "pagination",
    "emulator_load",
    "shared_limiter",
    "journal",
)


def main(argv: list[str]) -> int:
    names = []
    while argv and argv[0] in BENCHMARKS:
        names.append(argv.pop(0))
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or BENCHMARKS:
        importlib.import_module(f"benchmarks.{name}").main(list(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
