"""Output and exit codes of the ``pixverse-audio`` command (the ``cli`` extra).

Every read command prints a rich table for people or, with ``--json``, one JSON
document for scripts. Errors print one line to stderr and exit with a code per
error class.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
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

__all__ = ["EXIT_CODES", "exit_code", "print_json", "print_table", "to_jsonable"]

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
