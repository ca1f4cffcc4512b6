"""One worker process of many, sharing the accounts' maxJobs through Redis.

Start as many as you like, on as many machines, with the same Redis URL and
namespace: together they never run more jobs on an account than its maxJobs.
The only change from a single-process program is the ``limiter=`` argument.

    python examples/shared_worker.py --redis redis://cache:6379/0 --jobs 50 --name w1

With ``--api`` it talks to that base URL (an emulator, for instance) with the
emulator's token; otherwise to useapi.net with ``$USEAPI_TOKEN``. It prints one
JSON line per finished job and a summary line last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import anyio

from pixverse_audio import AsyncClient, MusicRequest, PollPolicy, RedisLimiter


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--redis", required=True, help='redis:// URL of the shared limiter ("" for none)'
    )
    p.add_argument("--namespace", default="pixverse", help="limiter namespace (pixverse)")
    p.add_argument("--api", default=None, help="API base URL (default: useapi.net)")
    p.add_argument("--token", default=None, help="API token (default: $USEAPI_TOKEN)")
    p.add_argument("--jobs", type=int, default=50, help="music jobs to run (50)")
    p.add_argument("--name", default="worker", help="prefix of this worker's prompts")
    p.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    p.add_argument("--lease-ttl", type=float, default=30.0, help="slot lease TTL, seconds (30)")
    p.add_argument("--poll", type=float, default=2.0, help="limiter fallback poll, seconds (2)")
    p.add_argument("--status-poll", type=float, default=None, help="first status poll, seconds")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    limiter = None
    if args.redis:
        # --8<-- [start:limiter]
        limiter = RedisLimiter(
            args.redis, namespace=args.namespace, lease_ttl=args.lease_ttl, poll=args.poll
        )
        # --8<-- [end:limiter]
    settings: dict[str, Any] = {"limiter": limiter}
    if args.api is not None:
        from pixverse_audio.emulator import DEFAULT_TOKEN

        settings["base_url"] = args.api
        settings["token"] = args.token or DEFAULT_TOKEN
    if args.status_poll is not None:
        settings["poll"] = PollPolicy(first=args.status_poll, cap=args.status_poll * 4)
    requests = [MusicRequest(prompt=f"{args.name} job {i}") for i in range(args.jobs)]
    ok = failed = 0
    errors: dict[str, int] = {}
    started, started_at = time.monotonic(), time.time()
    # --8<-- [start:batch]
    async with AsyncClient(**settings) as client:  # settings["limiter"] is the RedisLimiter
        async with client.music.generate_many(requests, timeout=600) as results:
            async for result in results:
                line: dict[str, Any] = {"index": result.index, "job_ids": result.job_ids}
                if result.track is not None:
                    ok += 1
                    line["email"] = result.track.email
                else:
                    failed += 1
                    kind = type(result.error).__name__
                    errors[kind] = errors.get(kind, 0) + 1
                    line["error"] = kind
                print(json.dumps(line), flush=True)
            busy = results.busy
        # --8<-- [end:batch]
        rounds = limiter.round_trips if limiter is not None else 0
    return {
        "summary": True,
        "name": args.name,
        "ok": ok,
        "failed": failed,
        "errors": errors,
        "busy": busy,
        "seconds": time.monotonic() - started,
        "started_at": started_at,
        "redis_round_trips": rounds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    summary = anyio.run(run, args, backend=args.backend)
    print(json.dumps(summary), flush=True)
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
