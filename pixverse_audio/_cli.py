"""The ``pixverse-audio`` command (the ``cli`` extra: click and rich).

Only this module and its ``_cli_*`` siblings import click and rich. The token
comes from ``--token`` or ``$USEAPI_TOKEN``; ``--base-url`` points the command
at the emulator. Read commands take ``--json``. Errors print one line and exit
with a documented code (see `pixverse_audio._cli_output.EXIT_CODES`); Ctrl-C
cancels cleanly (running jobs are released, partial files removed) and exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

__all__ = ["main"]

INTERRUPTED: Final = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pixverse-audio`` with ``argv`` (default: the process arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulator"]:  # needs only the emulator extra
        try:
            from .emulator.__main__ import main as emulator_main
        except ImportError as exc:
            return _missing("emulator", exc)
        return emulator_main(args[1:])
    try:
        from ._cli_commands import cli
    except ImportError as exc:
        return _missing("cli", exc)
    try:
        cli.main(args=args, prog_name="pixverse-audio", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as exc:  # click's usage errors and aborts
        return _click_error(exc)
    return 0


def _missing(extra: str, exc: ImportError) -> int:
    print(
        f"pixverse-audio: this command needs the {extra} extra ({exc.name} is missing):\n"
        f'    python -m pip install "pixverse-audio[{extra}]"',
        file=sys.stderr,
    )
    return 2


def _click_error(exc: Exception) -> int:
    import click

    if isinstance(exc, click.exceptions.Abort):
        print("pixverse-audio: interrupted", file=sys.stderr)
        return INTERRUPTED
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    raise exc


def run_async(work: Callable[[], Awaitable[None]], *, backend: str = "asyncio") -> None:
    """Run ``work`` on ``backend``; SIGINT/SIGTERM cancel it; library errors exit cleanly."""
    import anyio

    from ._cli_output import exit_code
    from ._errors import PixverseAudioError

    outcome: dict[str, Any] = {}

    async def guarded() -> None:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        outcome["interrupted"] = True
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_signals)
            try:
                await work()
            except PixverseAudioError as exc:
                outcome["error"] = exc
            finally:
                tg.cancel_scope.cancel()

    anyio.run(guarded, backend=backend)
    if "error" in outcome:
        error = outcome["error"]
        print(f"pixverse-audio: {type(error).__name__}: {error}", file=sys.stderr)
        raise SystemExit(exit_code(error))
    if outcome.get("interrupted"):
        print("pixverse-audio: interrupted; running jobs were released", file=sys.stderr)
        raise SystemExit(INTERRUPTED)


def read_requests(
    path: Path, defaults: dict[str, Any], *, allowed: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Prompts from a text file (one per line; ``#`` comments) or JSON lines (objects).

    JSON lines may only use the keys in ``allowed`` (a request's field names).
    """
    from ._errors import ValidationError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("from", f"cannot read {str(path)!r}: {exc.strerror}") from None
    requests = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            try:
                fields = json.loads(line)
            except ValueError:
                raise ValidationError("from", f"line {number} is not JSON") from None
            if not isinstance(fields, dict):
                raise ValidationError("from", f"line {number} is not a JSON object")
            unknown = sorted(set(fields) - allowed) if allowed is not None else []
            if unknown:
                raise ValidationError(
                    "from", f"line {number} has unknown keys: {', '.join(unknown)}"
                )
            requests.append({**defaults, **fields})
        else:
            requests.append({**defaults, "prompt": line})
    if not requests:
        raise ValidationError("from", f"{str(path)!r} holds no prompts")
    return requests


def token_from(option: str | None) -> str | None:
    """The token: the option, else ``$USEAPI_TOKEN`` (``AsyncClient`` reads it too)."""
    return option or os.environ.get("USEAPI_TOKEN")


if __name__ == "__main__":
    sys.exit(main())
