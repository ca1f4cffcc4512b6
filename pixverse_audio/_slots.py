"""Job slots per account: one ``anyio.CapacityLimiter`` per email, sized from ``maxJobs``.

A slot is held from the create until the job is final (or released), so the
client never asks an account to run more than its ``maxJobs``: no 429s when it
is the only user. A 429 means others use the account too: the pool re-reads
``scheduler/available`` and shrinks that account to what is really free, and
grows it back on later reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import anyio
import attrs

from ._errors import APIError, ConfigurationError, PixverseAudioError

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["Lease", "SlotPool"]

REFRESH_EVERY: Final = 5.0  # most seconds between availability reads while an account is shrunk


@attrs.define(eq=False)
class _Account:
    email: str
    cap: int
    limiter: anyio.CapacityLimiter
    peak: int = 0
    blocked_until: float = -float("inf")  # after a 429: no new job here before then
    busy_streak: int = 0
    disabled: bool = False  # refused creates (596, no credits): no unpinned jobs here

    @property
    def borrowed(self) -> int:
        return int(self.limiter.borrowed_tokens)

    @property
    def free(self) -> int:
        return int(self.limiter.available_tokens)


@attrs.frozen(eq=False)
class Lease:
    """One slot on one account, held by one job."""

    email: str


class SlotPool:
    """The slots of every account this client may use."""

    def __init__(
        self, client: AsyncClient, configured: int | Mapping[str, int] | None = None
    ) -> None:
        self._client = client
        self._configured = configured
        self._accounts: dict[str, _Account] = {}
        self._loaded = False
        self._load_lock = anyio.Lock()
        self._freed = anyio.Event()
        self._last_refresh = -float("inf")
        self._disabled_error: PixverseAudioError | None = None

    # ------------------------------------------------------------ loading

    async def load(self) -> None:
        """Learn the accounts and their ``maxJobs`` once (unless given as a mapping)."""
        if self.is_loaded():
            return
        async with self._load_lock:
            if self.is_loaded():  # another task loaded them while this one waited
                return
            caps = await self._read_caps()
            for email, cap in caps.items():
                self._add(email, cap)
            self._loaded = True

    async def _read_caps(self) -> dict[str, int]:
        configured = self._configured
        if isinstance(configured, Mapping):
            return dict(configured)
        try:
            availability = await self._client.scheduler.available()
            found = {a.email: a.max_jobs or 1 for a in availability.accounts}
        except APIError:
            found = {}
        if not found:
            found = {a.email: a.max_jobs or 1 for a in await self._client.accounts.list()}
        if not found:
            raise ConfigurationError("no PixVerse account is configured at useapi.net")
        if isinstance(configured, int):
            return dict.fromkeys(found, configured)
        return found

    def _add(self, email: str, cap: int) -> _Account:
        if not 1 <= cap <= 8:
            raise ConfigurationError(f"max_jobs for {email} must be within 1..8, not {cap}")
        account = _Account(email, cap, anyio.CapacityLimiter(cap))
        self._accounts[email] = account
        return account

    def is_loaded(self) -> bool:
        """Whether the accounts are known."""
        return self._loaded

    @property
    def emails(self) -> list[str]:
        """The accounts known so far."""
        return list(self._accounts)

    def capacity(self) -> int:
        """Slots over all accounts (their ``maxJobs``)."""
        return sum(a.cap for a in self._accounts.values())

    def held(self) -> dict[str, int]:
        """Slots held now, per account."""
        return {email: a.borrowed for email, a in self._accounts.items()}

    def peaks(self) -> dict[str, int]:
        """The most slots held at once, per account."""
        return {email: a.peak for email, a in self._accounts.items()}

    # ------------------------------------------------------------ leasing

    def _pick(self, email: str | None, narrow: int | None) -> _Account | None:
        if email is not None:
            account = self._accounts.get(email)
            if account is None:
                default = self._configured if isinstance(self._configured, int) else 1
                account = self._add(email, default)
            candidates = [account]
        else:
            candidates = [a for a in self._accounts.values() if not a.disabled]
            if not candidates and self._disabled_error is not None:
                raise self._disabled_error
        now = anyio.current_time()
        usable = [
            a
            for a in candidates
            if a.free > 0 and a.blocked_until <= now and (narrow is None or a.borrowed < narrow)
        ]
        if not usable:
            return None
        return max(usable, key=lambda a: (a.free, -a.borrowed))

    async def acquire(self, email: str | None = None, narrow: int | None = None) -> Lease:
        """Wait for a free slot (on ``email``, or the least busy account) and take it.

        ``narrow`` (a request's ``max_jobs``) only takes a slot on an account
        running fewer jobs than that.

        Raises:
            PixverseAudioError: ``email`` is ``None`` and every account was
                taken out of rotation (the error that took out the last one).
        """
        await self.load()
        while True:
            account = self._pick(email, narrow)
            if account is not None:
                lease = Lease(account.email)
                account.limiter.acquire_on_behalf_of_nowait(lease)
                account.peak = max(account.peak, account.borrowed)
                return lease
            freed = self._freed
            now = anyio.current_time()
            shrunk = any(a.limiter.total_tokens < a.cap for a in self._accounts.values())
            every = min(REFRESH_EVERY, self._client.poll.cap)  # scaled with the poll policy
            if shrunk and now - self._last_refresh >= every:
                await self.refresh()
                continue
            wake = [a.blocked_until - now for a in self._accounts.values() if a.blocked_until > now]
            if shrunk:
                wake.append(every)
            with anyio.move_on_after(min(wake) if wake else None):
                await freed.wait()

    def release(self, lease: Lease) -> None:
        """Give the slot back and wake the waiters."""
        self._accounts[lease.email].limiter.release_on_behalf_of(lease)
        self._freed.set()
        self._freed = anyio.Event()

    async def refresh(self) -> None:
        """Re-read ``scheduler/available``: each account gets what is really free for us.

        What we hold plus what the server says is free, capped at ``maxJobs``
        (and at least one slot, so a waiting job can probe).
        """
        self._last_refresh = anyio.current_time()
        try:
            availability = await self._client.scheduler.available()
        except APIError:
            return
        for entry in availability.accounts:
            account = self._accounts.get(entry.email)
            if account is None or entry.available is None:
                continue
            usable = max(1, min(account.cap, account.borrowed + entry.available))
            account.limiter.total_tokens = usable
            if entry.available > 0:
                account.blocked_until = -float("inf")
                account.busy_streak = 0
        self._freed.set()
        self._freed = anyio.Event()

    def busy(self, email: str, delay: float) -> int:
        """After a 429 on ``email`` (its slot already released): back off there.

        The account keeps only the slots this client holds (at least one, to
        probe later) and takes no new job for ``delay`` seconds, or until a
        refresh finds it free. Returns how many 429s in a row it gave.
        """
        account = self._accounts.get(email)
        if account is None:
            return 0
        account.limiter.total_tokens = max(1, account.borrowed)
        account.busy_streak += 1
        account.blocked_until = anyio.current_time() + delay
        return account.busy_streak

    def disable(self, email: str, error: PixverseAudioError) -> bool:
        """Take ``email`` out of rotation for requests without an email (596, no credits).

        Returns whether a healthy account remains for them; once none does,
        `acquire` raises ``error`` for such requests instead of waiting.
        """
        account = self._accounts.get(email)
        if account is not None:
            account.disabled = True
        self._disabled_error = error
        self._freed.set()
        self._freed = anyio.Event()
        return any(not a.disabled for a in self._accounts.values())

    def succeeded(self, email: str) -> None:
        """A create on ``email`` was accepted: its 429 streak is over."""
        account = self._accounts.get(email)
        if account is not None:
            account.busy_streak = 0
