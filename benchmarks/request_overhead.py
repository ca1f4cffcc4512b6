"""Request overhead: the same music.get calls through AsyncClient and through bare httpx.

Both send to the same in-process emulator transport, so the difference is the
client's own work: building the request, retries bookkeeping, error mapping
and parsing into a model, against ``httpx`` plus ``json.loads``. Rounds
alternate and the best of each is kept, to damp noise from a shared machine.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from benchmarks._common import emit, timed
from pixverse_audio.emulator import Emulator


async def run(calls: int, rounds: int) -> dict[str, Any]:
    emulator = Emulator()
    (job,) = emulator.preload(1)
    url = f"{emulator.base_url}/v2/pixverse/music/{job.audio_id}"
    headers = {"Authorization": f"Bearer {emulator.token}", "Accept": "application/json"}
    best = {"client": float("inf"), "bare": float("inf")}
    best_cpu = {"client": float("inf"), "bare": float("inf")}
    async with emulator.client() as client, emulator.http_client() as http:
        for _ in range(rounds):
            with timed() as ours:
                for _ in range(calls):
                    await client.music.get(job.audio_id)
            with timed() as bare:
                for _ in range(calls):
                    json.loads((await http.get(url, headers=headers)).content)
            best["client"] = min(best["client"], ours.wall)
            best["bare"] = min(best["bare"], bare.wall)
            best_cpu["client"] = min(best_cpu["client"], ours.cpu)
            best_cpu["bare"] = min(best_cpu["bare"], bare.cpu)
    return {
        "calls": calls,
        "rounds": rounds,
        "client_s": round(best["client"], 4),
        "bare_httpx_s": round(best["bare"], 4),
        "wall_ratio": round(best["client"] / best["bare"], 3),
        "client_cpu_s": round(best_cpu["client"], 4),
        "bare_httpx_cpu_s": round(best_cpu["bare"], 4),
        "ratio": round(best_cpu["client"] / best_cpu["bare"], 3),
        "overhead_us_per_call": round(1e6 * (best_cpu["client"] - best_cpu["bare"]) / calls, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 calls, 1 round")
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="asyncio")
    args = parser.parse_args(argv)
    if args.backend == "both":  # runs on asyncio only (the bulk benchmarks run on both)
        args.backend = "asyncio"
    calls, rounds = (200, 1) if args.quick else (2000, 5)
    result = anyio.run(run, calls, rounds, backend=args.backend)
    result["backend"] = args.backend
    emit(
        "request_overhead",
        result,
        [
            ("AsyncClient", f"{result['client_cpu_s']:.3f} s CPU for {calls} gets"),
            ("bare httpx + json.loads", f"{result['bare_httpx_cpu_s']:.3f} s CPU"),
            ("CPU ratio (goal <= 1.10)", f"{result['ratio']:.3f}"),
            ("wall ratio", f"{result['wall_ratio']:.3f}"),
            ("overhead per call", f"{result['overhead_us_per_call']:.1f} us CPU"),
        ],
    )


if __name__ == "__main__":
    main()
