"""Job slots counted in Redis, shared by every process using the same accounts.

`SharedSlotPool` is the engine's pool when the client was given a
`RedisLimiter`: the counting, leasing and fair waiting happen in Redis; this
process keeps what only it knows (accounts it took out of rotation, 429
back-off, its own leases, which it renews while their jobs run).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio

from ._errors import APIError, LimiterError
from ._logging import logger
from ._slots import MAX_CAP, AccountPool, Lease

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._redis_limiter import RedisLimiter

__all__ = ["SharedSlotPool"]


class SharedSlotPool(AccountPool):
    """The slots of every account, counted in Redis over all processes (see `RedisLimiter`)."""

    def __init__(
        self,
        client: AsyncClient,
        configured: int | Mapping[str, int] | None,
        limiter: RedisLimiter,
    ) -> None:
        super().__init__(client, configured)
        self._limiter = limiter
        self._leases: dict[str, Lease] = {}
        self._held: dict[str, int] = {}
        self._epoch = ""  # Redis's epoch as last seen: a new one means it lost its data
        self._wake_list = uuid.uuid4().hex  # where Redis pushes this pool's served tickets
        self._signals: dict[str, anyio.Event] = {}  # ticket -> set when Redis says it fits
        self._keeping = False  # one keep_alive loop per pool, however many batches run
        self._keeper_gone = anyio.Event()
        self._next_renewal: float | None = None  # kept here: a new keeper keeps the pace
        self._renew_soon = anyio.Event()  # Redis dropped us (a restart?): renew now

    async def _loaded_caps(self, caps: Mapping[str, int]) -> None:
        # What this client read (or was told) is the account's maxJobs now: it
        # becomes everyone's capacity, so a changed maxJobs applies at once.
        await self._limiter.set_capacity(caps)

    def held(self) -> dict[str, int]:
        """Slots this process holds now, per account."""
        return {email: self._held.get(email, 0) for email in self._accounts}

    def peaks(self) -> dict[str, int]:
        """The most slots this process held at once, per account."""
        return {email: a.peak for email, a in self._accounts.items()}

    def _defaults(self) -> dict[str, int]:
        return {email: a.cap for email, a in self._accounts.items()}

    # ------------------------------------------------------------ leasing

    async def acquire(self, email: str | None = None, narrow: int | None = None) -> Lease:
        """Wait in Redis's queue for a slot (on ``email``, or the least busy account).

        Raises:
            LimiterError: Redis could not be reached for the limiter's
                ``unavailable_timeout``.
            PixverseAudioError: ``email`` is ``None`` and every account was
                taken out of rotation.
        """
        await self.load()
        ticket = uuid.uuid4().hex
        signal = self._signals[ticket] = anyio.Event()
        queued = False
        try:
            while True:
                candidates = [self._account(email)] if email is not None else self._rotation()
                now = anyio.current_time()
                usable = [a.email for a in candidates if a.blocked_until <= now]
                unblock = [a.blocked_until - now for a in candidates if a.blocked_until > now]
                if usable:
                    queued = True
                    got, epoch, changed = await self._limiter._acquire(
                        ticket, usable, narrow, self._defaults(), self._wake_list, self._epoch
                    )
                    if changed:  # Redis lost its data: put our leases back, then ask again
                        if await self._renew(restore_from=self._epoch):
                            self._epoch = epoch
                        else:
                            await anyio.sleep(min(0.5, self._limiter.poll))
                        continue
                    self._epoch = epoch
                    if got is not None:
                        return self._record(Lease(got, ticket))
                elif queued:  # every account backs off: stop holding a place in line
                    queued = False
                    await self._limiter._leave(ticket)
                with anyio.move_on_after(min([self._limiter.poll, *unblock])):
                    await (signal if usable else self._freed).wait()
                if signal.is_set():
                    signal = self._signals[ticket] = anyio.Event()
        except BaseException:
            if queued:
                # Shielded; if Redis cannot be reached, the waiter expires there by itself.
                with anyio.CancelScope(shield=True), contextlib.suppress(LimiterError):
                    await self._limiter._leave(ticket)
            raise
        finally:
            del self._signals[ticket]

    def _record(self, lease: Lease) -> Lease:
        self._leases[lease.token] = lease
        self._held[lease.email] = self._held.get(lease.email, 0) + 1
        account = self._account(lease.email)
        account.peak = max(account.peak, self._held[lease.email])
        return lease

    async def release(self, lease: Lease) -> None:
        """Give the slot back in Redis (a failure is logged; the lease then expires)."""
        if self._leases.pop(lease.token, None) is None:
            return
        self._held[lease.email] -= 1
        with anyio.CancelScope(shield=True):
            try:
                await self._limiter._release(lease.email, lease.token)
            except LimiterError as exc:
                logger.warning("slot on %s not released (it expires): %s", lease.email, exc)
        self._wake()

    # ------------------------------------------------------------ keeping alive

    async def keep_alive(self) -> None:
        """While a batch runs: renew this pool's leases and hand out Redis's wake-ups.

        One batch of the client does it at a time; when that one ends, another
        running batch takes over.
        """
        while True:
            if self._keeping:
                await self._keeper_gone.wait()
                continue
            self._keeping = True
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._renew_every)
                    group.start_soon(self._hand_out_wake_ups)
            finally:
                self._keeping = False
                self._keeper_gone.set()
                self._keeper_gone = anyio.Event()

    async def _renew_every(self) -> None:
        every = self._limiter.lease_ttl / 3
        if self._next_renewal is None:
            self._next_renewal = anyio.current_time() + every
        while True:
            soon = self._renew_soon
            with anyio.move_on_after(self._next_renewal - anyio.current_time()):
                await soon.wait()
            if soon.is_set():
                self._renew_soon = anyio.Event()
            self._next_renewal = anyio.current_time() + every
            await self._renew()

    async def _hand_out_wake_ups(self) -> None:
        """Pop this pool's wake-up list; each entry is a ticket that may now be served."""
        answered = True
        while True:
            ticket, ok = await self._limiter._pop(self._wake_list, self._limiter.poll)
            if ok and not answered:  # Redis is back (maybe empty): renew, maybe restore
                self._renew_soon.set()
            answered = ok
            signal = self._signals.get(ticket) if ticket is not None else None
            if signal is not None:
                signal.set()

    async def _renew(self, restore_from: str | None = None) -> bool:
        """Extend this pool's leases; after Redis lost its data, put them back.

        ``restore_from`` is the epoch the leases were taken in (by default the
        last one seen). Returns whether Redis answered.
        """
        taken = list(self._leases.values())
        epoch = self._epoch if restore_from is None else restore_from
        if not taken:
            return True
        try:
            lost, now_epoch, restored = await self._limiter._renew(
                [(lease.email, lease.token) for lease in taken], epoch, self._defaults()
            )
        except LimiterError as exc:
            logger.warning("could not renew %d slot leases: %s", len(taken), exc)
            return False
        self._epoch = now_epoch
        if restored:
            logger.warning("Redis lost its data: %d slot leases were put back", lost)
            # A lease released while the renewal was under way must not come back.
            for lease in taken:
                if lease.token not in self._leases:
                    with contextlib.suppress(LimiterError):
                        await self._limiter._release(lease.email, lease.token)
        elif lost:
            logger.warning("%d slot leases had expired in Redis (renewals too late)", lost)
        return True

    # ------------------------------------------------------------ 429s and maxJobs

    async def refresh(self) -> None:
        """Re-read ``scheduler/available``: a new ``maxJobs`` becomes the shared capacity.

        An account with free slots is no longer backed off.
        """
        self._last_refresh = anyio.current_time()
        try:
            availability = await self._client.scheduler.available()
        except APIError:
            return
        changed: dict[str, int] = {}
        for entry in availability.accounts:
            account = self._accounts.get(entry.email)
            if account is None:
                continue
            cap = entry.max_jobs
            if (
                self._configured is None
                and cap is not None
                and 1 <= cap <= MAX_CAP
                and cap != account.cap
            ):
                account.cap = cap
                changed[entry.email] = cap
            if entry.available is not None and entry.available > 0:
                account.blocked_until = -float("inf")
                account.busy_streak = 0
        if changed:
            try:
                await self._limiter.set_capacity(changed)
            except LimiterError as exc:
                logger.warning("could not share the new maxJobs: %s", exc)
        self._wake()

    def busy(self, email: str, delay: float) -> int:
        """After a 429 on ``email``: take no new job there for ``delay`` seconds.

        Returns how many 429s in a row it gave.
        """
        account = self._note_busy(email, delay)
        return 0 if account is None else account.busy_streak
