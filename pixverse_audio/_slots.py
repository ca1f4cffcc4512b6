"""Job slots per account: one ``anyio.CapacityLimiter`` per email, sized from ``maxJobs``.

A slot is held from the create until the job is final (or released), so the
client never asks an account to run more than its ``maxJobs``: no 429s when it
is the only user. A 429 means others use the account too: the pool re-reads
``scheduler/available`` and shrinks that account to what is really free, and
grows it back on later reads.

`AccountPool` holds what every pool shares (learning the accounts, taking an
account out of rotation, 429 streaks); `SlotPool` counts slots in memory, and
`pixverse_audio._shared_slots.SharedSlotPool` counts them in Redis.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import anyio
import attrs

from ._errors import APIError, ConfigurationError, PixverseAudioError

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AccountPool", "Lease", "SlotPool"]

REFRESH_EVERY: Final = 5.0  # most seconds between availability reads while an account is shrunk
MAX_CAP: Final = 8  # the most jobs useapi.net runs on one account


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
    """One slot on one account, held by one job (``token`` names it in a shared limiter)."""

    email: str
    token: str = ""


class AccountPool(abc.ABC):
    """What every slot pool shares: the accounts, their caps, rotation and 429 streaks."""

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
            await self._loaded_caps(caps)
            self._loaded = True

    async def _loaded_caps(self, caps: Mapping[str, int]) -> None:  # noqa: B027 - a hook
        """Called once the accounts are known (a shared pool publishes them)."""

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
        if not 1 <= cap <= MAX_CAP:
            raise ConfigurationError(f"max_jobs for {email} must be within 1..8, not {cap}")
        account = _Account(email, cap, anyio.CapacityLimiter(cap))
        self._accounts[email] = account
        return account

    def _account(self, email: str) -> _Account:
        """A known account, or a new one (a request pinned to an unlisted email)."""
        account = self._accounts.get(email)
        if account is None:
            default = self._configured if isinstance(self._configured, int) else 1
            account = self._add(email, default)
        return account

    def _rotation(self) -> list[_Account]:
        """The accounts an unpinned request may use; raises once none is left."""
        candidates = [a for a in self._accounts.values() if not a.disabled]
        if not candidates and self._disabled_error is not None:
            raise self._disabled_error
        return candidates

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

    def workers(self) -> int:
        """How many jobs a batch may have under way at once in this process."""
        return max(1, self.capacity())

    async def keep_alive(self) -> None:  # noqa: B027 - nothing to keep in memory
        """Keep this pool's slots alive while a batch runs (shared pools renew leases)."""

    @abc.abstractmethod
    async def acquire(self, email: str | None = None, narrow: int | None = None) -> Lease:
        """Wait for a free slot (on ``email``, or the least busy account) and take it."""

    @abc.abstractmethod
    async def release(self, lease: Lease) -> None:
        """Give the slot back."""

    @abc.abstractmethod
    async def refresh(self) -> None:
        """Re-read ``scheduler/available`` after a 429."""

    @abc.abstractmethod
    def busy(self, email: str, delay: float) -> int:
        """Back off ``email`` after a 429; how many 429s in a row it gave."""

    @abc.abstractmethod
    def held(self) -> dict[str, int]:
        """Slots held now by this process, per account."""

    @abc.abstractmethod
    def peaks(self) -> dict[str, int]:
        """The most slots held at once by this process, per account."""

    def _wake(self) -> None:
        self._freed.set()
        self._freed = anyio.Event()

    def disable(self, email: str, error: PixverseAudioError) -> bool:
        """Take ``email`` out of rotation for requests without an email (596, no credits).

        Returns whether a healthy account remains for them; once none does,
        `acquire` raises ``error`` for such requests instead of waiting.
        """
        account = self._accounts.get(email)
        if account is not None:
            account.disabled = True
        self._disabled_error = error
        self._wake()
        return any(not a.disabled for a in self._accounts.values())

    def succeeded(self, email: str) -> None:
        """A create on ``email`` was accepted: its 429 streak is over."""
        account = self._accounts.get(email)
        if account is not None:
            account.busy_streak = 0

    def _note_busy(self, email: str, delay: float) -> _Account | None:
        account = self._accounts.get(email)
        if account is None:
            return None
        account.busy_streak += 1
        account.blocked_until = anyio.current_time() + delay
        return account


class SlotPool(AccountPool):
    """The slots of every account this client may use, counted in this process."""

    def held(self) -> dict[str, int]:
        """Slots held now, per account."""
        return {email: a.borrowed for email, a in self._accounts.items()}

    def peaks(self) -> dict[str, int]:
        """The most slots held at once, per account."""
        return {email: a.peak for email, a in self._accounts.items()}

    # ------------------------------------------------------------ leasing

    def _pick(self, email: str | None, narrow: int | None) -> _Account | None:
        candidates = [self._account(email)] if email is not None else self._rotation()
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

    async def release(self, lease: Lease) -> None:
        """Give the slot back and wake the waiters."""
        self._accounts[lease.email].limiter.release_on_behalf_of(lease)
        self._wake()

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
        self._wake()

    def busy(self, email: str, delay: float) -> int:
        """After a 429 on ``email`` (its slot already released): back off there.

        The account keeps only the slots this client holds (at least one, to
        probe later) and takes no new job for ``delay`` seconds, or until a
        refresh finds it free. Returns how many 429s in a row it gave.
        """
        account = self._note_busy(email, delay)
        if account is None:
            return 0
        account.limiter.total_tokens = max(1, account.borrowed)
        return account.busy_streak
