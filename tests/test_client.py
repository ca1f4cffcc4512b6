"""AsyncClient construction and lifecycle, and a request/response round trip per public method."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import NO_WAIT, TOKEN, Recorder, json_response, sample

from pixverse_audio import (
    Account,
    APIError,
    AsyncClient,
    AudioStatus,
    ConfigurationError,
    Job,
    MinimaxStatus,
    NotFoundError,
    ServerError,
    SpeechClip,
    Track,
    UploadedFile,
    ValidationError,
)

MakeClient = Callable[..., AsyncClient]

EMAIL = "me@example.com"
MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
SPEECH_ID = "user:123-pixverse:me@example.com-speech:55667788"
MINIMAX_ID = "user:123-minimax:acc@example.com-music:99"
V2 = "/v2/pixverse"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x02" * 32
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x03" * 32
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x04" * 32

IMAGE_UPLOAD = {
    "result": [
        {
            "id": 987,
            "url": "https://media.pixverse.ai/upload/cover.png",
            "path": "upload/cover.png",
            "size": 48,
            "name": "cover.png",
            "category": 0,
            "err_msg": "",
        }
    ]
}
AUDIO_UPLOAD = {"path": "upload/voice.mp3", "url": "https://media.pixverse.ai/upload/voice.mp3"}

SPEECH_CLIP = {
    "audio_id": SPEECH_ID,
    "audio_status": 1,
    "audio_status_final": True,
    "create_mode": "voice",
    "voice_id": "minimax_english_radiant_girl",
    "prompt": "Hello there",
    "url": "https://media.pixverse.ai/pixverse/audio/speech/55667788.mp3",
}
SPEECH_MODELS = {
    "default_model": "speech-2.8-hd",
    "provider_groups": [
        {
            "provider": "minimax",
            "models": [
                {
                    "model": "speech-2.8-hd",
                    "display_name": "Speech 2.8 HD",
                    "max_characters": 20,
                    "supported_language_codes": ["en", "de"],
                    "credit_formula": {"unit_characters": 1000, "unit_credits": 20},
                }
            ],
        }
    ],
}
MINIMAX_SONG = {
    "musicId": MINIMAX_ID,
    "title": "Night drive",
    "status": 2,
    "statusLabel": "completed",
    "statusFinal": True,
    "createTime": 1750000000000,
    "duration": 45,
    "audioURL": "https://cdn.example/99.mp3",
}
SCHEDULED = {
    "id": MUSIC_ID,
    "type": "music",
    "started": "2026-06-23T12:34:56Z",
    "elapsed": "01:05",
    "replyUrl": "https://hooks.example/cb",
    "replyRef": "batch-7",
}
ACCOUNT = {
    "email": EMAIL,
    "maxJobs": 3,
    "jwt": {"token": "pixverse-session-jwt"},
    "password": "…secured…",
}


def body_json(request: httpx.Request) -> Any:
    """The decoded JSON body of a recorded request."""
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def form_fields(request: httpx.Request) -> dict[str, str]:
    """The fields of a recorded multipart/form-data body, names checked unique."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    )
    assert message.is_multipart()
    names: list[str] = []
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        names.append(name)
        fields[name] = payload.decode("utf-8")
    assert len(names) == len(set(names))
    return fields


def _owned_http_closed(client: AsyncClient) -> bool:
    """Whether the httpx client an AsyncClient created for itself is closed (private access)."""
    return client._connection.http.is_closed


def raw_path(request: httpx.Request) -> str:
    """The raw path of a request, without the query."""
    return request.url.raw_path.decode("ascii").partition("?")[0]


def params(request: httpx.Request) -> dict[str, str]:
    """The decoded query parameters of a request (each name once)."""
    items = list(request.url.params.multi_items())
    assert len(items) == len({k for k, _ in items})
    return dict(items)


# ---------------------------------------------------------------- construction


@pytest.mark.anyio
async def test_token_from_argument_is_sent(client: AsyncClient, recorder: Recorder) -> None:
    """The token passed to the constructor is sent whole as a Bearer token."""
    recorder.then(json_response(200, sample("music_get_200")))
    await client.music.get(MUSIC_ID)
    assert recorder.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_token_argument_beats_environment(
    make_client: MakeClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit token wins over $USEAPI_TOKEN."""
    monkeypatch.setenv("USEAPI_TOKEN", "env-token-0000")
    recorder.then(json_response(200, sample("music_get_200")))
    await make_client(recorder).music.get(MUSIC_ID)
    assert recorder.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_token_from_environment(
    make_client: MakeClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no token argument, $USEAPI_TOKEN is used."""
    monkeypatch.setenv("USEAPI_TOKEN", "env-token-1234abcd")
    recorder.then(json_response(200, sample("music_get_200")))
    await make_client(recorder, token=None).music.get(MUSIC_ID)
    assert recorder.requests[0].headers["authorization"] == "Bearer env-token-1234abcd"


@pytest.mark.parametrize(
    ("argument", "env"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\t\n", None),
        (None, ""),
        (None, "   "),
        ("", "env-token-would-not-be-used"),
    ],
    ids=["none", "empty", "spaces", "tab-newline", "env-empty", "env-blank", "empty-arg"],
)
def test_missing_or_blank_token_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, argument: str | None, env: str | None
) -> None:
    """A missing, empty or blank token raises ConfigurationError at construction."""
    if env is None:
        monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    else:
        monkeypatch.setenv("USEAPI_TOKEN", env)
    with pytest.raises(ConfigurationError):
        AsyncClient(argument)


@pytest.mark.parametrize(
    "token", [" tok-123", "tok-123 ", "tok 123", "tok\t123", "tok\n123", "tok\x00123", "tok\x7f1"]
)
def test_token_with_whitespace_or_controls_is_a_configuration_error(token: str) -> None:
    """A token containing whitespace or control characters raises ConfigurationError."""
    with pytest.raises(ConfigurationError) as info:
        AsyncClient(token)
    assert token not in str(info.value)


@pytest.mark.anyio
async def test_non_ascii_token_is_refused(make_client: MakeClient, recorder: Recorder) -> None:
    """A non-ASCII token (unsendable in a header) raises ConfigurationError, never UnicodeError."""
    recorder.then(json_response(200, sample("music_get_200")))

    async def construct_and_call() -> None:
        client = make_client(recorder, token="tök-1234")
        await client.music.get(MUSIC_ID)

    with pytest.raises(ConfigurationError):
        await construct_and_call()
    assert recorder.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://api.useapi.net",
        "api.useapi.net",
        "/v2/pixverse",
        "https://",
        "http://user:secret@api.useapi.net",
        "https://api.useapi.net/?token=x",
        "https://api.useapi.net/#frag",
        "",
        "ws://api.useapi.net",
    ],
)
def test_bad_base_url_is_a_configuration_error(base_url: str) -> None:
    """base_url must be an absolute http(s) URL without query, fragment or user info."""
    with pytest.raises(ConfigurationError):
        AsyncClient(TOKEN, base_url=base_url)


def test_non_string_base_url_is_a_configuration_error() -> None:
    """A base_url that is not a string raises ConfigurationError, not TypeError."""
    with pytest.raises(ConfigurationError):
        AsyncClient(TOKEN, base_url=12345)  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("base_url", ["http://localhost:8800/api/", "http://localhost:8800/api"])
async def test_base_url_path_prefix_prefixes_every_request(
    make_client: MakeClient, tmp_path: Path, base_url: str
) -> None:
    """A base_url with a path prefix sends every request below that prefix, same host."""
    recorder = Recorder(default=_router)
    client = make_client(recorder, base_url=base_url)
    assert client.base_url == "http://localhost:8800/api"
    await _call_everything(client, tmp_path)
    assert len(recorder.requests) == 19
    for request in recorder.requests:
        assert request.url.scheme == "http"
        assert request.url.host == "localhost"
        assert request.url.port == 8800
        assert raw_path(request).startswith(("/api/v2/pixverse/", "/api/v1/minimax/"))
    assert raw_path(recorder.requests[0]) == f"/api{V2}/music/create"
    assert raw_path(recorder.requests[1]) == f"/api{V2}/music/{MUSIC_ID}"


@pytest.mark.anyio
async def test_default_base_url_is_useapi_https(client: AsyncClient, recorder: Recorder) -> None:
    """By default requests go to https://api.useapi.net/v2/pixverse/..."""
    recorder.then(json_response(200, sample("music_get_200")))
    await client.music.get(MUSIC_ID)
    url = recorder.requests[0].url
    assert (url.scheme, url.host, url.port) == ("https", "api.useapi.net", None)
    assert client.base_url == "https://api.useapi.net"


@pytest.mark.anyio
async def test_default_timeouts_are_sent(client: AsyncClient, recorder: Recorder) -> None:
    """Each request carries the default timeouts: 10 s connect, 60 s read/write/pool."""
    recorder.then(json_response(200, sample("music_get_200")))
    await client.music.get(MUSIC_ID)
    assert recorder.requests[0].extensions["timeout"] == {
        "connect": 10.0,
        "read": 60.0,
        "write": 60.0,
        "pool": 60.0,
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (5, {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (
            httpx.Timeout(30.0, connect=2.0, pool=1.0),
            {"connect": 2.0, "read": 30.0, "write": 30.0, "pool": 1.0},
        ),
    ],
    ids=["number", "httpx.Timeout"],
)
async def test_custom_timeouts_are_sent(
    make_client: MakeClient, recorder: Recorder, timeout: Any, expected: dict[str, float]
) -> None:
    """timeout= (a number or an httpx.Timeout) is sent with every request."""
    recorder.then(json_response(200, sample("music_get_200")), httpx.Response(204))
    client = make_client(recorder, timeout=timeout)
    await client.music.get(MUSIC_ID)
    await client.scheduler.cancel(MUSIC_ID)
    assert [r.extensions["timeout"] for r in recorder.requests] == [expected, expected]


@pytest.mark.anyio
async def test_standard_headers_are_sent(make_client: MakeClient, tmp_path: Path) -> None:
    """Every request sends Authorization: Bearer, Accept: application/json and our User-Agent."""
    recorder = Recorder(default=_router)
    client = make_client(recorder)
    await _call_everything(client, tmp_path)
    for request in recorder.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/json"
        assert request.headers["user-agent"].startswith("pixverse-audio/")
        assert len(request.headers.get_list("authorization")) == 1


def test_user_agent_names_the_version() -> None:
    """The User-Agent carries the package version."""
    import pixverse_audio
    from pixverse_audio._connection import user_agent as _user_agent

    assert _user_agent().startswith(f"pixverse-audio/{pixverse_audio.__version__} ")


# ------------------------------------------------------------------- lifecycle


@pytest.mark.anyio
async def test_async_with_returns_the_client_and_closes_it() -> None:
    """`async with` yields the client itself and closes its own httpx client on exit."""
    client = AsyncClient(TOKEN)
    async with client as entered:
        assert entered is client
        assert not _owned_http_closed(client)
    assert _owned_http_closed(client)
    with pytest.raises(ConfigurationError):
        await client.music.get(MUSIC_ID)


@pytest.mark.anyio
async def test_async_with_closes_on_error() -> None:
    """Leaving `async with` by an exception still closes the client."""
    client = AsyncClient(TOKEN)
    with pytest.raises(KeyError):
        async with client:
            raise KeyError("boom")
    assert _owned_http_closed(client)


@pytest.mark.anyio
async def test_closed_client_raises_and_sends_nothing(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """Every call on a closed client raises ConfigurationError and sends no request."""
    recorder.default = _router
    await client.aclose()
    file = tmp_path / "cover.png"
    file.write_bytes(PNG)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.music.create("rain"),
        lambda: client.music.get(MUSIC_ID),
        lambda: client.music.list_page(),
        lambda: client.speech.create("Hello", "voice-1"),
        lambda: client.speech.get(SPEECH_ID),
        lambda: client.speech.list_page(),
        lambda: client.speech.voices_page(),
        lambda: client.speech.models(),
        lambda: client.minimax.music.list_page(),
        lambda: client.minimax.music.get(MINIMAX_ID),
        lambda: client.scheduler.list(),
        lambda: client.scheduler.available(),
        lambda: client.scheduler.cancel(MUSIC_ID),
        lambda: client.files.upload(PNG),
        lambda: client.files.upload(file),
        lambda: client.accounts.list(),
        lambda: client.accounts.get(EMAIL),
    ]
    for call in calls:
        with pytest.raises(ConfigurationError, match="closed"):
            await call()
    assert recorder.requests == []


@pytest.mark.anyio
async def test_entering_a_closed_client_raises(client: AsyncClient) -> None:
    """`async with` on a closed client raises ConfigurationError."""
    await client.aclose()
    with pytest.raises(ConfigurationError):
        async with client:
            pass


@pytest.mark.anyio
async def test_aclose_twice_is_fine() -> None:
    """aclose can be called more than once."""
    client = AsyncClient(TOKEN)
    await client.aclose()
    await client.aclose()
    assert _owned_http_closed(client)


@pytest.mark.anyio
async def test_caller_http_client_is_not_closed(recorder: Recorder) -> None:
    """aclose leaves a caller-supplied httpx.AsyncClient open and usable."""
    recorder.default = httpx.Response(204)
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    try:
        async with AsyncClient(TOKEN, http_client=http, retry=NO_WAIT) as client:
            assert await client.scheduler.cancel(MUSIC_ID) is True
        assert not http.is_closed
        response = await http.get("https://example.test/ping")
        assert response.status_code == 204
    finally:
        await http.aclose()


@pytest.mark.anyio
async def test_caller_http_client_base_url_and_redirects_are_not_used(recorder: Recorder) -> None:
    """A caller client's base_url and follow_redirects are ignored: our URL, no redirect follow."""
    recorder.then(httpx.Response(302, headers={"Location": "https://api.useapi.net/elsewhere"}))
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder),
        base_url="https://other.example/prefix",
        follow_redirects=True,
    )
    try:
        client = AsyncClient(TOKEN, http_client=http, retry=NO_WAIT)
        with pytest.raises(APIError) as info:
            await client.music.get(MUSIC_ID)
        assert info.value.status_code == 302
        assert len(recorder.requests) == 1
        assert recorder.requests[0].url.host == "api.useapi.net"
        await client.aclose()
    finally:
        await http.aclose()


@pytest.mark.anyio
async def test_caller_http_client_auth_is_not_used(recorder: Recorder) -> None:
    """A caller client's auth is not applied: the Bearer token is sent, as documented."""
    recorder.then(json_response(200, sample("music_get_200")))
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder), auth=("user", "pass"))
    try:
        client = AsyncClient(TOKEN, http_client=http, retry=NO_WAIT)
        await client.music.get(MUSIC_ID)
        await client.aclose()
    finally:
        await http.aclose()
    assert recorder.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_retry_property_reflects_the_policy(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """retry= is exposed as .retry; max_retries= alone builds a default policy with that count."""
    assert make_client(recorder).retry is NO_WAIT
    other = make_client(recorder, retry=None, max_retries=7)
    assert other.retry.max_retries == 7
    assert other.retry.busy_delay == (10.0, 30.0)


# -------------------------------------------------------------------- music


@pytest.mark.anyio
async def test_music_create_sends_every_field_by_wire_name(
    client: AsyncClient, recorder: Recorder
) -> None:
    """music.create posts JSON with wire names (image_path_N, replyUrl, replyRef, maxJobs)."""
    recorder.then(json_response(200, sample("music_create_200")))
    job = await client.music.create(
        "cinematic strings",
        model="lyria-3-pro-preview",
        email=EMAIL,
        instrumental=False,
        image_paths=["upload/a.png", "upload/b.jpg", "upload/c.webp"],
        reply_url="https://hooks.example/cb?secret=1",
        reply_ref="batch-7",
        max_jobs=4,
    )
    request = recorder.requests[0]
    assert request.method == "POST"
    assert raw_path(request) == f"{V2}/music/create"
    assert params(request) == {}
    assert body_json(request) == {
        "prompt": "cinematic strings",
        "model": "lyria-3-pro-preview",
        "email": EMAIL,
        "instrumental": False,
        "image_path_1": "upload/a.png",
        "image_path_2": "upload/b.jpg",
        "image_path_3": "upload/c.webp",
        "replyUrl": "https://hooks.example/cb?secret=1",
        "replyRef": "batch-7",
        "maxJobs": 4,
    }
    assert isinstance(job, Job)
    assert job.audio_id == sample("music_create_200")["audio_id"]
    assert job.status is AudioStatus.QUEUED
    assert job.final is False


@pytest.mark.anyio
async def test_music_create_with_lyrics(client: AsyncClient, recorder: Recorder) -> None:
    """music.create sends lyrics and instrumental=True as JSON true where allowed."""
    recorder.then(
        json_response(200, sample("music_create_200")),
        json_response(200, sample("music_create_200")),
    )
    await client.music.create("folk ballad", model="music-v1", lyrics="la la la\nla")
    await client.music.create("ambient", instrumental=True)
    assert body_json(recorder.requests[0]) == {
        "prompt": "folk ballad",
        "model": "music-v1",
        "lyrics": "la la la\nla",
        "email": EMAIL,  # the account the client chose (its only one here)
    }
    assert body_json(recorder.requests[1]) == {
        "prompt": "ambient",
        "model": "music-2.6",
        "instrumental": True,
        "email": EMAIL,
    }


@pytest.mark.anyio
async def test_music_create_omits_none_fields(client: AsyncClient, recorder: Recorder) -> None:
    """music.create with only a prompt sends the prompt, the default model and the account."""
    recorder.then(json_response(200, sample("music_create_200")))
    await client.music.create("upbeat synthwave")
    assert body_json(recorder.requests[0]) == {
        "prompt": "upbeat synthwave",
        "model": "music-2.6",
        "email": EMAIL,
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kwargs",
    [
        {"prompt": ""},
        {"prompt": "x" * 2001},
        {"prompt": "ok", "lyrics": "la", "instrumental": True},
        {"prompt": "ok", "model": "lyria-3-pro-preview", "lyrics": "la"},
        {"prompt": "ok", "image_paths": ["upload/a.png"]},
        {"prompt": "ok", "max_jobs": 9},
        {"prompt": "ok", "reply_url": "ftp://x"},
    ],
    ids=["empty", "too-long", "lyrics+instrumental", "lyria-lyrics", "images", "maxjobs", "url"],
)
async def test_music_create_validation_sends_nothing(
    client: AsyncClient, recorder: Recorder, kwargs: dict[str, Any]
) -> None:
    """An invalid music.create raises ValidationError before any request."""
    with pytest.raises(ValidationError):
        await client.music.create(**kwargs)
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "target",
    [MUSIC_ID, Job(audio_id=MUSIC_ID), Track(audio_id=MUSIC_ID)],
    ids=["str", "Job", "Track"],
)
async def test_music_get_accepts_id_job_or_track(
    client: AsyncClient, recorder: Recorder, target: Any
) -> None:
    """music.get GETs music/{audio_id} with ':' and '@' raw, from a str, Job or Track."""
    recorder.then(json_response(200, sample("music_get_200")))
    track = await client.music.get(target)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert request.url.raw_path == f"{V2}/music/{MUSIC_ID}".encode()
    assert request.content == b""
    assert isinstance(track, Track)
    assert track.status is AudioStatus.COMPLETED
    assert track.final is True
    assert track.duration == 202


@pytest.mark.anyio
async def test_music_get_404_is_not_found(client: AsyncClient, recorder: Recorder) -> None:
    """music.get maps 404 to NotFoundError with the server's message."""
    recorder.then(json_response(404, sample("music_get_404")))
    with pytest.raises(NotFoundError) as info:
        await client.music.get(MUSIC_ID)
    assert info.value.message == sample("music_get_404")["error"]


@pytest.mark.anyio
async def test_music_list_page(client: AsyncClient, recorder: Recorder) -> None:
    """music.list_page GETs music/ with email, limit, offset and drops speech items."""
    speech = {**SPEECH_CLIP}
    track = {**sample("music_get_200"), "audio_id": MUSIC_ID}
    recorder.then(
        json_response(200, {"data": [track, speech], "next_offset": 30, "has_more": True})
    )
    page = await client.music.list_page(email=EMAIL, limit=10, offset=20)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert raw_path(request) == f"{V2}/music/"
    assert params(request) == {"email": EMAIL, "limit": "10", "offset": "20"}
    assert [t.audio_id for t in page.items] == [MUSIC_ID]
    assert (page.next_offset, page.has_more, page.offset) == (30, True, 20)


@pytest.mark.anyio
async def test_music_list_page_defaults(client: AsyncClient, recorder: Recorder) -> None:
    """music.list_page without arguments sends limit=50 and offset=0 and no email."""
    recorder.then(json_response(200, sample("music_list_200")))
    page = await client.music.list_page()
    assert params(recorder.requests[0]) == {"limit": "50", "offset": "0"}
    assert page.has_more is False


# -------------------------------------------------------------------- speech


@pytest.mark.anyio
async def test_speech_create_minimax_form(client: AsyncClient, recorder: Recorder) -> None:
    """speech.create posts multipart/form-data with every MiniMax setting by wire name."""
    recorder.then(json_response(200, {**sample("music_create_200"), "audio_id": SPEECH_ID}))
    job = await client.speech.create(
        "Héllo there ✓",
        "minimax_english_radiant_girl",
        model="speech-2.8-turbo",
        language_code="en",
        speed=1.5,
        volume=5,
        pitch=-3,
        emotion="happy",
        email=EMAIL,
        reply_url="https://hooks.example/cb",
        reply_ref="ref-1",
        max_jobs=2,
    )
    request = recorder.requests[0]
    assert request.method == "POST"
    assert raw_path(request) == f"{V2}/speech/create"
    assert params(request) == {}
    assert form_fields(request) == {
        "text": "Héllo there ✓",
        "voice_id": "minimax_english_radiant_girl",
        "model": "speech-2.8-turbo",
        "language_code": "en",
        "speed": "1.5",
        "volume": "5",
        "pitch": "-3",
        "emotion": "happy",
        "email": EMAIL,
        "replyUrl": "https://hooks.example/cb",
        "replyRef": "ref-1",
        "maxJobs": "2",
    }
    assert job.audio_id == SPEECH_ID


@pytest.mark.anyio
@pytest.mark.parametrize(("boost", "wire"), [(True, "true"), (False, "false")])
async def test_speech_create_elevenlabs_form(
    client: AsyncClient, recorder: Recorder, boost: bool, wire: str
) -> None:
    """speech.create sends ElevenLabs settings; booleans as "true"/"false"."""
    recorder.then(json_response(200, {**sample("music_create_200"), "audio_id": SPEECH_ID}))
    await client.speech.create(
        "Hello",
        "eleven_voice",
        model="eleven-multilingual-v2",
        stability=0.5,
        similarity_boost=0.75,
        style=0.2,
        use_speaker_boost=boost,
    )
    assert form_fields(recorder.requests[0]) == {
        "text": "Hello",
        "voice_id": "eleven_voice",
        "model": "eleven-multilingual-v2",
        "stability": "0.5",
        "similarity_boost": "0.75",
        "style": "0.2",
        "use_speaker_boost": wire,
        "email": EMAIL,
    }


@pytest.mark.anyio
async def test_speech_create_omits_none_settings(client: AsyncClient, recorder: Recorder) -> None:
    """speech.create with defaults sends only text, voice_id, model and the account."""
    recorder.then(json_response(200, {**sample("music_create_200"), "audio_id": SPEECH_ID}))
    await client.speech.create("Hi", "voice-1")
    assert form_fields(recorder.requests[0]) == {
        "text": "Hi",
        "voice_id": "voice-1",
        "model": "speech-2.8-hd",
        "email": EMAIL,
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    "target",
    [SPEECH_ID, Job(audio_id=SPEECH_ID), SpeechClip(audio_id=SPEECH_ID)],
    ids=["str", "Job", "SpeechClip"],
)
async def test_speech_get(client: AsyncClient, recorder: Recorder, target: Any) -> None:
    """speech.get GETs speech/{audio_id} raw and maps prompt to text."""
    recorder.then(json_response(200, SPEECH_CLIP))
    clip = await client.speech.get(target)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert request.url.raw_path == f"{V2}/speech/{SPEECH_ID}".encode()
    assert isinstance(clip, SpeechClip)
    assert clip.text == "Hello there"
    assert clip.voice_id == "minimax_english_radiant_girl"
    assert clip.final is True


@pytest.mark.anyio
async def test_speech_list_page(client: AsyncClient, recorder: Recorder) -> None:
    """speech.list_page GETs speech/ with email, limit and offset."""
    recorder.then(json_response(200, {"data": [SPEECH_CLIP], "next_offset": 6, "has_more": False}))
    page = await client.speech.list_page(email=EMAIL, limit=5, offset=1)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert raw_path(request) == f"{V2}/speech/"
    assert params(request) == {"email": EMAIL, "limit": "5", "offset": "1"}
    assert [c.audio_id for c in page.items] == [SPEECH_ID]
    assert page.has_more is False


@pytest.mark.anyio
async def test_speech_voices_page(client: AsyncClient, recorder: Recorder) -> None:
    """speech.voices_page GETs speech/voices with model, language, email, limit, offset."""
    voice = {"voice_id": "v-1", "display_name": "Radiant Girl", "gender": "female"}
    recorder.then(json_response(200, {"data": [voice], "next_offset": 3, "has_more": True}))
    page = await client.speech.voices_page(
        model="eleven-v3", language="en", email=EMAIL, limit=2, offset=1
    )
    request = recorder.requests[0]
    assert request.method == "GET"
    assert raw_path(request) == f"{V2}/speech/voices"
    assert params(request) == {
        "model": "eleven-v3",
        "language": "en",
        "email": EMAIL,
        "limit": "2",
        "offset": "1",
    }
    assert [v.voice_id for v in page.items] == ["v-1"]
    assert page.items[0].display_name == "Radiant Girl"
    assert (page.next_offset, page.has_more) == (3, True)


@pytest.mark.anyio
async def test_speech_voices_page_accepts_a_bare_list(
    client: AsyncClient, recorder: Recorder
) -> None:
    """speech.voices_page accepts a bare JSON list; defaults send limit and offset only."""
    recorder.then(json_response(200, [{"voice_id": "v-1"}, {"voice_id": "v-2"}]))
    page = await client.speech.voices_page()
    assert params(recorder.requests[0]) == {"limit": "50", "offset": "0"}
    assert [v.voice_id for v in page.items] == ["v-1", "v-2"]


@pytest.mark.anyio
async def test_speech_models_is_cached(client: AsyncClient, recorder: Recorder) -> None:
    """speech.models fetches once per account, serves the cache after, refetches on refresh."""
    recorder.then(*[json_response(200, SPEECH_MODELS)] * 3)
    first = await client.speech.models(email=EMAIL)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert raw_path(request) == f"{V2}/speech/models"
    assert params(request) == {"email": EMAIL}
    assert first.default_model == "speech-2.8-hd"
    assert [m.model for m in first.models] == ["speech-2.8-hd"]
    assert await client.speech.models(email=EMAIL) is first
    assert len(recorder.requests) == 1
    other = await client.speech.models()  # another account's catalogue: fetched on its own
    assert len(recorder.requests) == 2
    assert params(recorder.requests[1]) == {}
    assert await client.speech.models() is other
    refreshed = await client.speech.models(email=EMAIL, refresh=True)
    assert len(recorder.requests) == 3
    assert refreshed == first


@pytest.mark.anyio
async def test_cached_models_limit_speech_text(client: AsyncClient, recorder: Recorder) -> None:
    """After speech.models, create checks text against the live max_characters, sending nothing."""
    recorder.then(json_response(200, SPEECH_MODELS))
    await client.speech.models()
    with pytest.raises(ValidationError):
        await client.speech.create("x" * 21, "voice-1")
    with pytest.raises(ValidationError):
        await client.speech.create("short", "voice-1", language_code="fr")
    assert len(recorder.requests) == 1


# ------------------------------------------------------------------- minimax


@pytest.mark.anyio
async def test_minimax_music_list_page(client: AsyncClient, recorder: Recorder) -> None:
    """minimax.music.list_page GETs /v1/minimax/music/ with account, limit, lastMusicId."""
    recorder.then(json_response(200, [MINIMAX_SONG]))
    songs = await client.minimax.music.list_page(
        account="acc@example.com",
        limit=5,
        last_music_id="user:123-minimax:acc@example.com-music:98",
    )
    request = recorder.requests[0]
    assert request.method == "GET"
    assert raw_path(request) == "/v1/minimax/music/"
    assert params(request) == {
        "account": "acc@example.com",
        "limit": "5",
        "lastMusicId": "user:123-minimax:acc@example.com-music:98",
    }
    assert [s.music_id for s in songs] == [MINIMAX_ID]
    assert songs[0].status is MinimaxStatus.COMPLETED
    assert songs[0].final is True


@pytest.mark.anyio
async def test_minimax_music_list_page_defaults(client: AsyncClient, recorder: Recorder) -> None:
    """minimax.music.list_page without arguments sends limit=20 only."""
    recorder.then(json_response(200, sample("minimax_music_list_200")))
    await client.minimax.music.list_page()
    assert params(recorder.requests[0]) == {"limit": "20"}


@pytest.mark.anyio
async def test_minimax_music_get(client: AsyncClient, recorder: Recorder) -> None:
    """minimax.music.get GETs /v1/minimax/music/{musicId} with the id raw."""
    recorder.then(json_response(200, MINIMAX_SONG))
    song = await client.minimax.music.get(MINIMAX_ID)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert request.url.raw_path == f"/v1/minimax/music/{MINIMAX_ID}".encode()
    assert song.title == "Night drive"
    assert song.audio_url == "https://cdn.example/99.mp3"


# ----------------------------------------------------------------- scheduler


@pytest.mark.anyio
async def test_scheduler_list(client: AsyncClient, recorder: Recorder) -> None:
    """scheduler.list GETs scheduler/ and parses the bare array."""
    recorder.then(json_response(200, [SCHEDULED]))
    jobs = await client.scheduler.list()
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("GET", f"{V2}/scheduler/".encode())
    assert [j.id for j in jobs] == [MUSIC_ID]
    assert jobs[0].reply_ref == "batch-7"
    assert jobs[0].elapsed_seconds == 65


@pytest.mark.anyio
async def test_scheduler_available(client: AsyncClient, recorder: Recorder) -> None:
    """scheduler.available GETs scheduler/available (no trailing slash) and parses both lists."""
    recorder.then(
        json_response(
            200,
            {
                "executing": [SCHEDULED],
                "available": [{"email": EMAIL, "maxJobs": 3, "executing": 1, "available": 2}],
            },
        )
    )
    availability = await client.scheduler.available()
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("GET", f"{V2}/scheduler/available".encode())
    assert [j.id for j in availability.executing] == [MUSIC_ID]
    entry = availability.for_email(EMAIL)
    assert entry is not None
    assert (entry.max_jobs, entry.executing, entry.available) == (3, 1, 2)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(204), True),
        (json_response(200, {"status": "ok"}), True),
        (httpx.Response(200), True),
        (json_response(404, {"error": "not running"}), False),
    ],
    ids=["204", "200-json", "200-empty", "404"],
)
async def test_scheduler_cancel(
    client: AsyncClient, recorder: Recorder, response: httpx.Response, expected: bool
) -> None:
    """scheduler.cancel DELETEs scheduler/{id}: True on 200/204, False on 404, one request."""
    recorder.then(response)
    assert await client.scheduler.cancel(Track(audio_id=MUSIC_ID)) is expected
    request = recorder.requests[0]
    assert request.method == "DELETE"
    assert request.url.raw_path == f"{V2}/scheduler/{MUSIC_ID}".encode()
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_scheduler_cancel_500_raises_after_retries(
    client: AsyncClient, recorder: Recorder
) -> None:
    """scheduler.cancel raises ServerError when every attempt gets 500."""
    recorder.default = json_response(500, {"error": "boom"})
    with pytest.raises(ServerError):
        await client.scheduler.cancel(MUSIC_ID)
    assert len(recorder.requests) == NO_WAIT.max_retries + 1
    assert {r.method for r in recorder.requests} == {"DELETE"}


# --------------------------------------------------------------------- files


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (MP3_ID3, "audio/mpeg"),
        (MP3_FRAME, "audio/mpeg"),
        (WAV, "audio/wav"),
    ],
    ids=["png", "jpeg", "mp3-id3", "mp3-frame", "wav"],
)
async def test_upload_bytes_guesses_content_type(
    client: AsyncClient, recorder: Recorder, data: bytes, content_type: str
) -> None:
    """files.upload(bytes) posts the raw bytes with a Content-Type sniffed from magic bytes."""
    recorder.then(json_response(200, AUDIO_UPLOAD))
    uploaded = await client.files.upload(data, email=EMAIL)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert raw_path(request) == f"{V2}/files/"
    assert params(request) == {"email": EMAIL}
    assert request.headers["content-type"] == content_type
    assert request.content == data
    assert request.headers["content-length"] == str(len(data))
    assert isinstance(uploaded, UploadedFile)
    assert uploaded.path == "upload/voice.mp3"


@pytest.mark.anyio
async def test_upload_explicit_content_type_wins(client: AsyncClient, recorder: Recorder) -> None:
    """An explicit content_type is sent even when the bytes look like something else."""
    recorder.then(json_response(200, AUDIO_UPLOAD))
    await client.files.upload(PNG, content_type="video/mp4", email=EMAIL)
    assert recorder.requests[0].headers["content-type"] == "video/mp4"


@pytest.mark.anyio
@pytest.mark.parametrize("data", [b"just some text here", b"\x00\x01\x02\x03" * 8])
async def test_upload_unknown_bytes_need_a_content_type(
    client: AsyncClient, recorder: Recorder, data: bytes
) -> None:
    """Unrecognised bytes without content_type raise ValidationError and send nothing."""
    with pytest.raises(ValidationError) as info:
        await client.files.upload(data, email=EMAIL)
    assert info.value.field == "content_type"
    assert recorder.requests == []


@pytest.mark.anyio
async def test_upload_image_response_gives_path(client: AsyncClient, recorder: Recorder) -> None:
    """An image upload answer {"result": [{...}]} gives UploadedFile.path of the first item."""
    recorder.then(json_response(200, IMAGE_UPLOAD))
    uploaded = await client.files.upload(PNG)
    assert params(recorder.requests[0]) == {}
    assert uploaded.path == "upload/cover.png"
    assert uploaded.url == "https://media.pixverse.ai/upload/cover.png"
    assert uploaded.id == 987
    assert uploaded.category == 0


@pytest.mark.anyio
async def test_upload_path_streams_the_file(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """files.upload(path) streams the whole file with Content-Length and a suffix content type."""
    data = WAV + bytes(range(256)) * 10_000  # ~2.5 MB: several read chunks
    path = tmp_path / "voice.wav"
    path.write_bytes(data)
    recorder.then(json_response(200, AUDIO_UPLOAD))
    uploaded = await client.files.upload(path, email=EMAIL)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert raw_path(request) == f"{V2}/files/"
    assert params(request) == {"email": EMAIL}
    assert request.content == data
    assert request.headers["content-length"] == str(len(data))
    assert request.headers["content-type"] == "audio/wav"
    assert uploaded.path == "upload/voice.mp3"


@pytest.mark.anyio
async def test_upload_path_is_not_also_chunked(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """files.upload(path) frames the body by Content-Length alone, without Transfer-Encoding."""
    path = tmp_path / "cover.png"
    path.write_bytes(PNG)
    recorder.then(json_response(200, IMAGE_UPLOAD))
    await client.files.upload(str(path))
    headers = recorder.requests[0].headers
    assert headers["content-length"] == str(len(PNG))
    assert "transfer-encoding" not in headers


@pytest.mark.anyio
async def test_upload_path_content_type(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """A path upload sniffs an unknown suffix and lets an explicit content_type win."""
    path = tmp_path / "blob.bin"
    path.write_bytes(JPEG)
    recorder.then(json_response(200, IMAGE_UPLOAD), json_response(200, IMAGE_UPLOAD))
    await client.files.upload(path)
    await client.files.upload(path, content_type="image/webp")
    assert [r.headers["content-type"] for r in recorder.requests] == ["image/jpeg", "image/webp"]


@pytest.mark.anyio
async def test_upload_path_is_resent_whole(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """An upload retried after a read timeout sends the full file again."""
    data = MP3_ID3 * 1000
    path = tmp_path / "song.mp3"
    path.write_bytes(data)
    recorder.then(httpx.ReadTimeout("lost"), json_response(200, AUDIO_UPLOAD))
    await client.files.upload(path)
    assert [r.content for r in recorder.requests] == [data, data]


@pytest.mark.anyio
async def test_upload_missing_file_sends_nothing(
    client: AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    """Uploading a missing file raises ValidationError and sends nothing."""
    with pytest.raises(ValidationError) as info:
        await client.files.upload(tmp_path / "nope.png")
    assert info.value.field == "file"
    assert recorder.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("data", [b"", 42], ids=["empty", "not-bytes"])
async def test_upload_bad_input_sends_nothing(
    client: AsyncClient, recorder: Recorder, data: Any
) -> None:
    """Empty bytes or a non-bytes, non-path argument raise ValidationError and send nothing."""
    with pytest.raises(ValidationError):
        await client.files.upload(data)
    assert recorder.requests == []


# ------------------------------------------------------------------ accounts


@pytest.mark.anyio
async def test_accounts_list(client: AsyncClient, recorder: Recorder) -> None:
    """accounts.list GETs accounts (no trailing slash): the email map as accounts, no password."""
    other = {"maxJobs": 1, "password": "…secured…"}  # no "email": taken from the key
    recorder.then(json_response(200, {EMAIL: ACCOUNT, "b@example.com": other}))
    accounts = await client.accounts.list()
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("GET", f"{V2}/accounts".encode())
    assert {a.email: a.max_jobs for a in accounts} == {EMAIL: 3, "b@example.com": 1}
    for account in accounts:
        assert isinstance(account, Account)
        assert not hasattr(account, "password")
        assert "password" not in account.extra
        assert "secured" not in repr(account)
        assert "pixverse-session-jwt" not in repr(account)


@pytest.mark.anyio
async def test_accounts_get(client: AsyncClient, recorder: Recorder) -> None:
    """accounts.get GETs accounts/{email} with '@' raw and drops the password."""
    recorder.then(json_response(200, ACCOUNT))
    account = await client.accounts.get(EMAIL)
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == ("GET", f"{V2}/accounts/{EMAIL}".encode())
    assert account.email == EMAIL
    assert account.max_jobs == 3
    assert account.jwt == {"token": "pixverse-session-jwt"}
    assert "password" not in account.extra


# ------------------------------------------------------------------- helpers


def _router(request: httpx.Request) -> httpx.Response:
    """Plausible 200 answers for every endpoint, keyed on the path below the prefix."""
    path = request.url.path
    tail = path[path.index("/v") :]
    if tail.endswith(("/music/create", "/speech/create")):
        return json_response(200, sample("music_create_200"))
    if tail.startswith(f"{V2}/music/") and tail != f"{V2}/music/":
        return json_response(200, sample("music_get_200"))
    if tail == f"{V2}/music/":
        return json_response(200, sample("music_list_200"))
    if tail == f"{V2}/speech/":
        return json_response(200, {"data": [SPEECH_CLIP], "has_more": False})
    if tail == f"{V2}/speech/voices":
        return json_response(200, {"voices": [{"voice_id": "v"}]})
    if tail == f"{V2}/speech/models":
        return json_response(200, SPEECH_MODELS)
    if tail.startswith(f"{V2}/speech/"):
        return json_response(200, SPEECH_CLIP)
    if tail == "/v1/minimax/music/":
        return json_response(200, [MINIMAX_SONG])
    if tail.startswith("/v1/minimax/music/"):
        return json_response(200, MINIMAX_SONG)
    if tail == f"{V2}/scheduler/":
        return json_response(200, [SCHEDULED])
    if tail == f"{V2}/scheduler/available":
        return json_response(200, {"executing": [], "available": []})
    if request.method == "DELETE":
        return httpx.Response(204)
    if tail == f"{V2}/files/":
        return json_response(200, AUDIO_UPLOAD)
    if tail == f"{V2}/accounts":
        return json_response(200, {EMAIL: ACCOUNT})
    if tail.startswith(f"{V2}/accounts/") and request.method == "POST":
        return json_response(201, ACCOUNT)
    if tail.startswith(f"{V2}/accounts/"):
        return json_response(200, ACCOUNT)
    return json_response(418, {"error": f"unrouted {path}"})


async def _call_everything(client: AsyncClient, tmp_path: Path) -> None:
    """Call every public endpoint method once (19 requests)."""
    file = tmp_path / "cover.png"
    file.write_bytes(PNG)
    await client.music.create("rain")
    await client.music.get(MUSIC_ID)
    await client.music.list_page(email=EMAIL)
    await client.speech.create("Hello", "voice-1")
    await client.speech.get(SPEECH_ID)
    await client.speech.list_page()
    await client.speech.voices_page()
    await client.speech.models()
    await client.minimax.music.list_page()
    await client.minimax.music.get(MINIMAX_ID)
    await client.scheduler.list()
    await client.scheduler.available()
    await client.scheduler.cancel(MUSIC_ID)
    await client.files.upload(PNG)
    await client.files.upload(file)
    await client.accounts.list()
    await client.accounts.get(EMAIL)
    await client.accounts.create(EMAIL, password="pw-secret", max_jobs=2)
    await client.accounts.delete(EMAIL)
