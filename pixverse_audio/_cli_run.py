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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

__all__ = [
    "INTERRUPTED",
    "check_output_dir",
    "checked",
    "fail",
    "missing_extra",
    "read_requests",
    "run_async",
    "token_from",
]

INTERRUPTED: Final = 130


def fail(error: Exception, names: Mapping[str, str] | None = None) -> NoReturn:
    """Print ``error`` as one line in the command line's words and exit with its code.

    A library error exits with its documented code; an `OSError` (a disk that
    is full, a directory that went away) exits 1; anything else is a bug and
    is raised as it is. ``names``: the command's own spellings of arguments
    (see `pixverse_audio._cli_output.cli_message`).
    """
    from ._cli_output import cli_message, exit_code
    from ._errors import PixverseAudioError

    if isinstance(error, OSError):
        print(f"pixverse-audio: {type(error).__name__}: {os_message(error)}", file=sys.stderr)
        raise SystemExit(1)
    if not isinstance(error, PixverseAudioError):
        raise error
    print(f"pixverse-audio: {type(error).__name__}: {cli_message(error, names)}", file=sys.stderr)
    raise SystemExit(exit_code(error))


def os_message(error: OSError) -> str:
    """An `OSError` on one line: what failed, and on which path when it says."""
    text = error.strerror or str(error) or "operating system error"
    paths = [str(p) for p in (error.filename, error.filename2) if p is not None]
    return f"{text}: {' -> '.join(repr(p) for p in paths)}" if paths else text


def missing_extra(extra: str, exc: ImportError) -> int:
    """Say in one line which extra a command needs and how to install it; return exit code 2."""
    print(
        f"pixverse-audio: this command needs the {extra} extra ({exc.name} is missing): "
        f'python -m pip install "pixverse-audio[{extra}]"',
        file=sys.stderr,
    )
    return 2


def check_output_dir(option: str, path: Path) -> None:
    """Check that ``path`` is a directory files can be written into, or can be created.

    Nothing is left behind: a directory that does not exist yet is tried by
    creating (and removing) its first missing part, an existing one by
    creating (and removing) a temporary file in it. Raises `ValidationError`
    naming ``option`` (as the help shows it) when it cannot be used.
    """
    import tempfile

    from ._errors import ValidationError

    shown = repr(str(path))
    missing: list[Path] = []
    found = path
    while True:
        try:
            is_dir = found.is_dir()
            exists = is_dir or found.exists()
        except OSError as exc:
            raise ValidationError(option, f"cannot use {shown}: {os_message(exc)}") from None
        if exists or found.parent == found:
            break
        missing.append(found)
        found = found.parent
    if not is_dir:
        where = "it is" if found == path else f"{str(found)!r} is"
        raise ValidationError(option, f"cannot use {shown}: {where} not a directory")
    try:
        if missing:
            first = missing[-1]
            first.mkdir()
            first.rmdir()
        else:
            handle, name = tempfile.mkstemp(prefix=".pixverse-audio-", dir=path)
            os.close(handle)
            os.unlink(name)
    except OSError as exc:
        what = "create" if missing else "write into"
        reason = exc.strerror or type(exc).__name__
        raise ValidationError(option, f"cannot {what} {shown}: {reason}") from None


@contextlib.contextmanager
def checked(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Checks made before the first request: a library error exits at once (one line).

    ``names`` spells the command's own arguments, e.g. ``{"email": "EMAIL"}``.
    """
    from ._errors import PixverseAudioError

    try:
        yield
    except PixverseAudioError as error:
        fail(error, names)


def run_async(work: Callable[[], Awaitable[None]], *, backend: str = "asyncio") -> None:
    """Run ``work`` on ``backend``; SIGINT/SIGTERM cancel it; library and OS errors exit
    with one line (`fail`)."""
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
            except (PixverseAudioError, OSError) as exc:
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
