"""Helpers shared by the reliability tests: wiring, leak checks, fault mixes, accounting."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import anyio

from pixverse_audio import (
    AsyncClient,
    GenerationResult,
    MusicRequest,
    OutcomeUnknownError,
    PollPolicy,
    RetryPolicy,
    Track,
)
from pixverse_audio.emulator import Emulator, EmulatorTransport, Fault

POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=2.0)
FAST_RETRY = RetryPolicy(
    max_retries=4, backoff_base=0.01, backoff_cap=0.1, busy_delay=(0.01, 0.1), retry_after_cap=0.1
)

MusicResult = GenerationResult[MusicRequest, Track]


def wired(emulator: Emulator, **kwargs: Any) -> tuple[AsyncClient, EmulatorTransport]:
    """A client on the emulator in-process, and its transport (for the in-flight counters)."""
    transport = emulator.transport()
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", POLL)
    client = AsyncClient(emulator.token, base_url=emulator.base_url, transport=transport, **kwargs)
    return client, transport


def prompts(n: int, prefix: str = "track") -> Iterator[MusicRequest]:
    """``n`` music requests with distinct prompts, made lazily."""
    return (MusicRequest(prompt=f"{prefix} {i:05d}") for i in range(n))


def slots_held(client: AsyncClient) -> dict[str, int]:
    """Slots the client's engine holds now, per account (empty before any batch)."""
    return client._scheduler.pool.held()


def assert_clean(emulator: Emulator, client: AsyncClient, transport: EmulatorTransport) -> None:
    """Nothing left behind: no scheduled job, no slot held, no request in flight."""
    assert emulator.running() == [], [j.audio_id for j in emulator.running()]
    assert set(slots_held(client).values()) <= {0}, slots_held(client)
    assert transport.in_flight == 0


def inject_fault_mix(emulator: Emulator) -> None:
    """The soak mix: 5% 500s and 2% drops on reads, 1% lost create answers, 3% slow answers.

    Delays stay far below the clients' 2 s timeout, so they slow requests
    down without failing them.
    """
    faults = emulator.faults
    # Early requests meet each kind for sure (scripts come first); random ones follow.
    slow = Fault("delay", seconds=0.05)
    faults.script("music.list", Fault("status", status=500), None, Fault("drop_before"), slow)
    faults.script("music.create", *[None] * 10, Fault("drop_after"))
    for route in ("music.get", "music.list"):
        faults.add(route, Fault("status", status=500), probability=0.05)
        faults.add(route, Fault("drop_before"), probability=0.02)
    faults.add("music.create", Fault("drop_after"), probability=0.01)
    for seconds in (0.01, 0.05, 0.2):
        faults.add("*", Fault("delay", seconds=seconds), probability=0.01)


def unknown_creates(results: Sequence[MusicResult], emulator: Emulator) -> set[str]:
    """Jobs the emulator made for creates whose result is an OutcomeUnknownError.

    Such a create may have started a paid job that the engine could not find;
    it is the caller's to reconcile, so it is accounted for, not a duplicate.
    Prompts are unique per request, so the job is found by its prompt.
    """
    owned = {job_id for r in results for job_id in r.job_ids}
    lost_prompts = {r.request.prompt for r in results if isinstance(r.error, OutcomeUnknownError)}
    return {
        job_id
        for job_id, job in emulator.jobs.items()
        if job.prompt in lost_prompts and job_id not in owned
    }


def duplicates(results: Sequence[MusicResult], emulator: Emulator) -> set[str]:
    """Jobs the emulator created that no result accounts for: paid twice or orphaned."""
    accounted = {job_id for r in results for job_id in r.job_ids}
    return set(emulator.jobs) - accounted - unknown_creates(results, emulator)


def assert_each_job_owned_once(results: Sequence[MusicResult], emulator: Emulator) -> None:
    """No job id is claimed by two results, and each belongs to its own request's prompt."""
    claimed = [job_id for r in results for job_id in r.job_ids]
    assert len(claimed) == len(set(claimed)), "a job was claimed by two results"
    for result in results:
        assert result.attempts == len(result.job_ids)
        for job_id in result.job_ids:
            assert emulator.jobs[job_id].prompt == result.request.prompt, job_id
        if result.track is not None:
            assert result.track.audio_id == result.job_ids[-1]
            assert result.track.completed


def rss_mb() -> float:
    """The resident set size of this process now, in MB (peak RSS where /proc is missing)."""
    gc.collect()
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource  # Unix only, and only needed where /proc is missing

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("retrying "):
            self.retries += 1


@contextlib.contextmanager
def counting_retries() -> Iterator[_Counter]:
    """Count the client's request retries (its INFO "retrying ..." records).

    The records are not propagated meanwhile, so thousands of them neither
    reach pytest's log capture nor weigh on the memory being measured.
    """
    log = logging.getLogger("pixverse_audio")
    counter = _Counter()
    level, propagate = log.level, log.propagate
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(counter)
    try:
        yield counter
    finally:
        log.removeHandler(counter)
        log.setLevel(level)
        log.propagate = propagate


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def settle(seconds: float = 0.05) -> None:
    """Give a leaked task the chance to act before the checks that would catch it."""
    await anyio.sleep(seconds)
