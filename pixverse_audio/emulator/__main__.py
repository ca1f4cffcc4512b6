"""``python -m pixverse_audio.emulator`` (and ``pixverse-audio emulator``): serve it over HTTP.

Needs only the ``emulator`` extra, so the options are parsed with argparse,
formatted like the rest of the command line (``[default: ...]``). The port is
bound before anything is printed: a busy port is one error line and exit 1,
never a "running" banner first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "parser"]


class _Formatter(argparse.HelpFormatter):
    """Help laid out as click lays out the rest of the command: ``Usage:`` and ``Options:``."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any = None) -> None:
        super().add_usage(usage, actions, groups, prefix="Usage: ")


def parser() -> argparse.ArgumentParser:
    """The command line of the emulator (shared with ``pixverse-audio emulator``)."""
    from . import DEFAULT_TOKEN

    p = argparse.ArgumentParser(
        prog="pixverse-audio emulator",
        usage="pixverse-audio emulator [OPTIONS]",
        description="Serve a local emulator of useapi.net's PixVerse audio API over HTTP "
        "until interrupted. Point a client at it with --base-url or $USEAPI_BASE_URL.",
        formatter_class=_Formatter,
        add_help=False,
    )
    p._optionals.title = "Options"

    def add(*names: str, **kwargs: Any) -> None:  # click's metavars: TEXT, INTEGER, FLOAT
        if kwargs.get("action") is None:
            kind = kwargs.get("type")
            kwargs["metavar"] = "INTEGER" if kind is int else "FLOAT" if kind is float else "TEXT"
        p.add_argument(*names, **kwargs)

    add("--host", default="127.0.0.1", help="Address to listen on.  [default: 127.0.0.1]")
    add(
        "--port",
        type=int,
        default=8800,
        help="TCP port to listen on (0 to 65535).  [default: 8800]",
    )
    add("--accounts", type=int, default=3, help="How many accounts.  [default: 3]")
    add("--max-jobs", type=int, default=4, help="maxJobs of every account (1 to 8).  [default: 4]")
    add(
        "--speed",
        type=float,
        default=60.0,
        help="API seconds per real second (60: a minute-long job takes a second).  [default: 60]",
    )
    add("--seed", type=int, default=0, help="Seed for timings and failures.  [default: 0]")
    add(
        "--failure-rate",
        type=float,
        default=0.0,
        help="Share of jobs that end FAILED (0 to 1).  [default: 0]",
    )
    add("--credits", type=float, default=1_000_000, help="Credits per account.  [default: 1000000]")
    add(
        "--token",
        default=DEFAULT_TOKEN,
        help=f"The API token it accepts.  [default: {DEFAULT_TOKEN}]",
    )
    add(
        "--job-seconds",
        type=float,
        default=None,
        help="Make every job take exactly this many API seconds  [default: realistic ranges]",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="ROUTE:KIND[:SHARE]",
        help="Inject a fault on a share of ROUTE's requests (repeatable), e.g. "
        "music.create:drop_after:0.1. KIND: drop_before, drop_after (the request is "
        "acted on, then the connection dropped), malformed, delay=SECONDS or an HTTP "
        "status (400 to 599); SHARE 0 to 1 (default 1). ROUTE: music.create, "
        "music.list, speech.create, scheduler.cancel, media and the like (a wrong one "
        "lists them all), or * for every route.",
    )
    add("--quiet", action="store_true", help="Log only errors.")
    p.add_argument("-h", "--help", action="help", help="Show this message and exit.")
    return p


def _fault(text: str) -> tuple[str, Any, float]:
    """``ROUTE:KIND[:SHARE]`` as the arguments of `Faults.add` (argparse reports errors)."""
    from ._faults import ROUTES, Fault

    route, _, rest = text.partition(":")
    kind, _, share = rest.partition(":")
    if route != "*" and route not in ROUTES:
        raise argparse.ArgumentTypeError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")
    try:
        probability = float(share) if share else 1.0
    except ValueError:
        probability = -1.0
    if not 0.0 <= probability <= 1.0:
        raise argparse.ArgumentTypeError(f"the share {share!r} is not a number within 0..1")
    name, _, value = kind.partition("=")
    plain = {"drop_before": Fault("drop_before"), "drop_after": Fault("drop_after")}
    plain["malformed"] = Fault("malformed")
    if name in plain and not value:
        return route, plain[name], probability
    seconds = _number(value) if name == "delay" else None
    if seconds is not None and 0 <= seconds <= 3600:
        return route, Fault("delay", seconds=seconds), probability
    if name.isdigit() and 400 <= int(name) <= 599 and not value:
        return route, Fault("status", status=int(name)), probability
    raise argparse.ArgumentTypeError(
        f"unknown fault {kind!r}: drop_before, drop_after, malformed, delay=SECONDS "
        "(0 to 3600) or a status from 400 to 599"
    )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, bind the port, then serve until interrupted."""
    from . import Emulator, Timing
    from ._server import bind, run_emulator

    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return int(exit_.code or 0)
    if not 0 <= args.port <= 65535:
        print("pixverse-audio emulator: --port must be within 0..65535", file=sys.stderr)
        return 2
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
    for route, fault, probability in args.fault:
        emulator.faults.add(route, fault, probability=probability)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        why = exc.strerror or str(exc)
        print(
            f"pixverse-audio emulator: cannot listen on {args.host}:{args.port}: {why}",
            file=sys.stderr,
        )
        return 1
    port = sock.getsockname()[1]
    print(
        f"PixVerse audio emulator on http://{args.host}:{port} "
        f"(token {args.token!r}, {args.accounts} accounts x maxJobs {args.max_jobs}, "
        f"speed {args.speed:g})",
        flush=True,
    )
    run_emulator(emulator, sock, log_level="error" if args.quiet else "info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
