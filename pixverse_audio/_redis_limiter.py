"""`RedisLimiter`: each account's ``maxJobs`` shared by every process that uses it.

The engine's slots normally live in one process. Worker processes on several
machines drawing on the same accounts each believe they own every slot and
together overrun ``maxJobs``. With ``AsyncClient(limiter=RedisLimiter(url))``
the slots live in Redis instead: per-account counting semaphores whose slots are
leases (a key with a TTL the holder renews while its job runs, so a crashed
worker's slots come back), granted first come first served, woken by a blocking
pop rather than a busy loop (with a bounded fallback poll). The Lua scripts are
in `pixverse_audio._redis_scripts`.

How it talks to Redis (asyncio client, or threads on trio) is in
`pixverse_audio._redis_backends`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import anyio
import attrs

from ._errors import ConfigurationError, LimiterError
from ._logging import redact_url
from ._redis_backends import Backend, import_redis, pick_backend

__all__ = ["RedisLimiter", "SlotUsage"]

_SCHEMES: Final = ("redis", "rediss", "unix")


@attrs.frozen(kw_only=True)
class SlotUsage:
    """One account's shared slots as Redis holds them now.

    Attributes:
        max_jobs: The shared capacity (the account's ``maxJobs``).
        held: Slots held by live leases, over every process.
    """

    max_jobs: int
    held: int


@attrs.define(eq=False)
class _Outage:
    """Redis stopped answering: one caller retries, the others wait for the verdict."""

    deadline: float
    over: anyio.Event = attrs.field(factory=anyio.Event)
    recovered: bool = False
    abandoned: bool = False  # its prober was cancelled


class RedisLimiter:
    """Share each account's ``maxJobs`` between processes and machines, through Redis.

    Pass it to the client; the calling code does not change::

        client = AsyncClient(limiter=RedisLimiter("redis://cache:6379/0", namespace="pixverse"))
        async with client.music.generate_many(requests) as results:
            ...

    Every client using the same Redis and ``namespace`` draws on one pool of
    slots per account: together they never run more than its ``maxJobs``.
    A slot is a lease renewed every ``lease_ttl / 3`` seconds while its job
    runs; a worker that dies without releasing its slots loses them after
    ``lease_ttl``. Waiters are served first come first served and woken by a
    blocking pop when a slot frees, with a fallback poll every ``poll`` seconds.
    The shared capacity is the account's ``maxJobs`` as the clients read it
    (or their ``max_jobs=``); a client that reads a new ``maxJobs`` (on
    start-up or after a 429) or `set_capacity` updates it for everyone at once.

    Every generating call of the client takes its slots here: ``create``,
    ``generate``, ``wait`` and ``generate_many``, music and speech.

    If Redis cannot be reached, one slot request keeps trying for
    ``unavailable_timeout`` seconds (the others wait for its verdict), then they
    fail with `LimiterError` (no job is created), and for as long again later
    requests try once. A release or renewal that fails is logged; the lease
    expires. After Redis lost its data (a restart), each client puts its leases
    back before taking another slot, and no slot is granted for a renewal
    period (``lease_ttl / 3 + operation_timeout``) so that all can.

    The client that is given the limiter closes it in `AsyncClient.aclose`. One
    limiter serves one event loop (one ``anyio.run``); it needs the ``redis``
    extra (``pip install "pixverse-audio[redis]"``).

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL (a password in it
            is never logged or shown).
        namespace: Keys are ``{namespace}:...``; clients sharing it share slots.
        lease_ttl: Seconds a slot outlives its last renewal.
        poll: Most seconds a waiter sleeps without a wake-up before asking again.
        unavailable_timeout: Seconds a slot request retries an unreachable Redis.
        operation_timeout: Seconds one Redis call may take.

    Attributes:
        round_trips: Calls sent to Redis so far (scripts and blocking pops).
        recoveries: Times Redis answered again after calls to it had failed.

    Raises:
        ConfigurationError: A bad URL or setting, or the ``redis`` extra is not
            installed.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        namespace: str = "pixverse",
        lease_ttl: float = 30.0,
        poll: float = 2.0,
        unavailable_timeout: float = 10.0,
        operation_timeout: float = 5.0,
    ) -> None:
        self._redis = import_redis()
        if "://" not in url or url.split("://", 1)[0] not in _SCHEMES:
            raise ConfigurationError("url must be a redis://, rediss:// or unix:// URL")
        try:
            self._redis.connection.parse_url(url)
        except Exception:  # its message may quote the URL, password and all
            raise ConfigurationError(
                "url is not a valid Redis URL (characters such as / @ : in a password "
                "must be percent-encoded)"
            ) from None
        if not namespace or not namespace.isprintable() or any(c in namespace for c in "{} "):
            raise ConfigurationError(
                "namespace must be printable, non-empty, without spaces or braces"
            )
        for name, value in (
            ("lease_ttl", lease_ttl),
            ("poll", poll),
            ("unavailable_timeout", unavailable_timeout),
            ("operation_timeout", operation_timeout),
        ):
            if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if lease_ttl < 1.0:
            raise ConfigurationError("lease_ttl must be at least 1 second")
        if poll >= lease_ttl:
            raise ConfigurationError("poll must be shorter than lease_ttl")
        self._url = url
        self._shown_url = redact_url(url)
        self.namespace = namespace
        self.lease_ttl = float(lease_ttl)
        self.poll = float(poll)
        self.unavailable_timeout = float(unavailable_timeout)
        self.operation_timeout = float(operation_timeout)
        self._prefix = "{" + namespace + "}"
        self._backend: Backend | None = None
        self._library: str | None = None
        self.recoveries = 0  # times Redis answered again after failing
        self.round_trips = 0  # calls sent to Redis (scripts and blocking pops)
        self._outage: _Outage | None = None  # Redis stopped answering; one caller probes
        self._down_until = -math.inf  # after an outage outlived the timeout: fail at once

    def __repr__(self) -> str:
        return f"<RedisLimiter url={self._shown_url!r} namespace={self.namespace!r}>"

    # ------------------------------------------------------------ plumbing

    def _ensure_backend(self) -> Backend:
        import sniffio

        library = sniffio.current_async_library()
        if self._backend is not None:
            if library != self._library:
                raise ConfigurationError(
                    f"this RedisLimiter was first used on {self._library}, not {library}"
                )
            return self._backend
        timeout, pop_timeout = self.operation_timeout, self.operation_timeout + self.poll
        self._backend = pick_backend(
            self._redis, self._url, timeout, pop_timeout, asyncio=library == "asyncio"
        )
        self._library = library
        return self._backend

    async def _script(self, name: str, args: Sequence[str | int], *, retry: bool = True) -> Any:
        """Run one script (each attempt shielded, so its effect is known).

        An unreachable Redis is retried for ``unavailable_timeout`` by one
        caller at a time (the others wait for its verdict); after it gave up,
        calls fail at once for that long. Errors that retrying cannot cure
        (a wrong password, a refused script) fail at once.
        """
        backend = self._ensure_backend()
        delay = 0.05
        mine: _Outage | None = None  # the outage this call is probing, if any
        again = True  # a call without retries still gets one immediate second try
        while True:
            self.round_trips += 1
            try:
                with anyio.CancelScope(shield=True), anyio.fail_after(self.operation_timeout):
                    result = await backend.script(name, self._prefix, args)
            except Exception as exc:
                now = anyio.current_time()
                transient = self._transient(exc)
                if transient and not retry and again:
                    again = False  # e.g. a pooled connection a restart closed
                    continue
                if not transient or not retry or now < self._down_until:
                    if mine is not None:
                        self._end_outage(mine)
                    raise self._error(exc) from exc
                outage = self._outage
                if outage is not None and outage is not mine and outage.deadline <= now:
                    self._end_outage(outage)  # a stale one: its prober is gone
                    outage = None
                if outage is not None and outage is not mine:
                    with anyio.move_on_after(max(0.0, outage.deadline - now)):
                        await outage.over.wait()  # cancellable: nothing is pending
                    if outage.recovered or outage.abandoned:
                        continue
                    raise self._error(exc) from exc
                if outage is None:
                    outage = mine = self._outage = _Outage(now + self.unavailable_timeout)
                if now + delay > outage.deadline:
                    self._end_outage(outage)
                    self._down_until = now + self.unavailable_timeout
                    raise self._error(exc) from exc
                try:
                    await anyio.sleep(delay)  # cancellable between attempts
                except BaseException:
                    outage.abandoned = True  # another caller takes over the probing
                    self._end_outage(outage)
                    raise
                delay = min(delay * 2, 1.0)
                continue
            if self._outage is not None:
                self._outage.recovered = True
                self._end_outage(self._outage)
                self.recoveries += 1
            self._down_until = -math.inf
            return result

    def _end_outage(self, outage: _Outage) -> None:
        if self._outage is outage:
            self._outage = None
        outage.over.set()

    def _transient(self, exc: Exception) -> bool:
        errors = self._redis.exceptions
        if isinstance(exc, errors.AuthenticationError):
            return False
        return isinstance(exc, (errors.ConnectionError, errors.TimeoutError, TimeoutError, OSError))

    def _error(self, exc: Exception) -> LimiterError:
        return LimiterError(
            f"the shared limiter at {self._shown_url} is unavailable: {type(exc).__name__}: {exc}"
        )

    # ------------------------------------------------------------ slots (engine)

    async def _acquire(
        self,
        ticket: str,
        emails: Sequence[str],
        narrow: int | None,
        caps: Mapping[str, int],
        wake: str,
        epoch: str,
    ) -> tuple[str | None, str, bool]:
        """Ask for a slot: (the account granted or None, Redis's epoch, whether it changed)."""
        want: dict[str, Any] = {"e": list(emails), "w": wake}
        if narrow is not None:
            want["n"] = narrow
        account, now_epoch, changed = await self._script(
            "acquire",
            [
                ticket,
                json.dumps(want),
                _ms(self.lease_ttl),
                _ms(self._waiter_ttl),
                json.dumps(dict(caps)),
                epoch,
                _ms(self._recovery),
                _ms(self._wake_grace),
            ],
        )
        return _text(account) or None, _text(now_epoch), bool(changed)

    async def _pop(self, wake: str, timeout: float) -> tuple[str | None, bool]:
        """Block until a ticket id arrives on the ``wake`` list, or ``timeout``.

        Returns the ticket (or None) and whether Redis answered: a failed pop
        (a restart drops the connection) is worth a renewal soon.
        """
        backend = self._ensure_backend()
        self.round_trips += 1
        try:
            popped = await backend.pop(f"{self._prefix}:wake:{wake}", max(0.01, timeout))
        except Exception as exc:
            if not isinstance(exc, (self._redis.exceptions.RedisError, OSError)):
                raise
            await anyio.sleep(min(timeout, 0.5))  # the waiters' own polls carry on
            return None, False
        return (None if popped is None else _text(popped)), True

    async def _leave(self, ticket: str) -> None:
        await self._script("leave", [ticket, _ms(self._wake_grace)], retry=False)

    async def _adopt(self, email: str, lease: str) -> None:
        await self._script("adopt", [email, lease, _ms(self.lease_ttl), 1], retry=False)

    async def _release(self, email: str, lease: str) -> bool:
        return bool(
            await self._script("release", [email, lease, _ms(self._wake_grace)], retry=False)
        )

    async def _renew(
        self, leases: Sequence[tuple[str, str]], epoch: str, caps: Mapping[str, int]
    ) -> tuple[int, str, bool]:
        """Extend ``leases``: (how many were missing, the epoch, whether they were put back).

        ``caps`` are written where none is set if Redis lost its data.
        """
        args: list[str | int] = [
            _ms(self.lease_ttl),
            epoch,
            _ms(self._recovery),
            json.dumps(dict(caps)),
        ]
        for email, lease in leases:
            args += [email, lease]
        lost, now_epoch, restored = await self._script("renew", args, retry=False)
        return int(lost), _text(now_epoch), bool(restored)

    @property
    def _waiter_ttl(self) -> float:
        # Longer than the most a live waiter can go between two acquires.
        return 2 * self.poll + self.unavailable_timeout + 2 * self.operation_timeout

    @property
    def _wake_grace(self) -> float:
        # How long a woken waiter has to ask again before it leaves the line.
        return 2 * self.poll + 2 * self.operation_timeout

    @property
    def _recovery(self) -> float:
        # After a restart, no grants for a renewal period: holders restore first.
        return self.lease_ttl / 3 + self.operation_timeout

    # ------------------------------------------------------------ public

    async def set_capacity(self, capacities: Mapping[str, int]) -> None:
        """Set accounts' shared capacity (``maxJobs``, 1..8) for every client now.

        Raises:
            ConfigurationError: A capacity outside 1..8.
            LimiterError: Redis could not be reached.
        """
        args: list[str | int] = [_ms(self._wake_grace)]
        for email, cap in capacities.items():
            if isinstance(cap, bool) or not 1 <= cap <= 8:
                raise ConfigurationError(f"max_jobs for {email} must be within 1..8, not {cap!r}")
            args += [email, cap]
        if len(args) > 1:
            await self._script("set_caps", args)

    async def usage(self) -> dict[str, SlotUsage]:
        """Every account's shared capacity and the slots held now, over all clients.

        Raises:
            LimiterError: Redis could not be reached.
        """
        accounts, _ = await self._usage()
        return accounts

    async def _usage(self) -> tuple[dict[str, SlotUsage], int]:
        flat = await self._script("usage", [])
        accounts = {
            _text(flat[i]): SlotUsage(max_jobs=int(flat[i + 1]), held=int(flat[i + 2]))
            for i in range(0, len(flat) - 1, 3)
        }
        return accounts, int(flat[-1])

    async def aclose(self) -> None:
        """Close the connections to Redis (the client that was given the limiter does this)."""
        backend, self._backend, self._library = self._backend, None, None
        if backend is not None:
            with anyio.CancelScope(shield=True):
                await backend.aclose()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
