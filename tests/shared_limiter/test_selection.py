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
    wants = {name: (list(emails), narrow) for name, emails, narrow in case.queue}
    try:
        if case.asks is not None:  # everyone queues while all is full, then asks when woken
            _fill(redis_server, prefix, case, FOREVER)
            for name, (emails, narrow) in wants.items():
                got, _, _ = await limiter._acquire(name, emails, narrow, {}, "wake", "")
                assert got is None
            _fill(redis_server, prefix, case, None)
        grants = {}
        for name in case.asks or list(wants):
            emails, narrow = wants[name]
            got, _, changed = await limiter._acquire(name, emails, narrow, {}, "wake", "")
            assert not changed
            if got is not None:
                grants[name] = got
    finally:
        await limiter.aclose()
    assert grants == case.grants


def _fill(server: RedisServer, prefix: str, case: Case, expiry: int | None) -> None:
    """Hold every free slot with a blocker (``expiry``), or give the blockers back (``None``)."""
    direct = redis.Redis.from_url(server.url)
    try:
        for email, cap in case.caps.items():
            blockers = [f"blocker-{email}-{i}" for i in range(cap - case.held.get(email, 0))]
            if blockers and expiry is None:
                direct.zrem(f"{prefix}:held:{email}", *blockers)
            elif blockers:
                direct.zadd(f"{prefix}:held:{email}", dict.fromkeys(blockers, expiry))
    finally:
        direct.close()
