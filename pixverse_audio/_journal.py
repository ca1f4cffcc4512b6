"""A batch's journal: each request's life in a SQLite file, so a batch survives a crash.

One row per request, keyed by the request's ``key`` (given, or derived from
its content and position: ``<position>-<hash of the content>``). Its state:

- ``sending``: a write-ahead mark, made (and committed) before each create is
  sent, with the account and the time. A row still ``sending`` after a crash
  is a create whose answer this process never saw.
- ``running``: the create answered; ``job_id`` is the job to follow.
- ``done`` / ``failed``: final, with the result (the track's or clip's fields,
  or the error), the credits the API reported, and, once downloaded, the file.

Every job id ever created for a request is kept (``job_ids``), so a resumed
batch never takes one of them for another request's. Writes run in a worker
thread, one at a time, in WAL mode: a killed process loses nothing committed.
A write-ahead mark is committed with ``synchronous=FULL`` (on disk, through an
operating-system crash or a power cut, before its create is sent); the other
rows with ``NORMAL``, so a power cut may lose the last of them, and the next
run finds again what they said (a job by reconciliation, a result by following
its job) without paying twice. One process at a time: the journal is locked
with an advisory file lock beside it for as long as a batch runs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any, Final

import anyio

from ._errors import JournalError
from ._journal_rows import COLUMNS, INSERT, SCHEMA, VERSION, Entry, check_kind, entry_of, row_of

__all__ = ["Journal"]

GATHER: Final = 0.05  # seconds the writer waits for more writes before a commit
MARK_GATHER: Final = 0.001  # seconds a mark waits for others to share its commit (an fsync)


class Journal:
    """The journal file of one batch (see the module documentation).

    Writes that must be on disk before the batch goes on (a write-ahead mark)
    are awaited (`save`); the others are queued to the journal's writer thread
    (`save_soon`), which commits whatever has queued up in one transaction.
    Both keep their order: an awaited write first writes everything queued
    before it, and a queued row leaves the queue only inside the write that
    commits it (so an older row can never land after a newer one).

    Args:
        path: The SQLite file (made if missing); ``<path>.lock`` is its lock.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock: IO[str] | None = None
        self._writing = threading.Lock()
        self._queue: deque[tuple[Any, ...]] = deque()  # rows for the writer thread
        self._queued = threading.Event()  # set when a row is queued, or to stop the writer
        self._stopping = False
        self._writer: threading.Thread | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._next: _Flush | None = None  # made in open(), inside the event loop
        self._flushing = False
        self._synchronous = "NORMAL"

    async def open(self, kind: str) -> dict[str, Entry]:
        """Lock and open the journal of a ``kind`` batch; every request's entry by key.

        Raises:
            JournalError: Another process runs it, it is not a journal, or it
                belongs to a batch of the other kind.
        """
        entries = await anyio.to_thread.run_sync(self._open, kind)
        self._next = _Flush()
        self._stopping = False
        self._queue.clear()
        self._queued.clear()
        self._writer = threading.Thread(target=self._write_queued, name="journal", daemon=True)
        self._writer.start()
        return entries

    def _open(self, kind: str) -> dict[str, Entry]:
        self._lock = _locked(self.path)
        try:
            self._db = db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._synchronous = "NORMAL"
            db.executescript(SCHEMA)
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
            if not meta:
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("kind", kind), ("version", VERSION)]
                )
            check_kind(self.path, meta.get("kind", kind), kind)
            rows = db.execute(f"SELECT {COLUMNS} FROM requests").fetchall()  # noqa: S608
        except sqlite3.DatabaseError as exc:
            self._close()
            raise JournalError(f"{self.path} is not a journal: {exc}") from exc
        except BaseException:
            self._close()
            raise
        return {row[0]: entry_of(row) for row in rows}

    async def save(self, entry: Entry) -> None:
        """Write ``entry`` (and everything queued before it); committed when this returns.

        Saves that arrive together share one commit: the first caller writes,
        in a worker thread, every row that comes in while it writes.
        """
        self._pending.append(row_of(entry))
        batch = self._next
        if batch is None:
            raise JournalError(f"{self.path} is not open")
        if self._flushing:
            await batch.done.wait()
        else:
            self._flushing = True
            try:
                with anyio.CancelScope(shield=True):  # the others wait for these rows
                    await anyio.sleep(MARK_GATHER)  # marks of the moment share one commit
                    while self._pending:
                        rows, self._pending = self._pending, []
                        done = self._next or _Flush()
                        self._next = _Flush()
                        try:
                            await anyio.to_thread.run_sync(self._write, rows)
                        except Exception as exc:  # sqlite3's, or a full disk's
                            done.error = exc
                            self._fail_pending(exc)  # saves that came meanwhile fail too
                            raise JournalError(f"{self.path} could not be written: {exc}") from exc
                        finally:
                            done.done.set()
            finally:
                self._flushing = False
        if batch.error is not None:
            raise JournalError(f"{self.path} could not be written: {batch.error}")

    def _fail_pending(self, error: Exception) -> None:
        """End the saves waiting for the next commit with ``error`` (their rows unwritten)."""
        waiting, self._next = self._next, _Flush()
        self._pending = []
        if waiting is not None:
            waiting.error = error
            waiting.done.set()

    def save_soon(self, entry: Entry) -> None:
        """Queue ``entry`` for the writer thread (committed within moments, in order).

        A write that fails leaves its rows queued: the next write (a mark's,
        or the one `close` makes) tries them again and raises if it fails too.

        Raises:
            JournalError: The journal is closed.
        """
        if self._db is None:
            raise JournalError(f"{self.path} is closed")
        self._queue.append(row_of(entry))
        self._queued.set()

    def _write_queued(self) -> None:
        while True:
            self._queued.wait()
            if not self._stopping:
                time.sleep(GATHER)  # let the writes of the moment queue up: one commit for all
            self._queued.clear()  # before the write drains the queue: a later row sets it
            with contextlib.suppress(Exception):  # its rows stay queued: the next write retries
                self._write(None)
            if self._stopping:
                return

    def _write(self, last: list[tuple[Any, ...]] | None) -> None:
        """Write whatever is queued, then ``last``, in one transaction.

        If the write fails, the queued rows go back to the front of the queue
        (a later write tries them again) and the error is raised.
        """
        with self._writing:
            queued = []
            while self._queue:
                queued.append(self._queue.popleft())
            rows = queued if last is None else [*queued, *last]
            if not rows:
                return
            try:
                self._commit(rows, "NORMAL" if last is None else "FULL")
            except BaseException:
                self._queue.extendleft(reversed(queued))
                raise

    def _commit(self, rows: list[tuple[Any, ...]], synchronous: str) -> None:
        """One transaction; ``FULL`` for a write-ahead mark: on disk before its create."""
        db = self._db
        if db is None:
            raise JournalError(f"{self.path} is closed")
        if synchronous != self._synchronous:
            db.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        db.execute("BEGIN")
        try:
            db.executemany(INSERT, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        """Write what is queued, close the file and give up the lock (whatever happens).

        Raises:
            JournalError: What was queued could not be written.
        """
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(self._close)
            except (sqlite3.Error, OSError) as exc:
                raise JournalError(f"{self.path} could not be written: {exc}") from exc

    def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            self._stopping = True
            self._queued.set()
            writer.join()
        try:
            if self._db is not None:
                self._write(None)  # what the writer did not get to, or could not write
        finally:
            self._queue.clear()
            with self._writing:
                db, self._db = self._db, None
                if db is not None:
                    db.close()
            lock, self._lock = self._lock, None
            if lock is not None:
                lock.close()  # closing the file releases its lock


class _Flush:
    """One commit of awaited saves: set once written (with the error, if it failed)."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: BaseException | None = None


def _locked(path: Path) -> IO[str]:
    """Open and lock ``<path>.lock`` without waiting; `JournalError` if it is held."""
    lock = path.with_name(path.name + ".lock").open("a+", encoding="utf-8")
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        lock.close()
        raise JournalError(f"another process is running the batch of {path}") from exc
    return lock
