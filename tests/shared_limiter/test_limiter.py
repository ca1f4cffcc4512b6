"""RedisLimiter against a real redis-server: shared counts, leases, fairness, wake-ups, failures.

Each "process" here is its own client, limiter and pool, as separate worker
processes would have; they meet only in Redis. Slots are asked for as the engine
asks: ``pool.acquire(email, narrow, duty.wait)``, so a waiting task runs its
client's service (the pool's renewals and wake-ups) while nobody else does.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping

import anyio
import httpx
import pytest

from pixverse_audio import AsyncClient, ConfigurationError, LimiterError, RedisLimiter, SlotUsage
from pixverse_audio._duty import Duty, Waiter
from pixverse_audio._shared_slots import SharedSlotPool
from pixverse_audio._slots import Lease

from ._server import RedisServer, free_port

pytestmark = pytest.mark.anyio

A, B = "a@example.test", "b@example.test"


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no HTTP request expected: {request.url}")


class Worker:
    """One simulated process: a client (no HTTP), a limiter and its shared pool."""

    def __init__(self, url: str, namespace: str, caps: Mapping[str, int], **settings: float):
        settings.setdefault("poll", 0.5)
        self.limiter = RedisLimiter(url, namespace=namespace, **settings)
        self.client = AsyncClient(
            "token",
            transport=httpx.MockTransport(refuse),
            max_jobs=dict(caps),
            limiter=self.limiter,
        )
        pool = self.client._scheduler.pool
        assert isinstance(pool, SharedSlotPool)
        self.pool = pool

    @property
    def duty(self) -> Duty:
        """The client's duty: whoever waits in it runs the pool's keep_alive."""
        return self.client._scheduler.duty

    async def acquire(self, email: str | None = None, narrow: int | None = None) -> Lease:
        """A slot, asked for as the scheduler asks (waiting through the duty)."""
        return await self.pool.acquire(email, narrow, self.duty.wait)

    async def drive(self) -> None:
        """Wait in the duty for good, as a task waiting for a running job does."""
        await self.duty.wait(Waiter())

    async def aclose(self) -> None:
        await self.client.aclose()  # closes the limiter too


@pytest.fixture
async def workers(redis_server: RedisServer, namespace: str) -> AsyncIterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for worker in made:
        await worker.aclose()


def make(
    workers: list[Worker],
    server: RedisServer,
    namespace: str,
    caps: Mapping[str, int],
    **settings: float,
) -> Worker:
    worker = Worker(server.url, namespace, caps, **settings)
    workers.append(worker)
    return worker


async def waiting(limiter: RedisLimiter) -> int:
    _, queued = await limiter._usage()
    return queued


@contextlib.asynccontextmanager
async def keeping_alive(*workers: Worker) -> AsyncIterator[None]:
    """The pools' keep_alive loops (renewals, wake-ups), as a running batch has them.

    Each worker's duty is taken by a task waiting for good (as one waiting for a
    running job would): it runs the client's service, so the pool's own waiters
    stand by in the duty rather than run a second keep_alive.
    """
    async with anyio.create_task_group() as group:
        for worker in workers:
            group.start_soon(worker.drive)
        with anyio.fail_after(5):
            while not all(w.duty.running for w in workers):  # noqa: ASYNC110 - set by the tasks
                await anyio.sleep(0.01)
        yield
        group.cancel_scope.cancel()


async def take_into(got: list[Lease], worker: Worker, email: str | None = None) -> None:
    """Wait for a slot (as a background task) and keep it in ``got``."""
    got.append(await worker.acquire(email))


async def wait_for_waiters(limiter: RedisLimiter, count: int) -> None:
    with anyio.fail_after(5):
        while await waiting(limiter) != count:  # noqa: ASYNC110 - the state is in Redis
            await anyio.sleep(0.01)


async def test_processes_together_never_exceed_each_accounts_capacity(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """Three pools, 60 jobs, caps 2 and 1: at no moment more than the cap in use."""
    caps = {A: 2, B: 1}
    processes = [make(workers, redis_server, namespace, caps) for _ in range(3)]
    in_use: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    done = 0
    rng = random.Random(7)

    async def job(worker: Worker) -> None:
        nonlocal done
        lease = await worker.acquire()
        in_use[lease.email] += 1
        peak[lease.email] = max(peak[lease.email], in_use[lease.email])
        await anyio.sleep(rng.uniform(0, 0.02))
        in_use[lease.email] -= 1
        await worker.pool.release(lease)
        done += 1

    with anyio.fail_after(30):
        async with keeping_alive(*workers), anyio.create_task_group() as group:
            for i in range(60):
                group.start_soon(job, processes[i % 3])
    assert done == 60
    assert peak == {A: 2, B: 1}
    usage = await workers[0].limiter.usage()
    assert usage == {A: SlotUsage(max_jobs=2, held=0), B: SlotUsage(max_jobs=1, held=0)}
    assert await waiting(workers[0].limiter) == 0


async def test_waiters_are_served_first_come_first_served(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """With one slot, waiters from different processes get it in the order they asked."""
    holder = make(workers, redis_server, namespace, {A: 1})
    lease = await holder.acquire()
    order: list[int] = []

    async def wait_turn(worker: Worker, n: int) -> None:
        got = await worker.acquire()
        order.append(n)
        await anyio.sleep(0.01)
        await worker.pool.release(got)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for n in range(5):
                worker = make(workers, redis_server, namespace, {A: 1})
                group.start_soon(wait_turn, worker, n)
                await wait_for_waiters(holder.limiter, n + 1)  # queued in this order
            await holder.pool.release(lease)
    assert order == [0, 1, 2, 3, 4]


async def test_a_release_wakes_the_next_waiter_without_waiting_for_the_poll(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """The fallback poll is 10 s here: only the blocking-pop wake-up can be this quick."""
    first = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    second = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    lease = await first.acquire()
    got: list[Lease] = []

    with anyio.fail_after(5):
        async with keeping_alive(first, second), anyio.create_task_group() as group:
            group.start_soon(take_into, got, second)
            await wait_for_waiters(first.limiter, 1)
            assert not got
            await first.pool.release(lease)
    assert got[0].email == A
    assert got[0].token != lease.token


async def test_a_crashed_holders_slot_comes_back_after_the_lease_ttl(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """A holder that neither renews nor releases loses the slot after lease_ttl."""
    crashed = make(workers, redis_server, namespace, {A: 1}, lease_ttl=1.0, poll=0.2)
    other = make(workers, redis_server, namespace, {A: 1}, lease_ttl=1.0, poll=0.2)
    await crashed.acquire()  # never released, never renewed
    with anyio.move_on_after(0.3) as early:
        await other.acquire()
    assert early.cancelled_caught  # still held within the TTL
    with anyio.fail_after(1.0 + 0.2 + 3):  # TTL + poll + slack
        lease = await other.acquire()
    assert lease.email == A
    assert (await other.limiter.usage())[A].held == 1


async def test_renewed_leases_outlive_their_ttl(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """keep_alive renews every third of the TTL: the slot stays taken long past it."""
    holder = make(workers, redis_server, namespace, {A: 1}, lease_ttl=1.0, poll=0.2)
    other = make(workers, redis_server, namespace, {A: 1}, lease_ttl=1.0, poll=0.2)
    await holder.acquire()
    async with keeping_alive(holder):  # someone waits on the holder's client
        with anyio.move_on_after(2.5) as waited:
            await other.acquire()
    assert waited.cancelled_caught
    assert (await other.limiter.usage())[A].held == 1


async def test_a_cancelled_waiter_leaves_the_queue_and_blocks_nobody(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """A waiter cancelled in line is removed at once; the next one gets the slot."""
    holder = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    quitter = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    patient = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    lease = await holder.acquire()
    with anyio.move_on_after(0.3):
        await quitter.acquire()
    assert await waiting(holder.limiter) == 0
    got: list[Lease] = []

    with anyio.fail_after(5):
        async with keeping_alive(holder, patient), anyio.create_task_group() as group:
            group.start_soon(take_into, got, patient)
            await wait_for_waiters(holder.limiter, 1)
            await holder.pool.release(lease)
    assert len(got) == 1
    assert quitter.pool.held() == {A: 0}


async def test_a_new_capacity_applies_to_every_process_at_once(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """set_capacity raises the shared cap and wakes who now fits; lowering it holds back."""
    one = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    two = make(workers, redis_server, namespace, {A: 1}, poll=10.0)
    await one.acquire()
    got: list[Lease] = []

    with anyio.fail_after(5):
        async with keeping_alive(one, two), anyio.create_task_group() as group:
            group.start_soon(take_into, got, two)
            await wait_for_waiters(one.limiter, 1)
            await one.limiter.set_capacity({A: 2})  # woken by the change, not the poll
    assert (await two.limiter.usage())[A] == SlotUsage(max_jobs=2, held=2)
    await two.limiter.set_capacity({A: 1})  # lower than what is held: nobody new gets in
    with anyio.move_on_after(0.5) as blocked:
        await one.acquire()
    assert blocked.cancelled_caught
    with pytest.raises(ConfigurationError, match=r"1\.\.8"):
        await one.limiter.set_capacity({A: 9})


async def test_a_narrowed_request_waits_while_the_account_runs_that_many(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """narrow counts every process's jobs on the account, not only this one's."""
    one = make(workers, redis_server, namespace, {A: 3})
    two = make(workers, redis_server, namespace, {A: 3})
    await one.acquire()
    with anyio.move_on_after(0.4) as blocked:
        await two.acquire(narrow=1)
    assert blocked.cancelled_caught
    with anyio.fail_after(2):
        lease = await two.acquire(narrow=2)
    assert lease.email == A


async def test_pinned_requests_take_only_their_account_and_do_not_hold_back_others(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """A waiter for a full account does not stand in the way of one for a free account."""
    one = make(workers, redis_server, namespace, {A: 1, B: 1})
    two = make(workers, redis_server, namespace, {A: 1, B: 1})
    assert (await one.acquire(A)).email == A
    pinned: list[Lease] = []

    async with anyio.create_task_group() as group:
        group.start_soon(take_into, pinned, two, A)
        await wait_for_waiters(one.limiter, 1)
        with anyio.fail_after(2):
            assert (await two.acquire()).email == B  # goes past the pinned waiter
        group.cancel_scope.cancel()
    assert not pinned


async def test_unreachable_redis_fails_clearly_after_the_unavailable_timeout() -> None:
    """No Redis: LimiterError (a PixverseAudioError) naming the host, not the password."""
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    worker = Worker(url, "nowhere", {A: 1}, unavailable_timeout=0.3, operation_timeout=0.5)
    try:
        with anyio.fail_after(10), pytest.raises(LimiterError) as caught:
            await worker.acquire()
    finally:
        await worker.aclose()
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert "hunter2" not in message
    assert "hunter2" not in repr(worker.limiter)


async def test_leases_are_taken_back_after_redis_loses_them(
    workers: list[Worker], own_redis: RedisServer, namespace: str
) -> None:
    """A Redis restart empties it; the holders' next renewal puts their slots back."""
    holder = make(workers, own_redis, namespace, {A: 1}, poll=0.2)
    await holder.acquire()
    own_redis.stop()
    own_redis.start()
    assert (await holder.limiter.usage()) == {}  # nothing survived the restart
    await holder.pool._renew()  # sees another epoch: puts its lease back
    other = make(workers, own_redis, namespace, {A: 1}, poll=0.2)
    with anyio.move_on_after(0.5) as blocked:
        await other.acquire()  # writes the cap back; the renewed lease fills it
    assert blocked.cancelled_caught
    assert (await holder.limiter.usage()) == {A: SlotUsage(max_jobs=1, held=1)}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "http://localhost"}, "redis://"),
        ({"url": "localhost:6379"}, "redis://"),
        ({"namespace": ""}, "namespace"),
        ({"namespace": "a{b}"}, "namespace"),
        ({"lease_ttl": 0.5}, "lease_ttl"),
        ({"lease_ttl": float("nan")}, "lease_ttl"),
        ({"poll": 0}, "poll"),
        ({"poll": 40.0}, "poll"),
        ({"unavailable_timeout": -1}, "unavailable_timeout"),
    ],
)
def test_bad_settings_are_refused_at_construction(kwargs: dict[str, object], match: str) -> None:
    """Every setting is checked before anything connects."""
    with pytest.raises(ConfigurationError, match=match):
        RedisLimiter(**kwargs)  # type: ignore[arg-type]


def test_the_client_takes_only_a_redis_limiter() -> None:
    """limiter= is checked at construction."""
    with pytest.raises(ConfigurationError, match="RedisLimiter"):
        AsyncClient("token", limiter="redis://localhost")  # type: ignore[arg-type]


async def test_a_holder_puts_its_leases_back_before_taking_more_after_a_restart(
    workers: list[Worker], own_redis: RedisServer, namespace: str
) -> None:
    """The first acquire after a restart learns of it and restores the running jobs' slots.

    It then waits out the recovery window (a renewal period: 0.5 + 0.3 s here),
    in which nobody is granted a slot, so that every holder can restore first.
    """
    holder = make(
        workers, own_redis, namespace, {A: 2}, poll=0.2, lease_ttl=1.5, operation_timeout=0.3
    )
    await holder.acquire()
    own_redis.stop()
    own_redis.start()
    await holder.acquire()  # restores the first lease, then takes the second slot
    assert (await holder.limiter.usage()) == {A: SlotUsage(max_jobs=2, held=2)}
    other = make(
        workers, own_redis, namespace, {A: 2}, poll=0.2, lease_ttl=1.5, operation_timeout=0.3
    )
    with anyio.move_on_after(0.5) as blocked:
        await other.acquire()
    assert blocked.cancelled_caught


async def test_a_late_renewal_does_not_bring_a_released_slot_back(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """A renewal that reaches Redis after the release only extends leases that still exist."""
    holder = make(workers, redis_server, namespace, {A: 1})
    lease = await holder.acquire()
    epoch = holder.pool._epoch
    await holder.limiter._release(lease.email, lease.token)
    lost, _, restored = await holder.limiter._renew([(lease.email, lease.token)], epoch, {A: 1})
    assert (lost, restored) == (1, False)
    assert (await holder.limiter.usage())[A].held == 0


async def test_leaving_the_line_frees_a_slot_whose_grant_was_lost(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """A grant whose answer never arrived is given back when the waiter leaves."""
    worker = make(workers, redis_server, namespace, {A: 1})
    await worker.pool.load()
    granted, _, _ = await worker.limiter._acquire("lost-ticket", [A], None, {A: 1}, "w", "")
    assert granted == A  # ... but suppose this answer was lost on the way
    await worker.limiter._leave("lost-ticket")
    assert (await worker.limiter.usage())[A].held == 0


async def test_a_narrowed_waiter_first_in_line_is_not_starved(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """Later waiters do not take the account a narrowed waiter waits to drain."""
    holder = make(workers, redis_server, namespace, {A: 2}, poll=0.2)
    narrow = make(workers, redis_server, namespace, {A: 2}, poll=0.2)
    later = make(workers, redis_server, namespace, {A: 2}, poll=0.2)
    lease = await holder.acquire()  # 1 of 2 held: a narrow=1 request must wait
    narrowed: list[Lease] = []
    others: list[Lease] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: take_narrow(narrowed, narrow))
            await wait_for_waiters(holder.limiter, 1)
            group.start_soon(take_into, others, later)
            await wait_for_waiters(holder.limiter, 2)
            await anyio.sleep(0.5)  # several polls: the free slot is kept, not given away
            assert not others
            await holder.pool.release(lease)
            with anyio.fail_after(3):
                while not narrowed:  # noqa: ASYNC110 - filled by the task above
                    await anyio.sleep(0.02)
            group.cancel_scope.cancel()
    assert len(narrowed) == 1


async def test_a_later_waiter_asking_first_leaves_the_narrowed_waiter_its_slot(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """Both are woken by a release; the later one asks first and must not take the slot
    the narrowed one (first in line) was woken for."""
    worker = make(workers, redis_server, namespace, {A: 2})
    await worker.pool.load()
    limiter = worker.limiter
    held, _, _ = await limiter._acquire("holder", [A], None, {A: 2}, "h", "")
    assert held == A  # 1 of 2 held: the narrow=1 waiter must wait for it
    assert (await limiter._acquire("narrowed", [A], 1, {A: 2}, "n", ""))[0] is None
    assert (await limiter._acquire("later", [A], None, {A: 2}, "l", ""))[0] is None
    await limiter._release(A, "holder")
    assert (await limiter._acquire("later", [A], None, {A: 2}, "l", ""))[0] is None
    assert (await limiter._acquire("narrowed", [A], 1, {A: 2}, "n", ""))[0] == A
    assert (await limiter._acquire("later", [A], None, {A: 2}, "l", ""))[0] == A


async def take_narrow(got: list[Lease], worker: Worker) -> None:
    got.append(await worker.acquire(narrow=1))


async def test_after_an_outage_verdict_slot_requests_fail_at_once() -> None:
    """Once Redis was found unreachable for unavailable_timeout, the next request tries once."""
    worker = Worker(
        f"redis://127.0.0.1:{free_port()}/0", "nowhere", {A: 1}, unavailable_timeout=0.3
    )
    try:
        with pytest.raises(LimiterError):
            await worker.acquire()
        first = worker.limiter.round_trips
        assert first > 1  # retried
        with pytest.raises(LimiterError):
            await worker.acquire()
        assert worker.limiter.round_trips == first + 1  # one attempt, no retries
    finally:
        await worker.aclose()


def test_a_url_that_does_not_parse_is_refused_without_echoing_it() -> None:
    """An unescaped / in a password: ConfigurationError, and the password is not quoted."""
    with pytest.raises(ConfigurationError, match="percent-encoded") as caught:
        RedisLimiter("redis://:s3cr/et-pass@cache:6379/0")
    assert "s3cr" not in str(caught.value)


async def test_renewals_keep_their_pace_when_batches_hand_over(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """Short waits one after another, each taking the duty afresh: the lease is renewed on
    time all along."""
    holder = make(workers, redis_server, namespace, {A: 1}, lease_ttl=1.5, poll=0.2)
    await holder.acquire()
    for _ in range(8):  # 8 x 0.3 s: each keeper alone would end before its first renewal
        with anyio.move_on_after(0.3):
            await holder.drive()
        assert not holder.duty.running
    assert (await holder.limiter.usage())[A].held == 1


async def test_a_failed_restore_is_tried_again(
    workers: list[Worker], own_redis: RedisServer, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If putting the leases back fails, the holder keeps the old epoch and tries again."""
    holder = make(
        workers, own_redis, namespace, {A: 2}, poll=0.2, lease_ttl=1.5, operation_timeout=0.3
    )
    await holder.acquire()
    own_redis.stop()
    own_redis.start()
    real = holder.limiter._renew
    calls = 0

    async def flaky(
        leases: list[tuple[str, str]], epoch: str, caps: dict[str, int]
    ) -> tuple[int, str, bool]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise LimiterError("injected: the restore was lost")
        return await real(leases, epoch, caps)

    monkeypatch.setattr(holder.limiter, "_renew", flaky)
    with anyio.fail_after(10):
        await holder.acquire()
    assert calls >= 2
    assert (await holder.limiter.usage()) == {A: SlotUsage(max_jobs=2, held=2)}


async def test_after_a_restart_holders_restore_at_once_and_newcomers_wait(
    workers: list[Worker], own_redis: RedisServer, namespace: str
) -> None:
    """The keeper's dropped blocking pop tells of the restart: it restores long before its
    next renewal (10 s away here), then a newcomer finds the slot taken."""
    holder = make(workers, own_redis, namespace, {A: 1}, poll=0.2, lease_ttl=30.0)
    await holder.acquire()
    async with keeping_alive(holder):
        await anyio.sleep(0.3)  # the keeper is blocked in its pop
        own_redis.stop()
        own_redis.start()
        with anyio.fail_after(3):
            while (await holder.limiter.usage()) != {A: SlotUsage(max_jobs=1, held=1)}:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        newcomer = make(workers, own_redis, namespace, {A: 1}, poll=0.2, lease_ttl=30.0)
        with anyio.move_on_after(0.5) as blocked:
            await newcomer.acquire()
        assert blocked.cancelled_caught


async def test_a_narrowed_waiter_holds_back_one_account_only(
    workers: list[Worker], redis_server: RedisServer, namespace: str
) -> None:
    """While it waits for one account to drain, later waiters still get the other one."""
    holder = make(workers, redis_server, namespace, {A: 4, B: 4}, poll=0.2)
    narrow = make(workers, redis_server, namespace, {A: 4, B: 4}, poll=0.2)
    later = make(workers, redis_server, namespace, {A: 4, B: 4}, poll=0.2)
    for email in (A, A, B, B):
        await holder.acquire(email)
    narrowed: list[Lease] = []
    async with anyio.create_task_group() as group:
        group.start_soon(take_narrow, narrowed, narrow)
        await wait_for_waiters(holder.limiter, 1)
        with anyio.fail_after(2):
            lease = await later.acquire()  # past the narrowed waiter, on one account
        group.cancel_scope.cancel()
    assert lease.email in (A, B)
    assert not narrowed


async def test_a_cancelled_slot_request_stops_retrying_an_unreachable_redis() -> None:
    """Cancellation reaches a request that is retrying (only each attempt is shielded)."""
    worker = Worker(
        f"redis://127.0.0.1:{free_port()}/0", "nowhere", {A: 1}, unavailable_timeout=30.0
    )
    try:
        with anyio.fail_after(5):  # far less than the 30 s it would otherwise retry
            with anyio.move_on_after(0.5) as gave_up:
                await worker.acquire()
        assert gave_up.cancelled_caught
    finally:
        await worker.aclose()
