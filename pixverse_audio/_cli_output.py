"""Output and exit codes of the ``pixverse-audio`` command (the ``cli`` extra).

Every read command prints a rich table for people or, with ``--json``, one JSON
document for scripts. Errors print one line to stderr and exit with a code per
error class.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs
from rich.console import Console
from rich.table import Table

from ._errors import (
    APIConnectionError,
    AuthenticationError,
    BusyError,
    ConfigurationError,
    DownloadError,
    GenerationFailedError,
    NotFoundError,
    OutcomeUnknownError,
    PaymentRequiredError,
    PixverseAudioError,
    ValidationError,
)

__all__ = ["EXIT_CODES", "EXIT_MEANINGS", "cli_message", "exit_code", "print_json", "print_table"]
__all__ += ["to_jsonable"]

EXIT_CODES: Final = (
    (ValidationError, 2),
    (ConfigurationError, 2),
    (AuthenticationError, 3),
    (PaymentRequiredError, 4),
    (BusyError, 5),
    (NotFoundError, 6),
    (GenerationFailedError, 7),
    (APIConnectionError, 8),
    (OutcomeUnknownError, 8),
    (DownloadError, 8),
)
"""Exit code per error class, first match wins; any other error exits 1."""

EXIT_MEANINGS: Final = (
    (0, "success"),
    (1, "any other error"),
    (2, "usage error or invalid argument (nothing was sent)"),
    (3, "authentication (401)"),
    (4, "credits or subscription (402)"),
    (5, "busy (429 after the retries)"),
    (6, "not found (404)"),
    (7, "generation failed (a FAILED job; `generate` when any request failed)"),
    (8, "network, unknown outcome of a create, or download failure"),
    (130, "interrupted: Ctrl-C released the running jobs and removed partial files"),
)
"""Every exit code of the command and what it means (the help, README and docs list these)."""

# The library names arguments as Python does; the command line names them as its help
# does: options (--timeout) and positional arguments (PROMPT, TEXT, AUDIO_ID).
_OPTIONS: Final = {
    "prompt": "PROMPT",
    "text": "TEXT",
    "timeout": "--timeout",
    "limit": "--limit",
    "email": "--email",
    "model": "--model",
    "max_attempts": "--max-attempts",
    "language_code": "--language",
    "language": "--language",
    "voice_id": "--voice",
    "max_jobs": "--max-jobs",
    "password": "--password",
    "token": "--pixverse-token",
    "content_type": "--content-type",
    "account": "--account",
    "lyrics": "--lyrics-file",
    "dest": "DIRECTORY",
    "audio_id": "AUDIO_ID",
    "job_id": "JOB_ID",
    "file": "PATH",
    "tracks": "--tracks",
}
_SPELLINGS: Final = (
    ("pass overwrite=True", "pass --overwrite"),
    ("pass token=", "pass --token"),
    ("base_url", "--base-url (or $USEAPI_BASE_URL)"),
    ("max_response_bytes", "the response limit"),
    ("(math.inf: forever)", "(inf: forever)"),
)


def cli_message(error: PixverseAudioError, names: Mapping[str, str] | None = None) -> str:
    """``error``'s message in the command line's words: options, not keyword arguments.

    ``names`` maps a command's own spellings over the common ones (``accounts``
    commands take the email as the argument ``EMAIL``, not ``--email``).
    """
    if isinstance(error, ValidationError):
        name = (names or {}).get(error.field) or _OPTIONS.get(error.field, error.field)
        text = f"{name}: {error.reason}"
    else:
        text = str(error)
    for python, option in _SPELLINGS:
        text = text.replace(python, option)
    return text


def exit_code(error: PixverseAudioError) -> int:
    """The documented exit code for ``error``."""
    return next((code for cls, code in EXIT_CODES if isinstance(error, cls)), 1)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def to_jsonable(value: Any) -> Any:
    """Models (attrs classes), lists and mappings as JSON-ready data."""
    if attrs.has(type(value)):
        data = attrs.asdict(value, recurse=True, value_serializer=lambda _, __, v: _plain(v))
        data.pop("jwt", None)
        return data
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return _plain(value)


def print_json(console: Console, value: Any) -> None:
    """Print ``value`` as one JSON document (no colour, no wrapping)."""
    console.print_json(json.dumps(to_jsonable(value), default=str), highlight=False)


def print_table(
    console: Console, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Print a table for people (no header row when every column name is empty)."""
    table = Table(title=title, title_justify="left", show_header=any(columns))
    for column in columns:
        table.add_column(column, overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*("" if cell is None else str(_plain(cell)) for cell in row))
        count += 1
    if count:
        console.print(table)
    else:
        console.print(f"{title}: none")
