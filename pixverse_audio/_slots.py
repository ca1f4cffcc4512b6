"""Job slots per account, mirroring each account's ``maxJobs``: who may start a job where.

A slot is taken before a create and held by the job until it is final (or
released), so the client never asks an account to run more than its
``maxJobs``: no 429s when it is the only user. Waiters are served first come,
first served, by the one account-selection rule (`pixverse_audio._selection`).
A 429 means others use the account too: the pool re-reads
``scheduler/available`` and shrinks that account to what is really free, and
grows it back on later reads.

`AccountPool` holds what every pool shares (learning the accounts, rotation,
429 streaks); `SlotPool` counts slots in this process, and
`pixverse_audio._shared_slots.SharedSlotPool` counts them in Redis.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import anyio
import attrs

from ._duty import Waiter
from ._errors import APIError, ConfigurationError, NotFoundError, PixverseAudioError
from ._ports import Gateway
from ._selection import Want, allocate

__all__ = ["MAX_CAP", "AccountPool", "Lease", "SlotPool", "WaitFn"]

MAX_CAP: Final = 8  # the most jobs useapi.net runs on one account
WaitFn = Callable[[Waiter], Awaitable[None]]


@attrs.define(eq=False)
class Account:
    """What this process knows of one account."""

    email: str
    cap: int  # its maxJobs
    usable: int  # what this process may use now (shrunk after a 429)
    held: int = 0
    peak: int = 0
    blocked_until: float = -math.inf  # after a 429: no new job here before then
    busy_streak: int = 0
    disabled: bool = False  # refused creates (596, no credits): no unpinned jobs here


@attrs.frozen(eq=False)
class Lease:
    """One slot on one account, held by one job (``token`` names it in a shared limiter)."""

    email: str
    token: str = ""


class AccountPool(abc.ABC):
    """What every slot pool shares: the accounts, their caps, rotation and 429 streaks."""

    def __init__(
        self,
        gateway: Gateway,
        configured: int | Mapping[str, int] | None,
        refresh_every: Callable[[], float],
    ) -> None:
        self._gateway = gateway
        self._configured = configured
        self._refresh_every = refresh_every
        self._accounts: dict[str, Account] = {}
        self._loaded = False
        self._load_lock = anyio.Lock()
        self._last_refresh = -math.inf
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
            availability = await self._gateway.availability()
            found = {a.email: a.max_jobs or 1 for a in availability.accounts}
        except APIError:
            found = {}
        if not found:
            try:
                found = {a.email: a.max_jobs or 1 for a in await self._gateway.accounts()}
            except NotFoundError:  # the documented answer when no account is configured
                found = {}
        if not found:
            raise ConfigurationError("no PixVerse account is configured at useapi.net")
        if isinstance(configured, int):
            return dict.fromkeys(found, configured)
        return {email: min(MAX_CAP, max(1, cap)) for email, cap in found.items()}

    def _add(self, email: str, cap: int) -> Account:
        if not 1 <= cap <= MAX_CAP:
            raise ConfigurationError(f"max_jobs[{email!r}] must be within 1..8, not {cap}")
        account = Account(email, cap, cap)
        self._accounts[email] = account
        return account

    def account(self, email: str) -> Account:
        """A known account, or a new one (a request pinned to an unlisted email)."""
        account = self._accounts.get(email)
        if account is None:
            default = self._configured if isinstance(self._configured, int) else 1
            account = self._add(email, default)
        return account

    def _candidates(self, email: str | None) -> list[Account]:
        """The accounts a request may use; raises once no unpinned one is left."""
        if email is not None:
            return [self.account(email)]
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

    def held(self) -> dict[str, int]:
        """Slots held now by this process, per account."""
        return {email: a.held for email, a in self._accounts.items()}

    def peaks(self) -> dict[str, int]:
        """The most slots held at once by this process, per account."""
        return {email: a.peak for email, a in self._accounts.items()}

    def _took(self, email: str) -> None:
        account = self.account(email)
        account.held += 1
        account.peak = max(account.peak, account.held)

    def _gave_back(self, email: str) -> None:
        account = self._accounts.get(email)
        if account is not None:
            account.held = max(0, account.held - 1)

    # ------------------------------------------------------------ 429s, 596s

    def disable(self, email: str, error: PixverseAudioError) -> bool:
        """Take ``email`` out of rotation for requests without an email (596, no credits).

        Returns whether a healthy account remains for them; once none does,
        `acquire` raises ``error`` for such requests instead of waiting.
        """
        account = self._accounts.get(email)
        if account is not None:
            account.disabled = True
        self._disabled_error = error
        self._changed()
        return any(not a.disabled for a in self._accounts.values())

    def succeeded(self, email: str) -> None:
        """A create on ``email`` was accepted: its 429 streak is over."""
        account = self._accounts.get(email)
        if account is not None:
            account.busy_streak = 0

    def busy(self, email: str, delay: float) -> int:
        """After a 429 on ``email`` (its slot given back): take no new job there for ``delay``.

        The account keeps only the slots this process holds (at least one, to
        probe later) until a refresh finds it free. Returns the 429 streak.
        """
        account = self._accounts.get(email)
        if account is None:
            return 0
        account.busy_streak += 1
        account.blocked_until = anyio.current_time() + delay
        account.usable = max(1, account.held)
        self._changed()
        return account.busy_streak

    async def refresh(self) -> None:
        """Re-read ``scheduler/available``: what is really free, and any new ``maxJobs``."""
        self._last_refresh = anyio.current_time()
        try:
            availability = await self._gateway.availability()
        except APIError:
            return
        changed: dict[str, int] = {}
        for entry in availability.accounts:
            account = self._accounts.get(entry.email)
            if account is None:
                continue
            cap = entry.max_jobs
            valid = cap is not None and 1 <= cap <= MAX_CAP
            if self._configured is None and valid and cap != account.cap:
                assert cap is not None  # noqa: S101 - narrowed by `valid`
                account.cap = cap
                changed[entry.email] = cap
            if entry.available is not None:
                account.usable = max(1, min(account.cap, account.held + entry.available))
                if entry.available > 0:
                    account.blocked_until = -math.inf
                    account.busy_streak = 0
        await self._caps_changed(changed)
        self._changed()

    async def _caps_changed(self, caps: Mapping[str, int]) -> None:  # noqa: B027 - a hook
        """Called with the accounts whose ``maxJobs`` a refresh found changed."""

    def _shrunk(self) -> bool:
        return any(a.usable < a.cap for a in self._accounts.values())

    def _next_change(self, now: float) -> float:
        """When waiting acquirers should look again without being woken (seconds)."""
        times = [a.blocked_until - now for a in self._accounts.values() if a.blocked_until > now]
        if self._shrunk():
            times.append(max(0.0, self._last_refresh + self._refresh_every() - now))
        return min(times) if times else math.inf

    async def _refresh_if_due(self) -> None:
        if self._shrunk() and anyio.current_time() - self._last_refresh >= self._refresh_every():
            await self.refresh()

    # ------------------------------------------------------------ leasing

    @abc.abstractmethod
    async def acquire(self, email: str | None, narrow: int | None, wait: WaitFn) -> Lease:
        """Wait in line for a slot (on ``email``, or the least busy account) and take it.

        ``wait`` is how the caller waits (the engine's duty wait).
        """

    @abc.abstractmethod
    async def adopt(self, email: str) -> Lease:
        """A slot for a job already running on ``email`` (followed, not created, here).

        Taken at once, even beyond ``maxJobs``: the job runs whatever we count.
        """

    @abc.abstractmethod
    async def release(self, lease: Lease) -> None:
        """Give the slot back."""

    async def keep_alive(self) -> None:
        """While anyone waits: what a pool must keep doing (a shared one renews leases)."""
        await anyio.sleep_forever()

    def _changed(self) -> None:  # noqa: B027 - a hook
        """Something that may let a waiter in changed."""


@attrs.define(eq=False)
class _Queued:
    ticket: int
    email: str | None
    narrow: int | None
    waiter: Waiter
    granted: str | None = None


class SlotPool(AccountPool):
    """The slots of every account this client may use, counted in this process."""

    def __init__(
        self,
        gateway: Gateway,
        configured: int | Mapping[str, int] | None,
        refresh_every: Callable[[], float],
    ) -> None:
        super().__init__(gateway, configured, refresh_every)
        self._queue: list[_Queued] = []
        self._tickets = itertools.count()

    async def acquire(self, email: str | None, narrow: int | None, wait: WaitFn) -> Lease:
        """Wait in line for a slot (on ``email``, or the least busy account) and take it.

        ``narrow`` (a request's ``max_jobs``) only takes a slot on an account
        running fewer jobs than that.

        Raises:
            PixverseAudioError: ``email`` is ``None`` and every account was
                taken out of rotation (the error that took out the last one).
        """
        entry = _Queued(next(self._tickets), email, narrow, Waiter())
        self._queue.append(entry)  # in line from the call: callers who load first keep their place
        try:
            await self.load()
            self._serve()
            while entry.granted is None:
                self._candidates(email)  # raises once no healthy account is left
                with anyio.move_on_after(self._next_change(anyio.current_time())):
                    await wait(entry.waiter)
                entry.waiter.rearm()
                await self._refresh_if_due()
                self._serve()
        except BaseException:
            if entry in self._queue:
                self._queue.remove(entry)
            if entry.granted is not None:  # granted while being cancelled: give it back
                self._gave_back(entry.granted)
                self._serve()
            raise
        return Lease(entry.granted)

    def _serve(self) -> None:
        """Grant every waiter that can be served now, in order."""
        if not self._queue or not self.is_loaded():
            return
        now = anyio.current_time()
        free = {e: a.usable - a.held for e, a in self._accounts.items()}
        held = {e: a.held for e, a in self._accounts.items()}
        wants = []
        for entry in self._queue:
            try:
                candidates = self._candidates(entry.email)
            except PixverseAudioError:
                entry.waiter.nudge()  # its acquire raises the error
                continue
            usable = tuple(a.email for a in candidates if a.blocked_until <= now)
            for account in candidates:  # a pinned, unlisted account is known now
                free.setdefault(account.email, account.usable - account.held)
                held.setdefault(account.email, account.held)
            wants.append(Want(entry.ticket, usable, entry.narrow))
        grants = allocate(wants, free, held)
        if not grants:
            return
        for entry in list(self._queue):
            email = grants.get(entry.ticket)
            if email is not None:
                self._queue.remove(entry)
                entry.granted = email
                self._took(email)
                entry.waiter.finish()

    def _changed(self) -> None:
        self._serve()
        for entry in self._queue:  # blocked or shrunk accounts: let them look again
            entry.waiter.nudge()

    async def adopt(self, email: str) -> Lease:
        """A slot for a job already running on ``email``, even beyond ``maxJobs``."""
        self._took(email)
        return Lease(email)

    async def release(self, lease: Lease) -> None:
        """Give the slot back and serve the waiters."""
        self._gave_back(lease.email)
        self._serve()
