"""The files of a durable batch's directory (``batch run FILE --out DIR``); no click here.

DIR holds all of a batch:

- ``journal.sqlite``: the library's journal (`pixverse_audio._journal`), each
  request's life; running ``batch run`` again resumes from it, paying nothing twice;
- ``batch.json``: the request file's count, keys, kind and path (what ``status`` compares);
- ``manifest.jsonl``: one line per request with a result (key, prompt, job_id, status,
  file, credits, error), rewritten from the journal at the start of each run (so it
  holds each request once) and appended to as results arrive;
- ``<key>.mp3``: each finished request's audio, named by its key (made safe).

``batch.json`` and the rewritten manifest replace the old file at once (a
temporary file and `os.replace`), so a crash never leaves half of one. The
temporary files a killed run left (a half-written MP3's ``.part``, a manifest's
``.tmp``) are removed when the next run starts, under the journal's lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from ._download import safe_filename
from ._durable import STOPPED
from ._errors import (
    BudgetError,
    GenerationFailedError,
    JournalError,
    OutcomeUnknownError,
    PixverseAudioError,
    ValidationError,
    WaitTimeoutError,
)
from ._journal_codec import error_from, result_from
from ._journal_rows import DONE, FAILED, RUNNING, SENDING, Entry, read
from ._kinds import Kind
from ._models import Track

__all__ = [
    "STATES",
    "STATUSES",
    "BatchDir",
    "entries_of",
    "file_name",
    "journal_of",
    "result_line",
    "saved",
    "status_report",
    "text_field",
]

STATES: Final = (DONE, FAILED, RUNNING, SENDING, STOPPED)
"""A journal entry's states, in the order ``status`` shows them."""
STATUSES: Final = (DONE, "failed", "budget", "unknown", "error")
"""A manifest line's ``status``: ``unknown`` is a job that may still finish (a later run
follows it), ``budget`` a request ``--max-credits`` kept from being created."""


_LEFTOVER: Final = re.compile(
    r"\.(?:(?P<audio>.+)\.[0-9a-f]{8}\.part|(?:manifest\.jsonl|batch\.json)\.[0-9a-z_]{8}\.tmp)"
)
"""The temporary files a run makes in DIR: a download's, and an atomic rewrite's."""


def file_name(key: str) -> str:
    """``<key>.mp3``, the key made safe as `safe_filename` makes a track's name."""
    return safe_filename(Track(audio_id=key, name=key))


def text_field(kind: Kind[Any, Any]) -> str:
    """What a line of a text file is: the request's first field (prompt, or text)."""
    return next(iter(attrs.fields_dict(kind.request_type)))


def journal_of(path: Path, option: str) -> tuple[str, list[Entry]]:
    """The kind and entries of the journal at ``path``; `ValidationError` naming
    ``option`` when there is none, or it is not a journal."""
    if not path.is_file():
        raise ValidationError(option, f"no batch journal at {str(path)!r} (see `batch run`)")
    try:
        return read(path)
    except JournalError as exc:
        raise ValidationError(option, str(exc)) from None


def entries_of(path: Path) -> dict[str, Entry]:
    """The journal's entries by key; none when there is no journal yet."""
    return {entry.key: entry for entry in read(path)[1]} if path.is_file() else {}


@attrs.frozen
class BatchDir:
    """The directory of one batch (an absolute path: the journal records file paths)."""

    path: Path

    @property
    def journal(self) -> Path:
        return self.path / "journal.sqlite"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.jsonl"

    @property
    def described(self) -> Path:
        return self.path / "batch.json"

    def target(self, key: str) -> Path:
        """Where the audio of the request ``key`` is saved."""
        return self.path / file_name(key)

    def begin(
        self, kind: Kind[Any, Any], source: Path, keys: Sequence[str], before: Mapping[str, Entry]
    ) -> dict[str, Entry]:
        """Rewrite the manifest from the journal's entries ``before`` this run and write
        batch.json; return the settled entries.

        Settled: final entries whose line this run will not change: failed ones,
        done ones whose file is saved, and those of requests no longer in the file.
        """
        self._remove_leftovers(keys)
        wanted = set(keys)
        settled = {
            key: entry
            for key, entry in before.items()
            if entry.final and (key not in wanted or entry.state == FAILED or self.has_file(entry))
        }
        lines = [entry_line(kind, e) for e in sorted(settled.values(), key=lambda e: e.position)]
        _write_atomic(self.manifest, "".join(_jsonl(line) for line in lines))
        described = {"total": len(keys), "kind": kind.name, "source": str(source), "keys": keys}
        _write_atomic(self.described, json.dumps(described, ensure_ascii=False, indent=1))
        return settled

    def _remove_leftovers(self, keys: Sequence[str]) -> None:
        """Remove the temporary files of a run that was killed (this run holds the lock)."""
        names = {file_name(key) for key in keys}
        with os.scandir(self.path) as found:
            for item in found:
                match = _LEFTOVER.fullmatch(item.name)
                if match and (match["audio"] is None or match["audio"] in names):
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)

    def has_file(self, entry: Entry) -> bool:
        """Whether the journal says ``entry``'s audio is saved where it belongs, and it is."""
        return saved(entry.file, self.target(entry.key), entry.size)

    def append(self, line: Mapping[str, Any]) -> None:
        """Add a result's line to the manifest."""
        with self.manifest.open("a", encoding="utf-8") as file:
            file.write(_jsonl(line))


def saved(file: str | None, target: Path, size: int | None) -> bool:
    """Whether the journal's ``file`` is ``target`` and it is there with the recorded size."""
    if file is None or size is None or Path(file) != target:
        return False
    with contextlib.suppress(OSError):
        return target.stat().st_size == size
    return False


def status_report(directory: Path) -> dict[str, Any]:
    """What ``batch status`` shows: entries by state, credits spent, requests left."""
    here = BatchDir(directory)
    kind, entries = journal_of(here.journal, "DIR")
    counts = Counter(entry.state for entry in entries)
    final = {entry.key for entry in entries if entry.final}
    try:
        keys = json.loads(here.described.read_text(encoding="utf-8"))["keys"]
    except (OSError, ValueError, KeyError, TypeError):
        keys = None  # no run got past its start yet
    order = {state: index for index, state in enumerate(STATES)}
    return {
        "kind": kind,
        "total": None if keys is None else len(keys),
        "left": None if keys is None else sum(1 for key in keys if key not in final),
        "spent": sum(entry.credits or 0.0 for entry in entries),
        "states": {
            state: counts[state]
            for state in sorted({*STATES, *counts}, key=lambda s: (order.get(s, 99), s))
        },
    }


def entry_line(kind: Kind[Any, Any], entry: Entry) -> dict[str, Any]:
    """A final entry's manifest line."""
    result_type: Any = kind.result_type
    track = None if entry.result is None else result_from(entry.result, result_type)
    error = None if entry.error is None else error_from(entry.error, result_type)
    prompt = json.loads(entry.content).get(text_field(kind))
    job_ids = entry.job_ids or ([entry.job_id] if entry.job_id else [])
    file = None if entry.file is None else Path(entry.file).name
    return result_line(entry.key, prompt, job_ids, track, error, file)


def result_line(
    key: str,
    prompt: str | None,
    job_ids: Sequence[str],
    track: Any,
    error: PixverseAudioError | None,
    file: str | None,
) -> dict[str, Any]:
    """A request's manifest line (``file``: its name in the directory)."""
    if track is not None:
        status, credits = DONE, track.credits
    elif isinstance(error, GenerationFailedError):
        status, credits = "failed", error.track.credits
    elif isinstance(error, BudgetError):
        status, credits = "budget", None
    elif isinstance(error, (OutcomeUnknownError, WaitTimeoutError)):
        status, credits = "unknown", None
    else:
        status, credits = "error", None
    return {
        "key": key,
        "prompt": prompt,
        "job_id": job_ids[-1] if job_ids else None,
        "status": status,
        "file": file,
        "credits": credits,
        "error": None if error is None else f"{type(error).__name__}: {error}",
    }


def _jsonl(line: Mapping[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: a crash leaves the old file or the new one.

    The file gets the mode the user's umask gives new files, as the MP3s do.
    """
    name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        file = os.fdopen(handle, "w", encoding="utf-8")
    except BaseException:
        os.close(handle)
        os.unlink(name)
        raise
    try:
        with file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
