"""Running a command: the event loop, Ctrl-C, one-line errors, and reading request files.

No click here, so the emulator's command (which needs only the emulator extra)
can use it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final, NoReturn

__all__ = ["INTERRUPTED", "checked", "fail", "read_requests", "run_async", "token_from"]

INTERRUPTED: Final = 130


def fail(error: Exception) -> NoReturn:
    """Print ``error`` as one line in the command line's words and exit with its code."""
    from ._cli_output import cli_message, exit_code
    from ._errors import PixverseAudioError

    if not isinstance(error, PixverseAudioError):
        raise error
    print(f"pixverse-audio: {type(error).__name__}: {cli_message(error)}", file=sys.stderr)
    raise SystemExit(exit_code(error))


@contextlib.contextmanager
def checked() -> Iterator[None]:
    """Checks made before the first request: a library error exits at once (one line)."""
    from ._errors import PixverseAudioError

    try:
        yield
    except PixverseAudioError as error:
        fail(error)


def run_async(work: Callable[[], Awaitable[None]], *, backend: str = "asyncio") -> None:
    """Run ``work`` on ``backend``; SIGINT/SIGTERM cancel it; library errors exit cleanly."""
    import anyio

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
        fail(outcome["error"])
    if outcome.get("interrupted"):
        print("pixverse-audio: interrupted; running jobs were released", file=sys.stderr)
        raise SystemExit(INTERRUPTED)


def read_requests(
    path: Path, defaults: dict[str, Any], *, text_field: str, allowed: frozenset[str]
) -> list[tuple[int, dict[str, Any]]]:
    """Requests from a text file (one ``text_field`` per line; ``#`` comments) or JSON lines.

    JSON lines (``.jsonl``/``.ndjson``) are objects that may only use the keys in
    ``allowed`` (a request's field names). Returns each request's fields with
    its line number.
    """
    from ._errors import ValidationError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ValidationError("--from", f"cannot read {str(path)!r}: {why}") from None
    requests = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            try:
                fields = json.loads(line)
            except ValueError:
                raise ValidationError("--from", f"line {number} is not JSON") from None
            if not isinstance(fields, dict):
                raise ValidationError("--from", f"line {number} is not a JSON object")
            unknown = sorted(set(fields) - allowed)
            if unknown:
                raise ValidationError(
                    "--from", f"line {number} has unknown keys: {', '.join(unknown)}"
                )
            requests.append((number, {**defaults, **fields}))
        else:
            requests.append((number, {**defaults, text_field: line}))
    if not requests:
        raise ValidationError("--from", f"{str(path)!r} holds no prompts")
    return requests


def token_from(option: str | None) -> str | None:
    """The token: the option, else ``$USEAPI_TOKEN`` (``AsyncClient`` reads it too)."""
    return option or os.environ.get("USEAPI_TOKEN")
