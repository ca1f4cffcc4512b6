"""``python -m pixverse_audio.emulator``: serve the emulator over HTTP."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    """The command line of the emulator (shared with ``pixverse-audio emulator``)."""
    from . import DEFAULT_TOKEN

    p = argparse.ArgumentParser(
        prog="pixverse-audio emulator",
        description="Serve a local emulator of useapi.net's PixVerse audio API.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8800, help="port to listen on (8800)")
    p.add_argument("--accounts", type=int, default=3, help="number of accounts (3)")
    p.add_argument("--max-jobs", type=int, default=4, help="maxJobs of every account, 1-8 (4)")
    p.add_argument("--speed", type=float, default=60.0, help="API seconds per real second (60)")
    p.add_argument("--seed", type=int, default=0, help="seed for timings and failures (0)")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of FAILED jobs (0)")
    p.add_argument("--credits", type=float, default=1_000_000, help="credits per account")
    p.add_argument("--token", default=DEFAULT_TOKEN, help=f"accepted API token ({DEFAULT_TOKEN})")
    p.add_argument(
        "--job-seconds",
        type=float,
        default=None,
        help="make every job take exactly this many API seconds (default: realistic ranges)",
    )
    p.add_argument("--quiet", action="store_true", help="log only errors")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted."""
    from . import Emulator, Timing
    from ._server import run_emulator

    args = parser().parse_args(argv)
    fixed = Timing.fixed(args.job_seconds) if args.job_seconds is not None else None
    try:
        emulator = Emulator(
            accounts=args.accounts,
            max_jobs=args.max_jobs,
            credits=args.credits,
            speed=args.speed,
            seed=args.seed,
            failure_rate=args.failure_rate,
            token=args.token,
            music_timing=fixed,
            speech_timing=fixed,
        )
    except ValueError as exc:
        print(f"pixverse-audio emulator: {exc}", file=sys.stderr)
        return 2
    print(
        f"PixVerse audio emulator on http://{args.host}:{args.port} "
        f"(token {args.token!r}, {args.accounts} accounts x maxJobs {args.max_jobs}, "
        f"speed {args.speed:g})",
        flush=True,
    )
    try:
        run_emulator(
            emulator, host=args.host, port=args.port, log_level="error" if args.quiet else "info"
        )
    except OSError as exc:
        print(f"pixverse-audio emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
