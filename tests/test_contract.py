"""The contract as useapi.net's own pages state it: list shapes, paths, accounts, body limits.

Every list parser accepts the documented shape (and the tolerated ones) and
refuses anything else with a `ResponseFormatError` naming what it saw: an
unknown shape never reads as an empty result.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import httpx
import pytest
from conftest import TOKEN, Recorder, json_response, sample

from pixverse_audio import (
    APIError,
    AsyncClient,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    ResponseFormatError,
    ValidationError,
)
from pixverse_audio import _sansio as sansio
from pixverse_audio._protocol import Reply

MakeClient = Callable[..., AsyncClient]
V2 = "/v2/pixverse"
EMAIL = "me@example.com"
MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"


def reply(body: Any, status: int = 200) -> Reply:
    return Reply(status_code=status, body=json.dumps(body).encode())


LIST_PARSERS: dict[str, Callable[[Reply], Any]] = {
    "music list": partial(sansio.parse_music_page, offset=0),
    "speech list": partial(sansio.parse_speech_page, offset=0),
    "speech voices": partial(sansio.parse_voice_page, offset=0),
    "scheduler list": sansio.parse_scheduled_jobs,
    "scheduler available": sansio.parse_availability,
    "accounts list": sansio.parse_accounts,
    "minimax list": sansio.parse_minimax_songs,
}

UNKNOWN_SHAPES: dict[str, Any] = {
    "empty object": {},
    "other key": {"items": [{"audio_id": MUSIC_ID}], "total": 1},
    "string": "nothing here",
    "number": 42,
    "null": None,
}


@pytest.mark.parametrize(
    ("endpoint", "shape"),
    [
        (endpoint, shape)
        for endpoint in LIST_PARSERS
        for shape in UNKNOWN_SHAPES
        # {} is the accounts map with no entries: see the next test
        if (endpoint, shape) != ("accounts list", "empty object")
    ],
)
def test_list_parsers_refuse_unknown_shapes(endpoint: str, shape: str) -> None:
    """A 200 body of no known shape raises ResponseFormatError naming what it held."""
    body = UNKNOWN_SHAPES[shape]
    with pytest.raises(ResponseFormatError) as caught:
        LIST_PARSERS[endpoint](reply(body))
    if shape == "other key":
        assert "'items'" in str(caught.value)


def test_accounts_map_with_a_non_object_value_is_refused() -> None:
    """An accounts body whose values are not account objects is refused, naming the key."""
    with pytest.raises(ResponseFormatError) as caught:
        sansio.parse_accounts(reply({"accounts": [{"email": EMAIL}]}))
    assert "'accounts'" in str(caught.value)
    assert sansio.parse_accounts(reply({})) == []


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("music list", {"data": None, "has_more": False}),
        ("music list", {"data": {"audio_id": MUSIC_ID}}),
        ("speech list", {"data": "x"}),
        ("speech voices", {"voices": {"voice_id": "v"}}),
        ("speech voices", {"voices": None}),
        ("scheduler available", {"executing": [], "available": {"email": EMAIL}}),
        ("scheduler list", {"executing": "none"}),
    ],
)
def test_list_key_holding_the_wrong_type_is_refused(endpoint: str, body: Any) -> None:
    """A known list key that does not hold a list is a ResponseFormatError naming the key."""
    with pytest.raises(ResponseFormatError) as caught:
        LIST_PARSERS[endpoint](reply(body))
    key = next(iter(k for k in ("data", "voices", "available", "executing") if k in body))
    assert f"expected {key} to be a list" in str(caught.value)


@pytest.mark.parametrize("endpoint", list(LIST_PARSERS))
def test_error_body_with_200_is_an_api_error_not_an_empty_list(endpoint: str) -> None:
    """A 200 body {"error": ...} without a list key raises the server's message."""
    with pytest.raises(APIError) as caught:
        LIST_PARSERS[endpoint](reply({"error": "quota gone", "code": 500}))
    assert type(caught.value) is APIError
    assert caught.value.message == "quota gone"


# The 200 example of https://useapi.net/docs/api-pixverse-v2/get-pixverse-speech-models
SPEECH_MODELS_PAGE = {
    "default_model": "speech-2.8-hd",
    "provider_groups": [
        {
            "provider": "minimax",
            "models": [
                {
                    "model": "speech-2.8-hd",
                    "display_name": "Speech 2.8 HD",
                    "provider": "minimax",
                    "max_characters": 10000,
                    "supported_language_codes": ["auto", "en", "es", "ja", "zh", "..."],
                    "credit_formula": {"unit_characters": 50, "unit_credits": 1, "round_up": True},
                    "emotions": [
                        *("auto", "happy", "sad", "angry", "fearful"),
                        *("disgusted", "surprised", "neutral", "calm"),
                    ],
                }
            ],
        },
        {
            "provider": "elevenlabs",
            "models": [
                {
                    "model": "eleven-v3",
                    "display_name": "Eleven v3",
                    "provider": "elevenlabs",
                    "max_characters": 5000,
                    "supported_language_codes": ["auto", "en", "es", "..."],
                    "credit_formula": {"unit_characters": 50, "unit_credits": 1, "round_up": True},
                }
            ],
        },
    ],
}


def test_speech_models_read_the_documented_page() -> None:
    """The page's example body parses into both provider groups with every field kept."""
    models = sansio.parse_speech_models(reply(SPEECH_MODELS_PAGE))
    assert models.default_model == "speech-2.8-hd"
    assert [g.provider for g in models.provider_groups] == ["minimax", "elevenlabs"]
    assert [m.model for m in models.models] == ["speech-2.8-hd", "eleven-v3"]
    hd = models.get("speech-2.8-hd")
    assert hd is not None
    assert hd.max_characters == 10000
    assert "auto" in hd.supported_language_codes
    assert hd.credit_formula is not None
    assert (hd.credit_formula.unit_characters, hd.credit_formula.unit_credits) == (50, 1)
    assert hd.credit_formula.round_up is True
    assert "calm" in hd.emotions
    v3 = models.get("eleven-v3")
    assert v3 is not None
    assert (v3.max_characters, v3.emotions) == (5000, ())
    assert dict(models.extra) == dict(hd.extra) == {}


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        ({"default_model": "speech-2.8-hd"}, "keys 'default_model'"),
        ({}, "no keys"),
        ({"default_model": "x", "provider_groups": {}}, "got dict"),
        ({"provider_groups": SPEECH_MODELS_PAGE["provider_groups"][0]}, "got dict"),
        ({"provider_groups": None}, "got NoneType"),
        ({"provider_groups": "minimax"}, "got str"),
        ({"models": SPEECH_MODELS_PAGE["provider_groups"][0]["models"]}, "keys 'models'"),
        ([SPEECH_MODELS_PAGE], "got an array"),
    ],
    ids=["no-groups", "empty", "empty-map", "one-group", "null", "string", "flat", "array"],
)
def test_speech_models_need_a_list_of_provider_groups(body: Any, seen: str) -> None:
    """provider_groups must be a list: anything else names what it saw, never an empty catalogue."""
    with pytest.raises(ResponseFormatError) as caught:
        sansio.parse_speech_models(reply(body))
    assert "provider_groups" in str(caught.value)
    assert seen in str(caught.value)


VOICE = {
    "voice_id": "minimax_english_radiant_girl",
    "provider_voice_id": "English_radiant_girl",
    "display_name": "Radiant Girl",
    "provider": "minimax",
    "gender": "female",
    "age": "young",
    "accent": "",
    "style_tags": ["bright", "warm"],
    "recommended_languages": ["en"],
    "preview_url": "https://media.pixverse.ai/voices/radiant.mp3",
    "compatible_models": ["speech-2.8-hd", "speech-2.8-turbo"],
}


@pytest.mark.parametrize(
    ("body", "more", "next_offset"),
    [
        ({"voices": [VOICE]}, False, None),
        ({"voices": [VOICE], "next_offset": 50, "has_more": True}, True, 50),
        ({"data": [VOICE], "next_offset": 1, "has_more": False}, False, 1),
        ([VOICE], False, None),
    ],
    ids=["documented", "documented-paged", "data", "bare-list"],
)
def test_voice_envelopes(body: Any, more: bool, next_offset: int | None) -> None:
    """Voices parse from the documented envelope and from the tolerated ones, every field kept."""
    page, received = sansio.parse_voice_page(reply(body), offset=0, limit=50)
    assert received == 1
    assert (page.has_more, page.next_offset) == (more, next_offset)
    (voice,) = page.items
    assert voice.voice_id == "minimax_english_radiant_girl"
    assert voice.provider_voice_id == "English_radiant_girl"
    assert voice.provider == "minimax"
    assert voice.style_tags == ("bright", "warm")
    assert voice.recommended_languages == ("en",)
    assert voice.preview_url == "https://media.pixverse.ai/voices/radiant.mp3"
    assert voice.compatible_models == ("speech-2.8-hd", "speech-2.8-turbo")
    assert dict(voice.extra) == {}


@pytest.mark.anyio
async def test_voices_iterator_reads_the_documented_envelope(
    client: AsyncClient, recorder: Recorder
) -> None:
    """client.speech.voices() yields the voices of the documented body (it listed none before)."""
    recorder.then(json_response(200, sample("speech_voices_200")))
    voices = [v async for v in client.speech.voices(model="speech-2.8-hd", language="en")]
    assert [v.voice_id for v in voices] == ["minimax_english_radiant_girl"]
    request = recorder.requests[0]
    assert request.url.path == f"{V2}/speech/voices"
    assert dict(request.url.params) == {
        "model": "speech-2.8-hd",
        "language": "en",
        "limit": "50",
        "offset": "0",
    }


@pytest.mark.anyio
async def test_voices_iterator_follows_next_offset(client: AsyncClient, recorder: Recorder) -> None:
    """With next_offset/has_more beside the voices, the iterator fetches every page."""
    second = {**VOICE, "voice_id": "minimax_english_calm_narrator"}
    recorder.then(
        json_response(200, {"voices": [VOICE], "next_offset": 1, "has_more": True}),
        json_response(200, {"voices": [second], "next_offset": 2, "has_more": False}),
    )
    voices = [v.voice_id async for v in client.speech.voices(page_size=1)]
    assert voices == ["minimax_english_radiant_girl", "minimax_english_calm_narrator"]
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "1"]


@pytest.mark.anyio
async def test_voices_unknown_shape_raises(client: AsyncClient, recorder: Recorder) -> None:
    """client.speech.voices() raises ResponseFormatError on an unknown shape; it yields nothing."""
    recorder.then(json_response(200, {"catalogue": [VOICE]}))
    seen: list[object] = []

    async def collect() -> None:
        async for voice in client.speech.voices():
            seen.append(voice)

    with pytest.raises(ResponseFormatError, match="'catalogue'"):
        await collect()
    assert seen == []


# ------------------------------------------------------------------- paths


def test_documented_paths_have_no_trailing_slash() -> None:
    """scheduler/available and accounts are sent as the pages print them."""
    assert sansio.scheduler_available().path == f"{V2}/scheduler/available"
    assert sansio.accounts_list().path == f"{V2}/accounts"
    assert sansio.accounts_get(EMAIL).path == f"{V2}/accounts/{EMAIL}"


# ---------------------------------------------------------------- accounts


@pytest.mark.anyio
async def test_accounts_create_posts_the_documented_body(
    client: AsyncClient, recorder: Recorder
) -> None:
    """accounts.create POSTs {email, password, maxJobs} to accounts/{email}; 201 is the account."""
    recorder.then(json_response(201, {**sample("accounts_create_201"), "email": EMAIL}))
    account = await client.accounts.create(EMAIL, password="hunter2-pw", max_jobs=3)
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("POST", f"{V2}/accounts/{EMAIL}".encode())
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"email": EMAIL, "password": "hunter2-pw", "maxJobs": 3}
    assert (account.email, account.max_jobs) == (EMAIL, 3)
    assert "hunter2" not in repr(account)


@pytest.mark.anyio
async def test_accounts_create_sends_the_optional_token(
    client: AsyncClient, recorder: Recorder
) -> None:
    """A PixVerse token, when given, is sent as "token"."""
    recorder.then(json_response(201, {"email": EMAIL, "maxJobs": 1}))
    await client.accounts.create(EMAIL, password="pw", max_jobs=1, token="pv-session-token")
    body = json.loads(recorder.requests[0].content)
    assert body["token"] == "pv-session-token"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"password": "pw", "max_jobs": 0}, "max_jobs"),
        ({"password": "pw", "max_jobs": 9}, "max_jobs"),
        ({"password": "pw", "max_jobs": True}, "max_jobs"),
        ({"password": "", "max_jobs": 2}, "password"),
        ({"password": None, "max_jobs": 2}, "password"),
        ({"password": "pw", "max_jobs": 2, "token": " "}, "token"),
    ],
)
async def test_accounts_create_validates_before_sending(
    client: AsyncClient, recorder: Recorder, kwargs: dict[str, Any], field: str
) -> None:
    """Bad arguments raise ValidationError naming the field; nothing is sent."""
    with pytest.raises(ValidationError) as caught:
        await client.accounts.create(EMAIL, **kwargs)
    assert caught.value.field == field
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("email", ["", "a b@x.com", "a/b@x.com", "../x"])
async def test_accounts_create_refuses_unsafe_emails(
    client: AsyncClient, recorder: Recorder, email: str
) -> None:
    """An email that could not name one path segment is refused before sending."""
    with pytest.raises(ValidationError):
        await client.accounts.create(email, password="pw", max_jobs=1)
    assert recorder.requests == []


@pytest.mark.anyio
async def test_secrets_never_reach_errors(client: AsyncClient, recorder: Recorder) -> None:
    """A 400 that echoes the password and token reports them as <hidden>."""
    recorder.then(
        json_response(
            400, {"error": "Login failed for password s3cret-pw with token tok-123", "code": 400}
        )
    )
    with pytest.raises(BadRequestError) as caught:
        await client.accounts.create(EMAIL, password="s3cret-pw", max_jobs=2, token="tok-123")
    error = caught.value
    for text in (str(error), repr(error.body), error.message):
        assert "s3cret-pw" not in text
        assert "tok-123" not in text
    assert "<hidden>" in error.message
    assert error.__cause__ is None or "s3cret-pw" not in str(error.__cause__)


def test_account_call_repr_hides_secrets() -> None:
    """The Call of an account create shows neither the password nor the token."""
    call = sansio.accounts_create(email=EMAIL, password="s3cret-pw", max_jobs=2, token="tok-123")
    for text in (repr(call), repr(call.payload)):
        assert "s3cret-pw" not in text
        assert "tok-123" not in text
    assert call.json is not None
    assert call.json["password"] == "s3cret-pw"  # what is sent is the real value


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(204), True),
        (json_response(200, {"account": EMAIL, "deleted": True, "remaining": 0}), True),
        (httpx.Response(404, text="Configuration not found."), False),
    ],
    ids=["204", "200", "404"],
)
async def test_accounts_delete(
    client: AsyncClient, recorder: Recorder, response: httpx.Response, expected: bool
) -> None:
    """accounts.delete DELETEs accounts/{email}: True when it was configured, False on 404."""
    recorder.then(response)
    assert await client.accounts.delete(EMAIL) is expected
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("DELETE", f"{V2}/accounts/{EMAIL}".encode())


@pytest.mark.anyio
async def test_account_404_plain_text_is_not_found(client: AsyncClient, recorder: Recorder) -> None:
    """The documented plain-text 404 of accounts/{email} raises NotFoundError with its text."""
    text = "Configuration not found. To create configuration use POST /accounts/email."
    recorder.then(httpx.Response(404, text=text))
    with pytest.raises(NotFoundError) as caught:
        await client.accounts.get(EMAIL)
    assert caught.value.message == text


# ------------------------------------------------------------ body size cap


class _Endless(httpx.AsyncByteStream):
    """``total`` bytes in 64 KiB chunks that stop once the stream is closed, as a socket's do."""

    def __init__(self, total: int, sent: list[int]) -> None:
        self._total = total
        self._sent = sent
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b" " * 65536
        while sum(self._sent) < self._total and not self.closed:
            self._sent.append(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def _streamed(total: int, sent: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering ``total`` bytes, counting what was sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        stream = _Endless(total, sent)
        return httpx.Response(200, stream=stream, headers={"content-type": "application/json"})

    return handler


@pytest.mark.anyio
async def test_oversized_body_is_refused_without_reading_the_rest(
    make_client: MakeClient,
) -> None:
    """A streamed body past max_response_bytes raises ResponseFormatError at once."""
    sent: list[int] = []
    client = make_client(_streamed(300 * 1024 * 1024, sent), max_response_bytes=1024 * 1024)
    with pytest.raises(ResponseFormatError, match="1,048,576-byte limit"):
        await client.music.get(MUSIC_ID)
    assert sum(sent) <= 1024 * 1024 + 2 * 65536  # stopped right after the limit, body closed


@pytest.mark.anyio
async def test_declared_oversized_body_is_refused_before_reading(make_client: MakeClient) -> None:
    """A Content-Length over the limit is refused before a byte of the body is read."""
    read: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"{}"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-length": str(10**9)})

    client = make_client(handler)
    with pytest.raises(ResponseFormatError, match="1,000,000,000 bytes"):
        await client.music.get(MUSIC_ID)
    assert read == []


@pytest.mark.anyio
async def test_default_limit_is_16_mib_and_allows_big_real_pages(
    client: AsyncClient, recorder: Recorder
) -> None:
    """The default cap is 16 MiB; a 1,000-item page (about 1 MB) is read normally."""
    item = sample("music_list_200")["data"][0]
    recorder.then(json_response(200, {"data": [item] * 1000, "has_more": False}))
    page = await client.music.list_page(limit=1000)
    assert len(page.items) == 1000
    assert len(recorder.requests) == 1
    assert client._connection.max_body == 16 * 1024 * 1024


@pytest.mark.anyio
async def test_oversized_create_answer_is_an_unknown_outcome(make_client: MakeClient) -> None:
    """A create whose 2xx answer is too large may have made a job: OutcomeUnknownError."""
    sent: list[int] = []
    client = make_client(_streamed(50 * 1024 * 1024, sent), max_response_bytes=1024 * 1024)
    with pytest.raises(OutcomeUnknownError):
        await client.music.create("rain")


@pytest.mark.parametrize("value", [0, 1023, -1, True, 2.5, "big"])
def test_max_response_bytes_is_checked(value: Any) -> None:
    """max_response_bytes must be an integer of at least 1024."""
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        AsyncClient(TOKEN, max_response_bytes=value)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"audio_id": "\xff\xfe"}',
        b'{"audio_id": "x", "credits": NaN}',
        b'{"audio_id": "x", "asset_id": ' + b"9" * 5000 + b"}",
    ],
    ids=["deep-nesting", "bad-utf8", "nan", "huge-integer"],
)
def test_malformed_bodies_are_response_format_errors(body: bytes) -> None:
    """Hostile bodies parse to ResponseFormatError, never another exception."""
    with pytest.raises(ResponseFormatError):
        sansio.parse_track(Reply(status_code=200, body=body))


# ------------------------------------------------------------ configuration


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AsyncClient() reads $USEAPI_BASE_URL when base_url is not given; the argument wins."""
    monkeypatch.setenv("USEAPI_BASE_URL", "http://127.0.0.1:8800")
    assert AsyncClient(TOKEN).base_url == "http://127.0.0.1:8800"
    assert AsyncClient(TOKEN, base_url="http://other:1").base_url == "http://other:1"
    monkeypatch.setenv("USEAPI_BASE_URL", "")
    assert AsyncClient(TOKEN).base_url == "https://api.useapi.net"


def test_bad_base_url_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad $USEAPI_BASE_URL is reported under the variable's name."""
    monkeypatch.setenv("USEAPI_BASE_URL", "ftp://nope")
    with pytest.raises(ConfigurationError, match=r"\$USEAPI_BASE_URL must be"):
        AsyncClient(TOKEN)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "max_jobs must be an integer within 1..8"),
        (9, "max_jobs must be an integer within 1..8"),
        ({"a@x.com": 0}, "max_jobs['a@x.com'] must be an integer within 1..8"),
    ],
)
def test_max_jobs_message_speaks_the_callers_language(value: Any, message: str) -> None:
    """The max_jobs error names the argument once, as the caller wrote it."""
    with pytest.raises(ConfigurationError) as caught:
        AsyncClient(TOKEN, max_jobs=value)
    assert str(caught.value) == message


@pytest.mark.anyio
async def test_secrets_never_reach_the_logs(
    client: AsyncClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG logs of an account save (a retried 503, then 201) never hold the secrets."""
    recorder.then(json_response(503, {"error": "try again"}), json_response(201, {"email": EMAIL}))
    with caplog.at_level("DEBUG", logger="pixverse_audio"):
        await client.accounts.create(EMAIL, password="log-s3cret", max_jobs=1, token="tok-s3cret")
    assert len(recorder.requests) == 2  # re-saving an account is safe to resend
    assert "accounts" in caplog.text
    assert "log-s3cret" not in caplog.text
    assert "tok-s3cret" not in caplog.text
