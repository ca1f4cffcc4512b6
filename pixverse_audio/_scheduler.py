"""One account scheduler per client, under every generating call.

``create``, ``wait``, ``generate`` and ``generate_many``, music and speech, from
any number of concurrent tasks, go through the same per-account slots
(`pixverse_audio._slots`, or Redis through `pixverse_audio._shared_slots`) and
the same batched status polling (`pixverse_audio._tracker`). Callers are
served first come, first served; a job holds its slot from its create until it
is seen final. The polling runs in whichever caller is waiting
(`pixverse_audio._duty`), so a web service's request handlers need no
background task, and nothing runs when nobody waits.

A caller that is cancelled (a client disconnect, a deadline) releases its own
job from useapi.net's scheduler (``DELETE scheduler/{id}``, shielded, retried
within `CLEANUP_SECONDS`) and its slot, and nothing else. A create that may
have reached the server is never sent again: a lost answer is settled by
`pixverse_audio._reconcile`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import anyio

from ._cadence import Cadence, PollPolicy
from ._duty import Duty, Waiter
from ._errors import (
    AccountError,
    BusyError,
    GenerationFailedError,
    InsufficientCreditsError,
    OutcomeUnknownError,
    PixverseAudioError,
    WaitTimeoutError,
)
from ._events import Events
from ._kinds import Kind, kind_of_id
from ._logging import logger
from ._models import Job, SpeechClip, Track
from ._ports import Gateway
from ._reconcile import Lost, Owned, Reconciler
from ._redis_limiter import RedisLimiter
from ._shared_slots import SharedSlotPool
from ._slots import AccountPool, Lease, SlotPool
from ._tracker import Tracked, Tracker

__all__ = ["CLEANUP_SECONDS", "Scheduler"]

CLEANUP_SECONDS: Final = 10.0  # the budget of shielded cleanup: releasing a job, a late create
RELEASE_ATTEMPT: Final = 2.5  # seconds one DELETE scheduler/{id} may take within that budget
MAX_BUSY: Final = 100  # 429s in a row for one request before it is reported


class Scheduler:
    """The engine of one client: slots, creates, polling, waiting, reconciliation."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        max_jobs: int | Mapping[str, int] | None,
        limiter: RedisLimiter | None,
        poll: PollPolicy,
        events: Events,
    ) -> None:
        self.gateway = gateway
        self.poll = poll
        self.events = events
        self.cadence = Cadence()
        self.pool: AccountPool
        if limiter is not None:
            self.pool = SharedSlotPool(gateway, max_jobs, self._refresh_every, limiter)
        else:
            self.pool = SlotPool(gateway, max_jobs, self._refresh_every)
        self.tracker = Tracker(gateway, self.cadence, self.pool.release)
        self.duty = Duty(self._service)
        self.owned = Owned()
        self.reconciler = Reconciler(gateway, self.owned)

    def _refresh_every(self) -> float:
        return self.cadence.refresh_every(self.poll)

    async def _service(self) -> None:
        """What must run while anyone waits: the polling, and the pool's upkeep."""
        async with anyio.create_task_group() as group:
            group.start_soon(self.tracker.run)
            group.start_soon(self.pool.keep_alive)

    @property
    def status_requests(self) -> int:
        """Status requests sent (list pages and GETs by id)."""
        return self.tracker.requests

    # ------------------------------------------------------------ creating

    async def start(
        self,
        kind: Kind[Any, Any],
        request: Any,
        policy: PollPolicy,
        events: Events,
        via: Gateway | None = None,
        mark: Callable[[str], Awaitable[None]] | None = None,
        answered: Callable[[str], None] | None = None,
    ) -> Tracked:
        """Take a slot (waiting in line), create the job, track it: the slot stays with it.

        The create is sent through ``via`` when given (a client copy's own
        timeout and retries), else through the engine's gateway. ``mark`` is
        awaited with the account just before each create is sent (a journal's
        write-ahead mark); if it fails, nothing is sent. ``answered`` is called
        with the job id the moment a create answers (or its lost answer's job is
        adopted), even one whose caller was cancelled meanwhile (the job is
        released, and may still finish).

        Raises:
            OutcomeUnknownError: The create's answer was lost and no job of it
                could be adopted.
            BusyError: The account(s) answered 429 `MAX_BUSY` times in a row.
            PixverseAudioError: The create was refused (400, 402, 596, ...).
        """
        self.gateway.check(kind, request)  # live limits: before waiting for a slot
        busy = 0
        while True:
            lease = await self.pool.acquire(request.email, request.max_jobs, self.duty.wait)
            kept = False
            try:
                try:
                    job, sent, answer = await self._create(
                        kind, request, lease.email, events, via or self.gateway, (mark, answered)
                    )
                except BusyError:
                    busy += 1
                    events.emit("busy", email=lease.email)
                    if busy >= MAX_BUSY:
                        raise
                    self.pool.busy(lease.email, self.cadence.backoff(busy))
                    await self._give_back(lease)
                    kept = True  # already given back
                    await self.pool.refresh()
                    continue
                except (AccountError, InsufficientCreditsError) as exc:
                    if request.email is not None or not self.pool.disable(lease.email, exc):
                        raise
                    logger.warning("account %s taken out of rotation: %s", lease.email, exc)
                    continue  # refused: no job; another account
                self.pool.succeeded(lease.email)
                now = anyio.current_time()
                tracked = Tracked(
                    job_id=job.audio_id,
                    kind=kind,
                    email=lease.email,
                    policy=policy,
                    submitted=now,
                    next_check=self.cadence.first_check(policy, kind.name, now),
                    lease=lease,
                    job=job,
                    sent_wall=sent,
                    answered_wall=answer,
                    on_status=events.on_status,
                )
                kept = True
                self.owned.add(job.audio_id)
                return self.tracker.track(tracked)
            finally:
                if not kept:
                    await self._give_back(lease)

    async def _give_back(self, lease: Lease) -> None:
        with anyio.CancelScope(shield=True):
            await self.pool.release(lease)

    async def _create(
        self,
        kind: Kind[Any, Any],
        request: Any,
        email: str,
        events: Events,
        gateway: Gateway,
        hooks: tuple[Callable[[str], Awaitable[None]] | None, Callable[[str], None] | None],
    ) -> tuple[Job, float, float]:
        """Send one create; settle a lost answer. Returns the job and its wall times.

        The create is shielded: once it may have reached the server, a
        cancellation waits for its answer (at most `CLEANUP_SECONDS` more), so
        the job can be released rather than orphaned.
        """
        box: dict[str, Any] = {}
        done = anyio.Event()
        shield = anyio.CancelScope(shield=True)
        mark, answered = hooks

        async def send() -> None:
            with shield:  # the mark and its create, both or neither
                box["sent"] = time.time()
                with self.reconciler.sending(kind, request, email):
                    try:
                        if mark is not None:
                            await mark(email)
                        box["job"] = job = await gateway.create(kind, request, email)
                        if answered is not None:
                            answered(job.audio_id)
                        # ours before the create counts as answered, so a lost twin
                        # being settled can never take it for its own
                        self.owned.add(job.audio_id)
                    except PixverseAudioError as exc:
                        box["error"] = exc
                box["answered"] = time.time()
            done.set()

        cancelled = False
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(send)
                try:
                    await done.wait()
                except anyio.get_cancelled_exc_class():
                    cancelled = True
                    shield.deadline = min(shield.deadline, anyio.current_time() + CLEANUP_SECONDS)
                    raise
        finally:
            if cancelled:
                await self._after_cancelled_create(box, email, events)
        if "error" in box:
            error = box["error"]
            if not isinstance(error, OutcomeUnknownError):
                raise error
            events.emit("unknown", email=email)
            lost = Lost(kind, request, email, box["sent"], error)
            job_id = None
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + 6 * CLEANUP_SECONDS
                job_id = await self.reconciler.settle(lost)
                if answered is not None:  # adopted: as good as answered
                    answered(job_id)
            if job_id is None:  # the reconciliation's own deadline passed
                raise error
            events.emit("adopted", job_id=job_id, email=email)
            return Job(audio_id=job_id), box["sent"], box.get("answered", time.time())
        if "job" not in box:  # the cleanup budget ran out before an answer came
            raise OutcomeUnknownError(
                f"a create on {email} got no answer within the cleanup budget",
                endpoint=f"{kind.name}/create",
                payload={},
            )
        job: Job = box["job"]
        events.emit("submitted", job_id=job.audio_id, status=job.status, email=email)
        return job, box["sent"], box["answered"]

    async def _after_cancelled_create(
        self, box: dict[str, Any], email: str, events: Events
    ) -> None:
        job = box.get("job")
        if job is not None:  # it answered during cleanup: nobody follows it now
            events.emit("submitted", job_id=job.audio_id, status=job.status, email=email)
            if await self.release(job.audio_id):
                events.emit("released", job_id=job.audio_id, email=email)
        elif "error" not in box:
            logger.warning(
                "a create on %s was cancelled before its answer came: a paid job may exist", email
            )

    # ------------------------------------------------------------ waiting

    async def follow(
        self, tracked: Tracked, *, timeout: float, cancel_on_timeout: bool, events: Events
    ) -> Track | SpeechClip:
        """Wait for a tracked job to be final; see ``MusicAPI.wait`` for the errors."""
        waiter = Waiter()
        tracked.waiter = waiter
        try:
            with anyio.move_on_after(timeout):
                while not tracked.ended:
                    await self.duty.wait(waiter)
                    waiter.rearm()
        except BaseException:  # cancelled: nobody follows the job any more
            if not tracked.ended:
                await self._abandon(tracked, release=cancel_on_timeout, events=events)
            raise
        if not tracked.ended:
            await self._abandon(tracked, release=cancel_on_timeout, events=events)
            raise WaitTimeoutError(tracked.job_id, timeout, tracked.last_seen)
        if tracked.error is not None:
            raise tracked.error
        result = tracked.result
        assert result is not None  # noqa: S101 - ended without an error
        if not result.completed:
            raise GenerationFailedError(result)
        return result

    async def _abandon(self, tracked: Tracked, *, release: bool, events: Events) -> None:
        with anyio.CancelScope(shield=True):
            if release and await self.release(tracked.job_id):
                events.emit("released", job_id=tracked.job_id, email=tracked.email)
            await self.tracker.end(tracked)

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float,
        policy: PollPolicy | None,
        cancel_on_timeout: bool,
        events: Events,
    ) -> Track | SpeechClip:
        """Wait for any job by id; one this client does not track yet takes a slot.

        ``policy`` (when given) applies from now on to a job already tracked.
        """
        tracked = self.tracker.get(job_id)
        if tracked is not None and policy is not None and policy != tracked.policy:
            now = anyio.current_time()
            tracked.policy = policy
            tracked.next_check = self.cadence.next_check(
                policy, tracked.kind.name, tracked.submitted, 0, now
            )
            self.tracker.rescheduled()
        if tracked is None:
            policy = policy or self.poll
            kind = kind_of_id(job_id)
            email = Job(audio_id=job_id).email or ""
            lease = await self.pool.adopt(email) if email else None
            now = anyio.current_time()
            tracked = self.tracker.track(
                Tracked(
                    job_id=job_id,
                    kind=kind,
                    email=email,
                    policy=policy,
                    submitted=now,
                    next_check=now,  # it may be final already: ask at once
                    lease=lease,
                    on_status=events.on_status,
                )
            )
        return await self.follow(
            tracked, timeout=timeout, cancel_on_timeout=cancel_on_timeout, events=events
        )

    async def forget(self, job_id: str) -> None:
        """A job was released by hand: its slot goes back, and its waiter gets an error."""
        tracked = self.tracker.get(job_id)
        if tracked is not None and not tracked.ended:
            tracked.error = PixverseAudioError(
                f"job {job_id} was released from the scheduler; it may still finish and bill"
            )
            await self.tracker.end(tracked)

    async def observe(self, item: Track | SpeechClip) -> None:
        """A job's state learnt elsewhere (a confirmed callback) may end a wait early."""
        await self.tracker.observe(item)

    async def release(self, job_id: str) -> bool:
        """DELETE scheduler/{id}, retried within `CLEANUP_SECONDS`; never raises.

        Returns whether the job was running. A job that could not be released
        is named in a WARNING (it keeps its slot at useapi.net until it ends).
        """
        deadline = anyio.current_time() + CLEANUP_SECONDS
        pause = 0.2
        error: Exception | None = None
        with anyio.CancelScope(shield=True):
            while True:
                left = deadline - anyio.current_time()
                if left <= 0:
                    break
                with anyio.move_on_after(left):
                    try:
                        return await self.gateway.release(
                            job_id, timeout=min(RELEASE_ATTEMPT, max(0.1, left))
                        )
                    except PixverseAudioError as exc:
                        error = exc
                await anyio.sleep(min(pause, max(0.0, deadline - anyio.current_time())))
                pause = min(pause * 2, 2.0)
        logger.warning(
            "could not release job %s from the scheduler within %.0f s: %s",
            job_id,
            CLEANUP_SECONDS,
            error or "no answer",
        )
        return False
