"""Argument validation: every documented rule refuses locally, and nothing is sent.

Each refusal is a `ValidationError` (also a ``ValueError``) naming the offending
argument in ``.field``, raised before the client touches the transport, so the
recorder sees zero requests. Unknown model names pass through unchecked, ids go
raw into paths, and a fetched speech catalogue tightens (or widens) the rules.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from conftest import Recorder, json_response

from pixverse_audio import AsyncClient, ValidationError

MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
SPEECH_ID = "user:123-pixverse:me@example.com-speech:55667788"
MINIMAX_ID = "user:123-minimax:acc@example.com-music:99"
JOB = {"audio_id": MUSIC_ID, "audio_status": 5, "audio_status_final": False}

Call = Callable[[AsyncClient], Awaitable[Any]]


async def _first(items: AsyncIterator[Any]) -> Any:
    async for item in items:
        return item
    return None


def music(prompt: object = "rain on a tin roof", **kwargs: Any) -> Call:
    """A music.create call with ``kwargs``."""
    return lambda c: c.music.create(prompt, **kwargs)  # type: ignore[arg-type]


def speech(text: object = "Hello there.", voice_id: object = "v1", **kwargs: Any) -> Call:
    """A speech.create call with ``kwargs``."""
    return lambda c: c.speech.create(text, voice_id, **kwargs)  # type: ignore[arg-type]


ELEVEN = ("eleven-multilingual-v2", "eleven-v3", "eleven-turbo-v2.5")
MINIMAX = ("speech-2.8-hd", "speech-2.8-turbo")
LONG_URL = "https://example.com/cb?" + "q" * 1002  # 1025 characters

INVALID: list[Any] = [
    # --- music prompt
    pytest.param(music(""), "prompt", id="prompt-empty"),
    pytest.param(music("   \n\t "), "prompt", id="prompt-whitespace"),
    pytest.param(music(123), "prompt", id="prompt-int"),
    pytest.param(music(None), "prompt", id="prompt-none"),
    pytest.param(music(b"bytes"), "prompt", id="prompt-bytes"),
    pytest.param(music("x" * 2001), "prompt", id="prompt-over-music-2.6"),
    pytest.param(music("x" * 2001, model="music-2.6"), "prompt", id="prompt-over-music-2.6-named"),
    pytest.param(music("x" * 4001, model="music-v1"), "prompt", id="prompt-over-music-v1"),
    pytest.param(music("x" * 5001, model="lyria-3-pro-preview"), "prompt", id="prompt-over-lyria"),
    # --- lyrics
    pytest.param(music(lyrics="l" * 3501), "lyrics", id="lyrics-over-3500"),
    pytest.param(music(lyrics="la la", instrumental=True), "lyrics", id="lyrics-instrumental"),
    pytest.param(
        music(lyrics="la la", model="music-v1", instrumental=True),
        "lyrics",
        id="lyrics-instrumental-music-v1",
    ),
    pytest.param(
        music(lyrics="la la", model="lyria-3-pro-preview"), "lyrics", id="lyrics-on-lyria"
    ),
    pytest.param(music(lyrics=""), "lyrics", id="lyrics-empty"),
    pytest.param(music(lyrics=42), "lyrics", id="lyrics-int"),
    pytest.param(music(instrumental="yes"), "instrumental", id="instrumental-str"),
    # --- reference images
    pytest.param(music(image_paths=["a.png"]), "image_paths", id="images-on-music-2.6"),
    pytest.param(
        music(image_paths=["a.png"], model="music-v1"), "image_paths", id="images-on-music-v1"
    ),
    pytest.param(
        music(image_paths=[f"i{n}.png" for n in range(11)], model="lyria-3-pro-preview"),
        "image_paths",
        id="images-11",
    ),
    pytest.param(
        music(image_paths="a.png", model="lyria-3-pro-preview"),
        "image_paths",
        id="images-bare-string",
    ),
    pytest.param(
        music(image_paths=["a.png", ""], model="lyria-3-pro-preview"),
        "image_paths",
        id="images-empty-entry",
    ),
    pytest.param(
        music(image_paths=[1], model="lyria-3-pro-preview"), "image_paths", id="images-int-entry"
    ),
    pytest.param(
        music(image_paths=5, model="lyria-3-pro-preview"), "image_paths", id="images-not-a-list"
    ),
    # --- callbacks
    pytest.param(music(reply_url=LONG_URL), "reply_url", id="reply-url-1025"),
    pytest.param(music(reply_ref="r" * 1025), "reply_ref", id="reply-ref-1025"),
    pytest.param(music(reply_url="ftp://example.com/cb"), "reply_url", id="reply-url-ftp"),
    pytest.param(music(reply_url="example.com/cb"), "reply_url", id="reply-url-relative"),
    pytest.param(music(reply_url="javascript:alert(1)"), "reply_url", id="reply-url-js"),
    pytest.param(music(reply_url="https://a b.com/"), "reply_url", id="reply-url-space"),
    pytest.param(music(reply_url=""), "reply_url", id="reply-url-empty"),
    pytest.param(music(reply_ref=""), "reply_ref", id="reply-ref-empty"),
    # --- maxJobs
    pytest.param(music(max_jobs=0), "max_jobs", id="max-jobs-0"),
    pytest.param(music(max_jobs=9), "max_jobs", id="max-jobs-9"),
    pytest.param(music(max_jobs=1.5), "max_jobs", id="max-jobs-float"),
    pytest.param(music(max_jobs=True), "max_jobs", id="max-jobs-bool"),
    pytest.param(music(max_jobs="3"), "max_jobs", id="max-jobs-str"),
    pytest.param(music(max_jobs=-1), "max_jobs", id="max-jobs-negative"),
    pytest.param(speech(max_jobs=9), "max_jobs", id="speech-max-jobs-9"),
    pytest.param(speech(max_jobs="3"), "max_jobs", id="speech-max-jobs-str"),
    # --- other shared settings
    pytest.param(music(model=""), "model", id="model-empty"),
    pytest.param(music(model=2.6), "model", id="model-float"),
    pytest.param(music(email="a b@example.com"), "email", id="email-space"),
    pytest.param(speech(reply_url="ftp://x"), "reply_url", id="speech-reply-url-ftp"),
    # --- speech text
    pytest.param(speech(""), "text", id="text-empty"),
    pytest.param(speech("  "), "text", id="text-whitespace"),
    pytest.param(speech(5), "text", id="text-int"),
    pytest.param(speech("t" * 10001), "text", id="text-over-speech-2.8-hd"),
    pytest.param(speech("t" * 10001, model="speech-2.8-turbo"), "text", id="text-over-turbo"),
    pytest.param(
        speech("t" * 10001, model="eleven-multilingual-v2"), "text", id="text-over-multilingual"
    ),
    pytest.param(speech("t" * 5001, model="eleven-v3"), "text", id="text-over-eleven-v3"),
    pytest.param(
        speech("t" * 40001, model="eleven-turbo-v2.5"), "text", id="text-over-eleven-turbo"
    ),
    # --- voice
    pytest.param(speech(voice_id=None), "voice_id", id="voice-none"),
    pytest.param(speech(voice_id=""), "voice_id", id="voice-empty"),
    pytest.param(speech(voice_id="   "), "voice_id", id="voice-whitespace"),
    pytest.param(speech(voice_id=7), "voice_id", id="voice-int"),
    # --- language
    pytest.param(
        speech(model="eleven-v3", language_code="en"), "language_code", id="language-eleven-v3"
    ),
    pytest.param(speech(language_code=""), "language_code", id="language-empty"),
    # --- settings of the wrong family
    *[
        pytest.param(speech(model=m, **{key: value}), key, id=f"{key}-on-{m}")
        for m in ELEVEN
        for key, value in (("volume", 5), ("pitch", 0), ("emotion", "happy"))
    ],
    *[
        pytest.param(speech(model=m, **{key: value}), key, id=f"{key}-on-{m}")
        for m in MINIMAX
        for key, value in (
            ("stability", 0.5),
            ("similarity_boost", 0.5),
            ("style", 0.5),
            ("use_speaker_boost", True),
        )
    ],
    *[
        pytest.param(speech(model=m, **{key: value}), key, id=f"{key}-on-{m}")
        for m in ("eleven-v3", "eleven-turbo-v2.5")
        for key, value in (("style", 0.5), ("use_speaker_boost", True))
    ],
    # --- ranges: speed per family
    *[
        pytest.param(speech(model=m, speed=s), "speed", id=f"speed-{s}-on-{m}")
        for m in MINIMAX
        for s in (0.49, 2.01, 0, -1, 3)
    ],
    *[
        pytest.param(speech(model=m, speed=s), "speed", id=f"speed-{s}-on-{m}")
        for m in ELEVEN
        for s in (0.69, 1.21, 0.5, 2.0)
    ],
    # --- ranges: volume, pitch, emotion, ElevenLabs knobs
    pytest.param(speech(volume=-0.1), "volume", id="volume-negative"),
    pytest.param(speech(volume=10.01), "volume", id="volume-over-10"),
    pytest.param(speech(volume="5"), "volume", id="volume-str"),
    pytest.param(speech(pitch=13), "pitch", id="pitch-13"),
    pytest.param(speech(pitch=-13), "pitch", id="pitch-minus-13"),
    pytest.param(speech(pitch=1.5), "pitch", id="pitch-float"),
    pytest.param(speech(pitch=True), "pitch", id="pitch-bool"),
    pytest.param(speech(emotion="excited"), "emotion", id="emotion-unknown"),
    pytest.param(speech(emotion="Happy"), "emotion", id="emotion-case"),
    pytest.param(speech(emotion=""), "emotion", id="emotion-empty"),
    pytest.param(speech(model="eleven-v3", stability=1.01), "stability", id="stability-over-1"),
    pytest.param(
        speech(model="eleven-v3", similarity_boost=-0.1),
        "similarity_boost",
        id="similarity-negative",
    ),
    pytest.param(speech(model="eleven-multilingual-v2", style=1.5), "style", id="style-over-1"),
    pytest.param(
        speech(model="eleven-multilingual-v2", use_speaker_boost="yes"),
        "use_speaker_boost",
        id="speaker-boost-str",
    ),
    # --- non-finite numbers
    pytest.param(speech(speed=math.nan), "speed", id="speed-nan"),
    pytest.param(speech(speed=math.inf), "speed", id="speed-inf"),
    pytest.param(speech(volume=math.inf), "volume", id="volume-inf"),
    pytest.param(speech(volume=math.nan), "volume", id="volume-nan"),
    pytest.param(speech(model="eleven-v3", stability=math.nan), "stability", id="stability-nan"),
    pytest.param(
        speech(model="eleven-v3", similarity_boost=-math.inf),
        "similarity_boost",
        id="similarity-minus-inf",
    ),
    pytest.param(speech(model="eleven-multilingual-v2", style=math.nan), "style", id="style-nan"),
    pytest.param(speech(model="speech-9", speed=math.nan), "speed", id="speed-nan-unknown-model"),
    pytest.param(
        speech(model="speech-9", volume=math.inf), "volume", id="volume-inf-unknown-model"
    ),
    # --- paging
    pytest.param(lambda c: c.music.list_page(limit=0), "limit", id="music-limit-0"),
    pytest.param(lambda c: c.music.list_page(offset=-1), "offset", id="music-offset-minus-1"),
    pytest.param(lambda c: c.music.list_page(limit=True), "limit", id="music-limit-bool"),
    pytest.param(lambda c: c.speech.list_page(limit=0), "limit", id="speech-limit-0"),
    pytest.param(lambda c: c.speech.list_page(offset=-1), "offset", id="speech-offset-minus-1"),
    pytest.param(lambda c: c.speech.voices_page(limit=0), "limit", id="voices-limit-0"),
    pytest.param(lambda c: c.speech.voices_page(offset=-1), "offset", id="voices-offset-minus-1"),
    pytest.param(lambda c: c.minimax.music.list_page(limit=0), "limit", id="minimax-limit-0"),
    pytest.param(lambda c: _first(c.music.list(page_size=0)), "limit", id="music-iter-limit-0"),
    pytest.param(lambda c: _first(c.speech.list(page_size=0)), "limit", id="speech-iter-limit-0"),
    pytest.param(lambda c: _first(c.speech.voices(page_size=0)), "limit", id="voices-iter-0"),
    pytest.param(
        lambda c: _first(c.minimax.music.list(page_size=0)), "limit", id="minimax-iter-limit-0"
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("call", "field"), INVALID)
async def test_invalid_argument_is_refused_before_sending(
    client: AsyncClient, recorder: Recorder, call: Call, field: str
) -> None:
    """A documented rule broken raises ValidationError naming the field; zero requests go out."""
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert recorder.requests == []


# ---------------------------------------------------------------------- ids

ID_METHODS: list[Any] = [
    pytest.param(lambda c, i: c.music.get(i), "audio_id", id="music.get"),
    pytest.param(lambda c, i: c.speech.get(i), "audio_id", id="speech.get"),
    pytest.param(lambda c, i: c.scheduler.cancel(i), "job_id", id="scheduler.cancel"),
    pytest.param(lambda c, i: c.minimax.music.get(i), "music_id", id="minimax.music.get"),
    pytest.param(lambda c, i: c.accounts.get(i), "email", id="accounts.get"),
]

BAD_IDS: list[Any] = [
    pytest.param("", id="empty"),
    pytest.param("user:1-pixverse:a@b.c-music:1/../../accounts", id="slash"),
    pytest.param("abc?x=1", id="question"),
    pytest.param("abc#frag", id="hash"),
    pytest.param("abc%2F", id="percent"),
    pytest.param("abc\\def", id="backslash"),
    pytest.param("abc def", id="space"),
    pytest.param("abc\tdef", id="tab"),
    pytest.param("abc\ndef", id="newline"),
    pytest.param("abc\u00a0def", id="nbsp"),
    pytest.param("abc\x00def", id="nul"),
    pytest.param("abc\x7fdef", id="del"),
    pytest.param("abc\u200bdef", id="zero-width"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),  # a dot-segment: ".../music/." resolves to ".../music/"
    pytest.param("a..b", id="dotdot-inside"),
    pytest.param("x" * 1025, id="too-long"),
    pytest.param(12345, id="int"),
    pytest.param(None, id="none"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "field"), ID_METHODS)
@pytest.mark.parametrize("bad", BAD_IDS)
async def test_unsafe_id_is_refused_before_sending(
    client: AsyncClient,
    recorder: Recorder,
    method: Callable[[AsyncClient, object], Awaitable[Any]],
    field: str,
    bad: object,
) -> None:
    """An id that could change the path's meaning is refused locally; nothing is sent."""
    with pytest.raises(ValidationError) as caught:
        await method(client, bad)
    assert caught.value.field == field
    assert recorder.requests == []


RAW_PATHS: list[Any] = [
    pytest.param(
        lambda c: c.music.get(MUSIC_ID),
        json_response(200, {"audio_id": MUSIC_ID}),
        f"/v2/pixverse/music/{MUSIC_ID}",
        id="music.get",
    ),
    pytest.param(
        lambda c: c.speech.get(SPEECH_ID),
        json_response(200, {"audio_id": SPEECH_ID}),
        f"/v2/pixverse/speech/{SPEECH_ID}",
        id="speech.get",
    ),
    pytest.param(
        lambda c: c.scheduler.cancel(MUSIC_ID),
        httpx.Response(204),
        f"/v2/pixverse/scheduler/{MUSIC_ID}",
        id="scheduler.cancel",
    ),
    pytest.param(
        lambda c: c.minimax.music.get(MINIMAX_ID),
        json_response(200, {"musicId": MINIMAX_ID}),
        f"/v1/minimax/music/{MINIMAX_ID}",
        id="minimax.music.get",
    ),
    pytest.param(
        lambda c: c.accounts.get("me@example.com"),
        json_response(200, {"email": "me@example.com"}),
        "/v2/pixverse/accounts/me@example.com",
        id="accounts.get",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("call", "answer", "path"), RAW_PATHS)
async def test_valid_id_goes_raw_into_the_path(
    client: AsyncClient, recorder: Recorder, call: Call, answer: httpx.Response, path: str
) -> None:
    """Ids with ':' and '@' are sent unencoded in the path (no %3A, no %40)."""
    recorder.then(answer)
    await call(client)
    (request,) = recorder.requests
    assert request.url.raw_path == path.encode()
    assert b"%3A" not in request.url.raw_path.upper()
    assert b"%40" not in request.url.raw_path
    assert b"@" in request.url.raw_path


# --------------------------------------------------------- accepted inputs


def _json_body(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content)
    assert isinstance(body, dict)
    return body


def _form_fields(request: httpx.Request) -> dict[str, str]:
    """Decode the simple multipart body the client writes for speech/create."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1]
    fields = {}
    for part in request.content.decode().split(f"--{boundary}")[1:-1]:
        head, _, value = part.partition("\r\n\r\n")
        name = head.split('name="', 1)[1].split('"', 1)[0]
        fields[name] = value.removesuffix("\r\n")
    return fields


AT_LIMIT: list[Any] = [
    pytest.param({"prompt": "p" * 2000}, id="prompt-2000-music-2.6"),
    pytest.param({"prompt": "p" * 4000, "model": "music-v1"}, id="prompt-4000-music-v1"),
    pytest.param({"prompt": "p" * 5000, "model": "lyria-3-pro-preview"}, id="prompt-5000-lyria"),
    pytest.param({"prompt": "p", "lyrics": "l" * 3500}, id="lyrics-3500"),
    pytest.param({"prompt": "p", "lyrics": "la", "model": "music-v1"}, id="lyrics-music-v1"),
    pytest.param({"prompt": "p", "lyrics": "la", "instrumental": False}, id="lyrics-not-instr"),
    pytest.param(
        {
            "prompt": "p",
            "model": "lyria-3-pro-preview",
            "image_paths": [f"up/{n}.png" for n in range(10)],
        },
        id="ten-images-lyria",
    ),
    pytest.param(
        {"prompt": "p", "reply_url": "https://example.com/cb?" + "q" * 1001}, id="reply-url-1024"
    ),
    pytest.param({"prompt": "p", "reply_ref": "r" * 1024}, id="reply-ref-1024"),
    pytest.param({"prompt": "p", "reply_url": "http://localhost:8080/hook"}, id="reply-url-http"),
    pytest.param({"prompt": "p", "max_jobs": 1}, id="max-jobs-1"),
    pytest.param({"prompt": "p", "max_jobs": 8}, id="max-jobs-8"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("kwargs", AT_LIMIT)
async def test_music_values_at_the_limit_are_sent(
    client: AsyncClient, recorder: Recorder, kwargs: dict[str, Any]
) -> None:
    """Values exactly at a documented limit are accepted and sent as one JSON create."""
    recorder.then(json_response(200, JOB))
    kwargs = dict(kwargs)
    prompt = kwargs.pop("prompt")
    job = await client.music.create(prompt, **kwargs)
    assert job.audio_id == MUSIC_ID
    (request,) = recorder.requests
    assert request.url.raw_path == b"/v2/pixverse/music/create"
    body = _json_body(request)
    assert body["prompt"] == prompt
    for n, path in enumerate(kwargs.get("image_paths", ()), start=1):
        assert body[f"image_path_{n}"] == path
    if "reply_url" in kwargs:
        assert body["replyUrl"] == kwargs["reply_url"]
    if "max_jobs" in kwargs:
        assert body["maxJobs"] == kwargs["max_jobs"]


@pytest.mark.anyio
async def test_image_paths_none_is_no_images_or_a_validation_error(
    client: AsyncClient, recorder: Recorder
) -> None:
    """image_paths=None is either "no images" or a ValidationError, never a raw TypeError."""
    recorder.then(json_response(200, JOB))
    outcome: BaseException | None = None
    try:
        await client.music.create("p", image_paths=None)  # type: ignore[arg-type]
    except Exception as exc:  # the property: which exception, if any
        outcome = exc
    if outcome is None:
        (request,) = recorder.requests
        assert not [k for k in _json_body(request) if k.startswith("image_path")]
    else:
        assert isinstance(outcome, ValidationError), repr(outcome)
        assert outcome.field == "image_paths"
        assert recorder.requests == []


@pytest.mark.anyio
async def test_unknown_music_model_passes_through_unchecked(
    client: AsyncClient, recorder: Recorder
) -> None:
    """An unknown model is not limited: a 9,000-character prompt with lyrics and images is sent."""
    recorder.then(json_response(200, JOB))
    prompt = "p" * 9000
    await client.music.create(prompt, model="music-9", lyrics="la la", image_paths=["up/a.png"])
    (request,) = recorder.requests
    body = _json_body(request)
    assert body["model"] == "music-9"
    assert body["prompt"] == prompt
    assert body["lyrics"] == "la la"
    assert body["image_path_1"] == "up/a.png"


DOCUMENTED_EMOTIONS = (
    "auto",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
    "neutral",
    "calm",
)

SPEECH_OK: list[Any] = [
    pytest.param({"text": "t" * 10000}, id="text-10000-hd"),
    pytest.param({"text": "t" * 5000, "model": "eleven-v3"}, id="text-5000-eleven-v3"),
    pytest.param({"text": "t" * 40000, "model": "eleven-turbo-v2.5"}, id="text-40000-turbo"),
    pytest.param({"speed": 0.5, "volume": 0, "pitch": -12}, id="minimax-low-edges"),
    pytest.param({"speed": 2, "volume": 10, "pitch": 12}, id="minimax-high-edges"),
    pytest.param({"model": "eleven-v3", "speed": 0.7, "stability": 0}, id="eleven-low-edges"),
    pytest.param(
        {"model": "eleven-turbo-v2.5", "speed": 1.2, "similarity_boost": 1},
        id="eleven-high-edges",
    ),
    pytest.param(
        {"model": "eleven-multilingual-v2", "style": 1, "use_speaker_boost": False},
        id="multilingual-only-settings",
    ),
    pytest.param({"language_code": "en"}, id="language-without-catalogue"),
    *[pytest.param({"emotion": e}, id=f"emotion-{e}") for e in DOCUMENTED_EMOTIONS],
    pytest.param(
        {
            "model": "speech-9",
            "text": "t" * 60000,
            "volume": 50,
            "pitch": 40,
            "stability": 5,
            "style": 3,
            "emotion": "excited",
            "speed": 9,
            "use_speaker_boost": True,
        },
        id="unknown-model-unchecked",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize("kwargs", SPEECH_OK)
async def test_speech_values_within_rules_are_sent(
    client: AsyncClient, recorder: Recorder, kwargs: dict[str, Any]
) -> None:
    """Valid speech settings (and any settings on an unknown model) are sent as form fields."""
    recorder.then(json_response(200, JOB))
    kwargs = dict(kwargs)
    text = kwargs.pop("text", "Hello there.")
    await client.speech.create(text, "voice-1", **kwargs)
    (request,) = recorder.requests
    assert request.url.raw_path == b"/v2/pixverse/speech/create"
    fields = _form_fields(request)
    assert fields["text"] == text
    assert fields["voice_id"] == "voice-1"
    for key, value in kwargs.items():
        expected = str(value).lower() if isinstance(value, bool) else str(value)
        assert fields[key] == expected


# --------------------------------------------------------- live catalogue

CATALOGUE = {
    "default_model": "speech-2.8-hd",
    "provider_groups": [
        {
            "provider": "minimax",
            "models": [
                {
                    "model": "speech-2.8-hd",
                    "max_characters": 100,
                    "supported_language_codes": ["en", "de"],
                }
            ],
        },
        {
            "provider": "elevenlabs",
            "models": [
                {
                    "model": "eleven-multilingual-v2",
                    "max_characters": 20000,
                    "supported_language_codes": ["en", "fr"],
                }
            ],
        },
    ],
}


@pytest.fixture(name="catalogued")
async def _catalogued(client: AsyncClient, recorder: Recorder) -> AsyncClient:
    """A client that has fetched the speech catalogue above (one request recorded)."""
    recorder.then(json_response(200, CATALOGUE))
    models = await client.speech.models()
    assert models.get("speech-2.8-hd") is not None
    assert len(recorder.requests) == 1
    return client


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"text": "t" * 101}, "text", id="text-over-live-limit"),
        pytest.param({"language_code": "fr"}, "language_code", id="language-unsupported"),
        pytest.param(
            {"model": "eleven-multilingual-v2", "language_code": "de"},
            "language_code",
            id="language-unsupported-eleven",
        ),
        pytest.param(
            {"model": "eleven-v3", "text": "t" * 5001}, "text", id="static-limit-uncatalogued"
        ),
        pytest.param(
            {"model": "eleven-multilingual-v2", "text": "t" * 15000, "language_code": "fr"},
            "text",
            id="live-limit-cannot-loosen-the-documented-one",
        ),
    ],
)
async def test_live_catalogue_tightens_speech_rules(
    catalogued: AsyncClient, recorder: Recorder, kwargs: dict[str, Any], field: str
) -> None:
    """After speech.models(), text and language_code are checked against the live catalogue."""
    kwargs = dict(kwargs)
    text = kwargs.pop("text", "Hello there.")
    with pytest.raises(ValidationError) as caught:
        await catalogued.speech.create(text, "voice-1", **kwargs)
    assert caught.value.field == field
    assert len(recorder.requests) == 1  # only the catalogue fetch


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"text": "t" * 100, "language_code": "de"}, id="at-live-limit"),
    ],
)
async def test_live_catalogue_accepts_what_it_lists(
    catalogued: AsyncClient, recorder: Recorder, kwargs: dict[str, Any]
) -> None:
    """Text within the live max_characters and a listed language_code are sent."""
    recorder.then(json_response(200, JOB))
    kwargs = dict(kwargs)
    text = kwargs.pop("text")
    await catalogued.speech.create(text, "voice-1", **kwargs)
    assert len(recorder.requests) == 2
    fields = _form_fields(recorder.requests[1])
    assert fields["text"] == text
    assert fields["language_code"] == kwargs["language_code"]


@pytest.mark.anyio
async def test_catalogue_is_fetched_once_and_cached(
    catalogued: AsyncClient, recorder: Recorder
) -> None:
    """A second speech.models() call reuses the cached catalogue; refresh=True fetches again."""
    await catalogued.speech.models()
    assert len(recorder.requests) == 1
    recorder.then(json_response(200, CATALOGUE))
    await catalogued.speech.models(refresh=True)
    assert len(recorder.requests) == 2
    assert all(r.url.path == "/v2/pixverse/speech/models" for r in recorder.requests)
