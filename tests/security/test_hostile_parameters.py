"""Hostile arguments and hostile answers: only library errors, and nothing half-sent.

Part one feeds random and hostile strings (control characters, slashes,
percent-encodings such as ``%2e%2e%2f``, unicode) and random integers into
every validated parameter of every public method, against the in-process
emulator. Each call either raises `ValidationError` with no request sent, or
sends well-formed HTTP/1.1 (h11 accepts it, as a real socket would need) to
the API host, with the value arriving intact where it belongs: raw in its own
path segment, as one query value, or as one JSON or form field. It never
injects a path segment or query parameter, and never raises anything but a
library error.

Part two covers hostile answers end to end through the client, where
tests/test_convert.py checks the parsers alone: proxy HTML error pages, empty
and truncated 200s, a 200 carrying ``error``, and huge error pages.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from email import message_from_bytes
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote

import attrs
import h11
import httpx
import pytest
from conftest import ACCOUNT, Recorder, json_response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability._support import wired

from pixverse_audio import (
    APIError,
    AsyncClient,
    MusicRequest,
    OutcomeUnknownError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    ValidationError,
    _reconcile,
)
from pixverse_audio.emulator import Emulator, EmulatorTransport, Timing

MakeClient = Callable[..., AsyncClient]

API_HOST = "api.emulator.test"
V2 = "/v2/pixverse"
VOICE = "minimax_english_radiant_girl"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

# ---------------------------------------------------------------------------
# Part one: hostile arguments


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request, then lets the emulator answer it."""

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record ``request`` and pass it on."""
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the emulator's transport."""
        await self.inner.aclose()


FRAGMENTS = [
    "/", "\\", "?", "#", "&", "=", "%", "+", ";", ":", "@", "*", "'", '"', "`", "|", "^",
    "{", "}", "[", "]", "<", ">", "..", "../", "./", "%2e%2e%2f", "%2F", "%252e", "%00",
    "%0d%0a", "\x00", "\r\n", "\n", "\r", "\t", "\x0b", "\x1b", "\x7f", "\x85", " ",
    "\u00a0", "\u2028", "\u202e", "\ufeff", "\u200b", "é", "ß", "日本", "😀", "e\u0301",
    "https://", "http://evil.example/", "?limit=1000&email=x", "Bearer ", "<script>",
    "${x}", "' OR 1=1 --", "a", "music", "user:1-pixverse:a@b.c-music:1",
]  # fmt: skip
HOSTILE = st.one_of(
    st.text(),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=8).map("".join),
    st.integers(min_value=0, max_value=6000).map(lambda n: "é" * n),
)
INTS = st.one_of(
    st.integers(), st.integers(min_value=-3, max_value=1002), st.sampled_from([2**53, 2**53 + 1])
)
NUMBERS = st.one_of(st.floats(), st.floats(min_value=-1, max_value=12), st.integers())


# Most of these get past the type/subtype check, so they reach the header.
CONTENT_TYPES = (
    HOSTILE
    | HOSTILE.map(lambda v: f"image/{v}")
    | st.sampled_from(FRAGMENTS).map(lambda v: f"image/png{v}")
)


@attrs.frozen
class Case:
    """One parameter: how to pass a value, and where an accepted value must arrive."""

    call: Callable[[AsyncClient, Any], Awaitable[object]]
    path: str  # the path the request goes to; "{}" stands for the value
    where: str = "path"  # "path", "query:<name>", "json:<name>", "form:<name>", "header"
    values: st.SearchStrategy[Any] = HOSTILE


async def first(items: AsyncGenerator[Any, None]) -> Any:
    """The first item of an async generator (or None), closing it properly."""
    async with contextlib.aclosing(items):
        async for item in items:
            return item
    return None


CASES: dict[str, Case] = {
    # music.create
    "music.create prompt": Case(lambda c, v: c.music.create(v), "/music/create", "json:prompt"),
    "music.create model": Case(
        lambda c, v: c.music.create("ok", model=v), "/music/create", "json:model"
    ),
    "music.create email": Case(
        lambda c, v: c.music.create("ok", email=v), "/music/create", "json:email"
    ),
    "music.create lyrics": Case(
        lambda c, v: c.music.create("ok", lyrics=v), "/music/create", "json:lyrics"
    ),
    "music.create reply_url": Case(
        lambda c, v: c.music.create("ok", reply_url=v), "/music/create", "json:replyUrl"
    ),
    "music.create reply_ref": Case(
        lambda c, v: c.music.create("ok", reply_ref=v), "/music/create", "json:replyRef"
    ),
    "music.create image_paths item": Case(
        lambda c, v: c.music.create("ok", model="lyria-3-pro-preview", image_paths=["a.png", v]),
        "/music/create",
        "json:image_path_2",
    ),
    "music.create max_jobs": Case(
        lambda c, v: c.music.create("ok", max_jobs=v), "/music/create", "json:maxJobs", INTS
    ),
    # speech.create (multipart form)
    "speech.create text": Case(
        lambda c, v: c.speech.create(v, VOICE), "/speech/create", "form:text"
    ),
    "speech.create voice_id": Case(
        lambda c, v: c.speech.create("Hello.", v), "/speech/create", "form:voice_id"
    ),
    "speech.create model": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, model=v), "/speech/create", "form:model"
    ),
    "speech.create language_code": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, language_code=v),
        "/speech/create",
        "form:language_code",
    ),
    "speech.create emotion": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, model="speech-next", emotion=v),
        "/speech/create",
        "form:emotion",
    ),
    "speech.create email": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, email=v), "/speech/create", "form:email"
    ),
    "speech.create reply_url": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, reply_url=v),
        "/speech/create",
        "form:replyUrl",
    ),
    "speech.create reply_ref": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, reply_ref=v),
        "/speech/create",
        "form:replyRef",
    ),
    "speech.create pitch": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, pitch=v), "/speech/create", "form:pitch", INTS
    ),
    "speech.create speed": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, speed=v),
        "/speech/create",
        "form:speed",
        NUMBERS,
    ),
    "speech.create volume": Case(
        lambda c, v: c.speech.create("Hello.", VOICE, volume=v),
        "/speech/create",
        "form:volume",
        NUMBERS,
    ),
    # ids in paths
    "music.get id": Case(lambda c, v: c.music.get(v), "/music/{}"),
    "speech.get id": Case(lambda c, v: c.speech.get(v), "/speech/{}"),
    "scheduler.cancel id": Case(lambda c, v: c.scheduler.cancel(v), "/scheduler/{}"),
    "accounts.get email": Case(lambda c, v: c.accounts.get(v), "/accounts/{}"),
    "minimax.music.get id": Case(lambda c, v: c.minimax.music.get(v), "/v1/minimax/music/{}"),
    # query values
    "music.list_page email": Case(
        lambda c, v: c.music.list_page(email=v), "/music/", "query:email"
    ),
    "music.list_page limit": Case(
        lambda c, v: c.music.list_page(limit=v), "/music/", "query:limit", INTS
    ),
    "music.list_page offset": Case(
        lambda c, v: c.music.list_page(offset=v), "/music/", "query:offset", INTS
    ),
    "music.list email": Case(lambda c, v: first(c.music.list(email=v)), "/music/", "query:email"),
    "music.list page_size": Case(
        lambda c, v: first(c.music.list(page_size=v)), "/music/", "query:limit", INTS
    ),
    "speech.list_page email": Case(
        lambda c, v: c.speech.list_page(email=v), "/speech/", "query:email"
    ),
    "speech.list_page limit": Case(
        lambda c, v: c.speech.list_page(limit=v), "/speech/", "query:limit", INTS
    ),
    "speech.list_page offset": Case(
        lambda c, v: c.speech.list_page(offset=v), "/speech/", "query:offset", INTS
    ),
    "speech.voices model": Case(
        lambda c, v: first(c.speech.voices(model=v)), "/speech/voices", "query:model"
    ),
    "speech.voices_page model": Case(
        lambda c, v: c.speech.voices_page(model=v), "/speech/voices", "query:model"
    ),
    "speech.voices_page language": Case(
        lambda c, v: c.speech.voices_page(language=v), "/speech/voices", "query:language"
    ),
    "speech.voices_page email": Case(
        lambda c, v: c.speech.voices_page(email=v), "/speech/voices", "query:email"
    ),
    "speech.voices_page limit": Case(
        lambda c, v: c.speech.voices_page(limit=v), "/speech/voices", "query:limit", INTS
    ),
    "speech.voices_page offset": Case(
        lambda c, v: c.speech.voices_page(offset=v), "/speech/voices", "query:offset", INTS
    ),
    "speech.models email": Case(
        lambda c, v: c.speech.models(email=v), "/speech/models", "query:email"
    ),
    "minimax.music.list_page account": Case(
        lambda c, v: c.minimax.music.list_page(account=v), "/v1/minimax/music/", "query:account"
    ),
    "minimax.music.list_page limit": Case(
        lambda c, v: c.minimax.music.list_page(limit=v), "/v1/minimax/music/", "query:limit", INTS
    ),
    "minimax.music.list_page last_music_id": Case(
        lambda c, v: c.minimax.music.list_page(last_music_id=v),
        "/v1/minimax/music/",
        "query:lastMusicId",
    ),
    "files.upload email": Case(lambda c, v: c.files.upload(PNG, email=v), "/files/", "query:email"),
    "files.upload content_type": Case(
        lambda c, v: c.files.upload(PNG, content_type=v),
        "/files/",
        "header",
        CONTENT_TYPES,
    ),
}


def full_path(case: Case) -> str:
    """The case's path with the API prefix (v2 unless it names v1)."""
    return case.path if case.path.startswith("/v1/") else V2 + case.path


def form_fields(request: httpx.Request) -> dict[str, str]:
    """The fields of a multipart/form-data body, decoded exactly as sent."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = message_from_bytes(head + request.content, policy=HTTP)
    fields = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[str(part.get_param("name", header="content-disposition"))] = payload.decode()
    return fields


def assert_well_formed(request: httpx.Request) -> None:
    """The request is one a real HTTP/1.1 connection would send: h11 accepts it."""
    try:
        h11.Request(
            method=request.method.encode(),
            target=request.url.raw_path,
            headers=list(request.headers.raw),
        )
    except h11.LocalProtocolError as exc:
        pytest.fail(f"the request could not go over a real socket: {exc}")


def assert_arrived_intact(case: Case, request: httpx.Request, value: Any) -> None:
    """The value sits whole where it belongs, and nothing else was added to the request."""
    assert (request.url.scheme, request.url.host) == ("http", API_HOST)
    assert_well_formed(request)
    raw_path = request.url.raw_path.decode("ascii").partition("?")[0]
    expected = full_path(case)
    if case.where == "path":
        prefix = expected.removesuffix("{}")
        assert raw_path.startswith(prefix)
        segment = raw_path[len(prefix) :]
        assert "/" not in segment  # no extra path segment
        assert unquote(segment) == value
        assert request.url.query == b""
        return
    assert raw_path == expected
    kind, _, name = case.where.partition(":")
    if kind == "query":
        params = request.url.params
        assert params.get_list(name) == [str(value)]
        assert set(params.keys()) <= {"email", "limit", "offset", "model", "language"} | {
            "account",
            "lastMusicId",
        }
    elif kind == "json":
        assert json.loads(request.content)[name] == value
    elif kind == "form":
        assert form_fields(request)[name] == str(value)
    else:
        assert request.headers["content-type"] == value


async def check_hostile(case: Case, value: Any) -> None:
    """Refused before sending (ValidationError), or sent intact; never a foreign exception."""
    emulator = Emulator(
        music_timing=Timing.fixed(0), speech_timing=Timing.fixed(0), max_jobs=8, seed=1
    )
    transport = RecordingTransport(emulator.transport())
    no_retry = RetryPolicy(max_retries=0)
    # The accounts are given, so a create is the first request sent: nothing is
    # read beforehand that does not carry the value.
    client = AsyncClient(
        emulator.token,
        base_url=emulator.base_url,
        transport=transport,
        retry=no_retry,
        max_jobs=dict.fromkeys(emulator.accounts, 8),
    )
    refused: ValidationError | None = None
    async with client:
        try:
            await case.call(client, value)
        except ValidationError as exc:
            refused = exc
        except APIError:
            pass  # the emulator answered (a 400 or 404 for a value only the server refuses)
        except Exception as exc:  # the property: nothing else may escape
            pytest.fail(f"{value!r} raised {type(exc).__name__}: {exc}")
    if refused is not None:
        assert transport.requests == [], f"{refused} after a request was sent"
        return
    assert transport.requests, "accepted, yet nothing was sent"
    for request in transport.requests:
        assert_arrived_intact(case, request, value)


FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT_CASES = [n for n, c in CASES.items() if c.values is HOSTILE]
INT_CASES = [n for n, c in CASES.items() if c.values is INTS]
FLOAT_CASES = [n for n, c in CASES.items() if c.values is NUMBERS]


@pytest.mark.anyio
@pytest.mark.parametrize("name", TEXT_CASES)
@FUZZ
@given(value=HOSTILE)
async def test_hostile_text_is_refused_or_sent_intact(name: str, value: str) -> None:
    """Any string: ValidationError with nothing sent, or well-formed requests carrying it intact."""
    await check_hostile(CASES[name], value)


@pytest.mark.anyio
@pytest.mark.parametrize("name", INT_CASES)
@FUZZ
@given(value=INTS)
async def test_random_ints_are_refused_or_sent_intact(name: str, value: int) -> None:
    """Any int as a limit, offset or count: refused before sending, or sent as that number."""
    await check_hostile(CASES[name], value)


@pytest.mark.anyio
@pytest.mark.parametrize("name", FLOAT_CASES)
@FUZZ
@given(value=NUMBERS)
async def test_random_numbers_are_refused_or_sent_intact(name: str, value: float) -> None:
    """Any float (NaN and infinities too) or int as a voice setting: refused, or sent as is."""
    await check_hostile(CASES[name], value)


@pytest.mark.anyio
@FUZZ
@given(value=CONTENT_TYPES)
async def test_hostile_content_type_is_refused_or_sent_intact(value: str) -> None:
    """A content type: refused before sending, or sent as a header h11 would accept."""
    await check_hostile(CASES["files.upload content_type"], value)


# Text parameters sent in a body, a query or a header, where a lone surrogate
# cannot be encoded (ids and emails refuse it already, as non-printable).
SURROGATE_CASES = [
    name
    for name, case in CASES.items()
    if case.values not in (INTS, NUMBERS) and case.where != "path" and not name.endswith("email")
]


@pytest.mark.anyio
async def test_lone_surrogates_are_refused_before_sending() -> None:
    """A str with a lone surrogate (from json.loads or os.fsdecode) is a ValidationError everywhere.

    Such a string cannot be encoded as UTF-8, so it can never be sent; the
    library must refuse it like any other bad argument instead of letting a
    UnicodeEncodeError out while it builds the request. Every text parameter
    is tried; the failure lists each one that lets something else out.
    """
    offenders = []
    for name in SURROGATE_CASES:
        value = "image/png\udfff" if CASES[name].where == "header" else "rain\udfffroof"
        try:
            await check_hostile(CASES[name], value)
        except pytest.fail.Exception as exc:
            offenders.append(f"{name}: {str(exc).splitlines()[0]}")
    assert offenders == [], "\n".join(offenders)


# ---------------------------------------------------------------------------
# Part two: hostile answers, through the client

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
CLOUDFLARE_502 = (
    b'<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> '
    b"<![endif]-->\n<head>\n<title>example.com | 502: Bad gateway</title>\n</head>\n"
    b"<body><h1>Bad gateway</h1> Error code 502</body></html>\n"
)
MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
NO_WAIT = RetryPolicy(max_retries=2, backoff_base=0, backoff_cap=0, busy_delay=(0, 0))


def html(status: int, body: bytes) -> httpx.Response:
    """A proxy's HTML answer."""
    return httpx.Response(status, content=body, headers={"Content-Type": "text/html"})


@pytest.fixture(name="quick_reconcile")
def _quick_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pause between the reconciliation's list reads (they find nothing here anyway)."""
    monkeypatch.setattr(_reconcile, "PAUSE", 0.0)


def assert_created_once(recorder: Recorder, path: str = f"{V2}/music/create") -> None:
    """One create was sent, and nothing else but reads of the account's newest jobs.

    A lost create is never resent: what follows it is reconciliation, which
    only reads ``GET music/?email=`` of the account the create went to.
    """
    sent = [(r.method, r.url.path) for r in recorder.requests]
    assert sent[0] == ("POST", path)
    assert [r for r in recorder.requests if r.method != "GET"] == recorder.requests[:1]
    create = json.loads(recorder.requests[0].content)
    assert create["email"] == ACCOUNT
    for request in recorder.requests[1:]:
        assert request.url.path == f"{V2}/music/"
        assert request.url.params.get_list("email") == [ACCOUNT]


@pytest.mark.anyio
@pytest.mark.parametrize("page", [NGINX_502, CLOUDFLARE_502], ids=["nginx", "cloudflare"])
async def test_proxy_error_page_on_a_read_is_a_clear_server_error(
    make_client: MakeClient, page: bytes
) -> None:
    """A proxy's HTML 502 page, after the retries, is a ServerError saying 'Bad Gateway'.

    The page's first line (``<html>`` or ``<!DOCTYPE html>``) says nothing; the
    title does.
    """
    recorder = Recorder(default=html(502, page))
    client = make_client(recorder, retry=NO_WAIT)
    with pytest.raises(ServerError) as caught:
        await client.music.get(MUSIC_ID)
    error = caught.value
    assert len(recorder.requests) == 3  # a read is resent after a 5xx
    assert error.status_code == 502
    assert "502" in str(error)
    assert isinstance(error.body, str)
    assert "Bad Gateway" in error.body or "Bad gateway" in error.body
    assert "bad gateway" in error.message.lower(), f"unclear message {error.message!r}"


@pytest.mark.anyio
@pytest.mark.usefixtures("quick_reconcile")
async def test_proxy_error_page_on_a_create_is_an_unknown_outcome(make_client: MakeClient) -> None:
    """A create answered by a proxy's HTML 502 is OutcomeUnknownError, sent once, naming the 502."""
    recorder = Recorder(default=html(502, NGINX_502))
    client = make_client(recorder, retry=NO_WAIT)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.music.create("rain", reply_ref="ref-1")
    assert_created_once(recorder)  # never resent: the job may exist
    assert "502" in str(caught.value)
    assert caught.value.payload["replyRef"] == "ref-1"
    assert isinstance(caught.value.__cause__, ServerError)


ODD_OK_BODIES = {
    "empty": (b"", "empty body"),
    "blank": (b" \r\n ", "empty body"),
    "truncated json": (b'{"audio_id": "user:1-pix', "not JSON"),
    "html from a captive portal": (b"<html><body>Sign in to the Wi-Fi</body></html>", "not JSON"),
    "json array": (b"[]", "JSON object"),
}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(ODD_OK_BODIES))
async def test_unreadable_200_on_a_read_is_a_response_format_error(
    make_client: MakeClient, kind: str
) -> None:
    """An empty, truncated, HTML or non-object 200 to a GET is ResponseFormatError saying which."""
    body, fragment = ODD_OK_BODIES[kind]
    recorder = Recorder(default=httpx.Response(200, content=body))
    client = make_client(recorder, retry=NO_WAIT)
    with pytest.raises(ResponseFormatError) as caught:
        await client.music.get(MUSIC_ID)
    assert len(recorder.requests) == 1  # an answer, not a transport failure: not resent
    assert caught.value.status_code == 200
    assert fragment in caught.value.message


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(ODD_OK_BODIES))
@pytest.mark.usefixtures("quick_reconcile")
async def test_unreadable_200_on_a_create_is_an_unknown_outcome(
    make_client: MakeClient, kind: str
) -> None:
    """An unreadable 200 to a create is OutcomeUnknownError (a job may exist), never resent."""
    body, _ = ODD_OK_BODIES[kind]
    recorder = Recorder(default=httpx.Response(200, content=body))
    client = make_client(recorder, retry=NO_WAIT)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.music.create("rain")
    assert_created_once(recorder)
    assert isinstance(caught.value.__cause__, ResponseFormatError)
    assert caught.value.payload["prompt"] == "rain"


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["get", "create", "list_page"])
async def test_ok_status_with_an_error_field_is_an_api_error(
    make_client: MakeClient, call: str
) -> None:
    """A 200 whose body is only ``{"error": ...}`` is an APIError carrying that text, sent once."""
    recorder = Recorder(default=json_response(200, {"error": "Upstream said no"}))
    client = make_client(recorder, retry=NO_WAIT)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: client.music.get(MUSIC_ID),
        "create": lambda: client.music.create("rain"),
        "list_page": lambda: client.music.list_page(email="me@example.com"),
    }
    with pytest.raises(APIError) as caught:
        await calls[call]()
    assert len(recorder.requests) == 1
    assert caught.value.status_code == 200
    assert caught.value.message == "Upstream said no"
    assert "Upstream said no" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 400, 502])
async def test_a_huge_answer_gives_a_bounded_error(make_client: MakeClient, status: int) -> None:
    """A 2 MB HTML or junk answer yields an error whose message and body stay short."""
    page = b"<html>" + b"A" * 2_000_000 + b"</html>"
    recorder = Recorder(default=html(status, page))
    client = make_client(recorder, retry=RetryPolicy(max_retries=0))
    with pytest.raises(APIError) as caught:
        await client.music.get(MUSIC_ID)
    error = caught.value
    assert len(str(error)) <= 300
    assert len(error.message) <= 250
    assert isinstance(error.body, str)
    assert len(error.body) <= 1000


@pytest.mark.anyio
async def test_a_garbled_create_answer_in_a_batch_is_adopted_not_resent() -> None:
    """In generate_many a create answered with truncated JSON is found and adopted: one job."""
    emulator = Emulator(accounts=1, max_jobs=2, music_timing=Timing.fixed(0.1))
    emulator.faults.malformed("music.create")
    client, _ = wired(emulator)
    async with client:
        requests = [MusicRequest(prompt="garbled answer"), MusicRequest(prompt="plain answer")]
        async with client.music.generate_many(requests, timeout=10) as batch:
            results = [r async for r in batch]
    assert sorted(r.index for r in results) == [0, 1]
    assert all(r.ok for r in results), [r.error for r in results]
    assert emulator.stats().requests["music.create"] == 2
    assert emulator.stats().jobs == 2
    owned = sorted(j for r in results for j in r.job_ids)
    assert owned == sorted(emulator.jobs)
