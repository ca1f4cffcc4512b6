"""Finding the job of a create whose answer was lost, without ever guessing.

The API has no idempotency key, so a lost create is never resent: its job, if
the server made one, is looked for among the account's newest jobs. The rules:

- Only a job created after that create was sent may be adopted, by the
  server's own clock (`pixverse_audio._server_clock`). Its timestamps have
  whole seconds: a job stamped within the second of the send is adopted only
  while it is still running (a job made before the send, by another run, has
  had time to finish; one just made by this create has not). A batch's journal
  knows every job its earlier runs made, so a create it lost may adopt such a
  job even when finished.
- A job this client already owns (created or adopted) is never adopted again.
- Creates of the same request on the same account are settled together, once
  none of them is still waiting for its answer: the jobs found are shared out
  one each, oldest first. They are interchangeable (the same request), so
  this is not a guess. If more jobs match than creates were lost, the jobs
  cannot be told apart from someone else's: every one of those creates ends
  with `OutcomeUnknownError` listing the candidates, and none is adopted.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Container, Iterator
from contextlib import contextmanager
from typing import Any, Final

import anyio
import attrs

from ._errors import OutcomeUnknownError, PixverseAudioError
from ._kinds import Kind, kind_of_item
from ._models import SpeechClip, Track
from ._ports import Gateway

__all__ = ["Lost", "Owned", "Reconciler"]

TRIES: Final = 3  # list reads before what was found is final
PAUSE: Final = 1.0  # seconds between them (a new job can take a moment to be listed)
FALLBACK_SKEW: Final = 10.0  # with no evidence of the server's clock: seconds of slack
OWNED_FOR: Final = 3600.0  # seconds a job stays known as ours (older ones cannot match)


class Owned:
    """The jobs this client created or adopted, for an hour (bounded memory)."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids

    def add(self, job_id: str) -> None:
        """Remember ``job_id`` as ours."""
        now = time.monotonic()
        self._ids[job_id] = now
        self._ids.move_to_end(job_id)
        while self._ids and next(iter(self._ids.values())) < now - OWNED_FOR:
            self._ids.popitem(last=False)


@attrs.define(eq=False)
class Lost:
    """A create whose answer was lost, waiting to be settled."""

    kind: Kind[Any, Any]
    request: Any
    email: str
    sent_wall: float
    error: OutcomeUnknownError
    journaled: bool = False  # every job an earlier run made is known (a batch's journal)
    excluded: Container[str] = frozenset()  # jobs a journal gives to other requests
    key: tuple[str, str, str] = attrs.field(init=False)
    job_id: str | None = None
    outcome: OutcomeUnknownError | None = None

    def __attrs_post_init__(self) -> None:
        self.key = _key(self.kind, self.email, self.request)

    @property
    def settled(self) -> bool:
        """Whether its job was found, or its outcome decided unknown."""
        return self.job_id is not None or self.outcome is not None


def _key(kind: Kind[Any, Any], email: str, request: Any) -> tuple[str, str, str]:
    """Creates of the same request on the same account share this key."""
    fields = attrs.asdict(request, recurse=False)
    fields.pop("email", None)
    fields.pop("key", None)  # requests that differ only by name make the same jobs
    return (email, kind.name, json.dumps(fields, sort_keys=True, default=str))


def _text(item: Track | SpeechClip) -> str | None:
    return item.prompt if isinstance(item, Track) else item.text


class Reconciler:
    """Settles lost creates by the rules in the module documentation."""

    def __init__(self, gateway: Gateway, owned: Owned) -> None:
        self._gateway = gateway
        self._owned = owned
        self._in_flight: Counter[tuple[str, str, str]] = Counter()
        self._resolving: set[tuple[str, str, str]] = set()
        self._groups: dict[tuple[str, str, str], list[Lost]] = {}
        self._quiet = anyio.Event()

    @contextmanager
    def sending(self, kind: Kind[Any, Any], request: Any, email: str) -> Iterator[None]:
        """Mark a create as under way until its answer (or its loss) is known."""
        key = _key(kind, email, request)
        self._in_flight[key] += 1
        try:
            yield
        finally:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]
                self._notify()

    def _notify(self) -> None:
        self._quiet.set()
        self._quiet = anyio.Event()

    async def settle(self, lost: Lost) -> str:
        """The job of ``lost``, or raise its `OutcomeUnknownError` (with the candidates)."""
        self._groups.setdefault(lost.key, []).append(lost)
        return await self._resolve(lost)

    async def settle_all(self, losts: list[Lost]) -> list[str | OutcomeUnknownError]:
        """Settle creates lost together (a crashed run's): each one's job, or its error.

        All of them join their groups before any is matched, so creates of the
        same request share out the jobs found instead of seeing each other's.
        """
        for lost in losts:
            self._groups.setdefault(lost.key, []).append(lost)
        outcomes: list[str | OutcomeUnknownError] = [lost.error for lost in losts]

        async def one(index: int, lost: Lost) -> None:
            try:
                outcomes[index] = await self._resolve(lost)
            except OutcomeUnknownError as exc:
                outcomes[index] = exc

        async with anyio.create_task_group() as group:
            for index, lost in enumerate(losts):
                group.start_soon(one, index, lost)
        return outcomes

    async def _resolve(self, lost: Lost) -> str:
        group = self._groups[lost.key]
        try:
            while not lost.settled:
                if self._in_flight[lost.key] > 0 or lost.key in self._resolving:
                    await self._quiet.wait()
                    continue
                members = [m for m in group if not m.settled]
                self._resolving.add(lost.key)
                try:
                    await self._match(members)
                finally:
                    self._resolving.discard(lost.key)
                    for member in members:
                        if not member.settled:
                            member.outcome = member.error
                    self._notify()
        finally:
            group.remove(lost)
            if not group:
                self._groups.pop(lost.key, None)
        if lost.job_id is None:
            assert lost.outcome is not None  # noqa: S101 - settled
            raise lost.outcome
        return lost.job_id

    async def _match(self, members: list[Lost]) -> None:
        first = members[0]
        members.sort(key=lambda m: m.sent_wall)
        found: list[Track | SpeechClip] = []
        for attempt in range(TRIES):
            if attempt:
                await anyio.sleep(PAUSE)
            try:
                page = await self._gateway.recent(first.email, max(20, 4 * len(members) + 10))
            except PixverseAudioError:
                continue
            found = [item for item in page.items if self._candidate(first, item)]
            if len(found) >= len(members):
                break
        found.sort(key=lambda item: (item.created_at is None, item.created_at, item.audio_id))
        if len(found) > len(members):
            ids = tuple(item.audio_id for item in found)
            for member in members:
                member.outcome = _unknown(member.error, ids, "jobs that cannot be told apart")
            return
        for item in found:  # one each, oldest job to the earliest create it may belong to
            owner = next((m for m in members if not m.settled and self._after(m, item)), None)
            if owner is not None:
                owner.job_id = item.audio_id
                self._owned.add(item.audio_id)
        for member in members:
            if not member.settled:
                member.outcome = _unknown(member.error, (), "no job of it was found")

    def _candidate(self, lost: Lost, item: Track | SpeechClip) -> bool:
        request = lost.request
        if item.audio_id in self._owned or item.audio_id in lost.excluded:
            return False
        if kind_of_item(item) is not lost.kind:
            return False
        if _text(item) != request.text or item.model not in (None, request.model):
            return False
        voice = getattr(request, "voice_id", None)
        if voice is not None and getattr(item, "voice_id", None) not in (None, voice):
            return False
        return self._after(lost, item)

    def _after(self, lost: Lost, item: Track | SpeechClip) -> bool:
        """Whether ``item`` was created after ``lost`` was sent, by the server's clock."""
        if item.created_at is None:
            return False
        stamp = item.created_at.timestamp()
        clock = self._gateway.clock
        earliest = clock.earliest_stamp(lost.sent_wall)
        latest_old = clock.latest_stamp_before(lost.sent_wall)
        if earliest is None or latest_old is None:  # no evidence of the server's clock
            earliest, latest_old = lost.sent_wall - FALLBACK_SKEW, math.inf
        if stamp > latest_old:
            return True  # provably newer than the send
        # Too close to tell: only while it still runs, unless a journal knows every job an
        # earlier run made (they are owned), so a finished one cannot be one of those.
        return stamp >= earliest and (not item.final or lost.journaled)


def _unknown(
    error: OutcomeUnknownError, candidates: tuple[str, ...], why: str
) -> OutcomeUnknownError:
    listed = f" Candidates: {', '.join(candidates)}." if candidates else ""
    outcome = OutcomeUnknownError(
        f"{error} Reconciliation: {why}; nothing was adopted.{listed}",
        endpoint=error.endpoint,
        payload=error.payload,
        candidates=candidates,
    )
    for name in ("method", "path", "attempts", "elapsed"):  # the create's request
        setattr(outcome, name, getattr(error, name))
    # what lost the answer (a timeout, a 5xx, an unreadable 200) stays the cause
    outcome.__cause__ = error.__cause__
    outcome.__suppress_context__ = True
    return outcome
