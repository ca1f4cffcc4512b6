"""How `RedisLimiter` talks to Redis: the ``redis`` package, asyncio or threads.

On asyncio the calls go through the ``redis`` package's asyncio client; on trio,
through its blocking client in worker threads (``anyio.to_thread``), since the
asyncio client needs an asyncio loop. Both come with the ``redis`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio

from . import _redis_scripts as scripts
from ._errors import ConfigurationError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["Backend", "import_redis", "pick_backend"]

SCRIPTS: Final = {
    "acquire": scripts.ACQUIRE,
    "adopt": scripts.ADOPT,
    "release": scripts.RELEASE,
    "leave": scripts.LEAVE,
    "renew": scripts.RENEW,
    "set_caps": scripts.SET_CAPS,
    "usage": scripts.USAGE,
}


class Backend(Protocol):
    """What the limiter needs of a Redis connection."""

    async def script(self, name: str, prefix: str, args: Sequence[str | int]) -> Any: ...

    async def pop(self, key: str, timeout: float) -> bytes | None: ...

    async def aclose(self) -> None: ...


class _AsyncioBackend:
    """The ``redis`` package's asyncio client (asyncio only)."""

    def __init__(self, redis: ModuleType, url: str, timeout: float, pop_timeout: float) -> None:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff

        def connect(socket_timeout: float) -> Any:
            return redis.asyncio.Redis.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=timeout,
                retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),  # we retry
            )

        self._client = connect(timeout)
        self._blocking = connect(pop_timeout)  # blocking pops need a longer socket timeout
        self._scripts = {name: self._client.register_script(lua) for name, lua in SCRIPTS.items()}

    async def script(self, name: str, prefix: str, args: Sequence[str | int]) -> Any:
        return await self._scripts[name](keys=[prefix], args=list(args))

    async def pop(self, key: str, timeout: float) -> bytes | None:
        popped = await self._blocking.blpop([key], timeout=timeout)
        return None if popped is None else popped[1]

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._blocking.aclose()


class _ThreadBackend:
    """The ``redis`` package's blocking client, called from worker threads (trio).

    Scripts are short; the one blocking pop per pool (its wake-up list) holds
    one thread at a time.
    """

    def __init__(self, redis: ModuleType, url: str, timeout: float, pop_timeout: float) -> None:
        import redis.backoff
        import redis.retry

        def connect(socket_timeout: float) -> Any:
            return redis.Redis.from_url(
                url,
                socket_timeout=socket_timeout,  # a thread cannot be cancelled: this bounds it
                socket_connect_timeout=timeout,
                retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),  # we retry
            )

        self._client = connect(timeout)
        self._blocking = connect(pop_timeout)  # blocking pops need a longer socket timeout
        self._scripts = {name: self._client.register_script(lua) for name, lua in SCRIPTS.items()}

    async def script(self, name: str, prefix: str, args: Sequence[str | int]) -> Any:
        call = partial(self._scripts[name], keys=[prefix], args=list(args))
        return await anyio.to_thread.run_sync(call)

    async def pop(self, key: str, timeout: float) -> bytes | None:
        # A cancelled pop leaves its thread to finish (at most `timeout`); what
        # it pops then is lost, which the waiters' fallback poll covers.
        call = partial(self._blocking.blpop, [key], timeout=timeout)
        popped = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        return None if popped is None else popped[1]

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._client.close)
        await anyio.to_thread.run_sync(self._blocking.close)


def pick_backend(
    redis: ModuleType, url: str, timeout: float, pop_timeout: float, *, asyncio: bool
) -> Backend:
    """The asyncio client on asyncio, the blocking one in threads elsewhere (trio)."""
    if asyncio:
        return _AsyncioBackend(redis, url, timeout, pop_timeout)
    return _ThreadBackend(redis, url, timeout, pop_timeout)


def import_redis() -> ModuleType:
    """The ``redis`` package, or a `ConfigurationError` naming the extra."""
    try:
        import redis
        import sniffio  # noqa: F401 - needed to pick the backend
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            'RedisLimiter needs the redis extra: pip install "pixverse-audio[redis]"'
        ) from None
    return redis
