"""SlotPool: per-account job slots mirroring maxJobs, least-busy choice, 429 back-off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import anyio
import pytest

from pixverse_audio import AsyncClient, ConfigurationError
from pixverse_audio._slots import Lease, SlotPool
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

A1, A2, A3 = (f"account{i}@emulator.test" for i in (1, 2, 3))


@pytest.fixture(name="emulator")
def _emulator() -> Emulator:
    """Three accounts with maxJobs 4 whose jobs outlast every test."""
    return Emulator(accounts=3, max_jobs=4, music_timing=Timing.fixed(30.0))


@pytest.fixture(name="client")
async def _client(emulator: Emulator) -> AsyncIterator[AsyncClient]:
    async with emulator.client() as client:
        yield client


async def pool_of(client: AsyncClient, configured: int | Mapping[str, int] | None) -> SlotPool:
    """A loaded pool."""
    pool = SlotPool(client, configured)
    await pool.load()
    return pool


async def try_acquire(
    pool: SlotPool, email: str | None = None, narrow: int | None = None
) -> Lease | None:
    """A lease if one is free at once, else None."""
    with anyio.move_on_after(0.05):
        return await pool.acquire(email, narrow)
    return None


async def grab_all(pool: SlotPool, email: str | None = None) -> list[Lease]:
    """Every lease that can be had at once."""
    leases = []
    while (lease := await try_acquire(pool, email)) is not None:
        leases.append(lease)
    return leases


# ------------------------------------------------------------------ loading


async def test_a_mapping_is_the_configuration(client: AsyncClient, emulator: Emulator) -> None:
    """A max_jobs mapping gives exactly those accounts and slots, without asking the API."""
    pool = await pool_of(client, {A1: 2, A3: 1})
    assert pool.is_loaded()
    assert pool.emails == [A1, A3]
    assert pool.capacity() == 3
    assert pool.held() == {A1: 0, A3: 0}
    assert emulator.stats().requests == {}


async def test_accounts_are_read_once_from_the_api(emulator: Emulator) -> None:
    """Without configuration the pool reads each account's maxJobs once."""
    emulator.accounts[A2].max_jobs = 2
    emulator.accounts[A3].max_jobs = 1
    async with emulator.client() as client:
        pool = await pool_of(client, None)
        await pool.load()
        assert pool.emails == [A1, A2, A3]
        assert pool.capacity() == 4 + 2 + 1
        assert len(await grab_all(pool, A2)) == 2
    assert emulator.stats().requests == {"scheduler.available": 1}


async def test_one_number_applies_to_every_account(client: AsyncClient) -> None:
    """An int max_jobs gives every account the same number of slots."""
    pool = await pool_of(client, 2)
    assert pool.capacity() == 6
    assert len(await grab_all(pool, A1)) == 2


@pytest.mark.parametrize("cap", [0, 9])
async def test_a_cap_outside_1_to_8_is_refused(client: AsyncClient, cap: int) -> None:
    """A mapping value outside 1..8 raises ConfigurationError on load."""
    with pytest.raises(ConfigurationError):
        await pool_of(client, {A1: cap})


# ------------------------------------------------------------------ leasing


async def test_the_least_busy_account_is_chosen(client: AsyncClient) -> None:
    """Unpinned leases go to the account with the most free slots, then the fewest held."""
    pool = await pool_of(client, {A1: 2, A2: 3})
    order = [(await pool.acquire()).email for _ in range(5)]
    assert order == [A2, A1, A2, A1, A2]
    assert pool.held() == {A1: 2, A2: 3}
    assert await try_acquire(pool) is None  # every slot is taken


async def test_a_pinned_email_takes_only_that_account(client: AsyncClient) -> None:
    """acquire(email) leases only on that account, even when others are freer."""
    pool = await pool_of(client, {A1: 2, A2: 4})
    leases = await grab_all(pool, A1)
    assert [lease.email for lease in leases] == [A1, A1]
    assert pool.held() == {A1: 2, A2: 0}


async def test_an_unknown_pinned_email_gets_the_configured_number(client: AsyncClient) -> None:
    """A pinned email the pool does not know is added with the configured slots."""
    pool = await pool_of(client, 3)
    leases = await grab_all(pool, "extra@emulator.test")
    assert len(leases) == 3
    assert pool.held()["extra@emulator.test"] == 3


async def test_narrow_only_takes_accounts_running_fewer_jobs(client: AsyncClient) -> None:
    """acquire(narrow=2) waits once the account holds 2, though it has free slots."""
    pool = await pool_of(client, {A1: 4})
    assert await try_acquire(pool, narrow=2) is not None
    assert await try_acquire(pool, narrow=2) is not None
    assert await try_acquire(pool, narrow=2) is None
    assert await try_acquire(pool, A1, narrow=2) is None
    assert await try_acquire(pool) is not None  # no narrowing: the slots are there
    assert pool.held() == {A1: 3}


async def test_release_wakes_a_waiter(client: AsyncClient) -> None:
    """A task waiting for a full account gets the slot as soon as it is released."""
    pool = await pool_of(client, {A1: 1})
    first = await pool.acquire()
    got: list[Lease] = []

    async def waiter() -> None:
        got.append(await pool.acquire(A1))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.sleep(0.05)
            assert got == []  # still waiting
            await pool.release(first)
    assert [lease.email for lease in got] == [A1]
    assert pool.held() == {A1: 1}


async def test_peaks_remember_the_most_held(client: AsyncClient) -> None:
    """peaks() keeps the most slots held at once after they are released."""
    pool = await pool_of(client, {A1: 4, A2: 4})
    leases = [await pool.acquire(A1) for _ in range(3)]
    for lease in leases:
        await pool.release(lease)
    lease = await pool.acquire(A2)
    assert pool.peaks() == {A1: 3, A2: 1}
    assert pool.held() == {A1: 0, A2: 1}
    await pool.release(lease)


# --------------------------------------------------------------- back-off


async def fill(emulator: Emulator, email: str, jobs: int) -> list[str]:
    """Start ``jobs`` foreign jobs on ``email`` (as another client would); their ids."""
    async with emulator.client() as other:
        return [(await other.music.create("foreign", email=email)).audio_id for _ in range(jobs)]


async def test_busy_blocks_the_account_for_the_delay(
    client: AsyncClient, emulator: Emulator
) -> None:
    """After a 429 (busy, then refresh) no lease goes to that account before the delay."""
    pool = await pool_of(client, None)
    await fill(emulator, A1, 4)  # the server has no room on A1
    start = anyio.current_time()
    assert pool.busy(A1, 0.3) == 1
    await pool.refresh()  # as the engine does after a 429
    assert await try_acquire(pool, A1) is None
    assert (await pool.acquire()).email != A1  # unpinned work goes elsewhere
    with anyio.fail_after(5):
        lease = await pool.acquire(A1)  # one probe slot once the delay is over
    assert lease.email == A1
    assert anyio.current_time() - start >= 0.3
    assert await try_acquire(pool, A1) is None


async def test_busy_shrinks_the_account_to_what_it_holds(
    client: AsyncClient, emulator: Emulator
) -> None:
    """busy() leaves the account only the slots this client holds."""
    pool = await pool_of(client, None)
    held = [await pool.acquire(A1) for _ in range(2)]
    await fill(emulator, A1, 4)  # our 2 jobs and 2 foreign ones: the server is full
    pool.busy(A1, 0.01)
    await anyio.sleep(0.02)  # the block is over, the shrink is not
    await pool.release(held[0])  # its job still runs on the server
    assert len(await grab_all(pool, A1)) == 1  # 2 slots in all, 1 still held
    assert pool.held()[A1] == 2


async def test_busy_counts_429s_in_a_row(client: AsyncClient) -> None:
    """busy() returns the account's 429 streak; succeeded() ends it; unknown emails give 0."""
    pool = await pool_of(client, {A1: 4})
    assert pool.busy(A1, 0.0) == 1
    assert pool.busy(A1, 0.0) == 2
    pool.succeeded(A1)
    assert pool.busy(A1, 0.0) == 1
    assert pool.busy("nobody@emulator.test", 0.0) == 0


async def test_refresh_restores_a_shrunk_account(client: AsyncClient, emulator: Emulator) -> None:
    """refresh() reads scheduler/available: a freed account gets its slots back, unblocked."""
    pool = await pool_of(client, None)
    foreign = await fill(emulator, A1, 4)
    pool.busy(A1, 60.0)
    await pool.refresh()
    assert await try_acquire(pool, A1) is None  # blocked for a minute
    async with emulator.client() as other:
        for job_id in foreign:
            assert await other.scheduler.cancel(job_id)
    await pool.refresh()
    assert len(await grab_all(pool, A1)) == 4
    assert emulator.stats().requests["scheduler.available"] >= 3


async def test_refresh_shrinks_to_what_others_leave(
    client: AsyncClient, emulator: Emulator
) -> None:
    """refresh() gives an account only what we hold plus what the server says is free."""
    pool = await pool_of(client, None)
    mine = await pool.acquire(A1)
    await fill(emulator, A1, 2)
    # the server runs 2 foreign jobs; ours holds a slot but created nothing yet
    await pool.refresh()
    assert len(await grab_all(pool, A1)) == 2  # 1 held + 2 free on the server = 3 slots
    assert pool.held()[A1] == 3
    await pool.release(mine)


async def test_refresh_keeps_one_slot_on_a_full_account(
    client: AsyncClient, emulator: Emulator
) -> None:
    """A full account keeps one slot after refresh, so a waiting job can probe it."""
    pool = await pool_of(client, None)
    await fill(emulator, A1, 4)
    await pool.refresh()
    assert len(await grab_all(pool, A1)) == 1
    assert len(await grab_all(pool, A2)) == 4
