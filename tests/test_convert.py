"""The converter and parsers: lenient on unknown data, strict on wrong types, never crashing.

Example tests pin the forward-compatibility rules (extras kept, unknown status
codes kept as ints, aware UTC timestamps, errors naming the field, no password
kept); hypothesis checks that any body yields a model or a library error.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixverse_audio import (
    Account,
    APIError,
    AudioStatus,
    Availability,
    Job,
    MinimaxSong,
    MinimaxStatus,
    Page,
    PixverseAudioError,
    ResponseFormatError,
    ScheduledJob,
    ServerError,
    SpeechClip,
    SpeechModels,
    Track,
    UploadedFile,
    Voice,
)
from pixverse_audio import _sansio as sansio
from pixverse_audio._convert import WIRE_NAMES, parse_datetime
from pixverse_audio._sansio import Reply

AUDIO_ID = "user:123-pixverse:me@example.com-music:11223344"
UTC_NOON = datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)


def reply(body: Any, status: int = 200) -> Reply:
    """A reply whose body is ``body`` (bytes as-is, anything else JSON-encoded)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(status_code=status, body=raw)


def _first_item(result: tuple[Page[Any], int]) -> Any:
    return result[0].items[0]


# Every parse_* of _sansio, as a one-argument callable, with the type it returns.
PARSERS: dict[str, tuple[Callable[[Reply], Any], Callable[[Any], bool]]] = {
    "parse_job": (sansio.parse_job, lambda r: isinstance(r, Job)),
    "parse_track": (sansio.parse_track, lambda r: isinstance(r, Track)),
    "parse_speech_clip": (sansio.parse_speech_clip, lambda r: isinstance(r, SpeechClip)),
    "parse_minimax_song": (sansio.parse_minimax_song, lambda r: isinstance(r, MinimaxSong)),
    "parse_speech_models": (sansio.parse_speech_models, lambda r: isinstance(r, SpeechModels)),
    "parse_availability": (sansio.parse_availability, lambda r: isinstance(r, Availability)),
    "parse_account": (sansio.parse_account, lambda r: isinstance(r, Account)),
    "parse_accounts": (
        sansio.parse_accounts,
        lambda r: isinstance(r, list) and all(isinstance(a, Account) for a in r),
    ),
    "parse_scheduled_jobs": (
        sansio.parse_scheduled_jobs,
        lambda r: isinstance(r, list) and all(isinstance(j, ScheduledJob) for j in r),
    ),
    "parse_minimax_songs": (
        sansio.parse_minimax_songs,
        lambda r: isinstance(r, list) and all(isinstance(s, MinimaxSong) for s in r),
    ),
    "parse_cancel": (sansio.parse_cancel, lambda r: isinstance(r, bool)),
    "parse_uploaded_file": (sansio.parse_uploaded_file, lambda r: isinstance(r, UploadedFile)),
    "parse_music_page": (
        partial(sansio.parse_music_page, offset=7),
        lambda r: _is_page(r, Track),
    ),
    "parse_speech_page": (
        partial(sansio.parse_speech_page, offset=7),
        lambda r: _is_page(r, SpeechClip),
    ),
    "parse_voice_page": (
        partial(sansio.parse_voice_page, offset=7),
        lambda r: _is_page(r, Voice),
    ),
    "parse_audio_page": (
        partial(sansio.parse_audio_page, offset=7),
        lambda r: (
            isinstance(r, Page)
            and r.offset == 7
            and all(isinstance(i, Track | SpeechClip) for i in r.items)
        ),
    ),
    "parse_page": (
        partial(sansio.parse_page, cls=Track, offset=7),
        lambda r: _is_page(r, Track),
    ),
}


def _is_page(result: object, cls: type) -> bool:
    if not (isinstance(result, tuple) and len(result) == 2):
        return False
    page, received = result
    return (
        isinstance(page, Page)
        and page.offset == 7
        and isinstance(received, int)
        and received >= len(page.items)
        and all(isinstance(i, cls) for i in page.items)
    )


def test_parser_table_lists_every_parser() -> None:
    """The property tests below cover every parse_* function of _sansio that takes a Reply."""
    found = {
        name
        for name, fn in vars(sansio).items()
        if name.startswith("parse_") and inspect.isfunction(fn)
    }
    assert found - {"parse_retry_after"} == set(PARSERS)


# ------------------------------------------------------------ extras survive


@pytest.mark.parametrize(
    ("parse", "body", "pick"),
    [
        (sansio.parse_job, {"audio_id": AUDIO_ID}, lambda r: r),
        (sansio.parse_track, {"audio_id": AUDIO_ID}, lambda r: r),
        (sansio.parse_speech_clip, {"audio_id": AUDIO_ID}, lambda r: r),
        (sansio.parse_minimax_song, {"musicId": "m"}, lambda r: r),
        (sansio.parse_account, {"email": "a@example.com"}, lambda r: r),
        (sansio.parse_uploaded_file, {"path": "p"}, lambda r: r),
        (sansio.parse_availability, {"available": []}, lambda r: r),
        (sansio.parse_speech_models, {"provider_groups": []}, lambda r: r),
        (sansio.parse_scheduled_jobs, [{"id": AUDIO_ID}], lambda r: r[0]),
        (sansio.parse_minimax_songs, [{"musicId": "m"}], lambda r: r[0]),
        (
            partial(sansio.parse_music_page, offset=0),
            {"data": [{"audio_id": AUDIO_ID}]},
            _first_item,
        ),
        (
            partial(sansio.parse_voice_page, offset=0),
            {"data": [{"voice_id": "v"}]},
            _first_item,
        ),
    ],
)
def test_unknown_keys_survive_in_extra(
    parse: Callable[[Reply], Any], body: dict[str, Any] | list[Any], pick: Callable[[Any], Any]
) -> None:
    """Keys this release does not model are kept, value for value, in ``.extra``."""
    unknown = {"brand_new": {"nested": [1, 2.5, None]}, "another": "x"}
    if isinstance(body, list):
        payload: Any = [{**body[0], **unknown}]
    elif "data" in body:
        payload = {**body, "data": [{**body["data"][0], **unknown}]}
    else:
        payload = {**body, **unknown}
    model = pick(parse(reply(payload)))
    assert dict(model.extra) == unknown


def test_nested_models_keep_their_own_extras() -> None:
    """Unknown keys deep inside the speech catalogue stay on the nested model they came with."""
    body = {
        "default_model": "speech-2.8-hd",
        "future": 1,
        "provider_groups": [
            {
                "provider": "minimax",
                "region": "eu",
                "models": [{"model": "speech-2.8-hd", "max_characters": 10000, "tier": "pro"}],
            }
        ],
    }
    models = sansio.parse_speech_models(reply(body))
    assert dict(models.extra) == {"future": 1}
    assert dict(models.provider_groups[0].extra) == {"region": "eu"}
    assert dict(models.provider_groups[0].models[0].extra) == {"tier": "pro"}
    assert models.get("speech-2.8-hd") is not None


def test_known_keys_are_not_duplicated_into_extra() -> None:
    """A fully known Track body leaves ``extra`` empty: wire names map to attributes."""
    body = dict.fromkeys(WIRE_NAMES[Track]) | {"audio_id": AUDIO_ID}
    track = sansio.parse_track(reply(body))
    assert dict(track.extra) == {}


def test_extra_is_left_out_of_equality_and_repr() -> None:
    """Two tracks differing only in unknown keys compare equal, and repr omits the extras."""
    plain = sansio.parse_track(reply({"audio_id": AUDIO_ID}))
    rich = sansio.parse_track(reply({"audio_id": AUDIO_ID, "secret_extra": "zzz-extra"}))
    assert plain == rich
    assert "zzz-extra" not in repr(rich)


# ------------------------------------------------------------- status codes


@pytest.mark.parametrize("code", [0, 2, 3, 7, 9, 11, 99, -1, 10**30])
@pytest.mark.parametrize("final", [True, False])
def test_unknown_audio_status_is_kept_as_int(code: int, final: bool) -> None:
    """An unlisted audio_status is a plain int, never raises, and ``final`` is the wire flag."""
    body = {"audio_id": AUDIO_ID, "audio_status": code, "audio_status_final": final}
    for parse in (sansio.parse_track, sansio.parse_speech_clip, sansio.parse_job):
        item = parse(reply(body))
        assert item.status == code
        assert type(item.status) is int
        assert not isinstance(item.status, AudioStatus)
        assert item.final is final


def test_unknown_status_without_final_flag_is_not_final() -> None:
    """An unknown code with no audio_status_final is treated as still running."""
    track = sansio.parse_track(reply({"audio_id": AUDIO_ID, "audio_status": 42}))
    assert track.final is False
    assert track.completed is False
    assert track.failed is False


def test_final_unknown_status_counts_as_failed_not_completed() -> None:
    """A final job with an unknown code is ``failed`` (not ``completed``): there is no audio."""
    body = {"audio_id": AUDIO_ID, "audio_status": 12, "audio_status_final": True}
    track = sansio.parse_track(reply(body))
    assert (track.completed, track.failed) == (False, True)


def test_final_flag_wins_over_the_status_code() -> None:
    """``final`` follows audio_status_final even when it disagrees with the known code."""
    done_but_open = {"audio_id": AUDIO_ID, "audio_status": 1, "audio_status_final": False}
    queued_but_final = {"audio_id": AUDIO_ID, "audio_status": 5, "audio_status_final": True}
    assert sansio.parse_track(reply(done_but_open)).final is False
    assert sansio.parse_track(reply(queued_but_final)).final is True


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1, AudioStatus.COMPLETED),
        (5, AudioStatus.QUEUED),
        (8, AudioStatus.FAILED),
        (10, AudioStatus.GENERATING),
        ("10", AudioStatus.GENERATING),
        (1.0, AudioStatus.COMPLETED),
    ],
)
def test_known_audio_status_becomes_enum(code: object, expected: AudioStatus) -> None:
    """Known codes (also sent as digit strings or integral floats) become AudioStatus members."""
    track = sansio.parse_track(reply({"audio_id": AUDIO_ID, "audio_status": code}))
    assert track.status is expected


def test_unknown_minimax_status_is_kept_as_int() -> None:
    """A v1 status this release does not know is a plain int; statusFinal decides ``final``."""
    song = sansio.parse_minimax_song(reply({"musicId": "m", "status": 3, "statusFinal": True}))
    assert song.status == 3
    assert not isinstance(song.status, MinimaxStatus)
    assert song.final is True
    moderated = sansio.parse_minimax_song(reply({"musicId": "m", "status": 4}))
    assert moderated.status is MinimaxStatus.MODERATED


@pytest.mark.parametrize(
    ("status", "final"),
    [(0, False), (1, False), (2, True), (4, True), (3, False), (None, False)],
)
@pytest.mark.parametrize("flag", ["absent", "null"])
def test_minimax_final_follows_status_table_without_flag(
    status: int | None, final: bool, flag: str
) -> None:
    """Without statusFinal (absent or null), v1 final is derived: 2 and 4 are final, others not."""
    body: dict[str, Any] = {"musicId": "m", "status": status}
    if flag == "null":
        body["statusFinal"] = None
    song = sansio.parse_minimax_song(reply(body))
    assert song.final is final
    assert "statusFinal" not in song.extra


@pytest.mark.parametrize(
    ("status", "final"),
    [(1, True), (8, True), (5, False), (10, False), (42, False), (None, False)],
)
@pytest.mark.parametrize("flag", ["absent", "null"])
def test_v2_final_follows_status_table_without_flag(
    status: int | None, final: bool, flag: str
) -> None:
    """Without audio_status_final (absent or null), only COMPLETED and FAILED count as final."""
    body: dict[str, Any] = {"audio_id": AUDIO_ID, "audio_status": status}
    if flag == "null":
        body["audio_status_final"] = None
    for parse in (sansio.parse_track, sansio.parse_speech_clip, sansio.parse_job):
        item = parse(reply(body))
        assert item.final is final
        assert "audio_status_final" not in item.extra


@given(
    code=st.integers(min_value=-(2**70), max_value=2**70).filter(
        lambda c: c not in {s.value for s in AudioStatus}
    ),
    final=st.one_of(st.none(), st.booleans()),
)
@settings(max_examples=100, deadline=None)
def test_any_unknown_status_code_round_trips(code: int, final: bool | None) -> None:
    """Any integer status outside the enum comes back as that int; final is the flag or False."""
    body: dict[str, Any] = {"audio_id": AUDIO_ID, "audio_status": code}
    if final is not None:
        body["audio_status_final"] = final
    track = sansio.parse_track(reply(body))
    assert track.status == code
    assert type(track.status) is int
    assert track.final is bool(final)


# --------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-23T12:34:56Z",
        "2026-06-23T12:34:56z",
        "2026-06-23T12:34:56+00:00",
        "2026-06-23T12:34:56",
        " 2026-06-23T12:34:56Z ",
        "2026-06-23 12:34:56Z",
    ],
)
def test_timestamps_become_aware_utc(text: str) -> None:
    """Z, +00:00 and naive timestamps all parse to the same timezone-aware UTC instant."""
    track = sansio.parse_track(
        reply({"audio_id": AUDIO_ID, "created_at": text, "updated_at": text})
    )
    for stamp in (track.created_at, track.updated_at, parse_datetime(text)):
        assert stamp == UTC_NOON
        assert stamp is not None
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


def test_fractional_seconds_are_kept() -> None:
    """Milliseconds on a Z timestamp survive parsing."""
    stamp = parse_datetime("2026-06-23T12:34:56.250Z")
    assert stamp == UTC_NOON + timedelta(milliseconds=250)
    assert stamp.utcoffset() == timedelta(0)


def test_offset_timestamp_keeps_its_instant() -> None:
    """A non-UTC offset is honoured: the parsed value is the same instant as its UTC form."""
    stamp = parse_datetime("2026-06-23T14:34:56+02:00")
    assert stamp == UTC_NOON
    assert stamp.tzinfo is not None


def test_scheduler_started_is_aware() -> None:
    """The scheduler's ``started`` becomes an aware datetime too; elapsed stays text."""
    (job,) = sansio.parse_scheduled_jobs(
        reply([{"id": AUDIO_ID, "started": "2026-06-23T12:34:56Z", "elapsed": "01:05"}])
    )
    assert job.started == UTC_NOON
    assert job.elapsed == "01:05"
    assert job.elapsed_seconds == 65


@given(st.datetimes(timezones=st.just(timezone.utc)), st.sampled_from(["Z", "+00:00", ""]))
@settings(max_examples=100, deadline=None)
def test_any_utc_timestamp_round_trips(moment: datetime, suffix: str) -> None:
    """Every UTC datetime written as ISO 8601 with Z, +00:00 or no offset parses back equal."""
    text = moment.replace(tzinfo=None).isoformat() + suffix
    parsed = sansio.parse_track(reply({"audio_id": AUDIO_ID, "created_at": text})).created_at
    assert parsed == moment
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- bad shapes


def test_response_format_error_is_in_both_families() -> None:
    """ResponseFormatError is caught by ``except PixverseAudioError`` and ``except APIError``."""
    assert issubclass(ResponseFormatError, APIError)
    assert issubclass(ResponseFormatError, PixverseAudioError)


@pytest.mark.parametrize(
    ("parse", "body", "field"),
    [
        (sansio.parse_track, {"audio_id": AUDIO_ID, "duration": "long"}, "Track.duration"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "duration": [202]}, "Track.duration"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "created_at": 123}, "Track.created_at"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "created_at": "yesterday"}, "Track.created_at"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "url": ["x"]}, "Track.url"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "asset_id": 1.5}, "Track.asset_id"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "audio_status": "x"}, "Track.status"),
        (sansio.parse_track, {"audio_id": AUDIO_ID, "audio_status_final": "yes"}, "Track.final"),
        (sansio.parse_track, {"audio_id": {"a": 1}}, "Track.audio_id"),
        (sansio.parse_job, {"audio_id": AUDIO_ID, "credits": True}, "Job.credits"),
        (sansio.parse_speech_clip, {"audio_id": AUDIO_ID, "prompt": 1.5}, "SpeechClip.text"),
        (sansio.parse_minimax_song, {"musicId": "m", "coverURL": 5.5}, "MinimaxSong.cover_url"),
        (sansio.parse_account, {"email": "a@example.com", "maxJobs": "many"}, "Account.max_jobs"),
        (
            sansio.parse_speech_models,
            {"provider_groups": [{"models": [{"model": "m", "max_characters": "x"}]}]},
            "SpeechModels.provider_groups[0].models[0].max_characters",
        ),
        (
            sansio.parse_availability,
            {"available": [{"email": 1.5}]},
            "Availability.accounts[0].email",
        ),
        (sansio.parse_scheduled_jobs, [{"id": "a"}, {"id": []}], "ScheduledJob.id"),
        (
            partial(sansio.parse_voice_page, offset=0),
            {"data": [{"voice_id": {}}]},
            "Voice.voice_id",
        ),
    ],
)
def test_wrong_type_raises_response_format_error_naming_the_field(
    parse: Callable[[Reply], Any], body: Any, field: str
) -> None:
    """A value of the wrong type raises ResponseFormatError whose message names the field's path."""
    with pytest.raises(ResponseFormatError) as caught:
        parse(reply(body))
    assert field in caught.value.message
    assert caught.value.status_code == 200


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_refused(raw: bytes) -> None:
    """NaN or infinite durations are a format error naming the field, not a float('nan')."""
    body = b'{"audio_id": "x", "duration": ' + raw + b"}"
    with pytest.raises(ResponseFormatError, match=r"Track\.duration"):
        sansio.parse_track(reply(body))


def test_numbers_too_big_for_a_float_are_refused() -> None:
    """An integer duration beyond float range is a format error, not an OverflowError."""
    with pytest.raises(ResponseFormatError, match=r"Track\.duration"):
        sansio.parse_track(reply({"audio_id": "x", "duration": 10**400}))


@pytest.mark.parametrize(
    ("parse", "body", "field"),
    [
        (sansio.parse_job, {"audio_status": 5}, "audio_id"),
        (sansio.parse_track, {"duration": 202}, "audio_id"),
        (sansio.parse_speech_clip, {"audio_status": 1, "code": 200}, "audio_id"),
        (sansio.parse_minimax_song, {"title": "t"}, "music_id"),
        (partial(sansio.parse_music_page, offset=0), {"data": [{"duration": 1}]}, "audio_id"),
    ],
)
def test_missing_id_raises_response_format_error(
    parse: Callable[[Reply], Any], body: Any, field: str
) -> None:
    """A body without its required id raises ResponseFormatError naming the missing field."""
    with pytest.raises(ResponseFormatError) as caught:
        parse(reply(body))
    assert field in caught.value.message
    assert "missing" in caught.value.message


@pytest.mark.parametrize("name", sorted(set(PARSERS) - {"parse_cancel"}))
def test_ok_status_with_error_body_raises_api_error(name: str) -> None:
    """A 200 ``{"error": ...}`` without the expected data is an APIError carrying that message."""
    parse, _ = PARSERS[name]
    body = {"error": "Something went wrong upstream"}
    with pytest.raises(APIError) as caught:
        parse(reply(body))
    assert type(caught.value) is APIError
    assert caught.value.message == "Something went wrong upstream"
    assert caught.value.status_code == 200
    assert caught.value.body == body


@pytest.mark.parametrize(("status", "body"), [(200, b"{}"), (204, b""), (202, b"not json")])
def test_cancel_is_true_on_any_2xx(status: int, body: bytes) -> None:
    """DELETE scheduler answers any 2xx with True, whatever (or no) body it carries."""
    assert sansio.parse_cancel(Reply(status_code=status, body=body)) is True


def test_cancel_is_false_on_404_and_raises_otherwise() -> None:
    """A 404 cancel means "not running" (False); other errors still raise their class."""
    assert sansio.parse_cancel(reply({"error": "not found"}, status=404)) is False
    with pytest.raises(ServerError):
        sansio.parse_cancel(reply({"error": "boom"}, status=500))


def test_error_field_next_to_audio_id_is_kept_not_raised() -> None:
    """A job body that has its audio_id and also an ``error`` field parses, keeping the text."""
    job = sansio.parse_job(reply({"audio_id": AUDIO_ID, "error": "warning text"}))
    assert job.audio_id == AUDIO_ID
    assert job.error == "warning text"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"", "an empty body"), (b"  \n", "an empty body"), (b"<html>oops</html>", "not JSON")],
)
def test_non_json_ok_body_raises_response_format_error(body: bytes, fragment: str) -> None:
    """An empty or non-JSON 2xx body is a ResponseFormatError saying which, with the raw text."""
    with pytest.raises(ResponseFormatError) as caught:
        sansio.parse_track(reply(body))
    assert fragment in caught.value.message
    assert caught.value.body == body.decode()


def test_html_error_page_without_a_title_uses_its_text() -> None:
    """A 502 HTML page without a title becomes a ServerError whose message is its text."""
    body = b"<html><body>Bad gateway</body></html>\n<p>more</p>"
    with pytest.raises(ServerError) as caught:
        sansio.parse_track(reply(body, status=502))
    assert caught.value.message == "Bad gateway more"
    assert caught.value.status_code == 502


def test_plain_text_error_uses_its_first_line() -> None:
    """A plain-text error body's first line is the message."""
    with pytest.raises(ServerError) as caught:
        sansio.parse_track(reply(b"upstream timed out\nretry later", status=504))
    assert caught.value.message == "upstream timed out"


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None, True])
def test_non_object_body_raises_response_format_error(body: Any) -> None:
    """A JSON body that is not an object, where one is expected, is a ResponseFormatError."""
    with pytest.raises(ResponseFormatError, match="expected a JSON object"):
        sansio.parse_track(reply(body))


def test_lenient_primitives_accept_documented_variants() -> None:
    """Numeric ids may come as strings and numbers as digit strings; both parse."""
    body = {
        "audio_id": 11223344,
        "asset_id": "11223344",
        "duration": "202.5",
        "audio_status_final": "true",
        "auto_lyrics": 1,
    }
    track = sansio.parse_track(reply(body))
    assert track.audio_id == "11223344"
    assert track.asset_id == 11223344
    assert track.duration == 202.5
    assert track.final is True
    assert track.auto_lyrics is True


# ----------------------------------------------------------------- accounts


JWT = {"AccountId": 1, "Username": "me", "token": "eyJ-SECRET-JWT-TOKEN"}
PASSWORD = "hunter2-plaintext-password"


def test_account_never_keeps_the_password() -> None:
    """The password is read and dropped: not an attribute, not in extra, not in repr."""
    body = {"email": "me@example.com", "password": PASSWORD, "maxJobs": 3, "jwt": JWT}
    account = sansio.parse_account(reply(body))
    assert account.email == "me@example.com"
    assert account.max_jobs == 3
    assert "password" not in dict(account.extra)
    assert not hasattr(account, "password")
    assert PASSWORD not in repr(account)
    assert PASSWORD not in repr(attrs.asdict(account))


def test_account_jwt_is_kept_but_not_in_repr() -> None:
    """The jwt session data is available on ``.jwt`` but never shown by repr."""
    body = {"email": "me@example.com", "password": PASSWORD, "jwt": JWT}
    account = sansio.parse_account(reply(body))
    assert dict(account.jwt) == JWT
    assert "eyJ-SECRET-JWT-TOKEN" not in repr(account)
    assert "jwt" not in repr(account)


def test_accounts_map_fills_email_and_drops_passwords() -> None:
    """GET accounts/ map entries take the key as email when absent and never keep passwords."""
    body = {
        "a@example.com": {"password": PASSWORD, "maxJobs": 2, "jwt": JWT},
        "b@example.com": {"email": "b@example.com", "password": PASSWORD, "maxJobs": 8},
    }
    accounts = sansio.parse_accounts(reply(body))
    assert [(a.email, a.max_jobs) for a in accounts] == [("a@example.com", 2), ("b@example.com", 8)]
    for account in accounts:
        assert "password" not in dict(account.extra)
        assert PASSWORD not in repr(account)
        assert "eyJ-SECRET-JWT-TOKEN" not in repr(account)


# ------------------------------------------------------------------ fuzzing

WIRE_KEYS = sorted(
    {key for names in WIRE_NAMES.values() for key in names}
    | {"data", "next_offset", "has_more", "error", "code", "result", "models", "jwt"}
    | {"audio_id", "audio_status", "audio_status_final", "duration", "created_at"}
)

INTERESTING_TEXT = st.sampled_from(
    [
        "",
        " ",
        "music",
        "voice",
        "1",
        "-5",
        "10",
        "1.5",
        "nan",
        "inf",
        "true",
        "False",
        "2026-06-23T12:34:56Z",
        "2026-06-23T12:34:56",
        "2026-13-45T99:99:99Z",
        "12:34",
        AUDIO_ID,
        "user:1-pixverse:a@b.c-speech:9",
        "user:1-minimax:acc-music:9",
        "\x00",
        "٣",  # a non-ASCII digit: isdigit() is true, int() accepts it
        "²",  # isdigit() is true, int() refuses it
    ]
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    INTERESTING_TEXT,
)
KEYS = st.one_of(st.sampled_from(WIRE_KEYS), st.text(max_size=10))


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(KEYS, children, max_size=4),
    )


JSON = st.recursive(SCALARS, _containers, max_leaves=8)

# Objects made mostly of the real wire keys reach deeper into the models; the
# ids the models require are usually present, so structuring gets past them.
ID_KEYS = ("audio_id", "musicId", "voice_id", "email", "path", "id", "model")
MODEL_LIKE = st.builds(
    lambda ids, rest: {**ids, **rest},
    st.fixed_dictionaries(
        {}, optional={key: st.one_of(INTERESTING_TEXT, st.text(max_size=8)) for key in ID_KEYS}
    ),
    st.dictionaries(st.sampled_from(WIRE_KEYS), st.one_of(SCALARS, SCALARS, JSON), max_size=6),
)
BODIES = st.one_of(
    JSON,
    MODEL_LIKE,
    st.lists(MODEL_LIKE, max_size=3),
    st.fixed_dictionaries(
        {"data": st.one_of(st.lists(MODEL_LIKE, max_size=3), JSON)},
        optional={"next_offset": SCALARS, "has_more": SCALARS, "error": SCALARS},
    ),
    st.dictionaries(st.sampled_from(["a@example.com", "b@example.com", ""]), MODEL_LIKE),
    st.fixed_dictionaries({"result": st.lists(MODEL_LIKE, max_size=2)}),
    st.fixed_dictionaries(
        {"provider_groups": st.lists(st.fixed_dictionaries({"models": st.lists(MODEL_LIKE)}))}
    ),
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(parse: Callable[[Reply], Any], rep: Reply) -> tuple[Any, BaseException | None]:
    try:
        return parse(rep), None
    except Exception as exc:  # the property: report whatever escapes
        return None, exc


def _check_every_parser(rep: Reply) -> None:
    for name, (parse, has_right_type) in PARSERS.items():
        result, exc = _outcome(parse, rep)
        if exc is None:
            assert has_right_type(result), f"{name} returned {result!r:.200}"
            continue
        # Only library errors may escape, and parsers only raise the APIError family.
        assert isinstance(exc, PixverseAudioError), f"{name} raised {exc!r:.300}"
        assert isinstance(exc, APIError), f"{name} raised {exc!r:.300}, not an APIError"
        assert exc.status_code == rep.status_code


@given(body=BODIES)
@FUZZ
def test_any_json_body_gives_a_model_or_a_library_error(body: Any) -> None:
    """Any JSON value as a 200 body yields each parser's model or a PixverseAudioError."""
    raw = json.dumps(body, allow_nan=True).encode()
    _check_every_parser(Reply(status_code=200, body=raw))


@given(
    body=BODIES,
    status=st.sampled_from([201, 204, 301, 400, 401, 402, 404, 422, 429, 500, 503, 596, 599]),
    retry_after=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["5", "nan", "1e999"])),
)
@settings(FUZZ, max_examples=100)
def test_any_json_body_with_any_status_gives_a_model_or_a_library_error(
    body: Any, status: int, retry_after: str | None
) -> None:
    """Any JSON body under any status and Retry-After never escapes as a foreign error."""
    headers = {} if retry_after is None else {"retry-after": retry_after}
    raw = json.dumps(body, allow_nan=True).encode()
    _check_every_parser(Reply(status_code=status, headers=headers, body=raw))


HTML = st.builds(
    lambda title, text: (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body>{text}</body></html>".encode()
    ),
    st.text(max_size=20),
    st.text(max_size=40),
)


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    raw = json.dumps(draw(JSON), allow_nan=True).encode()
    return raw[: draw(st.integers(min_value=0, max_value=len(raw)))]


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    truncated_json(),
    HTML,
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"\xff\xfe\x00",
            b"[" * 5000 + b"]" * 5000,
            b'{"a":' * 3000 + b"1" + b"}" * 3000,
            b'{"audio_id": "x", "duration": ' + b"9" * 5000 + b"}",
            b'{"audio_id": "x", "audio_status": ' + b"9" * 5000 + b"}",
            b'{"data": [{"audio_id": ' + b"9" * 5000 + b'}], "has_more": true}',
            b'{"audio_id": "x"} trailing',
            b"NaN",
        ]
    ),
)


@given(body=RAW_BODIES, status=st.sampled_from([200, 200, 400, 429, 502]))
@FUZZ
def test_any_bytes_body_gives_a_model_or_a_library_error(body: bytes, status: int) -> None:
    """Random bytes, truncated JSON, HTML and deep nesting never escape as foreign errors."""
    _check_every_parser(Reply(status_code=status, body=body))


@given(
    extra=st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in WIRE_NAMES[Track]), JSON, max_size=5
    )
)
@settings(max_examples=50, deadline=None)
def test_any_unknown_keys_land_in_extra(extra: dict[str, Any]) -> None:
    """Whatever unknown keys a track body carries, ``extra`` holds exactly those keys."""
    body = {"audio_id": AUDIO_ID, "audio_status": 1, **extra}
    track = sansio.parse_track(reply(json.dumps(body, allow_nan=True).encode()))
    assert set(track.extra) == set(extra)
    assert track.status is AudioStatus.COMPLETED


@given(st.one_of(st.none(), st.text(max_size=40), st.floats().map(str)))
@settings(max_examples=200, deadline=None)
def test_retry_after_never_raises_and_is_finite(value: str | None) -> None:
    """parse_retry_after returns None or a finite, non-negative number of seconds for any text."""
    seconds = sansio.parse_retry_after(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
