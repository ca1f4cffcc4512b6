"""Every documented example payload in tests/samples/ parses through the pure core.

The file name says which endpoint and status a sample belongs to
(``<endpoint>_<status>[_<variant>].json``); the tables below say which parser
and which error class that means. A new sample file is picked up by the
directory listing, and a test fails until the tables cover it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from conftest import SAMPLES, sample, sample_bytes

from pixverse_audio import (
    Account,
    AccountError,
    APIError,
    AudioStatus,
    AuthenticationError,
    Availability,
    BadRequestError,
    BusyError,
    CreditFormula,
    InsufficientCreditsError,
    Job,
    MinimaxSong,
    MinimaxStatus,
    NotFoundError,
    Page,
    PaymentRequiredError,
    ScheduledJob,
    SpeechClip,
    SpeechModels,
    SubscriptionExpiredError,
    Track,
    UploadedFile,
    Voice,
)
from pixverse_audio import _sansio as sansio
from pixverse_audio._sansio import Reply

NAME = re.compile(r"\A(?P<endpoint>[a-z0-9_]+?)_(?P<status>\d{3})(?:_(?P<variant>[a-z0-9_]+))?\Z")

SAMPLE_NAMES = sorted(p.stem for p in SAMPLES.iterdir() if p.suffix in (".json", ".txt"))
"""Every sample: JSON bodies (``.json``) and the plain-text ones some pages print (``.txt``)."""


def _raw(name: str) -> bytes:
    """The body of sample ``name`` as served (JSON or plain text)."""
    json_path = SAMPLES / f"{name}.json"
    return json_path.read_bytes() if json_path.exists() else sample_bytes_txt(name)


def sample_bytes_txt(name: str) -> bytes:
    return (SAMPLES / f"{name}.txt").read_bytes()


def _error_text(name: str) -> tuple[str, Any]:
    """The message and body a client must report for error sample ``name``."""
    json_path = SAMPLES / f"{name}.json"
    if json_path.exists():
        body = sample(name)
        return body["error"], body
    text = sample_bytes_txt(name).decode().strip()
    return text.splitlines()[0], text


PARSERS: dict[str, Callable[[Reply], Any]] = {
    "music_create": sansio.parse_job,
    "music_get": sansio.parse_track,
    "music_list": partial(sansio.parse_music_page, offset=0),
    "speech_get": sansio.parse_speech_clip,
    "speech_list": partial(sansio.parse_speech_page, offset=0),
    "speech_voices": partial(sansio.parse_voice_page, offset=0),
    "speech_models": sansio.parse_speech_models,
    "scheduler_list": sansio.parse_scheduled_jobs,
    "scheduler_available": sansio.parse_availability,
    "files_upload": sansio.parse_uploaded_file,
    "accounts_list": sansio.parse_accounts,
    "accounts_get": sansio.parse_account,
    "accounts_create": sansio.parse_account,
    "minimax_music_list": sansio.parse_minimax_songs,
}
"""Endpoint (file name prefix) -> the sansio parser for its responses."""

ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    404: NotFoundError,
    429: BusyError,
    596: AccountError,
}
"""Documented error status -> the exact class raise_for_status must pick."""

UTC_CREATED = datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)


def _split(name: str) -> tuple[str, int]:
    match = NAME.match(name)
    assert match is not None, f"sample {name!r} is not named <endpoint>_<status>[_<variant>]"
    return match["endpoint"], int(match["status"])


def _reply(name: str, **headers: str) -> Reply:
    _, status = _split(name)
    return Reply(status_code=status, headers=headers, body=_raw(name))


def _is_success(name: str) -> bool:
    match = NAME.match(name)
    return match is not None and 200 <= int(match["status"]) < 300


def _is_error(name: str) -> bool:
    match = NAME.match(name)
    return match is not None and not 200 <= int(match["status"]) < 300


SUCCESS_NAMES = [n for n in SAMPLE_NAMES if _is_success(n)]
ERROR_NAMES = [n for n in SAMPLE_NAMES if _is_error(n)]


# ------------------------------------------------------------ per-sample checks


def _check_music_create_200(job: Job) -> None:
    assert isinstance(job, Job)
    assert job.audio_id == "user:<userid>-pixverse:<email>-music:<number>"
    assert job.asset_id == 409848161653065
    assert job.asset_type == 2
    assert job.asset_source == 1
    assert job.create_mode == "music"
    assert job.pixverse_status == "making"
    assert job.status is AudioStatus.QUEUED
    assert job.status_name == "QUEUED"
    assert job.final is False
    assert job.credits == 40
    assert job.email == "<email>"
    assert dict(job.extra) == {}


def _check_audio_times(item: Track | SpeechClip, updated: datetime) -> None:
    assert item.created_at == UTC_CREATED
    assert item.updated_at == updated
    for stamp in (item.created_at, item.updated_at):
        assert stamp is not None
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


def _check_track(track: Track, *, number: str) -> None:
    assert isinstance(track, Track)
    assert track.audio_id == f"user:<userid>-pixverse:<email>-music:{number}"
    assert track.asset_id == 11223344
    assert track.status is AudioStatus.COMPLETED
    assert track.status_name == "COMPLETED"
    assert track.final is True
    assert track.completed is True
    assert track.failed is False
    assert track.pixverse_status == "finish"
    assert track.create_mode == "music"
    assert track.provider == "minimax"
    assert track.model == "music-2.6"
    assert track.prompt == "<prompt>"
    assert track.auto_lyrics is True
    assert track.url == "https://media.pixverse.ai/pixverse/audio/music/11223344.mp3"
    assert track.name == "PixVerse_Music_11223344.mp3"
    assert track.duration == 202
    assert track.credits == 40
    assert track.email == "<email>"
    _check_audio_times(track, datetime(2026, 6, 23, 12, 38, 18, tzinfo=timezone.utc))
    assert dict(track.extra) == {}


def _check_music_get_200(track: Track) -> None:
    _check_track(track, number="<number>")


def _check_music_list_200(result: tuple[Page[Track], int]) -> None:
    page, received = result
    assert received == 1
    assert page.next_offset == 50
    assert page.has_more is False
    assert page.offset == 0
    assert len(page.items) == 1
    _check_track(page.items[0], number="11223344")


def _check_speech_list_200(result: tuple[Page[SpeechClip], int]) -> None:
    page, received = result
    assert received == 1
    assert (page.next_offset, page.has_more) == (50, False)
    (clip,) = page.items
    assert isinstance(clip, SpeechClip)
    assert clip.audio_id == "user:<userid>-pixverse:<email>-speech:11223344"
    assert clip.status is AudioStatus.COMPLETED
    assert clip.final is True
    assert clip.create_mode == "voice"
    assert clip.model == "speech-2.8-hd"
    assert clip.voice_id == "minimax_english_radiant_girl"
    assert clip.voice_name == "Radiant Girl"
    assert clip.language_code == "en"
    assert clip.text == "Use API dot net."
    assert clip.url == "https://media.pixverse.ai/pixverse/audio/speech/11223344.mp3"
    assert clip.duration == 2
    assert clip.credits == 1
    assert clip.email == "<email>"
    _check_audio_times(clip, datetime(2026, 6, 23, 12, 35, 6, tzinfo=timezone.utc))
    assert dict(clip.extra) == {}


def _check_minimax_music_list_200(songs: list[MinimaxSong]) -> None:
    assert [s.style for s in songs] == ["Urban", "Popular"]
    assert [s.duration for s in songs] == [45, 38]
    for song in songs:
        assert isinstance(song, MinimaxSong)
        assert song.music_id == "user:user_id-minimax:account_id-music:music_id"
        assert song.account == "account_id"
        assert song.status is MinimaxStatus.COMPLETED
        assert song.status_label == "completed"
        assert song.final is True
        assert song.create_time == 123456789
        assert song.title == "<title>"
        assert song.lyrics == "<lyrics>"
        assert song.cover_url is not None
        assert song.cover_url.startswith("https://minimax-public-cdn.com/music/final_v3/")
        assert song.audio_url is not None
        assert song.audio_url.endswith(".mp3")
        assert dict(song.extra) == {}


def _check_speech_get_200(clip: SpeechClip) -> None:
    assert isinstance(clip, SpeechClip)
    assert clip.audio_id == "user:<userid>-pixverse:<email>-speech:<number>"
    assert clip.status is AudioStatus.COMPLETED
    assert clip.final is True
    assert clip.completed is True
    assert clip.create_mode == "voice"
    assert (clip.provider, clip.model) == ("minimax", "speech-2.8-hd")
    assert (clip.voice_id, clip.voice_name) == ("minimax_english_radiant_girl", "Radiant Girl")
    assert clip.language_code == "en"
    assert clip.text == "May the Force be with you."
    assert clip.name == "PixVerse_Speech_11223344.mp3"
    assert (clip.duration, clip.credits) == (3, 1)
    _check_audio_times(clip, datetime(2026, 6, 23, 12, 35, 6, tzinfo=timezone.utc))
    assert dict(clip.extra) == {}


def _check_speech_voices_200(result: tuple[Page[Voice], int]) -> None:
    page, received = result
    assert received == 1
    assert (page.next_offset, page.has_more) == (None, False)
    (voice,) = page.items
    assert isinstance(voice, Voice)
    assert voice.voice_id == "minimax_english_radiant_girl"
    assert voice.provider_voice_id == "English_radiant_girl"
    assert voice.display_name == "Radiant Girl"
    assert voice.provider == "minimax"
    assert (voice.gender, voice.age, voice.accent) == ("female", "young", "")
    assert voice.style_tags == ("bright", "warm")
    assert dict(voice.extra) == {}


def _check_speech_models_200(models: SpeechModels) -> None:
    assert models.default_model == "speech-2.8-hd"
    assert [g.provider for g in models.provider_groups] == ["minimax", "elevenlabs"]
    hd = models.get("speech-2.8-hd")
    assert hd is not None
    assert hd.max_characters == 10000
    assert "auto" in hd.supported_language_codes
    assert hd.credit_formula == CreditFormula(unit_characters=50, unit_credits=1, round_up=True)
    assert "calm" in hd.emotions
    v3 = models.get("eleven-v3")
    assert v3 is not None
    assert (v3.provider, v3.max_characters, v3.emotions) == ("elevenlabs", 5000, ())


def _check_scheduled(jobs: Sequence[ScheduledJob]) -> None:
    first = jobs[0]
    assert first.id == "user:user_id-pixverse:email-video:id1"
    assert first.started == datetime(2024, 9, 25, 1, 55, 16, 128000, tzinfo=timezone.utc)
    assert (first.elapsed, first.elapsed_seconds) == ("03:57", 237)
    assert (first.reply_url, first.reply_ref) == ("<optional callback URL>", "<optional reference>")


def _check_scheduler_list_200(jobs: list[ScheduledJob]) -> None:
    assert [j.type for j in jobs] == ["video", "image"]
    _check_scheduled(jobs)


def _check_availability(availability: Availability) -> None:
    assert [(a.email, a.max_jobs, a.executing, a.available) for a in availability.accounts] == [
        ("<email_1>", 5, 0, 5),
        ("<email_2>", 8, 3, 2),
        ("<email_N>", 3, 2, 1),
    ]
    assert len(availability.executing) == 2
    _check_scheduled(availability.executing)


def _check_scheduler_available_200(availability: Availability) -> None:
    _check_availability(availability)
    assert [j.type for j in availability.executing] == ["video", "image"]


def _check_scheduler_available_200_2024(availability: Availability) -> None:
    _check_availability(availability)  # "video_id" read as the id


def _check_account(account: Account, email: str = "<account email>", max_jobs: int = 3) -> None:
    assert isinstance(account, Account)
    assert (account.email, account.max_jobs) == (email, max_jobs)
    assert "password" not in account.extra
    assert "secured" not in repr(account)


def _check_accounts_list_200(accounts: list[Account]) -> None:
    assert [(a.email, a.max_jobs) for a in accounts] == [("<email #1>", 8), ("<email #2>", 3)]
    for account in accounts:
        _check_account(account, account.email, account.max_jobs or 0)


def _check_files_upload_200_image(uploaded: UploadedFile) -> None:
    assert (uploaded.id, uploaded.category, uploaded.size) == (123456, 0, 112233)
    assert (uploaded.path, uploaded.url, uploaded.name) == (
        "<file path>",
        "<file url>",
        "<file name>",
    )
    assert uploaded.err_msg == ""


def _check_files_upload_200_media(uploaded: UploadedFile) -> None:
    assert (uploaded.path, uploaded.url) == ("<file path>", "<file url>")
    assert (uploaded.id, uploaded.category) == (None, None)


SUCCESS_CHECKS: dict[str, Callable[[Any], None]] = {
    "music_create_200": _check_music_create_200,
    "music_get_200": _check_music_get_200,
    "music_list_200": _check_music_list_200,
    "speech_get_200": _check_speech_get_200,
    "speech_list_200": _check_speech_list_200,
    "speech_voices_200": _check_speech_voices_200,
    "speech_models_200": _check_speech_models_200,
    "scheduler_list_200": _check_scheduler_list_200,
    "scheduler_available_200": _check_scheduler_available_200,
    "scheduler_available_200_2024": _check_scheduler_available_200_2024,
    "files_upload_200_image": _check_files_upload_200_image,
    "files_upload_200_media": _check_files_upload_200_media,
    "accounts_list_200": _check_accounts_list_200,
    "accounts_get_200": _check_account,
    "accounts_create_201": _check_account,
    "minimax_music_list_200": _check_minimax_music_list_200,
}
"""Success sample -> what its parsed model must look like."""


# ------------------------------------------------------------------- coverage


def test_samples_directory_is_not_empty() -> None:
    """The sample listing finds the documented payloads (a wrong path would test nothing)."""
    assert len(SAMPLE_NAMES) >= 20
    assert "music_get_200" in SAMPLE_NAMES


def test_every_sample_file_is_listed() -> None:
    """Every file in tests/samples/ but the README is a .json or .txt sample the listing sees."""
    others = [
        p.name
        for p in SAMPLES.iterdir()
        if p.suffix not in (".json", ".txt") and p.name != "README.md"
    ]
    assert others == []


def test_every_sample_is_classified() -> None:
    """Each sample is either a success or an error sample: none is silently left out."""
    assert sorted(SUCCESS_NAMES + ERROR_NAMES) == SAMPLE_NAMES
    for name in SAMPLE_NAMES:
        _split(name)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_is_covered_by_the_tables(name: str) -> None:
    """Every sample's endpoint has a parser, and its status a check or an error class."""
    endpoint, status = _split(name)
    assert endpoint in PARSERS, f"no parser mapped for endpoint {endpoint!r}"
    if 200 <= status < 300:
        assert name in SUCCESS_CHECKS, f"no success check for {name!r}"
    else:
        assert status in ERRORS, f"no error class mapped for status {status}"


def test_success_checks_have_no_stale_entries() -> None:
    """Every success check names a sample file that exists."""
    assert set(SUCCESS_CHECKS) <= set(SAMPLE_NAMES)


def test_every_parser_is_used_by_a_sample() -> None:
    """Every endpoint in the parser table has at least one sample file."""
    assert {_split(n)[0] for n in SAMPLE_NAMES} == set(PARSERS)


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize("name", SUCCESS_NAMES)
def test_success_sample_parses(name: str) -> None:
    """A documented 2xx example parses through its endpoint's parser into the documented values."""
    endpoint, _ = _split(name)
    reply = _reply(name)
    sansio.raise_for_status(reply)  # a 2xx never raises
    SUCCESS_CHECKS[name](PARSERS[endpoint](reply))


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_sample_raises_mapped_class(name: str) -> None:
    """raise_for_status raises exactly the documented class, with the sample's error text."""
    _, status = _split(name)
    message, body = _error_text(name)
    with pytest.raises(APIError) as caught:
        sansio.raise_for_status(_reply(name))
    exc = caught.value
    assert type(exc) is ERRORS[status]
    assert exc.status_code == status
    assert exc.message == message
    assert exc.body == body


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_sample_raises_through_endpoint_parser(name: str) -> None:
    """The endpoint's own parser raises the same mapped class for an error sample."""
    endpoint, status = _split(name)
    with pytest.raises(APIError) as caught:
        PARSERS[endpoint](_reply(name))
    assert type(caught.value) is ERRORS[status]
    assert caught.value.message == _error_text(name)[0]


# ------------------------------------------------------------ sample variants


REAL_LOOKING = {"<userid>": "123", "<email>": "me@example.com", "<number>": "11223344"}


@pytest.mark.parametrize(
    ("name", "parse"),
    [
        ("music_create_200", sansio.parse_job),
        ("music_get_200", sansio.parse_track),
        ("music_list_200", lambda r: sansio.parse_music_page(r, offset=0)[0].items[0]),
        ("speech_list_200", lambda r: sansio.parse_speech_page(r, offset=0)[0].items[0]),
    ],
)
def test_email_is_read_from_a_real_looking_id(name: str, parse: Callable[[Reply], Any]) -> None:
    """With the doc's placeholders filled in, the account email is read back from the id."""
    text = sample_bytes(name).decode()
    for placeholder, value in REAL_LOOKING.items():
        text = text.replace(placeholder, value)
    item = parse(Reply(status_code=200, body=text.encode()))
    assert item.email == "me@example.com"
    assert item.audio_id.startswith("user:123-pixverse:me@example.com-")


def test_music_list_sample_parsed_as_speech_list_keeps_item() -> None:
    """The speech list parser does not filter by create_mode, so the music sample's item stays."""
    page, received = sansio.parse_speech_page(_reply("music_list_200"), offset=0)
    assert received == 1
    assert [c.audio_id for c in page.items] == [sample("music_list_200")["data"][0]["audio_id"]]


def test_speech_items_are_filtered_from_a_music_page() -> None:
    """The speech list sample, read as a music page, keeps no item but counts it as received."""
    page, received = sansio.parse_music_page(_reply("speech_list_200"), offset=0)
    assert page.items == ()
    assert received == 1
    assert (page.next_offset, page.has_more) == (50, False)


def test_busy_sample_carries_retry_after_header() -> None:
    """A 429 sample with a Retry-After header exposes it in seconds; without one it is None."""
    with pytest.raises(BusyError) as bare:
        sansio.raise_for_status(_reply("music_create_429_all"))
    assert bare.value.retry_after is None
    with pytest.raises(BusyError) as timed:
        sansio.raise_for_status(_reply("music_create_429_account", **{"retry-after": "12"}))
    assert timed.value.retry_after == 12.0


def test_second_documented_402_is_subscription_expired() -> None:
    """The other documented 402 message maps to SubscriptionExpiredError, not credits."""
    body = {"error": "Account has no subscription or subscription expired"}
    reply = Reply(status_code=402, body=json.dumps(body).encode())
    with pytest.raises(PaymentRequiredError) as caught:
        sansio.raise_for_status(reply)
    assert type(caught.value) is SubscriptionExpiredError
    assert caught.value.message == body["error"]
