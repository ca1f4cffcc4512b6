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
        self._recoveries = 0

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
        queued = False
        try:
            while True:
                candidates = [self._account(email)] if email is not None else self._rotation()
                now = anyio.current_time()
                usable = [a.email for a in candidates if a.blocked_until <= now]
                unblock = [a.blocked_until - now for a in candidates if a.blocked_until > now]
                got = None
                if usable:
                    await self._renew_after_recovery()
                    queued = True
                    got = await self._limiter._acquire(ticket, usable, narrow, self._defaults())
                elif queued:  # every account backs off: stop holding a place in line
                    queued = False
                    await self._limiter._leave(ticket)
                if got is not None:
                    lease = Lease(got, ticket)
                    self._leases[ticket] = lease
                    self._held[got] = self._held.get(got, 0) + 1
                    account = self._account(got)
                    account.peak = max(account.peak, self._held[got])
                    return lease
                timeout = min([self._limiter.poll, *unblock])
                if usable:
                    await self._limiter._wait(ticket, timeout)
                else:  # every account backs off after a 429: nothing to queue for yet
                    freed = self._freed
                    with anyio.move_on_after(timeout):
                        await freed.wait()
        except BaseException:
            if not queued:
                raise
            # Shielded; if Redis cannot be reached, the waiter expires there by itself.
            with anyio.CancelScope(shield=True), contextlib.suppress(LimiterError):
                await self._limiter._leave(ticket)
            raise

    async def _renew_after_recovery(self) -> None:
        """After Redis came back (maybe empty, after a restart), re-assert our leases first."""
        if self._limiter.recoveries != self._recoveries:
            self._recoveries = self._limiter.recoveries
            await self._renew()

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

    async def _renew(self) -> None:
        leases = [(lease.email, lease.token) for lease in self._leases.values()]
        try:
            lost = await self._limiter._renew(leases)
        except LimiterError as exc:
            logger.warning("could not renew %d slot leases: %s", len(leases), exc)
            return
        if lost:
            logger.warning("%d slot leases had expired in Redis and were taken back", lost)

    async def keep_alive(self) -> None:
        """Renew this process's leases every third of their TTL while a batch runs."""
        while True:
            await anyio.sleep(self._limiter.lease_ttl / 3)
            await self._renew()

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
            if self._configured is None and cap is not None and cap != account.cap <= MAX_CAP:
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
