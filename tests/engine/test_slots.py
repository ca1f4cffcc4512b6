"""SlotPool: per-account job slots mirroring maxJobs, least-busy choice, FIFO waiting,
rotation, 429 back-off and availability refreshes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
import pytest

from pixverse_audio import (
    ConfigurationError,
    InsufficientCreditsError,
    PollPolicy,
)
from pixverse_audio._scheduler import Scheduler
from pixverse_audio._slots import Lease, SlotPool
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

A1, A2, A3 = (f"account{i}@emulator.test" for i in (1, 2, 3))
FAST = PollPolicy(first=0.05, cap=0.1)  # availability is re-read every 0.1 s while shrunk
NO_CREDITS = InsufficientCreditsError(402, "no credits left")

Configured = int | Mapping[str, int] | None
Engines = Callable[[Configured], Awaitable[Scheduler]]


@pytest.fixture(name="emulator")
def _emulator() -> Emulator:
    """Three accounts with maxJobs 4 whose jobs outlast every test."""
    return Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(30.0))


@pytest.fixture(name="engines")
async def _engines(emulator: Emulator) -> AsyncIterator[Engines]:
    """Makes the engine of a new client of ``emulator`` with ``max_jobs``, its pool loaded."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(configured: Configured) -> Scheduler:
            client = await stack.enter_async_context(
                emulator.client(max_jobs=configured, poll=FAST)
            )
            engine = client._scheduler
            await engine.pool.load()
            return engine

        yield make


async def acquire(engine: Scheduler, email: str | None = None, narrow: int | None = None) -> Lease:
    """Wait in line for a slot, as the engine does (its duty's wait)."""
    return await engine.pool.acquire(email, narrow, engine.duty.wait)


async def try_acquire(
    engine: Scheduler, email: str | None = None, narrow: int | None = None
) -> Lease | None:
    """A lease if one is free at once, else None."""
    with anyio.move_on_after(0.05):
        return await acquire(engine, email, narrow)
    return None


async def grab_all(engine: Scheduler, email: str | None = None) -> list[Lease]:
    """Every lease that can be had at once."""
    leases = []
    while (lease := await try_acquire(engine, email)) is not None:
        leases.append(lease)
    return leases


async def fill(emulator: Emulator, email: str, jobs: int) -> list[str]:
    """Start ``jobs`` foreign jobs on ``email`` (as another client would); their ids."""
    async with emulator.client() as other:
        return [(await other.music.create("foreign", email=email)).audio_id for _ in range(jobs)]


# ------------------------------------------------------------------ loading


async def test_a_mapping_is_the_configuration(engines: Engines, emulator: Emulator) -> None:
    """A max_jobs mapping gives exactly those accounts and slots, without asking the API."""
    engine = await engines({A1: 2, A3: 1})
    pool = engine.pool
    assert pool.is_loaded()
    assert pool.emails == [A1, A3]
    assert pool.capacity() == 3
    assert pool.held() == {A1: 0, A3: 0}
    assert pool.peaks() == {A1: 0, A3: 0}
    assert emulator.stats().requests == {}


async def test_accounts_are_read_once_from_the_api(emulator: Emulator) -> None:
    """Without configuration the pool reads each account's maxJobs once, even when
    several tasks load it at the same time."""
    emulator.accounts[A2].max_jobs = 2
    emulator.accounts[A3].max_jobs = 1
    async with emulator.client() as client:
        engine = client._scheduler
        assert not engine.pool.is_loaded()
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(engine.pool.load)
        await engine.pool.load()
        assert engine.pool.emails == [A1, A2, A3]
        assert engine.pool.capacity() == 4 + 2 + 1
        assert len(await grab_all(engine, A2)) == 2
    assert emulator.stats().requests == {"scheduler.available": 1}


async def test_the_account_list_answers_when_availability_fails(emulator: Emulator) -> None:
    """If scheduler/available fails, the accounts and their maxJobs come from GET accounts."""
    emulator.accounts[A3].max_jobs = 3
    emulator.faults.fail("scheduler.available", 400)
    async with emulator.client() as client:
        pool = client._scheduler.pool
        await pool.load()
        assert pool.emails == [A1, A2, A3]
        assert pool.capacity() == 4 + 4 + 3
    assert emulator.stats().requests == {"scheduler.available": 1, "accounts.list": 1}


async def test_no_account_at_all_is_a_configuration_error(emulator: Emulator) -> None:
    """With no PixVerse account at useapi.net, loading raises ConfigurationError."""
    for email in list(emulator.accounts):
        emulator.state.remove(email)
    async with emulator.client() as client:
        with pytest.raises(ConfigurationError, match="no PixVerse account"):
            await client._scheduler.pool.load()
        assert not client._scheduler.pool.is_loaded()


async def test_one_number_applies_to_every_account(engines: Engines) -> None:
    """An int max_jobs gives every account (as listed by the API) the same number of slots."""
    engine = await engines(2)
    assert engine.pool.emails == [A1, A2, A3]
    assert engine.pool.capacity() == 6
    assert len(await grab_all(engine, A1)) == 2


@pytest.mark.parametrize("cap", [0, 9, -1])
async def test_a_cap_outside_1_to_8_is_refused(emulator: Emulator, cap: int) -> None:
    """A mapping value outside 1..8 raises ConfigurationError on load."""
    async with emulator.client() as client:
        pool = SlotPool(client._gateway, {A1: cap}, lambda: 5.0)
        with pytest.raises(ConfigurationError, match=r"1\.\.8"):
            await pool.load()
        assert not pool.is_loaded()


# ------------------------------------------------------------------ leasing


async def test_the_least_busy_account_is_chosen(engines: Engines) -> None:
    """Unpinned leases go to the account with the most free slots, then the fewest held."""
    engine = await engines({A1: 2, A2: 3})
    order = [(await acquire(engine)).email for _ in range(5)]
    assert order == [A2, A1, A2, A1, A2]
    assert engine.pool.held() == {A1: 2, A2: 3}
    assert await try_acquire(engine) is None  # every slot is taken


async def test_a_pinned_email_takes_only_that_account(engines: Engines) -> None:
    """acquire(email) leases only on that account, even when others are freer."""
    engine = await engines({A1: 2, A2: 4})
    leases = await grab_all(engine, A1)
    assert [lease.email for lease in leases] == [A1, A1]
    assert engine.pool.held() == {A1: 2, A2: 0}


async def test_an_unknown_pinned_email_gets_the_configured_number(engines: Engines) -> None:
    """A pinned email the pool does not know is added with the configured number of slots."""
    engine = await engines(3)
    leases = await grab_all(engine, "extra@emulator.test")
    assert len(leases) == 3
    assert engine.pool.held()["extra@emulator.test"] == 3
    assert engine.pool.capacity() == 3 * 3 + 3


async def test_an_unknown_pinned_email_gets_one_slot_beside_a_mapping(engines: Engines) -> None:
    """With a mapping (or the API's numbers) an unlisted pinned email gets a single slot."""
    engine = await engines({A1: 4})
    assert len(await grab_all(engine, "extra@emulator.test")) == 1
    assert engine.pool.emails == [A1, "extra@emulator.test"]


async def test_narrow_only_takes_accounts_running_fewer_jobs(engines: Engines) -> None:
    """acquire(narrow=2) waits once the account holds 2, though it has free slots."""
    engine = await engines({A1: 4})
    assert await try_acquire(engine, narrow=2) is not None
    assert await try_acquire(engine, narrow=2) is not None
    assert await try_acquire(engine, narrow=2) is None
    assert await try_acquire(engine, A1, narrow=2) is None
    assert await try_acquire(engine) is not None  # no narrowing: the slots are there
    assert engine.pool.held() == {A1: 3}


async def test_release_wakes_a_waiter(engines: Engines) -> None:
    """A task waiting for a full account gets the slot as soon as it is released;
    while it waits, it runs the engine's duty."""
    engine = await engines({A1: 1})
    first = await acquire(engine)
    got: list[Lease] = []

    async def waiter() -> None:
        got.append(await acquire(engine, A1))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.sleep(0.05)
            assert got == []  # still waiting
            assert engine.duty.running  # the waiting task keeps the engine going
            await engine.pool.release(first)
    assert [lease.email for lease in got] == [A1]
    assert engine.pool.held() == {A1: 1}
    assert not engine.duty.running


async def test_waiters_are_served_first_come_first_served(engines: Engines) -> None:
    """Tasks waiting for one account get its slots in the order they asked."""
    engine = await engines({A1: 1, A2: 1})
    first = await acquire(engine, A1)
    served: list[str] = []

    async def waiter(name: str, email: str | None) -> None:
        lease = await acquire(engine, email)
        served.append(name)
        await engine.pool.release(lease)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for name in ("one", "two", "three"):
                group.start_soon(waiter, name, A1)
                await anyio.sleep(0.01)  # they queue in this order
            assert served == []
            await engine.pool.release(first)
    assert served == ["one", "two", "three"]
    assert engine.pool.held() == {A1: 0, A2: 0}


async def test_a_waiter_for_a_full_account_does_not_hold_back_others(engines: Engines) -> None:
    """A waiter pinned to a full account lets a later unpinned request through."""
    engine = await engines({A1: 1, A2: 1})
    held = await acquire(engine, A1)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(acquire, engine, A1)
            await anyio.sleep(0.01)
            lease = await acquire(engine)  # the A1 waiter is first, yet this goes ahead
            assert lease.email == A2
            await engine.pool.release(held)
    assert engine.pool.held() == {A1: 1, A2: 1}


async def test_a_cancelled_waiter_leaves_the_line(engines: Engines) -> None:
    """A waiter that gives up takes no slot later: the released slot stays free."""
    engine = await engines({A1: 1})
    first = await acquire(engine)
    assert await try_acquire(engine, A1) is None  # waited and gave up
    await engine.pool.release(first)
    assert engine.pool.held() == {A1: 0}
    assert await try_acquire(engine, A1) is not None


async def test_a_waiter_cancelled_as_it_is_served_never_loses_a_slot(engines: Engines) -> None:
    """Cancelled right after its slot was granted, a waiter either has the lease or the
    slot is free again: held always matches the leases handed out."""
    engine = await engines({A1: 1})
    first = await acquire(engine)
    got: list[Lease] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            scope = anyio.CancelScope()

            async def waiter() -> None:
                with scope:
                    got.append(await acquire(engine, A1))

            group.start_soon(waiter)
            await anyio.sleep(0.05)
            await engine.pool.release(first)  # grants the waiter's ticket at once ...
            scope.cancel()  # ... and it is cancelled before it runs again
    assert engine.pool.held() == {A1: len(got)}
    for lease in got:
        await engine.pool.release(lease)
    assert await try_acquire(engine, A1) is not None


async def test_peaks_remember_the_most_held(engines: Engines) -> None:
    """peaks() keeps the most slots held at once after they are released."""
    engine = await engines({A1: 4, A2: 4})
    leases = [await acquire(engine, A1) for _ in range(3)]
    for lease in leases:
        await engine.pool.release(lease)
    lease = await acquire(engine, A2)
    again = await acquire(engine, A1)  # fewer than the peak: the peak stays
    assert engine.pool.peaks() == {A1: 3, A2: 1}
    assert engine.pool.held() == {A1: 1, A2: 1}
    await engine.pool.release(lease)
    await engine.pool.release(again)
    assert engine.pool.peaks() == {A1: 3, A2: 1}


async def test_adopt_takes_a_slot_at_once_even_beyond_max_jobs(engines: Engines) -> None:
    """A followed job running already is counted at once, even past maxJobs; new
    leases wait until the account is below maxJobs again."""
    engine = await engines({A1: 1})
    created = await acquire(engine, A1)
    adopted = await engine.pool.adopt(A1)
    assert adopted.email == A1
    assert engine.pool.held() == {A1: 2}
    assert engine.pool.peaks() == {A1: 2}
    await engine.pool.release(adopted)
    assert await try_acquire(engine, A1) is None
    await engine.pool.release(created)
    assert await try_acquire(engine, A1) is not None
    other = await engine.pool.adopt("else@emulator.test")  # an account the pool did not list
    assert other.email == "else@emulator.test"
    assert engine.pool.held()["else@emulator.test"] == 1


async def test_releasing_twice_never_goes_below_zero(engines: Engines) -> None:
    """A lease given back twice leaves the count at zero, not negative."""
    engine = await engines({A1: 1})
    lease = await acquire(engine)
    await engine.pool.release(lease)
    await engine.pool.release(lease)
    assert engine.pool.held() == {A1: 0}
    assert len(await grab_all(engine, A1)) == 1


# --------------------------------------------------------------- rotation


async def test_a_disabled_account_takes_no_unpinned_job(engines: Engines) -> None:
    """disable() keeps requests without an email off the account; pinned ones still go."""
    engine = await engines({A1: 2, A2: 2})
    assert engine.pool.disable(A1, NO_CREDITS) is True  # A2 is still healthy
    assert [lease.email for lease in await grab_all(engine)] == [A2, A2]
    assert (await acquire(engine, A1)).email == A1


async def test_with_every_account_disabled_unpinned_requests_raise(engines: Engines) -> None:
    """Once no healthy account is left, unpinned acquires raise the last error, also
    a waiter already in line; pinned ones still get their account."""
    engine = await engines({A1: 1, A2: 1})
    held = [await acquire(engine, A1), await acquire(engine, A2)]
    raised: list[BaseException] = []

    async def waiter() -> None:
        try:
            await acquire(engine)
        except InsufficientCreditsError as exc:
            raised.append(exc)

    last = InsufficientCreditsError(402, "A2 has no credits")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.sleep(0.05)
            assert engine.pool.disable(A1, NO_CREDITS) is True
            assert engine.pool.disable(A2, last) is False
    assert raised == [last]
    with anyio.fail_after(5), pytest.raises(InsufficientCreditsError) as caught:
        await acquire(engine)
    assert caught.value is last
    await engine.pool.release(held[0])
    with anyio.fail_after(5):
        assert (await acquire(engine, A1)).email == A1
    assert engine.pool.held() == {A1: 1, A2: 1}


# --------------------------------------------------------------- back-off


async def test_busy_blocks_the_account_for_the_delay(engines: Engines, emulator: Emulator) -> None:
    """After a 429 (busy, then refresh) no lease goes to that account before the delay."""
    engine = await engines(None)
    pool = engine.pool
    await fill(emulator, A1, 4)  # the server has no room on A1
    assert pool.busy(A1, 0.3) == 1
    await pool.refresh()  # as the engine does after a 429
    assert await try_acquire(engine, A1) is None
    assert (await acquire(engine)).email != A1  # unpinned work goes elsewhere
    with anyio.fail_after(5):
        lease = await acquire(engine, A1)  # one probe slot once the delay is over
    assert lease.email == A1
    assert anyio.current_time() >= pool.account(A1).blocked_until
    assert await try_acquire(engine, A1) is None


async def test_busy_shrinks_the_account_to_what_it_holds(
    engines: Engines, emulator: Emulator
) -> None:
    """busy() leaves the account only the slots this client holds."""
    engine = await engines(None)
    held = [await acquire(engine, A1) for _ in range(2)]
    await fill(emulator, A1, 4)  # our 2 leases created nothing: the server is full
    engine.pool.busy(A1, 0.01)
    await anyio.sleep(0.02)  # the block is over, the shrink is not
    await engine.pool.release(held[0])
    assert len(await grab_all(engine, A1)) == 1  # 2 slots in all, 1 still held
    assert engine.pool.held()[A1] == 2


async def test_busy_counts_429s_in_a_row(engines: Engines) -> None:
    """busy() returns the account's 429 streak; succeeded() ends it; unknown emails give 0."""
    engine = await engines({A1: 4})
    pool = engine.pool
    assert pool.busy(A1, 0.0) == 1
    assert pool.busy(A1, 0.0) == 2
    pool.succeeded(A1)
    assert pool.busy(A1, 0.0) == 1
    assert pool.busy("nobody@emulator.test", 0.0) == 0
    pool.succeeded("nobody@emulator.test")  # no error for an account it does not know


async def test_refresh_restores_a_shrunk_account(engines: Engines, emulator: Emulator) -> None:
    """refresh() reads scheduler/available: a freed account gets its slots back, unblocked,
    and its 429 streak is over."""
    engine = await engines(None)
    pool = engine.pool
    foreign = await fill(emulator, A1, 4)
    assert pool.busy(A1, 60.0) == 1
    await pool.refresh()
    assert await try_acquire(engine, A1) is None  # blocked for a minute
    async with emulator.client() as other:
        for job_id in foreign:
            assert await other.scheduler.cancel(job_id)
    await pool.refresh()
    assert len(await grab_all(engine, A1)) == 4
    assert pool.busy(A1, 0.0) == 1  # the streak started again
    assert emulator.stats().requests["scheduler.available"] >= 3


async def test_refresh_shrinks_to_what_others_leave(engines: Engines, emulator: Emulator) -> None:
    """refresh() gives an account only what we hold plus what the server says is free."""
    engine = await engines(None)
    mine = await acquire(engine, A1)
    await fill(emulator, A1, 2)
    # the server runs 2 foreign jobs; ours holds a slot but created nothing yet
    await engine.pool.refresh()
    assert len(await grab_all(engine, A1)) == 2  # 1 held + 2 free on the server = 3 slots
    assert engine.pool.held()[A1] == 3
    await engine.pool.release(mine)


async def test_refresh_keeps_one_slot_on_a_full_account(
    engines: Engines, emulator: Emulator
) -> None:
    """A full account keeps one slot after refresh, so a waiting job can probe it."""
    engine = await engines(None)
    await fill(emulator, A1, 4)
    await engine.pool.refresh()
    assert len(await grab_all(engine, A1)) == 1
    assert len(await grab_all(engine, A2)) == 4


async def test_refresh_learns_a_new_max_jobs_unless_configured(
    engines: Engines, emulator: Emulator
) -> None:
    """A changed maxJobs at useapi.net is taken over by refresh, but not over max_jobs given."""
    learning = await engines(None)
    fixed = await engines(4)
    emulator.accounts[A1].max_jobs = 2
    emulator.accounts[A2].max_jobs = 5
    await learning.pool.refresh()
    await fixed.pool.refresh()
    assert learning.pool.capacity() == 2 + 5 + 4
    assert len(await grab_all(learning, A1)) == 2
    assert len(await grab_all(learning, A2)) == 5
    assert fixed.pool.capacity() == 12
    assert len(await grab_all(fixed, A2)) == 4


async def test_a_failed_refresh_changes_nothing(engines: Engines, emulator: Emulator) -> None:
    """If scheduler/available fails, refresh keeps what the pool knew."""
    engine = await engines(None)
    emulator.faults.fail("scheduler.available", 400)
    await engine.pool.refresh()
    assert engine.pool.capacity() == 12
    assert len(await grab_all(engine, A1)) == 4


async def test_a_waiter_on_a_shrunk_account_rereads_availability(
    engines: Engines, emulator: Emulator
) -> None:
    """While an account is shrunk, a task waiting for it re-reads scheduler/available on
    its own (every refresh_every) and gets the slots that others freed."""
    engine = await engines(None)
    held = await acquire(engine, A1)
    foreign = await fill(emulator, A1, 4)
    engine.pool.busy(A1, 0.0)  # shrunk to the one slot we hold
    assert await try_acquire(engine, A1) is None
    reads = emulator.stats().requests["scheduler.available"]
    got: list[Lease] = []

    async def waiter() -> None:
        got.append(await acquire(engine, A1))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            async with emulator.client() as other:
                for job_id in foreign:
                    await other.scheduler.cancel(job_id)
    assert [lease.email for lease in got] == [A1]
    assert emulator.stats().requests["scheduler.available"] > reads
    assert engine.pool.held()[A1] == 2
    await engine.pool.release(held)
