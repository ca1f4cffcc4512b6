"""generate_many with a RedisLimiter: several clients on the same accounts, in one process.

Each client stands for a worker process (its own limiter, pool and pollers) on
one emulator; the calling code is the same as without a limiter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from pixverse_audio import (
    AsyncClient,
    LimiterError,
    MusicRequest,
    PollPolicy,
    RedisLimiter,
    RetryPolicy,
)
from pixverse_audio.emulator import Emulator, Timing

from ._server import RedisServer, free_port

pytestmark = pytest.mark.anyio

POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=1.0)
FAST_RETRY = RetryPolicy(busy_delay=(0.01, 0.05), backoff_base=0.01, backoff_cap=0.05)
JOB = Timing(queued=(0, 0.05), generating=(0.1, 0.25), audio=(2, 3))


def client_on(emulator: Emulator, limiter: RedisLimiter | None, **kwargs: Any) -> AsyncClient:
    return AsyncClient(
        emulator.token,
        base_url=emulator.base_url,
        transport=emulator.transport(),
        retry=FAST_RETRY,
        poll=POLL,
        limiter=limiter,
        **kwargs,
    )


async def run_workers(clients: Sequence[AsyncClient], jobs_each: int) -> list[list[Any]]:
    """Every client runs its own batch at the same time; the results per client."""
    results: list[list[Any]] = [[] for _ in clients]

    async def work(n: int, client: AsyncClient) -> None:
        requests = [MusicRequest(prompt=f"worker {n} job {i}") for i in range(jobs_each)]
        async with client, client.music.generate_many(requests, timeout=60) as batch:
            async for result in batch:
                results[n].append(result)

    with anyio.fail_after(90):
        async with anyio.create_task_group() as group:
            for n, client in enumerate(clients):
                group.start_soon(work, n, client)
    return results


async def test_workers_sharing_redis_stay_within_max_jobs_with_no_429(
    redis_server: RedisServer, namespace: str
) -> None:
    """Three workers x 16 jobs on 2 accounts x maxJobs 2: never more than 2, no 429, all done."""
    emulator = Emulator(accounts=2, max_jobs=2, music_timing=JOB, seed=3)
    clients = [
        client_on(emulator, RedisLimiter(redis_server.url, namespace=namespace, poll=0.5))
        for _ in range(3)
    ]
    results = await run_workers(clients, 16)
    stats = emulator.stats()
    assert [len(r) for r in results] == [16, 16, 16]
    assert all(r.ok for rs in results for r in rs), [r.error for rs in results for r in rs]
    assert stats.busy == 0
    assert max(stats.peak_running.values()) == 2
    assert stats.jobs == 48  # each job created once
    prompts = [job.prompt for job in emulator.jobs.values()]
    assert len(set(prompts)) == 48


async def test_without_the_shared_limiter_the_same_workers_meet_429s() -> None:
    """The control: in-memory limiters each believe they own every slot."""
    emulator = Emulator(accounts=2, max_jobs=2, music_timing=JOB, seed=3)
    clients = [client_on(emulator, None) for _ in range(3)]
    results = await run_workers(clients, 16)
    assert all(r.ok for rs in results for r in rs)
    assert emulator.stats().busy > 0


async def test_a_new_max_jobs_read_by_one_worker_applies_to_all(
    redis_server: RedisServer, namespace: str
) -> None:
    """A client that loads the accounts publishes their maxJobs as the shared capacity."""
    emulator = Emulator(accounts=1, max_jobs=3, music_timing=JOB)
    limiter = RedisLimiter(redis_server.url, namespace=namespace)
    async with client_on(emulator, limiter) as first:
        await first._scheduler.pool.load()
        assert {u.max_jobs for u in (await limiter.usage()).values()} == {3}
    emulator.state.accounts["account1@emulator.test"].max_jobs = 1  # changed at useapi.net
    second_limiter = RedisLimiter(redis_server.url, namespace=namespace)
    async with client_on(emulator, second_limiter) as second:
        await second._scheduler.pool.load()
        assert {u.max_jobs for u in (await second_limiter.usage()).values()} == {1}


async def test_an_unreachable_redis_fails_the_batch_and_creates_nothing() -> None:
    """The batch ends with LimiterError (its accounts cannot be shared); no create was sent."""
    emulator = Emulator(accounts=1, max_jobs=2, music_timing=JOB)
    limiter = RedisLimiter(
        f"redis://127.0.0.1:{free_port()}/0", unavailable_timeout=0.2, operation_timeout=0.5
    )
    requests = [MusicRequest(prompt=f"job {i}") for i in range(3)]
    results: list[object] = []

    async def run_batch(client: AsyncClient) -> None:
        async with client.music.generate_many(requests) as batch:
            results.extend([r async for r in batch])

    async with client_on(emulator, limiter) as client:
        with anyio.fail_after(30), pytest.raises(LimiterError, match=r"127\.0\.0\.1"):
            await run_batch(client)
    assert not results
    assert emulator.stats().jobs == 0
    assert emulator.stats().requests.get("music.create", 0) == 0


async def test_a_refreshed_max_jobs_is_shared_and_an_impossible_one_ignored(
    redis_server: RedisServer, namespace: str
) -> None:
    """After a 429 the client re-reads maxJobs: a new one (1..8) becomes everyone's."""
    emulator = Emulator(accounts=1, max_jobs=3, music_timing=JOB)
    email = "account1@emulator.test"
    limiter = RedisLimiter(redis_server.url, namespace=namespace)
    async with client_on(emulator, limiter) as client:
        pool = client._scheduler.pool
        await pool.load()
        emulator.state.accounts[email].max_jobs = 2
        await pool.refresh()
        assert (await limiter.usage())[email].max_jobs == 2
        emulator.state.accounts[email].max_jobs = 10  # not a maxJobs useapi.net allows
        await pool.refresh()
        assert (await limiter.usage())[email].max_jobs == 2
        assert pool.capacity() == 2
