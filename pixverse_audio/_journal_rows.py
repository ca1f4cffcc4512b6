"""A journal's rows: each request's `Entry`, its key and content, and the SQLite table.

What `pixverse_audio._journal` writes and reads, and what ``batch status``
reads without the journal's lock (`read`). One row per request, keyed by the
request's ``key`` (given, or ``<position>-<hash of the content>``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

import attrs

from ._errors import JournalError

__all__ = [
    "DONE",
    "FAILED",
    "FINAL",
    "RUNNING",
    "SENDING",
    "COLUMNS",
    "INSERT",
    "SCHEMA",
    "VERSION",
    "Entry",
    "check_kind",
    "content_of",
    "entry_of",
    "key_of",
    "read",
    "row_of",
]

SENDING: Final = "sending"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
FINAL: Final = frozenset({DONE, FAILED})
VERSION: Final = "1"
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    content TEXT NOT NULL,
    state TEXT NOT NULL,
    account TEXT,
    sent_at REAL,
    job_id TEXT,
    job_ids TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    credits REAL,
    file TEXT,
    size INTEGER,
    updated REAL NOT NULL
);
"""
COLUMNS: Final = (
    "key, position, content, state, account, sent_at, job_id, job_ids, attempts, "
    "result, error, credits, file, size"
)


def content_of(request: Any) -> str:
    """A request's fields (without its ``key``) as JSON, in their declared order.

    Fields at their default are left out, so a field added in a later release
    leaves the content (and the keys derived from it) of existing requests alone.
    """
    fields = _FIELDS.get(type(request))
    if fields is None:
        fields = _FIELDS[type(request)] = tuple(
            (field.name, field.default)
            for field in attrs.fields(type(request))
            if field.name != "key"
        )
    given = {}
    for name, default in fields:
        value = getattr(request, name)
        if value != default or default is attrs.NOTHING:
            given[name] = value
    return json.dumps(given, default=list, ensure_ascii=False)


_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}


def key_of(request: Any, position: int, content: str) -> str:
    """The request's own ``key``, else ``<position>-<12 hex digits of its content>``."""
    given: str | None = getattr(request, "key", None)
    if given is not None:
        return given
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    return f"{position:06d}-{digest}"


@attrs.define
class Entry:
    """One request's row."""

    key: str
    position: int
    content: str
    state: str
    account: str | None = None
    sent_at: float | None = None
    job_id: str | None = None
    job_ids: list[str] = attrs.field(factory=list)
    attempts: int = 0
    result: dict[str, Any] | str | None = None  # read back as text, parsed when replayed
    error: dict[str, Any] | None = None
    credits: float | None = None
    file: str | None = None
    size: int | None = None

    @property
    def final(self) -> bool:
        """Whether the request has its result."""
        return self.state in FINAL


INSERT: Final = f"INSERT OR REPLACE INTO requests VALUES ({', '.join('?' * 15)})"  # noqa: S608


def row_of(entry: Entry) -> tuple[Any, ...]:
    return (
        entry.key,
        entry.position,
        entry.content,
        entry.state,
        entry.account,
        entry.sent_at,
        entry.job_id,
        json.dumps(entry.job_ids),
        entry.attempts,
        entry.result
        if entry.result is None or isinstance(entry.result, str)
        else json.dumps(entry.result),
        None if entry.error is None else json.dumps(entry.error),
        entry.credits,
        entry.file,
        entry.size,
        time.time(),
    )


def check_kind(path: Path, found: str, kind: str) -> None:
    if found != kind:
        raise JournalError(f"{path} is the journal of a {found} batch, not {kind}")


def read(path: str | os.PathLike[str]) -> tuple[str, list[Entry]]:
    """The kind and entries of a journal, read without taking its lock (for a status).

    Raises:
        JournalError: The file is missing or is not a journal.
    """
    if not Path(path).is_file():
        raise JournalError(f"no journal at {path}")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            kind = dict(db.execute("SELECT name, value FROM meta").fetchall()).get("kind", "")
            rows = db.execute(f"SELECT {COLUMNS} FROM requests ORDER BY position").fetchall()  # noqa: S608
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a journal: {exc}") from exc
    return kind, [entry_of(row) for row in rows]


def entry_of(row: tuple[Any, ...]) -> Entry:
    return Entry(
        key=row[0],
        position=row[1],
        content=row[2],
        state=row[3],
        account=row[4],
        sent_at=row[5],
        job_id=row[6],
        job_ids=json.loads(row[7] or "[]"),
        attempts=row[8],
        result=row[9],
        error=None if row[10] is None else json.loads(row[10]),
        credits=row[11],
        file=row[12],
        size=row[13],
    )
