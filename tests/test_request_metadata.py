"""Errors and logs say which request failed, how many times it was sent and for how long.

`APIError`, `APIConnectionError` (with `APITimeoutError`) and `OutcomeUnknownError`
carry ``method``, ``path`` (no host, no query), ``attempts`` and ``elapsed``;
each call logs one DEBUG summary line (``(N attempt[s])``) after its final
answer, with neither the token nor an account's secrets. The token scan of
tests/conftest.py checks every test here as well.
"""

from __future__ import annotations

import copy
import logging
import pickle
import re
from collections.abc import Callable

import anyio
import httpx
import pytest
from conftest import NO_WAIT, TOKEN, TOKEN_HEAD, Recorder, json_response, sample

from pixverse_audio import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    MusicRequest,
    NotFoundError,
    OutcomeUnknownError,
    RetryPolicy,
    ServerError,
    _reconcile,
)
from pixverse_audio._connection import Connection
from pixverse_audio._parse import parse_job
from pixverse_audio._sansio import music_create
from pixverse_audio._session import Session

pytestmark = pytest.mark.anyio

MakeClient = Callable[..., AsyncClient]

MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
MUSIC_PATH = f"/v2/pixverse/music/{MUSIC_ID}"
EMAIL = "me@example.com"
PASSWORD = "pw-s3cret-9d1c"
PV_TOKEN = "pv-tok-s3cret-77e2"
# The call's summary line: "GET /v2/... -> 200 in 12 ms (1 attempt)".
SUMMARY = re.compile(r"^(\w+) (\S+) -> (\S+) in (\d+) ms \((\d+) attempts?\)$")


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def _summaries(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "pixverse_audio" and r.levelno == logging.DEBUG
    ]
    return [m for m in map(SUMMARY.match, messages) if m is not None]


# ------------------------------------------------------------------ errors


async def test_a_404_carries_method_path_one_attempt_and_time(
    client: AsyncClient, recorder: Recorder
) -> None:
    """music.get's NotFoundError says GET, the API path, 1 attempt and the time it took."""
    recorder.then(json_response(404, sample("music_get_404")))
    with pytest.raises(NotFoundError) as info:
        await client.music.get(MUSIC_ID)
    error = info.value
    assert (error.method, error.path, error.attempts) == ("GET", MUSIC_PATH, 1)
    assert isinstance(error.elapsed, float)
    assert 0 <= error.elapsed < 5
    assert error.status_code == 404  # type and message unchanged
    assert str(error) == f"HTTP 404: {sample('music_get_404')['error']}"


async def test_the_path_has_no_host_and_no_query(client: AsyncClient, recorder: Recorder) -> None:
    """A list_page error's path is the API path alone: the query (with the email) is left out."""
    recorder.then(json_response(400, {"error": "bad offset"}))
    with pytest.raises(BadRequestError) as info:
        await client.music.list_page(email=EMAIL, limit=5)
    assert "email=" in recorder.paths[0]  # the query was sent ...
    assert info.value.path == "/v2/pixverse/music/"  # ... but is not on the error


async def test_a_retried_500_counts_every_attempt_and_the_whole_time(
    make_client: MakeClient,
) -> None:
    """A GET answered 500 every time: attempts == max_retries + 1, elapsed spans them all."""
    policy = RetryPolicy(max_retries=2, backoff_base=0.0, backoff_cap=0.0)

    async def slow_500(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.03)
        return json_response(500, {"error": "Internal error"})

    recorder = Recorder(default=slow_500)  # type: ignore[arg-type]  # MockTransport awaits it
    client = make_client(recorder, retry=policy)
    with pytest.raises(ServerError) as info:
        await client.music.get(MUSIC_ID)
    error = info.value
    assert len(recorder.requests) == 3
    assert error.attempts == policy.max_retries + 1 == 3
    assert (error.method, error.path) == ("GET", MUSIC_PATH)
    assert error.elapsed is not None
    assert error.elapsed >= 3 * 0.03 * 0.9  # from the first attempt, not the last one's


async def test_a_connection_error_carries_the_request(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """A connect error on every try: APIConnectionError with method, path and all attempts."""
    recorder.default = _refuse
    client = make_client(recorder)
    with pytest.raises(APIConnectionError) as info:
        await client.scheduler.list()
    error = info.value
    assert type(error) is APIConnectionError
    assert error.method == "GET"
    assert error.path is not None
    assert error.path.startswith("/v2/pixverse/scheduler")
    assert recorder.paths[0].startswith(error.path)
    assert error.attempts == NO_WAIT.max_retries + 1 == len(recorder.requests)
    assert error.elapsed is not None
    assert error.elapsed >= 0


async def test_a_timeout_carries_the_request(make_client: MakeClient, recorder: Recorder) -> None:
    """A read timeout, then another after one retry (max_retries=1): APITimeoutError, 2 attempts."""
    recorder.then(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"))
    client = make_client(recorder, retry=RetryPolicy(max_retries=1, backoff_base=0.0))
    with pytest.raises(APITimeoutError) as info:
        await client.music.get(MUSIC_ID)
    assert (info.value.method, info.value.path, info.value.attempts) == ("GET", MUSIC_PATH, 2)


async def test_a_create_5xx_outcome_unknown_carries_post_and_path() -> None:
    """The session's OutcomeUnknownError for a create's 500 says POST music/create, 1 attempt."""
    recorder = Recorder(default=json_response(500, {"error": "Internal error"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        connection = Connection(
            TOKEN,
            base_url="https://api.useapi.net",
            http_client=http,
            transport=None,
            max_response_bytes=1 << 20,
        )
        session = Session(connection, retry=NO_WAIT)
        with pytest.raises(OutcomeUnknownError) as info:
            await session.call(music_create(MusicRequest("rain"), EMAIL), parse_job)
    error = info.value
    assert len(recorder.requests) == 1  # never resent
    assert (error.method, error.path, error.attempts) == ("POST", "/v2/pixverse/music/create", 1)
    assert error.endpoint == error.path
    assert error.elapsed is not None
    assert error.elapsed >= 0
    cause = error.__cause__
    assert isinstance(cause, ServerError)
    assert (cause.method, cause.path, cause.attempts) == ("POST", "/v2/pixverse/music/create", 1)


async def test_a_reconciled_create_5xx_keeps_the_request_in_its_cause(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """client.music.create's 500, reconciled (no job found): the error's cause has the metadata."""
    monkeypatch.setattr(_reconcile, "PAUSE", 0.0)

    client = make_client(Recorder())  # 500 to the create and to the list reads after it
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create("rain")
    cause = info.value.__cause__
    assert isinstance(cause, ServerError)
    assert (cause.method, cause.path, cause.attempts) == ("POST", "/v2/pixverse/music/create", 1)


async def test_a_reconciled_create_5xx_carries_post_and_path(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """client.music.create's 500, reconciled (no job found): OutcomeUnknownError says POST."""
    monkeypatch.setattr(_reconcile, "PAUSE", 0.0)

    client = make_client(Recorder())  # 500 to the create and to the list reads after it
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create("rain")
    assert (info.value.method, info.value.path) == ("POST", "/v2/pixverse/music/create")
    assert info.value.attempts == 1
    assert info.value.elapsed is not None


async def test_an_account_save_error_keeps_its_metadata_through_scrubbing(
    client: AsyncClient, recorder: Recorder
) -> None:
    """accounts.create's 400 quoting the password: scrubbed, still saying POST accounts/{email}."""
    recorder.then(json_response(400, {"error": f"wrong password {PASSWORD}"}))
    with pytest.raises(BadRequestError) as info:
        await client.accounts.create(EMAIL, password=PASSWORD, max_jobs=1, token=PV_TOKEN)
    error = info.value
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(vars(error))
    assert (error.method, error.path, error.attempts) == (
        "POST",
        f"/v2/pixverse/accounts/{EMAIL}",
        1,
    )
    assert error.elapsed is not None


# ------------------------------------------------------------------ values


def test_errors_made_without_a_request_have_none() -> None:
    """Existing constructors still work; the metadata defaults to None."""
    for error in (
        APIError(404, "gone"),
        APIConnectionError("refused"),
        APITimeoutError("slow"),
        OutcomeUnknownError("lost", endpoint="/v2/pixverse/music/create", payload={}),
    ):
        assert (error.method, error.path, error.attempts, error.elapsed) == (None,) * 4


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError(404, "gone", {"error": "gone"}),
        APITimeoutError("GET /v2/pixverse/music/x: ReadTimeout"),
        OutcomeUnknownError("lost", endpoint="/v2/pixverse/music/create", payload={"a": 1}),
    ],
    ids=lambda error: type(error).__name__,
)
def test_metadata_survives_pickle_and_copy(
    error: APIError | APIConnectionError | OutcomeUnknownError,
) -> None:
    """pickle, copy.copy and copy.deepcopy keep type, message and the request's metadata."""
    error.method, error.path, error.attempts, error.elapsed = "GET", "/v2/p", 2, 1.5
    pickled = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes made just above
    for clone in (pickled, copy.copy(error), copy.deepcopy(error)):
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)
        assert (clone.method, clone.path, clone.attempts, clone.elapsed) == ("GET", "/v2/p", 2, 1.5)


# -------------------------------------------------------------------- logs


async def test_one_debug_summary_per_call_without_secrets(
    client: AsyncClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """Each call logs one DEBUG summary (status, attempts, ms); no token, password or query."""
    caplog.set_level(logging.DEBUG, logger="pixverse_audio")
    recorder.then(
        json_response(200, sample("music_get_200")),
        json_response(503, {"error": "later"}),
        json_response(200, sample("music_get_200")),
        json_response(503, {"error": f"try again {PASSWORD}"}),
        json_response(201, {"email": EMAIL, "maxJobs": 1}),
        json_response(404, sample("music_get_404")),
        json_response(200, sample("music_list_200")),
    )
    await client.music.get(MUSIC_ID)
    await client.music.get(MUSIC_ID)
    await client.accounts.create(EMAIL, password=PASSWORD, max_jobs=1, token=PV_TOKEN)
    with pytest.raises(NotFoundError):
        await client.music.get(MUSIC_ID)
    await client.music.list_page(email=EMAIL, limit=5)
    assert not recorder.script
    found = [m.groups() for m in _summaries(caplog)]
    assert [(method, path, status, attempts) for method, path, status, _, attempts in found] == [
        ("GET", MUSIC_PATH, "200", "1"),
        ("GET", MUSIC_PATH, "200", "2"),
        ("POST", f"/v2/pixverse/accounts/{EMAIL}", "201", "2"),
        ("GET", MUSIC_PATH, "404", "1"),
        ("GET", "/v2/pixverse/music/", "200", "1"),
    ]
    assert "(1 attempt)" in caplog.records[0].getMessage()
    for record in caplog.records:
        text = record.getMessage() + repr(record.args)
        for secret in (TOKEN, TOKEN_HEAD, "Bearer", PASSWORD, PV_TOKEN, "?", "email="):
            assert secret not in text


async def test_a_failed_call_logs_its_summary_once(
    make_client: MakeClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A call failing on the network after all retries logs one summary, naming the failure."""
    caplog.set_level(logging.DEBUG, logger="pixverse_audio")
    recorder.default = _refuse
    client = make_client(recorder)
    with pytest.raises(APIConnectionError) as info:
        await client.music.get(MUSIC_ID)
    found = [m.groups() for m in _summaries(caplog)]
    assert len(found) == 1
    method, path, outcome, _, attempts = found[0]
    assert (method, path, outcome) == ("GET", MUSIC_PATH, "ConnectError")
    assert int(attempts) == info.value.attempts == NO_WAIT.max_retries + 1
