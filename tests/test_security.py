"""The API token stays secret: not in reprs, errors or logs, and sent only to the API host."""

from __future__ import annotations

import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from conftest import ACCOUNT, NO_WAIT, TOKEN, Recorder, json_response, sample

from pixverse_audio import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    OutcomeUnknownError,
    PixverseAudioError,
    ServerError,
    ValidationError,
    _reconcile,
)

MakeClient = Callable[..., AsyncClient]

MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
EMAIL = "me@example.com"
API_HOST = "api.useapi.net"
# Anything longer than the last four characters must never be shown.
TOKEN_HEAD = TOKEN[:-4]
# scheduler/available: the mock clients' one account, free
_AVAILABLE = {
    "executing": [],
    "available": [{"email": ACCOUNT, "maxJobs": 8, "executing": 0, "available": 8}],
}


@pytest.fixture(name="quick_reconcile")
def _quick_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pause between the list reads that look for a lost create's job."""
    monkeypatch.setattr(_reconcile, "PAUSE", 0.0)


def assert_no_token(text: str) -> None:
    """Neither the token nor any part of it beyond its last four characters is in ``text``."""
    assert TOKEN not in text
    assert TOKEN_HEAD not in text
    assert TOKEN[:8] not in text


def _exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    texts += [repr(value) for value in vars(exc).values()]
    texts += [repr(arg) for arg in exc.args]
    return texts


# ------------------------------------------------------------------- reprs


@pytest.mark.anyio
async def test_client_repr_hides_the_token(client: AsyncClient) -> None:
    """repr/str of the client and its resources never show the token."""
    for obj in (
        client,
        client.music,
        client.speech,
        client.scheduler,
        client.files,
        client.accounts,
        client.minimax,
        client.minimax.music,
    ):
        assert_no_token(repr(obj))
        assert_no_token(str(obj))
    assert "AsyncClient" in repr(client)
    assert "api.useapi.net" in repr(client)


@pytest.mark.anyio
async def test_token_is_not_a_public_attribute(client: AsyncClient) -> None:
    """No public attribute of the client holds the token."""
    for name in dir(client):
        if name.startswith("_"):
            continue
        value = getattr(client, name)
        if isinstance(value, str):
            assert_no_token(value)


# ------------------------------------------------------------------- errors

FailingCall = tuple[Callable[[Recorder], None], Callable[[AsyncClient], Awaitable[object]], type]


def _script(*answers: Any) -> Callable[[Recorder], None]:
    def apply(recorder: Recorder) -> None:
        recorder.then(*answers)

    return apply


def _always(answer: Callable[[], httpx.Response | Exception]) -> Callable[[Recorder], None]:
    def handler(_request: httpx.Request) -> httpx.Response:
        result = answer()
        if isinstance(result, Exception):
            raise result
        return result

    def apply(recorder: Recorder) -> None:
        recorder.default = handler

    return apply


FAILING_CALLS: dict[str, FailingCall] = {
    "401 get": (
        _script(json_response(401, {"error": "Unauthorized", "code": 401})),
        lambda c: c.music.get(MUSIC_ID),
        AuthenticationError,
    ),
    "401 create": (
        _script(json_response(401, {"error": "Unauthorized"})),
        lambda c: c.music.create("rain"),
        AuthenticationError,
    ),
    "500 get": (
        _always(lambda: json_response(500, {"error": "Internal error"})),
        lambda c: c.music.get(MUSIC_ID),
        ServerError,
    ),
    "500 create": (
        _script(json_response(500, {"error": "Internal error"})),
        lambda c: c.music.create("rain"),
        OutcomeUnknownError,
    ),
    "connect error": (
        _always(lambda: httpx.ConnectError("[Errno 111] Connection refused")),
        lambda c: c.scheduler.list(),
        APIConnectionError,
    ),
    "read timeout get": (
        _always(lambda: httpx.ReadTimeout("timed out")),
        lambda c: c.music.get(MUSIC_ID),
        APITimeoutError,
    ),
    "read timeout create": (
        _script(httpx.ReadTimeout("timed out")),
        lambda c: c.music.create("rain", reply_ref="r1", email=EMAIL),
        OutcomeUnknownError,
    ),
    "read timeout speech create": (
        _script(httpx.ReadTimeout("timed out")),
        lambda c: c.speech.create("Hello", "voice-1"),
        OutcomeUnknownError,
    ),
    "validation": (
        _script(),
        lambda c: c.music.create(""),
        ValidationError,
    ),
    "validation upload": (
        _script(),
        lambda c: c.files.upload(b"unknown bytes here"),
        ValidationError,
    ),
    "redirect": (
        _script(httpx.Response(302, headers={"Location": "https://evil.example/"})),
        lambda c: c.music.get(MUSIC_ID),
        APIError,
    ),
    "bad json": (
        _script(httpx.Response(200, content=b"<html>oops</html>")),
        lambda c: c.music.get(MUSIC_ID),
        APIError,
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(FAILING_CALLS))
@pytest.mark.usefixtures("quick_reconcile")
async def test_errors_never_contain_the_token(
    make_client: MakeClient, recorder: Recorder, case: str
) -> None:
    """str, repr, attributes and traceback of every raised error are free of the token."""
    prepare, call, error = FAILING_CALLS[case]
    prepare(recorder)
    client = make_client(recorder)
    with pytest.raises(error) as info:
        await call(client)
    assert isinstance(info.value, PixverseAudioError)
    for text in _exception_texts(info.value):
        assert_no_token(text)


@pytest.mark.anyio
@pytest.mark.usefixtures("quick_reconcile")
async def test_unknown_outcome_payload_has_no_token(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """OutcomeUnknownError.payload carries the sent fields but never the token."""
    recorder.then(httpx.WriteTimeout("stalled"))
    client = make_client(recorder)
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create("rain", reply_url="https://hooks.example/cb")
    assert info.value.payload["prompt"] == "rain"
    assert_no_token(repr(dict(info.value.payload)))


@pytest.mark.anyio
async def test_api_error_body_has_no_token(make_client: MakeClient, recorder: Recorder) -> None:
    """An APIError keeps the server's body and message, and the client adds no token to it."""
    recorder.then(json_response(400, {"error": "bad prompt", "code": 400}))
    client = make_client(recorder)
    with pytest.raises(APIError) as info:
        await client.music.create("rain")
    assert info.value.body == {"error": "bad prompt", "code": 400}
    for text in _exception_texts(info.value):
        assert_no_token(text)


# --------------------------------------------------------------------- logs


def _records_text(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), str(record.msg)]
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    texts += [repr(arg) for arg in args]
    return texts


@pytest.mark.anyio
@pytest.mark.usefixtures("quick_reconcile")
async def test_logs_never_contain_the_token(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, successful calls, retries and a lost create are logged; no record holds the token.

    Answers go by endpoint, since the scheduler also reads the account's
    availability after a 429, polls the job it follows meanwhile, and
    reconciles the lost create by reading the account's newest jobs.
    """
    caplog.set_level(logging.DEBUG, logger="pixverse_audio")
    secret_url = "https://hooks.example/cb?key=s3cret"
    creates: deque[httpx.Response | Exception] = deque(
        [
            json_response(200, sample("music_create_200")),
            httpx.ConnectError("refused"),  # never reached the server: resent
            json_response(429, {"error": "busy"}, [("Retry-After", "1")]),  # no job: resent
            json_response(200, sample("music_create_200")),
            json_response(500, {"error": "Internal error"}),  # lost: reconciled, not resent
        ]
    )
    gets: deque[httpx.Response | Exception] = deque(
        [json_response(503, {"error": "later"}), httpx.ReadTimeout("slow")]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        result: httpx.Response | Exception
        if request.method == "POST":
            result = creates.popleft()
        elif request.method == "DELETE":
            result = httpx.Response(204)
        elif path.endswith("/scheduler/available"):
            result = json_response(200, _AVAILABLE)
        elif path.endswith("/accounts"):
            result = json_response(401, {"error": "Unauthorized"})
        elif path.endswith("/music/"):
            result = json_response(200, sample("music_list_200"))
        elif path.endswith(MUSIC_ID) and gets:
            result = gets.popleft()
        else:
            result = json_response(200, sample("music_get_200"))
        if isinstance(result, Exception):
            raise result
        return result

    recorder = Recorder(default=answer)
    client = make_client(recorder)
    await client.music.create("rain", reply_url=secret_url)
    await client.music.get(MUSIC_ID)
    await client.music.create("snow")
    with pytest.raises(OutcomeUnknownError):
        await client.music.create("hail", reply_url=secret_url)
    assert await client.scheduler.cancel(MUSIC_ID) is True
    with pytest.raises(AuthenticationError):
        await client.accounts.list()
    assert not creates  # every failure above was met, and logged
    assert not gets
    records = [r for r in caplog.records if r.name == "pixverse_audio"]
    assert len(records) >= 10
    assert any(r.levelno == logging.INFO and "retry" in r.getMessage() for r in records)
    for record in records:
        for text in _records_text(record):
            assert_no_token(text)
            assert "Bearer" not in text
            assert "s3cret" not in text


@pytest.mark.anyio
async def test_debug_record_per_request_and_info_per_retry(
    make_client: MakeClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """Each HTTP exchange logs one DEBUG record (method, path, status); each retry one INFO."""
    caplog.set_level(logging.DEBUG, logger="pixverse_audio")
    recorder.then(
        json_response(500, {"error": "x"}),
        json_response(502, {"error": "x"}),
        json_response(200, sample("music_get_200")),
        httpx.Response(204),
    )
    client = make_client(recorder)
    await client.music.get(MUSIC_ID)
    await client.scheduler.cancel(MUSIC_ID)
    records = [r for r in caplog.records if r.name == "pixverse_audio"]
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(debug) == 4
    assert debug[0].startswith(f"GET /v2/pixverse/music/{MUSIC_ID} -> 500")
    assert debug[2].startswith(f"GET /v2/pixverse/music/{MUSIC_ID} -> 200")
    assert debug[3].startswith(f"DELETE /v2/pixverse/scheduler/{MUSIC_ID} -> 204")
    assert len(info) == 2
    assert all("retry" in message for message in info)
    assert "(retry 1 of 3)" in info[0]
    assert "(retry 2 of 3)" in info[1]


@pytest.mark.anyio
async def test_library_is_silent_without_logging_config(
    make_client: MakeClient, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    """With logging unconfigured, retries print nothing to stderr (a NullHandler is attached)."""
    recorder.then(json_response(503, {"error": "x"}), json_response(200, sample("music_get_200")))
    client = make_client(recorder)
    await client.music.get(MUSIC_ID)
    assert capsys.readouterr().err == ""
    assert any(
        isinstance(h, logging.NullHandler) for h in logging.getLogger("pixverse_audio").handlers
    )


# -------------------------------------------------------------- token's host


async def _successful_calls(client: AsyncClient) -> None:
    await client.music.create("rain")
    await client.music.get(MUSIC_ID)
    await client.speech.create("Hello", "voice-1")
    await client.scheduler.cancel(MUSIC_ID)
    await client.files.upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    await client.minimax.music.get("user:1-minimax:a@b.c-music:2")


def _ok(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.method == "DELETE":
        return httpx.Response(204)
    if path.endswith("/files/"):
        return json_response(200, {"path": "upload/x.png", "url": "https://media.pixverse.ai/x"})
    if "/v1/minimax/" in path:
        return json_response(200, {"musicId": "user:1-minimax:a@b.c-music:2"})
    if path.endswith("/create"):
        return json_response(200, sample("music_create_200"))
    return json_response(200, sample("music_get_200"))


@pytest.mark.anyio
@pytest.mark.parametrize("base_url", ["https://api.useapi.net", "http://localhost:8800/api/"])
async def test_authorization_goes_only_to_the_api_host(
    make_client: MakeClient, base_url: str
) -> None:
    """Every request carrying the token goes to base_url's scheme, host and port."""
    recorder = Recorder(default=_ok)
    client = make_client(recorder, base_url=base_url)
    await _successful_calls(client)
    expected = httpx.URL(base_url)
    assert len(recorder.requests) == 6
    for request in recorder.requests:
        assert (request.url.scheme, request.url.host, request.url.port) == (
            expected.scheme,
            expected.host,
            expected.port,
        )
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert_no_token(str(request.url))


def _redirecting_handler(
    stolen: list[httpx.Request], status: int
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.host != API_HOST:
            stolen.append(request)
            return json_response(200, sample("music_get_200"))
        return httpx.Response(status, headers={"Location": "https://evil.example/collect"})

    return handler


V2 = "/v2/pixverse"
# name: (the call, the client's max_jobs, the requests it must send: one per redirect)
REDIRECT_CALLS: dict[
    str, tuple[Callable[[AsyncClient], Awaitable[object]], Any, list[tuple[str, str]]]
] = {
    "get": (lambda c: c.music.get(MUSIC_ID), None, [("GET", f"{V2}/music/{MUSIC_ID}")]),
    # accounts given: the create itself is the first request, and is redirected
    "create": (lambda c: c.music.create("rain"), {EMAIL: 8}, [("POST", f"{V2}/music/create")]),
    # accounts not given: the reads that learn them are redirected (then nothing is created)
    "create, accounts unknown": (
        lambda c: c.music.create("rain"),
        None,
        [("GET", f"{V2}/scheduler/available"), ("GET", f"{V2}/accounts")],
    ),
    "cancel": (
        lambda c: c.scheduler.cancel(MUSIC_ID),
        None,
        [("DELETE", f"{V2}/scheduler/{MUSIC_ID}")],
    ),
    "upload": (
        lambda c: c.files.upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16),
        None,
        [("POST", f"{V2}/files/")],
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", list(REDIRECT_CALLS))
@pytest.mark.parametrize("follow", [False, True], ids=["plain-http", "follow-redirects-http"])
async def test_redirect_to_another_host_is_not_followed(
    status: int, call: str, follow: bool
) -> None:
    """A redirect to another host raises APIError; that host never receives a request."""
    stolen: list[httpx.Request] = []
    handler = _redirecting_handler(stolen, status)
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    make_call, max_jobs, expected = REDIRECT_CALLS[call]
    http = httpx.AsyncClient(transport=httpx.MockTransport(recording), follow_redirects=follow)
    try:
        client = AsyncClient(TOKEN, http_client=http, retry=NO_WAIT, max_jobs=max_jobs)
        with pytest.raises(APIError) as info:
            await make_call(client)
        assert type(info.value) is APIError
        assert info.value.status_code == status
        await client.aclose()
    finally:
        await http.aclose()
    assert stolen == []
    assert [(r.method, r.url.path) for r in seen] == expected
    assert all(r.url.host == API_HOST for r in seen)


@pytest.mark.anyio
async def test_redirect_error_names_the_location_without_the_token(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """The redirect error says where it pointed, and holds no token."""
    recorder.then(httpx.Response(302, headers={"Location": "https://evil.example/collect"}))
    client = make_client(recorder)
    with pytest.raises(APIError) as info:
        await client.music.get(MUSIC_ID)
    assert "evil.example" in info.value.message
    for text in _exception_texts(info.value):
        assert_no_token(text)
