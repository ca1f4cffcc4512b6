"""Job slots counted in Redis, shared by every process using the same accounts.

`SharedSlotPool` is the engine's pool when the client was given a
`RedisLimiter`: the counting, leasing and fair waiting happen in Redis; this
process keeps what only it knows (accounts it took out of rotation, 429
back-off, its own leases, which it renews while their jobs run).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping

import anyio

from ._duty import Waiter
from ._errors import LimiterError
from ._logging import logger
from ._ports import Gateway
from ._redis_limiter import RedisLimiter
from ._slots import AccountPool, Lease, WaitFn

__all__ = ["SharedSlotPool"]


class SharedSlotPool(AccountPool):
    """The slots of every account, counted in Redis over all processes (see `RedisLimiter`)."""

    def __init__(
        self,
        gateway: Gateway,
        configured: int | Mapping[str, int] | None,
        refresh_every: Callable[[], float],
        limiter: RedisLimiter,
    ) -> None:
        super().__init__(gateway, configured, refresh_every)
        self._limiter = limiter
        self._leases: dict[str, Lease] = {}
        self._epoch = ""  # Redis's epoch as last seen: a new one means it lost its data
        self._wake_list = uuid.uuid4().hex  # where Redis pushes this pool's served tickets
        self._waiters: dict[str, Waiter] = {}  # ticket -> its waiter, nudged when it fits
        self._next_renewal: float | None = None  # kept here: a new keeper keeps the pace
        self._renew_soon = anyio.Event()  # Redis dropped us (a restart?): renew now

    async def _loaded_caps(self, caps: Mapping[str, int]) -> None:
        # What this client read (or was told) is the account's maxJobs now: it
        # becomes everyone's capacity, so a changed maxJobs applies at once.
        await self._limiter.set_capacity(caps)

    def _defaults(self) -> dict[str, int]:
        return {email: a.cap for email, a in self._accounts.items()}

    # ------------------------------------------------------------ leasing

    async def acquire(self, email: str | None, narrow: int | None, wait: WaitFn) -> Lease:
        """Wait in Redis's line for a slot (on ``email``, or the least busy account).

        Raises:
            LimiterError: Redis could not be reached for the limiter's
                ``unavailable_timeout``.
            PixverseAudioError: ``email`` is ``None`` and every account was
                taken out of rotation.
        """
        await self.load()
        ticket = uuid.uuid4().hex
        waiter = self._waiters[ticket] = Waiter()
        queued = False
        try:
            while True:
                candidates = self._candidates(email)
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
                    await wait(waiter)
                waiter.rearm()
                await self._refresh_if_due()
        except BaseException:
            if queued:
                # Shielded; if Redis cannot be reached, the waiter expires there by itself.
                with anyio.CancelScope(shield=True), contextlib.suppress(LimiterError):
                    await self._limiter._leave(ticket)
            raise
        finally:
            del self._waiters[ticket]

    async def adopt(self, email: str) -> Lease:
        """A shared slot for a job already running on ``email``, even beyond ``maxJobs``."""
        await self.load()
        lease = Lease(email, uuid.uuid4().hex)
        self.account(email)
        try:
            await self._limiter._adopt(email, lease.token)
        except LimiterError as exc:  # counted here all the same; Redis learns at renewal
            logger.warning("slot on %s not recorded in Redis: %s", email, exc)
        return self._record(lease)

    def _record(self, lease: Lease) -> Lease:
        self._leases[lease.token] = lease
        self._took(lease.email)
        return lease

    async def release(self, lease: Lease) -> None:
        """Give the slot back in Redis (a failure is logged; the lease then expires)."""
        if self._leases.pop(lease.token, None) is None:
            return
        self._gave_back(lease.email)
        with anyio.CancelScope(shield=True):
            try:
                await self._limiter._release(lease.email, lease.token)
            except LimiterError as exc:
                logger.warning("slot on %s not released (it expires): %s", lease.email, exc)
        self._changed()

    # ------------------------------------------------------------ keeping alive

    async def keep_alive(self) -> None:
        """While anyone waits: renew this pool's leases and hand out Redis's wake-ups."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._renew_every)
            group.start_soon(self._hand_out_wake_ups)

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
            waiter = self._waiters.get(ticket) if ticket is not None else None
            if waiter is not None:
                waiter.nudge()

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

    async def _caps_changed(self, caps: Mapping[str, int]) -> None:
        """A refresh read a new ``maxJobs``: it becomes the shared capacity."""
        if not caps:
            return
        try:
            await self._limiter.set_capacity(caps)
        except LimiterError as exc:
            logger.warning("could not share the new maxJobs: %s", exc)

    def _changed(self) -> None:
        for waiter in self._waiters.values():  # a backed-off account may be usable now
            waiter.nudge()
