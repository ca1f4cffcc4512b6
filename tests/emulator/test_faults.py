"""Fault injection (statuses, drops, refusals, delays, garbage) and the emulator's counters."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from pixverse_audio import (
    APIConnectionError,
    APITimeoutError,
    OutcomeUnknownError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
)
from pixverse_audio.emulator import ROUTES, Emulator, Fault, ManualClock, Timing

V2 = "/v2/pixverse"
START = datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)
EMAIL = "account1@emulator.test"
PROMPT = "An upbeat synthwave track with a clear female vocal"
NO_RETRY = RetryPolicy(max_retries=0)


def manual(**kwargs: Any) -> tuple[Emulator, ManualClock]:
    """An emulator on a manual clock; music QUEUED 5 s then GENERATING 10 s."""
    clock = ManualClock()
    kwargs.setdefault("music_timing", Timing(queued=(5, 5), generating=(10, 10), audio=(3, 3)))
    return Emulator(clock=clock, speed=1, start_time=START, **kwargs), clock


def http(emulator: Emulator, *, token: bool = True) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {emulator.token}"} if token else {}
    return emulator.http_client(base_url=emulator.base_url, headers=headers)


async def new_track(emulator: Emulator) -> str:
    """Create a music job behind the fault machinery's back; return its id."""
    return emulator.state.create("music", {"prompt": PROMPT}).audio_id


# ---------------------------------------------------------------- statuses


@pytest.mark.anyio
async def test_fail_answers_the_status_once() -> None:
    """faults.fail(route, 500) answers the next request with a 500 JSON error, then normally."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.fail("music.get", 500)
    async with http(emulator) as raw:
        first = await raw.get(f"{V2}/music/{audio_id}")
        second = await raw.get(f"{V2}/music/{audio_id}")
    assert first.status_code == 500
    assert first.json() == {"error": "Emulated failure 500", "code": 500}
    assert second.status_code == 200
    assert emulator.stats().faults == {"500": 1}


@pytest.mark.anyio
async def test_client_retries_a_get_through_server_errors() -> None:
    """A GET failing with 503 twice is retried by the client and succeeds on the third try."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.fail("music.get", 503, times=2)
    async with emulator.client() as client:
        track = await client.music.get(audio_id)
    assert track.audio_id == audio_id
    stats = emulator.stats()
    assert stats.requests["music.get"] == 3
    assert stats.responses[503] == 2
    assert stats.faults == {"503": 2}


@pytest.mark.anyio
async def test_create_with_server_error_is_unknown_and_not_resent() -> None:
    """A create answered 500 raises OutcomeUnknownError and is never resent (no job here)."""
    emulator, _ = manual(credits=100)
    emulator.faults.fail("music.create", 500)
    async with emulator.client() as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.music.create(PROMPT)
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.endpoint == f"{V2}/music/create"
    assert info.value.payload["prompt"] == PROMPT
    stats = emulator.stats()
    assert stats.requests["music.create"] == 1
    assert stats.jobs == 0
    assert emulator.accounts[EMAIL].credits == 100


@pytest.mark.anyio
async def test_create_429_fault_is_retried() -> None:
    """An injected 429 on create is retried by the client: exactly one job, one busy answer."""
    emulator, _ = manual()
    emulator.faults.fail("music.create", 429)
    async with emulator.client() as client:
        job = await client.music.create(PROMPT)
    stats = emulator.stats()
    assert stats.jobs == 1
    assert list(emulator.jobs) == [job.audio_id]
    assert stats.requests["music.create"] == 2
    assert stats.busy == 1


@pytest.mark.anyio
async def test_script_plays_faults_in_order() -> None:
    """faults.script plays its faults one per request, None meaning a normal answer."""
    emulator, _ = manual()
    emulator.faults.script(
        "music.list",
        Fault("status", status=503),
        None,
        Fault("status", status=502),
        Fault("malformed"),
    )
    async with http(emulator) as raw:
        statuses = []
        bodies = []
        for _ in range(6):
            response = await raw.get(f"{V2}/music/")
            statuses.append(response.status_code)
            bodies.append(response.content)
    assert statuses == [503, 200, 502, 200, 200, 200]
    assert bodies[3] == b'{"audio_id": "user:1-pix'
    assert emulator.stats().faults == {"503": 1, "502": 1, "malformed": 1}


async def _statuses(seed: int, probability: float, times: int | None, n: int = 40) -> list[int]:
    emulator, _ = manual(seed=seed)
    emulator.faults.add(
        "music.list", Fault("status", status=502), probability=probability, times=times
    )
    async with http(emulator) as raw:
        return [(await raw.get(f"{V2}/music/")).status_code for _ in range(n)]


@pytest.mark.anyio
async def test_random_faults_repeat_under_a_seed() -> None:
    """faults.add with a probability fires the same requests for the same seed, others otherwise."""
    first = await _statuses(11, 0.5, None)
    again = await _statuses(11, 0.5, None)
    other = await _statuses(12, 0.5, None)
    assert first == again
    assert first != other
    assert 5 < first.count(502) < 35
    assert set(first) == {200, 502}


@pytest.mark.anyio
async def test_random_faults_respect_times() -> None:
    """faults.add(..., times=3) fires at most three times."""
    assert await _statuses(0, 1.0, 3, n=6) == [502, 502, 502, 200, 200, 200]
    assert (await _statuses(0, 0.0, None, n=10)).count(502) == 0


@pytest.mark.anyio
async def test_wildcard_route_and_clear() -> None:
    """A rule on "*" hits every route; clear() forgets planned faults but keeps the counts."""
    emulator, _ = manual()
    emulator.faults.add("*", Fault("status", status=500), times=2)
    async with http(emulator) as raw:
        assert (await raw.get(f"{V2}/scheduler/")).status_code == 500
        assert (await raw.get(f"{V2}/accounts/")).status_code == 500
        assert (await raw.get(f"{V2}/accounts/")).status_code == 200
        emulator.faults.fail("scheduler.list", 500, times=5)
        emulator.faults.clear()
        assert (await raw.get(f"{V2}/scheduler/")).status_code == 200
    assert emulator.stats().faults == {"500": 2}


def test_fault_arguments_are_checked() -> None:
    """Unknown routes and probabilities outside 0..1 are refused; every route is accepted."""
    emulator = Emulator()
    with pytest.raises(ValueError, match="unknown route"):
        emulator.faults.fail("music.delete")
    with pytest.raises(ValueError, match="probability"):
        emulator.faults.add("music.get", Fault("drop_before"), probability=1.5)
    for route in (*ROUTES, "*"):
        emulator.faults.fail(route, 500)


# ------------------------------------------------------------------- drops


@pytest.mark.anyio
async def test_drop_breaks_the_connection() -> None:
    """faults.drop makes a raw client see the connection close mid-response."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.drop("music.get")
    async with http(emulator) as raw:
        with pytest.raises(httpx.RemoteProtocolError):
            await raw.get(f"{V2}/music/{audio_id}")
        assert (await raw.get(f"{V2}/music/{audio_id}")).status_code == 200
    assert emulator.stats().faults == {"drop_before": 1}


@pytest.mark.anyio
async def test_dropped_get_is_retried_then_gives_up() -> None:
    """The client retries a dropped GET; dropped on every attempt it raises APIConnectionError."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.drop("music.get")
    async with emulator.client() as client:
        assert (await client.music.get(audio_id)).audio_id == audio_id
        emulator.faults.drop("music.get", times=4)
        with pytest.raises(APIConnectionError) as info:
            await client.music.get(audio_id)
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert emulator.stats().requests["music.get"] == 2 + 4


@pytest.mark.anyio
async def test_drop_before_create_records_nothing() -> None:
    """A create dropped before it is acted on: OutcomeUnknownError, and no job or charge."""
    emulator, _ = manual(credits=100)
    emulator.faults.drop("music.create")
    async with emulator.client() as client:
        with pytest.raises(OutcomeUnknownError):
            await client.music.create(PROMPT)
    stats = emulator.stats()
    assert stats.jobs == 0
    assert stats.creates == {}
    assert stats.requests["music.create"] == 1  # never resent
    assert emulator.accounts[EMAIL].credits == 100


@pytest.mark.anyio
async def test_drop_after_create_records_and_bills() -> None:
    """A create dropped after it is acted on: the job exists and is billed, once.

    The client finds it in the account's newest jobs and adopts it: create
    returns that job, and the create is never sent again.
    """
    emulator, _ = manual(credits=100)
    emulator.faults.drop("music.create", after=True)
    async with emulator.client() as client:
        job = await client.music.create(PROMPT, reply_ref="mine")
        running = await client.scheduler.list()
    stats = emulator.stats()
    assert stats.jobs == 1
    assert list(emulator.jobs) == [job.audio_id]  # adopted
    assert stats.creates == {EMAIL: 1}
    assert stats.requests["music.create"] == 1  # never resent
    assert stats.requests["music.list"] >= 1  # found in the account's list
    assert stats.faults == {"drop_after": 1}
    assert emulator.accounts[EMAIL].credits == 60
    assert [j.reply_ref for j in running] == ["mine"]


@pytest.mark.anyio
async def test_refused_requests_are_retried_transparently() -> None:
    """Refused connections are retried for a GET and for a create, creating exactly one job."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.refuse("music.get").refuse("music.create", times=2)
    async with http(emulator) as raw:
        emulator.faults.refuse("music.list")
        with pytest.raises(httpx.ConnectError):
            await raw.get(f"{V2}/music/")
    async with emulator.client() as client:
        assert (await client.music.get(audio_id)).audio_id == audio_id
        job = await client.music.create(PROMPT)
    stats = emulator.stats()
    assert stats.requests["music.get"] == 2
    assert stats.requests["music.create"] == 3
    assert stats.jobs == 2  # the one made behind the scenes, and the client's one
    assert job.audio_id in emulator.jobs
    assert stats.creates == {EMAIL: 2}
    assert stats.faults == {"refuse": 4}


# ------------------------------------------------------------------ delays


@pytest.mark.anyio
async def test_slow_get_times_out() -> None:
    """A GET slower than the client's timeout raises APITimeoutError, without the full wait."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.slow("music.get", 30)
    started = time.monotonic()
    async with emulator.client(timeout=0.2, retry=NO_RETRY) as client:
        with pytest.raises(APITimeoutError):
            await client.music.get(audio_id)
    assert time.monotonic() - started < 5
    assert emulator.stats().faults == {"delay": 1}


@pytest.mark.anyio
async def test_slow_get_is_retried() -> None:
    """A GET that timed out once is retried and succeeds."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.slow("music.get", 30)
    async with emulator.client(timeout=0.2) as client:
        assert (await client.music.get(audio_id)).audio_id == audio_id
    assert emulator.stats().requests["music.get"] == 2


@pytest.mark.anyio
async def test_slow_create_is_adopted_not_resent() -> None:
    """A create slower than the timeout is not resent; its job exists and is adopted."""
    emulator, _ = manual()
    emulator.faults.slow("music.create", 30)
    async with emulator.client(timeout=0.2) as client:
        job = await client.music.create(PROMPT)
    stats = emulator.stats()
    assert stats.requests["music.create"] == 1
    assert stats.jobs == 1
    assert list(emulator.jobs) == [job.audio_id]


@pytest.mark.anyio
async def test_delay_under_the_timeout_answers_normally() -> None:
    """A delay shorter than the timeout only slows the answer down."""
    emulator, _ = manual()
    emulator.faults.slow("music.create", 0.05)
    started = time.monotonic()
    async with emulator.client(timeout=5) as client:
        job = await client.music.create(PROMPT)
    assert time.monotonic() - started >= 0.05
    assert job.audio_id in emulator.jobs


# --------------------------------------------------------------- malformed


@pytest.mark.anyio
async def test_malformed_get_is_a_format_error() -> None:
    """A GET answered with truncated JSON raises ResponseFormatError."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.malformed("music.get")
    async with emulator.client() as client:
        with pytest.raises(ResponseFormatError) as info:
            await client.music.get(audio_id)
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_malformed_create_is_adopted_not_resent() -> None:
    """A create answered 200 with truncated JSON is not resent; its job exists and is adopted."""
    emulator, _ = manual()
    emulator.faults.malformed("speech.create")
    async with emulator.client() as client:
        job = await client.speech.create("hello", "minimax_english_radiant_girl")
    assert emulator.stats().jobs == 1
    assert list(emulator.jobs) == [job.audio_id]
    assert emulator.stats().requests["speech.create"] == 1


# ---------------------------------------------------------------- counters


@pytest.mark.anyio
async def test_counters() -> None:
    """Stats count requests per route, creates per account, peak running jobs, 429s and faults."""
    emulator, clock = manual(accounts=2, max_jobs={EMAIL: 3, "account2@emulator.test": 1})
    async with http(emulator) as raw:
        for _ in range(3):
            body = {"prompt": PROMPT, "email": EMAIL}
            assert (await raw.post(f"{V2}/music/create", json=body)).status_code == 200
        assert (
            await raw.post(f"{V2}/music/create", json={"prompt": PROMPT, "email": EMAIL})
        ).status_code == 429
        clock.advance(20)
        assert (
            await raw.post(f"{V2}/music/create", json={"prompt": PROMPT, "email": EMAIL})
        ).status_code == 200
        other = {"text": "hi", "voice_id": "minimax_english_radiant_girl"}
        other["email"] = "account2@emulator.test"
        assert (await raw.post(f"{V2}/speech/create", json=other)).status_code == 200
        assert (await raw.post(f"{V2}/speech/create", json=other)).status_code == 429
        emulator.faults.fail("music.list", 500, times=2).drop("music.list").malformed("music.list")
        for _ in range(2):
            await raw.get(f"{V2}/music/", params={"email": EMAIL})
        with pytest.raises(httpx.RemoteProtocolError):
            await raw.get(f"{V2}/music/", params={"email": EMAIL})
        await raw.get(f"{V2}/music/", params={"email": EMAIL})
        await raw.get("/nowhere")
    stats = emulator.stats()
    assert stats.requests == {"music.create": 5, "speech.create": 2, "music.list": 4}
    assert stats.creates == {EMAIL: 4, "account2@emulator.test": 1}
    assert stats.peak_running == {EMAIL: 3, "account2@emulator.test": 1}
    assert stats.busy == 2
    assert stats.faults == {"500": 2, "drop_before": 1, "malformed": 1}
    assert stats.jobs == 5
    assert stats.responses == {200: 6, 429: 2, 500: 2, 404: 1}


@pytest.mark.anyio
async def test_peak_counts_concurrent_jobs_not_total() -> None:
    """peak_running is the most jobs at once: jobs one after another keep it at 1."""
    emulator, clock = manual()
    async with emulator.client() as client:
        for _ in range(3):
            await client.music.create(PROMPT)
            clock.advance(20)
    assert emulator.stats().peak_running == {EMAIL: 1}
    assert emulator.stats().creates == {EMAIL: 3}


@pytest.mark.anyio
async def test_stats_endpoint_matches_stats() -> None:
    """GET /_emulator/stats serves the counters as JSON; without the token it is 401."""
    emulator, _ = manual()
    emulator.faults.fail("music.get", 502)
    async with emulator.client() as client:
        await client.music.create(PROMPT, email=EMAIL)
        await client.music.get(next(iter(emulator.jobs)))
    async with http(emulator, token=False) as anon:
        denied = await anon.get("/_emulator/stats")
    before = emulator.stats().as_json()
    async with http(emulator) as raw:
        response = await raw.get("/_emulator/stats")
    after = emulator.stats().as_json()
    assert denied.status_code == 401
    assert denied.json() == {"error": "Unauthorized", "code": 401}
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(after)
    assert body["requests"] == after["requests"]
    assert body["requests"]["emulator.stats"] == 2
    assert body["responses"] == before["responses"]  # its own answer is counted after it is built
    for key in ("creates", "peak_running", "busy", "faults", "callbacks", "jobs"):
        assert body[key] == after[key], key
    assert body["creates"] == {EMAIL: 1}
    assert body["faults"] == {"502": 1}
    assert body["jobs"] == 1


@pytest.mark.anyio
async def test_client_max_retries_is_honoured() -> None:
    """emulator.client(max_retries=0) sends a failing GET once, like AsyncClient(max_retries=0)."""
    emulator, _ = manual()
    audio_id = await new_track(emulator)
    emulator.faults.fail("music.get", 503, times=4)
    async with emulator.client(max_retries=0) as client:
        assert client.retry.max_retries == 0
        with pytest.raises(ServerError):
            await client.music.get(audio_id)
    assert emulator.stats().requests["music.get"] == 1
