"""The Redis scripts choose accounts by the same rule as the in-memory pool.

The shared table (`tests/engine/selection_cases.py`) is replayed in Redis: the
capacities and held slots are written, then each waiter of the queue asks in
turn (as waiting processes would); the accounts granted must be the table's.
"""

from __future__ import annotations

import pytest
import redis
from engine.selection_cases import Case, as_params

from pixverse_audio import RedisLimiter

from ._server import RedisServer

pytestmark = pytest.mark.anyio

FOREVER = 10**13  # a lease expiry (ms) far beyond any test


@pytest.mark.parametrize("case", as_params())
async def test_redis_follows_the_table(
    case: Case, redis_server: RedisServer, namespace: str
) -> None:
    """Each case of the shared table gets exactly the grants it lists, in Redis."""
    prefix = "{" + namespace + "}"
    direct = redis.Redis.from_url(redis_server.url)
    try:
        for email, cap in case.caps.items():
            direct.hset(f"{prefix}:caps", email, cap)
        for email, count in case.held.items():
            for i in range(count):
                direct.zadd(f"{prefix}:held:{email}", {f"held-{email}-{i}": FOREVER})
    finally:
        direct.close()
    limiter = RedisLimiter(redis_server.url, namespace=namespace, poll=0.5)
    try:
        grants = {}
        for name, emails, narrow in case.queue:
            got, _, changed = await limiter._acquire(name, list(emails), narrow, {}, "wake", "")
            assert not changed
            if got is not None:
                grants[name] = got
    finally:
        await limiter.aclose()
    assert grants == case.grants
