"""Following every job the client runs: one list request per account per tick.

A job is tracked from its create (or from a ``wait`` on it) until it is final.
Its account's newest page (``GET music/?email=``, which lists speech too)
answers for every tracked job of that account at once; a job missing from the
page twice is fetched by id. When to ask is `pixverse_audio._cadence.Cadence`'s
call. The loop (`Tracker.run`) is run by whichever task waits in the engine
(`pixverse_audio._duty`), never by a background task of its own.

A job seen final gives its slot back and wakes whoever waits for it. A job
that still answers 404 after the not-found grace ends with `NotFoundError`
(and gives its slot back) instead of being polled until its deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
import attrs

from ._cadence import Cadence, PollPolicy
from ._duty import Waiter
from ._errors import NotFoundError, PixverseAudioError
from ._kinds import Kind
from ._logging import logger
from ._models import Job, SpeechClip, Track
from ._ports import Gateway
from ._slots import Lease

__all__ = ["Tracked", "Tracker"]

MISSING_BEFORE_GET: Final = 2  # polls a job may be absent from the page before a GET by id

Item = Track | SpeechClip


@attrs.define(eq=False)
class Tracked:
    """One job the engine follows until it is final.

    Attributes:
        job_id: Its ``audio_id``.
        kind: Music or speech.
        email: Its account.
        policy: How its waiter wants it polled.
        submitted: ``anyio.current_time()`` when it was created (or first followed).
        next_check: When it is due to be asked about.
        lease: Its slot, given back when it is final.
        job: The create's answer, when this client created it.
        sent_wall: ``time.time()`` when its create was sent (for the server's clock).
        answered_wall: ``time.time()`` when the create answered.
        result: Its final state, once seen.
        last_seen: The newest state seen (final or not).
        error: Why it ended without a final state (`NotFoundError`).
        waiter: Whoever waits for it, woken when it ends.
        on_status: Called with each new status seen (progress events).
    """

    job_id: str
    kind: Kind[Any, Any]
    email: str
    policy: PollPolicy
    submitted: float
    next_check: float
    lease: Lease | None = None
    job: Job | None = None
    sent_wall: float | None = None
    answered_wall: float | None = None
    checks: int = 0
    last_unfinished: float = -math.inf
    missing: int = 0
    status: object = None
    result: Item | None = None
    last_seen: Item | None = None
    error: PixverseAudioError | None = None
    waiter: Waiter | None = None
    on_status: Callable[[Tracked, Item], None] | None = None

    @property
    def ended(self) -> bool:
        """Whether it is final (or gone)."""
        return self.result is not None or self.error is not None


class Tracker:
    """Every tracked job, by id and by account, and the loop that polls them."""

    def __init__(
        self,
        gateway: Gateway,
        cadence: Cadence,
        give_back: Callable[[Lease], Awaitable[None]],
    ) -> None:
        self._gateway = gateway
        self._cadence = cadence
        self._give_back = give_back
        self._jobs: dict[str, Tracked] = {}
        self._by_account: dict[str, dict[str, Tracked]] = {}
        self._changed = anyio.Event()
        self.requests = 0  # status requests sent (list pages and GETs by id)

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Tracked | None:
        """The tracked job ``job_id``, if it is tracked."""
        return self._jobs.get(job_id)

    def track(self, tracked: Tracked) -> Tracked:
        """Start following a job (its first check is ``tracked.next_check``)."""
        self._jobs[tracked.job_id] = tracked
        self._by_account.setdefault(tracked.email, {})[tracked.job_id] = tracked
        self._changed.set()
        return tracked

    def rescheduled(self) -> None:
        """A tracked job's ``next_check`` was moved earlier: the loop looks again."""
        self._changed.set()

    async def end(self, tracked: Tracked) -> None:
        """Stop following ``tracked``: its slot goes back and its waiter is woken."""
        self._jobs.pop(tracked.job_id, None)
        jobs = self._by_account.get(tracked.email)
        if jobs is not None:
            jobs.pop(tracked.job_id, None)
            if not jobs:
                del self._by_account[tracked.email]
        lease, tracked.lease = tracked.lease, None
        if lease is not None:
            with anyio.CancelScope(shield=True):
                await self._give_back(lease)
        if tracked.waiter is not None:
            tracked.waiter.finish()

    async def observe(self, item: Item) -> bool:
        """A job's state learnt elsewhere (a confirmed callback); whether it was tracked."""
        tracked = self._jobs.get(item.audio_id)
        if tracked is None:
            return False
        await self._update(tracked, item, anyio.current_time())
        return True

    # ------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Poll each account when its earliest job is due; sleep while none is due."""
        while True:
            if self._changed.is_set():
                self._changed = anyio.Event()
            now = anyio.current_time()
            due = min((t.next_check for t in self._jobs.values()), default=math.inf)
            if due > now:
                with anyio.move_on_after(due - now):
                    await self._changed.wait()
                continue
            emails = {t.email for t in self._jobs.values() if t.next_check <= now}
            async with anyio.create_task_group() as group:
                for email in emails:
                    group.start_soon(self._poll, email)

    async def _poll(self, email: str) -> None:
        jobs = dict(self._by_account.get(email, {}))
        limit = min(100, max(10, 2 * len(jobs) + 5))
        now = anyio.current_time()
        seen: dict[str, Item] = {}
        if email:  # an id naming no account can only be asked about by id
            self.requests += 1
            try:
                page = await self._gateway.recent(email, limit)
            except NotFoundError:  # the account is gone: its jobs are asked about by id
                page = None
            except PixverseAudioError as exc:
                logger.info("status poll of %s failed (%s); trying again later", email, exc)
                for tracked in jobs.values():
                    self._reschedule(tracked, now)
                return
            seen = {item.audio_id: item for item in page.items} if page else {}
        for tracked in jobs.values():
            if tracked.ended:
                continue
            item = seen.get(tracked.job_id)
            if item is None:
                tracked.missing += 1
                if tracked.missing >= MISSING_BEFORE_GET or not email:
                    item = await self._get(tracked, now)
                if item is None:
                    if not tracked.ended:
                        self._reschedule(tracked, now)
                    continue
            await self._update(tracked, item, now)

    async def _get(self, tracked: Tracked, now: float) -> Item | None:
        self.requests += 1
        try:
            item: Item = await self._gateway.get(tracked.kind, tracked.job_id)
        except NotFoundError as exc:
            if now - tracked.submitted > tracked.policy.not_found_grace:
                logger.warning("job %s is not found any more: %s", tracked.job_id, exc)
                tracked.error = exc
                await self.end(tracked)
            return None
        except PixverseAudioError as exc:
            logger.info("status of %s unavailable (%s); trying again later", tracked.job_id, exc)
            return None
        return item

    def _reschedule(self, tracked: Tracked, now: float) -> None:
        tracked.checks += 1
        tracked.next_check = self._cadence.next_check(
            tracked.policy, tracked.kind.name, tracked.submitted, tracked.checks, now
        )

    async def _update(self, tracked: Tracked, item: Item, now: float) -> None:
        tracked.missing = 0
        tracked.last_seen = item
        if item.status != tracked.status:
            tracked.status = item.status
            if tracked.on_status is not None:
                tracked.on_status(tracked, item)
        if tracked.sent_wall is not None and item.created_at is not None:
            answered = tracked.answered_wall or time.time()
            self._gateway.clock.observe(tracked.sent_wall, answered, item.created_at)
        if not item.final:
            tracked.last_unfinished = now
            self._reschedule(tracked, now)
            return
        learnt = self._cadence.estimate(tracked.kind.name).mean is None
        self._cadence.finished(
            tracked.kind.name, tracked.submitted, tracked.last_unfinished, now, _length(item)
        )
        tracked.result = item
        await self.end(tracked)
        if learnt:
            self._aim(tracked.kind.name, now)

    def _aim(self, kind: str, now: float) -> None:
        """The first length of ``kind`` was learnt: jobs of that kind polled blind till now
        (on every account) are asked about when that length says they end, if sooner."""
        for tracked in self._jobs.values():
            if tracked.kind.name != kind:
                continue
            aimed = self._cadence.aimed(tracked.policy, kind, tracked.submitted)
            if aimed is not None and aimed < tracked.next_check:
                tracked.next_check = max(now, aimed)
                self._changed.set()


def _length(item: Item) -> float | None:
    """How long the job took by the server's stamps, when both are there and comparable."""
    created, updated = item.created_at, item.updated_at
    if created is None or updated is None or (created.tzinfo is None) != (updated.tzinfo is None):
        return None
    return (updated - created).total_seconds()
