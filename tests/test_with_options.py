"""`AsyncClient.with_options`: a light copy for one call site, and the client's settings checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from conftest import ACCOUNT, NO_WAIT, TOKEN, Recorder, json_response

from pixverse_audio import (
    AsyncClient,
    ConfigurationError,
    PollPolicy,
    ServerError,
    Track,
    ValidationError,
)
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

MakeClient = Callable[..., AsyncClient]
MUSIC_ID = f"user:123-pixverse:{ACCOUNT}-music:11223344"
TRACK = {"audio_id": MUSIC_ID, "audio_status": 1, "audio_status_final": False}
CREATED = {"audio_id": MUSIC_ID, "audio_status": 0}


def read_timeout(request: httpx.Request) -> float | None:
    timeout: dict[str, float | None] = request.extensions["timeout"]
    return timeout["read"]


async def test_a_copy_sends_with_its_own_timeout_through_the_same_http_client(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """Reads and creates of the copy carry its timeout; the original keeps its own; one
    HTTP client (one pool) carries both."""
    recorder.default = json_response(200, TRACK)
    client = make_client(recorder, timeout=30)
    opened: list[object] = []
    original_init = httpx.AsyncClient.__init__

    def counting_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original_init(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.AsyncClient, "__init__", counting_init)
        fast = client.with_options(timeout=5)
    assert opened == []  # no new HTTP client, so no second connection pool
    await fast.music.get(MUSIC_ID)
    await client.music.get(MUSIC_ID)
    recorder.then(json_response(200, CREATED))
    await fast.music.create("a song")
    assert [read_timeout(r) for r in recorder.requests] == [5.0, 30.0, 5.0]
    assert fast._connection is client._connection


async def test_a_copy_retries_by_its_own_policy(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """max_retries=0 on the copy: one attempt; the original (3 retries) sends four."""
    client = make_client(recorder)  # the default answer is a 500
    with pytest.raises(ServerError):
        await client.with_options(max_retries=0).music.get(MUSIC_ID)
    assert len(recorder.requests) == 1
    with pytest.raises(ServerError):
        await client.music.get(MUSIC_ID)
    assert len(recorder.requests) == 1 + 4
    assert client.with_options(max_retries=0).retry.backoff_base == NO_WAIT.backoff_base


async def test_closing_a_copy_leaves_the_original_open(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """Only the client that opened the connections closes them."""
    recorder.default = json_response(200, TRACK)
    client = make_client(recorder)
    async with client.with_options(timeout=5) as copy:
        await copy.music.get(MUSIC_ID)
    await client.music.get(MUSIC_ID)
    assert len(recorder.requests) == 2
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await copy.music.get(MUSIC_ID)


async def test_a_copy_shares_the_account_slots_and_the_scheduler() -> None:
    """maxJobs 1: while a job of the original runs, a create through a copy waits for its
    slot, and gets it once the job is final; the copy's poll applies to its waits."""
    emulator = Emulator(accounts=1, max_jobs=1, music_timing=Timing.fixed(0.3))
    async with emulator.client(poll=PollPolicy.fixed(0.05)) as client:
        copy = client.with_options(timeout=10, poll=0.1)
        assert copy.poll == PollPolicy.fixed(0.1)
        assert client.poll == PollPolicy.fixed(0.05)
        first = await client.music.create("one")
        with anyio.move_on_after(0.1) as waited:
            await copy.music.create("two")
        assert waited.cancelled_caught  # no slot: the original's job holds it
        assert len(emulator.stats().peak_running) == 1
        with anyio.fail_after(5):
            await client.music.wait(first)
            track = await copy.music.generate("three")
        assert isinstance(track, Track)
        assert track.completed
        assert max(emulator.stats().peak_running.values()) == 1
        assert emulator.stats().busy == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"timeout": "5"}, "timeout must be a positive number"),
        ({"max_retries": -1}, "max_retries must be an integer of at least 0"),
        ({"max_retries": True}, "max_retries must be an integer"),
        ({"retry": 3}, "retry must be a RetryPolicy"),
        ({"poll": "fast"}, "poll must be a PollPolicy or a positive number"),
        ({"poll": 0}, "poll must be a PollPolicy or a positive number"),
    ],
)
async def test_bad_options_are_a_configuration_error_and_change_nothing(
    make_client: MakeClient, recorder: Recorder, options: dict[str, Any], message: str
) -> None:
    """with_options and the constructor check the same way, before anything is sent."""
    client = make_client(recorder)
    before = (client.retry, client.poll, client._session.timeout)
    with pytest.raises(ConfigurationError, match=message):
        client.with_options(**options)
    assert (client.retry, client.poll, client._session.timeout) == before
    with pytest.raises(ConfigurationError, match=message):
        AsyncClient(TOKEN, base_url="http://127.0.0.1:9", **options)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_event": "print"}, "on_event must be callable"),
        ({"max_jobs": 9}, "max_jobs must be an integer within 1..8"),
    ],
)
def test_the_constructor_checks_every_setting(options: dict[str, Any], message: str) -> None:
    """A wrong type or range is one ConfigurationError naming the argument."""
    with pytest.raises(ConfigurationError, match=message):
        AsyncClient(TOKEN, base_url="http://127.0.0.1:9", **options)


def test_poll_as_seconds_is_a_fixed_gap() -> None:
    """AsyncClient(poll=2) polls every 2 s, as poll_interval=2 does for one wait."""
    assert AsyncClient(TOKEN, base_url="http://127.0.0.1:9", poll=2).poll == PollPolicy.fixed(2)


async def test_a_copy_shares_the_speech_catalogue() -> None:
    """The catalogue fetched through a copy checks the original's creates (and back)."""
    emulator = Emulator()
    async with emulator.client() as client:
        copy = client.with_options(timeout=5)
        await copy.speech.models()
        voice = (await client.speech.voices_page(limit=1)).items[0].voice_id
        with pytest.raises(ValidationError, match="language_code"):
            await client.speech.create("hi there", voice, language_code="zz")
        with pytest.raises(ValidationError, match="language_code"):
            await copy.speech.create("hi there", voice, language_code="zz")
        assert copy.speech.catalogue(None) is client.speech.catalogue(None) is not None
    assert sum(emulator.stats().creates.values()) == 0
