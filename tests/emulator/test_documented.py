"""The emulator answers as useapi.net's pages document: voices, models, accounts, uploads.

Each body is compared with the page's example (tests/samples/) and read back
through the client, so the emulator cannot drift from the pages again.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from conftest import sample

import pixverse_audio._scheduler
from pixverse_audio import (
    AccountError,
    BusyError,
    NotFoundError,
    ValidationError,
)
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

V2 = "/v2/pixverse"
EMAIL = "account1@emulator.test"
VOICE = "minimax_english_radiant_girl"
SLOW = Timing.fixed(60.0)


def http(emulator: Emulator) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    return emulator.http_client(base_url=emulator.base_url, headers=headers)


# ------------------------------------------------------------------- voices


async def test_voices_use_the_documented_envelope_and_fields() -> None:
    """GET speech/voices answers {"voices": [...]} with every documented voice field."""
    emulator = Emulator.fast()
    async with http(emulator) as raw:
        body = (await raw.get(f"{V2}/speech/voices", params={"model": "speech-2.8-hd"})).json()
    documented = sample("speech_voices_200")["voices"][0]
    assert "voices" in body
    assert "data" not in body
    voice = next(v for v in body["voices"] if v["voice_id"] == VOICE)
    assert set(documented) <= set(voice)
    for key, value in documented.items():
        assert type(voice[key]) is type(value), key
    assert voice["provider"] == "minimax"
    assert voice["provider_voice_id"] == "English_radiant_girl"
    assert {"recommended_languages", "preview_url", "compatible_models"} <= set(voice)


async def test_voices_reach_the_client_and_can_be_used() -> None:
    """client.speech.voices() lists the emulator's voices; one of them makes a clip."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        voices = [v async for v in client.speech.voices(model="eleven-v3")]
        assert len(voices) == 40
        assert {v.provider for v in voices} == {"elevenlabs"}
        assert all(v.style_tags for v in voices)
        clip = await client.speech.generate("Hello there.", voices[0].voice_id, model="eleven-v3")
    assert clip.completed
    assert clip.voice_id == voices[0].voice_id


async def test_unknown_voice_model_is_400() -> None:
    """An unknown model is rejected with 400, as the page says."""
    emulator = Emulator.fast()
    async with http(emulator) as raw:
        response = await raw.get(f"{V2}/speech/voices", params={"model": "nope-1"})
    assert response.status_code == 400


# ------------------------------------------------------------- speech models


async def test_speech_models_are_shaped_like_the_page() -> None:
    """credit_formula is {unit_characters, unit_credits, round_up}; "auto" is a language code."""
    emulator = Emulator.fast()
    async with http(emulator) as raw:
        body = (await raw.get(f"{V2}/speech/models")).json()
    documented = sample("speech_models_200")
    assert set(body) == set(documented)
    models = {m["model"]: m for g in body["provider_groups"] for m in g["models"]}
    example = documented["provider_groups"][0]["models"][0]
    for model in models.values():
        assert set(model) - {"emotions"} == set(example) - {"emotions"}
        assert set(model["credit_formula"]) == {"unit_characters", "unit_credits", "round_up"}
        assert model["supported_language_codes"][0] == "auto"
    assert models["speech-2.8-hd"]["credit_formula"] == example["credit_formula"]
    assert "emotions" in models["speech-2.8-hd"]
    assert "emotions" not in models["eleven-v3"]


async def test_language_code_auto_is_accepted_after_reading_the_catalogue() -> None:
    """With the live catalogue fetched, language_code="auto" passes the client and the server."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        catalogue = await client.speech.models()
        hd = catalogue.get("speech-2.8-hd")
        assert hd is not None
        assert "auto" in hd.supported_language_codes
        clip = await client.speech.generate("Hello there.", VOICE, language_code="auto")
        with pytest.raises(ValidationError):  # the catalogue still refuses what it lacks
            await client.speech.create("Hello there.", VOICE, language_code="xx")
    assert clip.language_code == "auto"
    assert emulator.stats().jobs == 1


@pytest.mark.parametrize(
    ("model", "characters", "credits"),
    [
        ("speech-2.8-hd", 16, 1),
        ("speech-2.8-hd", 50, 1),
        ("speech-2.8-hd", 51, 2),
        ("speech-2.8-hd", 1000, 20),
        ("speech-2.8-turbo", 1000, 10),
        ("eleven-turbo-v2.5", 101, 2),
    ],
)
async def test_speech_is_billed_by_the_credit_formula(
    model: str, characters: int, credits: int
) -> None:
    """A clip costs ceil(len / unit_characters) * unit_credits, as its model's formula says."""
    emulator = Emulator.fast()
    voice = VOICE if model.startswith("speech") else "el_radiant_girl"
    async with emulator.client() as client:
        formula = next(
            m.credit_formula for m in (await client.speech.models()).models if m.model == model
        )
        job = await client.speech.create("x" * characters, voice, model=model)
    assert formula is not None
    assert formula.unit_characters is not None
    assert formula.unit_credits is not None
    assert job.credits == credits
    assert credits == math.ceil(characters / formula.unit_characters) * formula.unit_credits


async def test_speech_items_always_carry_language_code() -> None:
    """Speech list and get items carry language_code, "auto" when none was asked for."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        job = await client.speech.create("Hello there.", VOICE)
        page = await client.speech.list_page()
        clip = await client.speech.get(job.audio_id)
    assert [item.language_code for item in page.items] == ["auto"]
    assert clip.language_code == "auto"


# ----------------------------------------------------------------- accounts


async def test_post_account_answers_201_with_the_account() -> None:
    """POST accounts/{email} answers 201 with the documented shape, the password hidden."""
    emulator = Emulator.fast()
    async with http(emulator) as raw:
        response = await raw.post(
            f"{V2}/accounts/new@example.com",
            json={"email": "new@example.com", "password": "pw-secret-1", "maxJobs": 2},
        )
    assert response.status_code == 201
    body = response.json()
    documented = sample("accounts_create_201")
    assert set(body) == set(documented)
    assert set(body["jwt"]) == set(documented["jwt"])
    assert (body["email"], body["maxJobs"], body["password"]) == (
        "new@example.com",
        2,
        "…secured…",
    )
    assert "pw-secret-1" not in response.text
    assert emulator.accounts["new@example.com"].max_jobs == 2


@pytest.mark.parametrize(
    "body",
    [
        {"password": "pw", "maxJobs": 2},
        {"email": "other@example.com", "password": "pw", "maxJobs": 2},
        {"email": "new@example.com", "maxJobs": 2},
        {"email": "new@example.com", "password": "pw"},
        {"email": "new@example.com", "password": "pw", "maxJobs": 9},
        {"email": "new@example.com", "password": "pw", "maxJobs": 0},
    ],
    ids=["no-email", "other-email", "no-password", "no-maxjobs", "maxjobs-9", "maxjobs-0"],
)
async def test_post_account_rejects_bad_bodies(body: dict[str, Any]) -> None:
    """A body without email, password or maxJobs in 1..8 (or another email) is a 400."""
    emulator = Emulator.fast()
    async with http(emulator) as raw:
        response = await raw.post(f"{V2}/accounts/new@example.com", json=body)
    assert response.status_code == 400
    assert "new@example.com" not in emulator.accounts


async def test_new_max_jobs_takes_effect_for_the_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Saving an account with a new maxJobs changes how many jobs it runs at once.

    The client is told the account allows 8 (so it sends every create rather
    than waiting for a slot) and gives up at the first 429 (MAX_BUSY 1 instead
    of backing off): the limit it meets is the emulator's.
    """
    monkeypatch.setattr(pixverse_audio._scheduler, "MAX_BUSY", 1)
    emulator = Emulator(accounts=1, max_jobs=1, music_timing=SLOW)
    async with emulator.client(max_jobs={EMAIL: 8}) as client:
        await client.music.create("first", email=EMAIL)
        with pytest.raises(BusyError):
            await client.music.create("second", email=EMAIL)
        account = await client.accounts.create(EMAIL, password="pw", max_jobs=3)
        assert account.max_jobs == 3
        await client.music.create("second", email=EMAIL)
        await client.music.create("third", email=EMAIL)
        availability = await client.scheduler.available()
        with pytest.raises(BusyError):
            await client.music.create("fourth", email=EMAIL)
    entry = availability.for_email(EMAIL)
    assert entry is not None
    assert (entry.max_jobs, entry.executing, entry.available) == (3, 3, 0)
    assert emulator.stats().busy == 2
    assert emulator.stats().requests["music.create"] == 5


async def test_saving_an_account_again_clears_its_pending_error() -> None:
    """After a 596, POST accounts/{email} is how the account is recovered."""
    emulator = Emulator.fast()
    emulator.accounts[EMAIL].pending_error = True
    async with emulator.client() as client:
        with pytest.raises(AccountError):
            await client.music.create("blocked", email=EMAIL)
        await client.accounts.create(EMAIL, password="new-password", max_jobs=4)
        job = await client.music.create("works again", email=EMAIL)
    assert job.email == EMAIL


async def test_delete_account_then_it_is_not_found() -> None:
    """DELETE accounts/{email} removes it: get is a plain-text 404; a second delete is False."""
    emulator = Emulator.fast(accounts=2)
    async with emulator.client() as client:
        assert await client.accounts.delete("account2@emulator.test") is True
        assert await client.accounts.delete("account2@emulator.test") is False
        with pytest.raises(NotFoundError, match="Configuration not found"):
            await client.accounts.get("account2@emulator.test")
        assert [a.email for a in await client.accounts.list()] == [EMAIL]


async def test_accounts_list_404_when_none_is_configured() -> None:
    """With no account left, GET accounts is the documented plain-text 404."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        await client.accounts.delete(EMAIL)
        with pytest.raises(NotFoundError) as caught:
            await client.accounts.list()
    assert caught.value.message.startswith("Configuration not found.")


# ------------------------------------------------------------------ uploads


DOCUMENTED_TYPES = [
    ("image/png", "png"),
    ("image/jpeg", "jpeg"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("video/mp4", "mp4"),
    ("video/quicktime", "mov"),
    ("video/3gpp", "3gp"),
    ("video/x-matroska", "mkv"),
    ("video/x-flv", "flv"),
    ("video/mpeg", "mpeg"),
    ("video/MP2T", "ts"),
    ("video/x-msvideo", "avi"),
    ("video/x-motion-jpeg", "mjpeg"),
    ("video/webm", "webm"),
    ("video/ogg", "ogv"),
    ("audio/wav", "wav"),
    ("audio/wave", "wav"),
    ("audio/mpeg", "mp3"),
]


@pytest.mark.parametrize(("content_type", "suffix"), DOCUMENTED_TYPES)
async def test_every_documented_upload_type_is_accepted(content_type: str, suffix: str) -> None:
    """Each media type of the page's table uploads; images answer numeric id and category."""
    emulator = Emulator.fast()
    async with emulator.client() as client:
        uploaded = await client.files.upload(b"\x00" * 64, content_type=content_type)
    assert uploaded.path.endswith(f".{suffix}")
    if content_type.startswith("image/"):
        assert isinstance(uploaded.id, int)
        assert uploaded.category == 0
    else:
        assert (uploaded.id, uploaded.category) == (None, None)


@pytest.mark.parametrize(
    "suffix", ["mov", "3gp", "mkv", "flv", "mpeg", "ts", "avi", "mjpeg", "webm", "ogv", "wav"]
)
async def test_upload_type_is_guessed_from_a_documented_suffix(tmp_path: Any, suffix: str) -> None:
    """A file with a documented suffix is sent with the table's type and stored under it."""
    emulator = Emulator.fast()
    path = tmp_path / f"clip.{suffix}"
    path.write_bytes(b"\x01" * 64)
    async with emulator.client() as client:
        uploaded = await client.files.upload(path)
    assert uploaded.path.endswith(f".{suffix}")  # the emulator names it from the type it got
    assert emulator.state.uploads[uploaded.path] == 64
