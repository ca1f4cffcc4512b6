"""What a batch keeps beyond its process: its journal, and what it may spend.

`Durable` is asked by `pixverse_audio._batch.Batch` at each step of each
request: what to do first (replay a result, follow a job, settle a create a
crashed run lost, or create), whether the budget allows a create, and what to
write down. Without a journal and a budget it writes nothing and allows all.

Resuming a journal (see `pixverse_audio._journal`):

- a final entry is replayed from the journal, with no request to the API;
- a running one is followed (its job is waited for), never created again;
- a ``sending`` one (the process died during its create) is settled as a lost
  create is (`pixverse_audio._reconcile`): only a job created after the mark,
  by the server's clock, and never one the journal gives to another request;
  what cannot be found is reported as `OutcomeUnknownError`, not resent,
  unless ``resubmit_after`` seconds have passed since the mark.
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import attrs

from ._errors import (
    BudgetError,
    GenerationFailedError,
    JournalError,
    OutcomeUnknownError,
    PixverseAudioError,
    ValidationError,
)
from ._journal import Journal
from ._journal_codec import error_fields, error_from, result_fields, result_from
from ._journal_rows import DONE, FAILED, RUNNING, SENDING, Entry, content_of, key_of
from ._kinds import Kind
from ._models import SpeechClip, Track
from ._reconcile import Lost
from ._requests import MusicRequest, SpeechRequest
from ._scheduler import Scheduler

__all__ = ["STOPPED", "Durable", "Start"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type

STOPPED = "stopped"  # no job now (a refused create, the budget): a later run creates it


@attrs.frozen
class Start(Generic[O]):
    """How a request begins: its key, a final entry to replay, a refusal, or a job to
    follow first."""

    key: str | None
    attempts: int = 0
    job_ids: tuple[str, ...] = ()
    follow: str | None = None
    replay: Entry | None = None
    error: PixverseAudioError | None = None

    @property
    def done(self) -> bool:
        """Whether the request needs nothing more (replayed, or refused)."""
        return self.replay is not None or self.error is not None


class Durable(Generic[R, O]):
    """A batch's journal (optional) and credit budget (optional)."""

    def __init__(
        self,
        scheduler: Scheduler,
        kind: Kind[R, O],
        journal: Journal | None,
        *,
        max_credits: float | None,
        resubmit_after: float | None,
    ) -> None:
        self._scheduler = scheduler
        self._kind = kind
        self._journal = journal
        self._budget = max_credits
        self._resubmit_after = resubmit_after
        self._entries: dict[str, Entry] = {}
        self._settled: dict[str, str | OutcomeUnknownError] = {}
        self._journaled: set[str] = set()  # every job id the journal gives to a request
        self._seen: set[str] = set()
        self._reserved: dict[str, float] = {}
        self._contents: dict[str, str] = {}  # of new requests, from begin() to their mark
        self.spent = 0.0
        self.stopped_by_budget = False
        self._dearest: float | None = None

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Open the journal; settle the creates a crashed run lost (before any new one)."""
        if self._journal is None:
            return
        self._entries = await self._journal.open(self._kind.name)
        for entry in self._entries.values():
            self._journaled.update(entry.job_ids)
            if entry.credits is not None:  # FAILED attempts of unfinished requests too
                self.spent += entry.credits
        lost = [e for e in self._entries.values() if e.state == SENDING and e.account]
        if lost:
            outcomes = await self._scheduler.reconciler.settle_all(
                [self._lost(entry) for entry in lost]
            )
            self._settled = {
                entry.key: outcome for entry, outcome in zip(lost, outcomes, strict=True)
            }

    async def close(self) -> None:
        """Close the journal (and give up its lock)."""
        if self._journal is not None:
            await self._journal.close()

    def _lost(self, entry: Entry) -> Lost:
        request = self._kind.request_type(**_fields(entry.content))
        error = OutcomeUnknownError(
            f"the run that sent the create of {entry.key} stopped before its answer",
            endpoint=f"{self._kind.name}/create",
            payload={"text": self._kind.text_of(request)},
        )
        assert entry.account is not None  # noqa: S101 - only entries with one are lost
        sent = entry.sent_at or 0.0
        return Lost(
            self._kind,
            request,
            entry.account,
            sent,
            error,
            journaled=True,
            excluded=self._journaled,
        )

    # ------------------------------------------------------------ each step

    def begin(self, index: int, request: R) -> Start[O]:
        """How ``request`` (the ``index``-th) starts: replayed, followed, or created."""
        if self._journal is None:
            return Start(key=getattr(request, "key", None))
        content = content_of(request)
        key = key_of(request, index, content)
        if key in self._seen:
            return Start(key=key, error=JournalError(f"the key {key!r} is used twice"))
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is None or entry.state == STOPPED:
            if entry is None:
                self._contents[key] = content
            prior = entry.attempts if entry else 0
            return Start(key=key, attempts=prior, job_ids=tuple(entry.job_ids) if entry else ())
        if entry.content != content:
            wrong = JournalError(f"the key {key!r} names another request in {self._journal.path}")
            return Start(key=key, error=wrong)
        if entry.final:
            return Start(
                key=key, attempts=entry.attempts, job_ids=tuple(entry.job_ids), replay=entry
            )
        start: Start[O] = Start(key=key, attempts=entry.attempts, job_ids=tuple(entry.job_ids))
        if entry.state == RUNNING and entry.job_id is not None:
            self._reserve(key, request)
            return attrs.evolve(start, follow=entry.job_id)
        settled = self._settled.pop(key, None)
        if isinstance(settled, str):
            entry.job_id, entry.job_ids = settled, [*entry.job_ids, settled]
            entry.state = RUNNING
            self._reserve(key, request)
            return attrs.evolve(start, follow=settled, job_ids=tuple(entry.job_ids))
        waited = time.time() - (entry.sent_at or 0.0)
        if self._resubmit_after is not None and waited >= self._resubmit_after:
            return attrs.evolve(start, attempts=max(0, entry.attempts - 1))
        error = settled or OutcomeUnknownError(
            f"the create of {key} was sent by a run that stopped; its job was not found",
            endpoint=f"{self._kind.name}/create",
            payload={},
        )
        return attrs.evolve(start, error=error)

    def replayed(self, start: Start[O]) -> tuple[O | None, PixverseAudioError | None]:
        """The track or the error of a start that needs no API request."""
        entry, result_type = start.replay, self._kind.result_type
        if entry is None:
            return None, start.error
        if entry.state == DONE and entry.result is not None:
            return result_from(entry.result, result_type), None  # type: ignore[type-var]
        return None, error_from(entry.error or {}, result_type)  # type: ignore[type-var]

    async def adopted(self, key: str | None) -> None:
        """A job a crashed run lost was found: write it down as running."""
        entry = self._entries.get(key or "")
        if self._journal is not None and entry is not None:
            self._journal.save_soon(entry)

    def allow(self, key: str | None, request: R) -> BudgetError | None:
        """Reserve the next job's estimated cost, or say why the budget forbids it."""
        if self._budget is None:
            return None
        estimate = self._estimate(request)
        committed = self.spent + sum(self._reserved.values())
        if self.stopped_by_budget or committed + estimate > self._budget:
            self.stopped_by_budget = True
            return BudgetError(self._budget, committed, estimate)
        self._reserved[key or str(id(request))] = estimate
        return None

    def _reserve(self, key: str, request: R) -> None:
        if self._budget is not None:
            self._reserved[key] = self._estimate(request)

    def _estimate(self, request: R) -> float:
        return self._scheduler.gateway.estimate(self._kind, request, self._dearest)

    async def sending(
        self, key: str | None, index: int, request: R, attempt: int, job_ids: list[str], email: str
    ) -> None:
        """The write-ahead mark: this request's ``attempt``-th create goes to ``email`` now."""
        if self._journal is None or key is None:
            return
        entry = self._entries.get(key)
        if entry is None:
            content = self._contents.pop(key, None) or content_of(request)
            entry = self._entries[key] = Entry(
                key=key, position=index, content=content, state=SENDING
            )
        entry.state, entry.account, entry.sent_at = SENDING, email, time.time()
        entry.job_id, entry.job_ids, entry.attempts = None, list(job_ids), attempt
        await self._journal.save(entry)

    def created(self, key: str | None, job_id: str) -> None:
        """The create answered with ``job_id`` (written even if the batch is being cancelled)."""
        entry = self._entries.get(key or "")
        if self._journal is None or entry is None:
            return
        entry.state, entry.job_id, entry.job_ids = RUNNING, job_id, [*entry.job_ids, job_id]
        self._journaled.add(job_id)
        self._journal.save_soon(entry)

    async def no_job(self, key: str | None, request: R, error: PixverseAudioError) -> None:
        """The create made no job (refused, or lost and not found)."""
        self._reserved.pop(key or str(id(request)), None)
        entry = self._entries.get(key or "")
        if self._journal is None or entry is None or isinstance(error, OutcomeUnknownError):
            return  # a lost create stays "sending": the next run looks for its job again
        entry.state = FAILED if isinstance(error, ValidationError) else STOPPED
        entry.error, entry.job_id = error_fields(error), None
        entry.attempts = max(0, entry.attempts - 1)
        self._journal.save_soon(entry)

    async def stopped(self, key: str | None, index: int, request: R, error: BudgetError) -> None:
        """The budget refused this request's job: write that down (a later run continues)."""
        content = self._contents.pop(key or "", None)
        if self._journal is None or key is None or key in self._entries:
            return
        entry = Entry(
            key=key,
            position=index,
            content=content or content_of(request),
            state=STOPPED,
            error=error_fields(error),
        )
        self._entries[key] = entry
        self._journal.save_soon(entry)

    async def failed_attempt(
        self, key: str | None, request: R, error: GenerationFailedError
    ) -> None:
        """A job ended FAILED (another attempt may follow): count what it cost."""
        self._paid(key, request, error.track.credits)
        entry = self._entries.get(key or "")
        if self._journal is None or entry is None:
            return
        entry.credits = (entry.credits or 0.0) + (error.track.credits or 0.0)
        entry.state, entry.job_id, entry.error = STOPPED, None, error_fields(error)
        self._journal.save_soon(entry)

    async def finished(
        self,
        key: str | None,
        request: R,
        track: O | None = None,
        error: PixverseAudioError | None = None,
    ) -> None:
        """The request's result: write it down as final."""
        if track is not None:
            self._paid(key, request, track.credits)
            if track.credits is not None:
                self._dearest = max(self._dearest or 0.0, track.credits)
        else:
            self._reserved.pop(key or str(id(request)), None)
        entry = self._entries.get(key or "")
        if self._journal is None or entry is None:
            return
        if track is not None:
            entry.state, entry.result, entry.error = DONE, result_fields(track), None
            entry.credits = (entry.credits or 0.0) + (track.credits or 0.0)
        else:
            assert error is not None  # noqa: S101 - one of the two
            entry.state, entry.error = FAILED, error_fields(error)
        self._journal.save_soon(entry)

    def _paid(self, key: str | None, request: R, credits: float | None) -> None:
        estimate = self._reserved.pop(key or str(id(request)), 0.0)
        self.spent += credits if credits is not None else estimate

    async def downloaded(self, key: str, file: str, size: int) -> None:
        """A finished request's audio was saved as ``file``."""
        entry = self._entries.get(key)
        if self._journal is None or entry is None:
            return
        entry.file, entry.size = file, size
        self._journal.save_soon(entry)

    def entry(self, key: str) -> Entry | None:
        """The journal's entry for ``key``."""
        return self._entries.get(key)


def _fields(content: str) -> dict[str, Any]:
    import json

    fields: dict[str, Any] = json.loads(content)
    if isinstance(fields.get("image_paths"), list):
        fields["image_paths"] = tuple(fields["image_paths"])
    return fields
