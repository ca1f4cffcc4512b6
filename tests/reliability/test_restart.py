"""A real server stopped and started again on the same port mid-batch.

The emulator object (its accounts and jobs) survives the restart, as
useapi.net's state survives a proxy or load balancer going away; only the
socket disappears for a while. The batch must finish: each request with a
track or a clear `PixverseAudioError`, no job paid twice, nothing left running,
and nothing waits past its deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from pixverse_audio import (
    APIConnectionError,
    AsyncClient,
    JobEvent,
    MusicRequest,
    OutcomeUnknownError,
    PixverseAudioError,
    RetryPolicy,
)
from pixverse_audio.emulator import Emulator, Timing, serve_emulator
from reliability._support import (
    POLL,
    MusicResult,
    assert_each_job_owned_once,
    duplicates,
    free_port,
    prompts,
    slots_held,
)

pytestmark = pytest.mark.anyio

JOBS = 12
BOUND = 60  # seconds: only a hang gets there


async def run_with_restart(outage: float, retry: RetryPolicy) -> tuple[Emulator, list[MusicResult]]:
    """Run a batch against a real server that goes away for ``outage`` s after the first results."""
    emulator = Emulator(accounts=2, max_jobs=3, seed=11, music_timing=Timing.fixed(0.2))
    port = free_port()
    client = AsyncClient(
        emulator.token, base_url=f"http://127.0.0.1:{port}", retry=retry, poll=POLL, timeout=5.0
    )
    results: list[MusicResult] = []
    events: list[JobEvent] = []
    some_done = anyio.Event()
    batch_done = anyio.Event()

    async def serve(up: anyio.Event, stop: anyio.Event, down: anyio.Event) -> None:
        async with serve_emulator(emulator, port=port):
            up.set()
            await stop.wait()
        down.set()

    async def requests() -> AsyncIterator[MusicRequest]:
        """Six requests at once; the rest arrive while the server is away."""
        for i, request in enumerate(prompts(JOBS, "restart")):
            if i == 6:
                await first_down.wait()
            yield request

    async def consume() -> None:
        async with client.music.generate_many(
            requests(), timeout=30, on_event=events.append
        ) as batch:
            async for result in batch:
                results.append(result)
                if len(results) == 3:
                    some_done.set()
        batch_done.set()

    first_up, first_stop, first_down = anyio.Event(), anyio.Event(), anyio.Event()
    with anyio.fail_after(BOUND):
        async with client, anyio.create_task_group() as group:
            group.start_soon(serve, first_up, first_stop, first_down)
            await first_up.wait()
            group.start_soon(consume)
            await some_done.wait()
            first_stop.set()  # the server goes away mid-batch
            await first_down.wait()
            await anyio.sleep(outage)
            second_up, second_stop, second_down = anyio.Event(), anyio.Event(), anyio.Event()
            group.start_soon(serve, second_up, second_stop, second_down)  # same port, same state
            await second_up.wait()
            await batch_done.wait()
            assert set(slots_held(client).values()) <= {0}
            second_stop.set()
    return emulator, results


def check_outcome(emulator: Emulator, results: list[MusicResult]) -> None:
    """One result per request; errors are clear library errors; no duplicate, nothing running."""
    assert sorted(r.index for r in results) == list(range(JOBS))
    for result in results:
        if result.ok:
            continue
        error = result.error
        assert isinstance(error, PixverseAudioError), repr(error)
        assert isinstance(error, (APIConnectionError, OutcomeUnknownError)), repr(error)
        assert "/v2/pixverse/music/create" in str(error), str(error)
    assert_each_job_owned_once(results, emulator)
    assert duplicates(results, emulator) == set()
    assert emulator.running() == [], [j.audio_id for j in emulator.running()]


async def test_short_outage_mid_batch_is_ridden_out() -> None:
    """A 0.5 s restart: retries carry the batch over it; at most a few clear errors remain."""
    retry = RetryPolicy(max_retries=8, backoff_base=0.05, backoff_cap=0.4, busy_delay=(0.01, 0.1))
    emulator, results = await run_with_restart(0.5, retry)
    check_outcome(emulator, results)
    ok = sum(r.ok for r in results)
    print(f"\nshort outage: {ok} of {JOBS} completed, {emulator.stats().jobs} jobs created")
    assert ok >= 3  # the ones before the restart at least


async def test_long_outage_gives_clear_errors_and_keeps_running_jobs() -> None:
    """A 1 s restart past the retry budget: creates fail with clear errors, running jobs finish."""
    retry = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_cap=0.01, busy_delay=(0.01, 0.1))
    emulator, results = await run_with_restart(1.0, retry)
    check_outcome(emulator, results)
    failed = [r for r in results if not r.ok]
    kinds = sorted({type(r.error).__name__ for r in failed})
    print(f"\nlong outage: {len(failed)} of {JOBS} failed: {kinds}")
    assert failed, "creates sent during the outage outlasted every retry: they must fail"
    for result in failed:
        assert result.job_ids == ()  # no job was made for them (or none was found)
    # The six jobs made before the outage were followed across it to the end.
    assert all(r.ok for r in results if r.index < 6)
