"""replyUrl callbacks: parse_callback on any body, confirm against the API, a real receiver."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
import uvicorn
from conftest import sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from examples.starlette_callbacks import create_app
from pixverse_audio import (
    AsyncClient,
    AudioStatus,
    NotFoundError,
    PollPolicy,
    SpeechClip,
    Track,
    ValidationError,
    parse_callback,
)
from pixverse_audio._callbacks import MAX_CALLBACK_BYTES
from pixverse_audio.emulator import Emulator, serve_emulator

FAST = PollPolicy(first=0.05, cap=0.2)
HOOK = "https://hooks.example.com/pixverse?order=42"
VOICE = "minimax_english_radiant_girl"
MUSIC_ID = "user:1000-pixverse:account1@emulator.test-music:11223344"
SPEECH_ID = "user:1000-pixverse:account1@emulator.test-speech:11223345"


def final_music() -> dict[str, Any]:
    """The docs' GET music/{id} body for a COMPLETED track, with a concrete id."""
    return {**sample("music_get_200"), "audio_id": MUSIC_ID}


def progress_music() -> dict[str, Any]:
    """A non-final (GENERATING) music callback body."""
    return {
        "audio_id": MUSIC_ID,
        "asset_id": 11223344,
        "audio_status": 10,
        "status": "making",
        "create_mode": "music",
        "model": "music-2.6",
        "audio_status_name": "GENERATING",
        "audio_status_final": False,
    }


def final_speech() -> dict[str, Any]:
    """A COMPLETED speech body (create_mode "voice")."""
    return {**sample("speech_list_200")["data"][0], "audio_id": SPEECH_ID}


# ------------------------------------------------------------ shapes


@pytest.mark.parametrize("form", ["bytes", "str", "dict"])
def test_bytes_str_and_dict_parse_alike(form: str) -> None:
    """The same callback as bytes, str or an already-decoded dict parses to the same Track."""
    body = {**final_music(), "replyRef": "order-42"}
    raw = json.dumps(body)
    given_body: Any = {"bytes": raw.encode(), "str": raw, "dict": body}[form]
    track = parse_callback(given_body)
    assert isinstance(track, Track)
    assert track == parse_callback(raw.encode())
    assert track.audio_id == MUSIC_ID
    assert track.final is True
    assert track.completed
    assert track.reply_ref == "order-42"
    assert track.url == sample("music_get_200")["url"]


def test_bytearray_and_memoryview_parse() -> None:
    """bytearray and memoryview bodies (as some frameworks hand them over) parse too."""
    raw = json.dumps(final_music()).encode()
    assert parse_callback(bytearray(raw)) == parse_callback(memoryview(raw)) == parse_callback(raw)


def test_progress_callback_is_not_final() -> None:
    """A progress callback parses to a non-final, not-completed Track."""
    track = parse_callback(json.dumps(progress_music()))
    assert isinstance(track, Track)
    assert track.final is False
    assert not track.completed
    assert track.status is AudioStatus.GENERATING
    assert track.url is None


def test_final_failed_callback() -> None:
    """A FAILED final callback parses with its fail code and reason."""
    body = {
        **progress_music(),
        "audio_status": 8,
        "status": "fail",
        "audio_status_name": "FAILED",
        "audio_status_final": True,
        "fail_code": "music_generation_failed",
        "fail_reason": "upstream error",
    }
    track = parse_callback(body)
    assert track.failed
    assert track.fail_code == "music_generation_failed"


def test_unknown_status_code_is_kept() -> None:
    """A status code this release does not know stays a bare int, not an error."""
    track = parse_callback({**progress_music(), "audio_status": 42})
    assert track.status == 42
    assert track.final is False


def test_speech_is_told_by_create_mode() -> None:
    """create_mode "voice" makes a SpeechClip even when the id does not say speech."""
    body = {**final_speech(), "audio_id": MUSIC_ID.replace("music", "audio")}
    clip = parse_callback(body)
    assert isinstance(clip, SpeechClip)
    assert clip.voice_id == VOICE


def test_speech_is_told_by_the_id() -> None:
    """An id with "-speech:" makes a SpeechClip even without create_mode."""
    body = {k: v for k, v in final_speech().items() if k != "create_mode"}
    clip = parse_callback(json.dumps(body))
    assert isinstance(clip, SpeechClip)
    assert clip.audio_id == SPEECH_ID


def test_music_is_a_track() -> None:
    """A music body (create_mode "music", a -music: id) is a Track, not a SpeechClip."""
    track = parse_callback(final_music())
    assert type(track) is Track


def test_reply_ref_at_the_top_level() -> None:
    """replyRef beside the job is read into reply_ref."""
    assert parse_callback({**final_music(), "replyRef": "top"}).reply_ref == "top"


def test_job_nested_under_response_with_outer_ref() -> None:
    """{"replyRef": r, "response": job} parses the job and keeps the outer replyRef."""
    track = parse_callback(json.dumps({"replyRef": "outer", "response": final_music()}))
    assert isinstance(track, Track)
    assert track.audio_id == MUSIC_ID
    assert track.completed
    assert track.reply_ref == "outer"


def test_job_nested_under_response_with_inner_ref() -> None:
    """{"response": {job + replyRef}} parses the job with its own replyRef."""
    track = parse_callback({"response": {**final_music(), "replyRef": "inner"}})
    assert track.audio_id == MUSIC_ID
    assert track.reply_ref == "inner"


def test_inner_ref_wins_over_outer_ref() -> None:
    """With replyRef both outside and inside a nested job, the job's own one is kept."""
    body = {"replyRef": "outer", "response": {**final_music(), "replyRef": "inner"}}
    assert parse_callback(body).reply_ref == "inner"


def test_ref_nested_under_response_beside_a_top_level_job() -> None:
    """{job..., "response": {"replyRef": r}} reads replyRef from under response."""
    track = parse_callback({**final_music(), "response": {"replyRef": "nested"}})
    assert track.audio_id == MUSIC_ID
    assert track.reply_ref == "nested"


def test_nested_speech_job() -> None:
    """A speech job nested under response is a SpeechClip with the outer replyRef."""
    clip = parse_callback({"replyRef": "s-1", "response": final_speech()})
    assert isinstance(clip, SpeechClip)
    assert clip.reply_ref == "s-1"


def test_duplicate_callbacks_parse_equal() -> None:
    """The same callback delivered twice parses to equal values (safe to de-duplicate)."""
    raw = json.dumps({**final_music(), "replyRef": "dup"}).encode()
    first, second = parse_callback(raw), parse_callback(raw)
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


def test_unknown_keys_are_kept_in_extra() -> None:
    """Keys this release does not model survive in extra (forward compatible)."""
    track = parse_callback({**final_music(), "new_field": [1, 2]})
    assert track.extra["new_field"] == [1, 2]


# ------------------------------------------------------------ refusals


def test_body_of_exactly_the_limit_is_read() -> None:
    """A body of exactly MAX_CALLBACK_BYTES (1 MiB) is still parsed."""
    raw = json.dumps(final_music()).encode()
    padded = raw + b" " * (MAX_CALLBACK_BYTES - len(raw))
    assert len(padded) == MAX_CALLBACK_BYTES
    assert parse_callback(padded).audio_id == MUSIC_ID


@pytest.mark.parametrize("form", ["bytes", "str"])
def test_oversized_body_is_refused(form: str) -> None:
    """A body over 1 MiB raises ValidationError before it is decoded."""
    raw = json.dumps({**final_music(), "padding": "x" * MAX_CALLBACK_BYTES})
    with pytest.raises(ValidationError, match="1 MiB"):
        parse_callback(raw.encode() if form == "bytes" else raw)


def test_multibyte_str_over_the_limit_is_refused() -> None:
    """A str under 1 Mi characters but over 1 MiB in UTF-8 is refused like bytes."""
    padding = "\u00e9" * (MAX_CALLBACK_BYTES // 2 + 10)
    raw = json.dumps({**final_music(), "padding": padding}, ensure_ascii=False)
    assert len(raw) < MAX_CALLBACK_BYTES < len(raw.encode("utf-8"))
    with pytest.raises(ValidationError):
        parse_callback(raw)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{",
        b"\xff\xfe\x00",
        "\ud800",
        b"[]",
        b'[{"audio_id": "x"}]',
        b"null",
        b"42",
        b'"audio_id"',
        b"[" * 100_000 + b"]" * 100_000,
        b"{}",
        b'{"audio_id": ""}',
        b'{"audio_id": 123}',
        b'{"audio_id": null}',
        b'{"response": "job"}',
        b'{"response": {"replyRef": "r"}}',
        b'{"audio_id": "x", "audio_status": "x"}',
        b'{"audio_id": "x", "audio_status_final": "yes"}',
        b'{"audio_id": "x", "duration": "long"}',
        b'{"audio_id": "x", "created_at": "yesterday"}',
        b'{"audio_id": "x-speech:1", "audio_status": []}',
    ],
    ids=[
        "empty",
        "text",
        "truncated",
        "not-utf8",
        "lone-surrogate",
        "array",
        "array-of-jobs",
        "null",
        "number",
        "string",
        "deeply-nested",
        "empty-object",
        "empty-id",
        "numeric-id",
        "null-id",
        "response-not-object",
        "only-ref",
        "status-x",
        "final-yes",
        "duration-text",
        "created-at-text",
        "speech-status-list",
    ],
)
def test_bad_bodies_raise_validation_error(body: bytes | str) -> None:
    """Non-JSON, non-objects, no audio_id or wrongly typed fields raise ValidationError."""
    with pytest.raises(ValidationError) as info:
        parse_callback(body)
    assert info.value.field == "body"


@pytest.mark.parametrize("body", [None, 42, ["audio_id"], object()])
def test_unsupported_body_types_raise_validation_error(body: Any) -> None:
    """A body that is not bytes, str or a mapping raises ValidationError."""
    with pytest.raises(ValidationError):
        parse_callback(body)


# ------------------------------------------------------------ hypothesis

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = (
    "asset_id",
    "audio_status",
    "audio_status_final",
    "audio_status_name",
    "status",
    "create_mode",
    "provider",
    "model",
    "url",
    "path",
    "name",
    "duration",
    "file_size",
    "format",
    "sample_rate",
    "bitrate",
    "channel",
    "credits",
    "created_at",
    "updated_at",
    "fail_code",
    "fail_reason",
    "error",
    "replyRef",
    "response",
    "prompt",
    "auto_lyrics",
    "voice_id",
    "voice_name",
    "language_code",
)
VALUES = JSON | st.sampled_from(["voice", "music", "2026-06-23T12:34:56Z", 1, 5, 8, 10, True])
JOBS = st.fixed_dictionaries(
    {"audio_id": st.text(min_size=1, max_size=40) | st.sampled_from([MUSIC_ID, SPEECH_ID])},
    optional=dict.fromkeys(KEYS, VALUES),
)
BODIES = JOBS | st.fixed_dictionaries({"response": JOBS}, optional={"replyRef": VALUES}) | JSON


def _parses_or_refuses(body: Any) -> None:
    try:
        result = parse_callback(body)
    except ValidationError:
        return
    assert isinstance(result, (Track, SpeechClip))
    assert isinstance(result.audio_id, str)
    assert result.audio_id


FUZZ = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_validation_error(body: bytes) -> None:
    """Arbitrary bytes parse or raise ValidationError, never anything else."""
    _parses_or_refuses(body)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_raise_only_validation_error(body: str) -> None:
    """Arbitrary text (lone surrogates included) parses or raises ValidationError."""
    _parses_or_refuses(body)


@FUZZ
@given(BODIES)
def test_random_json_raises_only_validation_error(body: Any) -> None:
    """Any JSON document, as text, bytes or decoded, parses or raises ValidationError."""
    raw = json.dumps(body)
    _parses_or_refuses(raw)
    _parses_or_refuses(raw.encode())
    if isinstance(body, dict):
        _parses_or_refuses(body)


# ------------------------------------------------------------ against the emulator


@pytest.mark.anyio
async def test_emulator_callbacks_parse_and_confirm() -> None:
    """Every callback the emulator records parses; the final one confirms as COMPLETED."""
    emulator = Emulator.fast(seed=4)
    async with emulator.client(poll=FAST) as client:
        job = await client.music.create("rain on a tin roof", reply_url=HOOK, reply_ref="order-42")
        await client.music.wait(job, timeout=10)
        await emulator.pump()
        records = list(emulator.callbacks)
        parsed = [parse_callback(json.dumps(dict(r.body)).encode()) for r in records]
        confirmed = await client.music.confirm(parsed[-1])
    assert records
    assert {r.url for r in records} == {HOOK}
    assert all(isinstance(p, Track) for p in parsed)
    assert {p.audio_id for p in parsed} == {job.audio_id}
    assert {p.reply_ref for p in parsed} == {"order-42"}
    assert [p.final for p in parsed] == [False] * (len(parsed) - 1) + [True]
    final = parsed[-1]
    assert final.completed
    assert final.url is not None
    assert isinstance(confirmed, Track)
    assert confirmed.audio_id == final.audio_id
    assert confirmed.status is AudioStatus.COMPLETED
    assert confirmed.final
    assert confirmed.url == final.url
    assert parse_callback(dict(records[-1].body)) == final  # the dict form agrees


@pytest.mark.anyio
async def test_emulator_speech_callback_confirms_as_speech() -> None:
    """A speech job's callbacks parse as SpeechClip and confirm with client.speech.confirm."""
    emulator = Emulator.fast(seed=5)
    async with emulator.client(poll=FAST) as client:
        job = await client.speech.create("Use API dot net.", VOICE, reply_url=HOOK)
        await client.speech.wait(job, timeout=10)
        await emulator.pump()
        final = parse_callback(json.dumps(dict(emulator.callbacks[-1].body)))
        assert isinstance(final, SpeechClip)
        confirmed = await client.speech.confirm(final)
        with pytest.raises(ValidationError):
            await client.music.confirm(final)  # type: ignore[arg-type]
    assert confirmed.audio_id == job.audio_id
    assert confirmed.completed


@pytest.mark.anyio
async def test_confirm_of_a_forged_callback_is_not_found() -> None:
    """A callback naming a job the API does not know fails confirmation with NotFoundError."""
    emulator = Emulator.fast()
    forged = parse_callback({**final_music(), "audio_id": MUSIC_ID.replace("11223344", "999")})
    assert forged.completed  # it claims to be done
    async with emulator.client(poll=FAST) as client:
        with pytest.raises(NotFoundError):
            await client.music.confirm(forged)
    assert emulator.stats().requests.get("music.get") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("thing", ["an-audio-id", None, {"audio_id": MUSIC_ID}])
async def test_confirm_of_a_non_track_is_refused(thing: Any) -> None:
    """confirm() of something that is not a Track raises ValidationError and sends nothing."""
    emulator = Emulator.fast()
    async with emulator.client(poll=FAST) as client:
        with pytest.raises(ValidationError):
            await client.music.confirm(thing)
        with pytest.raises(ValidationError):
            await client.speech.confirm(thing)
    assert emulator.stats().requests == {}


# ------------------------------------------------------------ a real receiver


def receiver_app(received: list[Track | SpeechClip]) -> Starlette:
    """A Starlette app with POST /hook that parses callbacks into ``received``."""

    async def hook(request: Request) -> Response:
        try:
            item = parse_callback(await request.body())
        except ValidationError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        received.append(item)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextlib.asynccontextmanager
async def serve_app(app: Starlette, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in a worker thread on a bound 127.0.0.1 socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(app, lifespan=lifespan, log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - set by uvicorn in its thread
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10)
        sock.close()


@pytest.mark.anyio
async def test_documented_example_app_confirms_final_callbacks() -> None:
    """The documented example app receives real callback POSTs and confirms the final one."""
    confirmed: list[Track | SpeechClip] = []
    emulator = Emulator.fast(seed=8)
    async with serve_emulator(emulator) as url:
        app = create_app(confirmed.append, token=emulator.token, base_url=url)
        async with (
            serve_app(app, lifespan="on") as hook,
            AsyncClient(emulator.token, base_url=url, poll=FAST) as client,
        ):
            async with httpx.AsyncClient() as http:
                refused = await http.post(f"{hook}/hook", content=b"{}")
            job = await client.music.create(
                "the documented receiver", reply_url=f"{hook}/hook", reply_ref="doc-1"
            )
            with anyio.fail_after(10):
                while not confirmed:  # noqa: ASYNC110 - filled by the app's thread
                    await anyio.sleep(0.02)
    assert refused.status_code == 400
    assert [t.audio_id for t in confirmed] == [job.audio_id]
    assert confirmed[0].completed
    assert emulator.stats().requests["music.get"] >= 1  # the app confirmed it with a GET


@pytest.mark.anyio
async def test_starlette_receiver_gets_the_final_track() -> None:
    """A served emulator POSTs to a Starlette app, which parses a final Track with the replyRef."""
    received: list[Track | SpeechClip] = []
    emulator = Emulator.fast(seed=6)
    async with serve_app(receiver_app(received)) as hook, serve_emulator(emulator) as url:
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{hook}/hook", content=b"not a callback")
        async with AsyncClient(emulator.token, base_url=url, poll=FAST) as client:
            job = await client.music.create(
                "a receiver test", reply_url=f"{hook}/hook", reply_ref="ref-7"
            )
            with anyio.fail_after(10):
                while not any(item.final for item in received):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
                while any(r.delivered is None for r in emulator.callbacks):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            final = next(item for item in received if item.final)
            assert isinstance(final, Track)
            confirmed = await client.music.confirm(final)
    assert refused.status_code == 400
    assert all(isinstance(item, Track) for item in received)
    assert {item.audio_id for item in received} == {job.audio_id}
    assert {item.reply_ref for item in received} == {"ref-7"}
    assert final.completed
    assert final.reply_ref == "ref-7"
    assert confirmed.audio_id == final.audio_id
    assert confirmed.completed
    assert all(r.delivered is True for r in emulator.callbacks)
    assert len(received) == len(emulator.callbacks)
