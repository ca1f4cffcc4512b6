"""Frozen values returned by the client.

Every model is an immutable, keyword-only attrs class that speaks Python
(``reply_url``, ``max_jobs``, ``final``); the wire spellings live in
`pixverse_audio._convert`. Fields the API may omit default to ``None``; keys
this release does not know are kept in ``extra`` so nothing the server says is
lost. Status codes this release does not know stay plain ``int`` values and
never raise: whether a job is done is decided by ``final`` alone.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "Account",
    "AccountAvailability",
    "AudioStatus",
    "Availability",
    "CreditFormula",
    "Job",
    "MinimaxSong",
    "MinimaxStatus",
    "Page",
    "ProviderGroup",
    "ScheduledJob",
    "SpeechClip",
    "SpeechModel",
    "SpeechModels",
    "Track",
    "UploadedFile",
    "Voice",
]

T = TypeVar("T")

_V2_ID = re.compile(r"-pixverse:(?P<email>.+)-(?P<kind>music|speech):(?P<number>[^:]+)\Z")
_V1_ID = re.compile(r"-minimax:(?P<account>.+)-music:(?P<number>[^:]+)\Z")


def _extra() -> Any:
    return attrs.field(factory=dict, eq=False, repr=False)


class AudioStatus(enum.IntEnum):
    """The known v2 ``audio_status`` codes.

    Codes this release does not know are passed through as plain ``int`` values;
    use ``final`` on the model, never this enum, to decide whether a job is done.
    """

    COMPLETED = 1
    QUEUED = 5
    FAILED = 8
    GENERATING = 10


class MinimaxStatus(enum.IntEnum):
    """The known legacy MiniMax v1 music ``status`` codes."""

    PENDING = 0
    PROCESSING = 1
    COMPLETED = 2
    MODERATED = 4


def _email_from(audio_id: str) -> str | None:
    match = _V2_ID.search(audio_id)
    return match["email"] if match else None


# Jobs, tracks and clips are parsed by the hundred on every poll of a batch:
# they keep their fields in a per-instance dict (not slots) so the generated
# builder in _fastbuild can fill them in one step. Frozen all the same.
@attrs.frozen(kw_only=True, slots=False)
class Job:
    """A job as accepted by ``music/create`` or ``speech/create``.

    Attributes:
        audio_id: The id to poll with ``get`` and to release with ``scheduler.cancel``.
        status: ``audio_status`` (`AudioStatus`, or a bare ``int`` for a new code).
        final: ``audio_status_final``: ``True`` once the job cannot change any more.
        credits: Credits the job costs.
        extra: Keys of the response this release does not model.
    """

    audio_id: str
    asset_id: int | None = None
    asset_type: int | None = None
    asset_source: int | None = None
    create_mode: str | None = None
    pixverse_status: str | None = None
    status: AudioStatus | int | None = None
    status_name: str | None = None
    final: bool = False
    credits: float | None = None
    error: str | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def email(self) -> str | None:
        """The PixVerse account the job runs on, read from the id."""
        return _email_from(self.audio_id)


@attrs.frozen(kw_only=True, slots=False)
class _Audio:
    audio_id: str
    asset_id: int | None = None
    status: AudioStatus | int | None = None
    status_name: str | None = None
    final: bool = False
    pixverse_status: str | None = None
    create_mode: str | None = None
    provider: str | None = None
    model: str | None = None
    url: str | None = None
    path: str | None = None
    name: str | None = None
    duration: float | None = None
    file_size: int | None = None
    format: str | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    channel: int | None = None
    credits: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fail_code: str | None = None
    fail_reason: str | None = None
    error: str | None = None
    reply_ref: str | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def email(self) -> str | None:
        """The PixVerse account the job ran on, read from the id."""
        return _email_from(self.audio_id)

    @property
    def completed(self) -> bool:
        """``True`` when the job is final and its audio is ready at ``url``."""
        return self.final and self.status == AudioStatus.COMPLETED

    @property
    def failed(self) -> bool:
        """``True`` when the job is final and did not complete."""
        return self.final and self.status != AudioStatus.COMPLETED


@attrs.frozen(kw_only=True, slots=False)
class Track(_Audio):
    """One v2 music job as the API last reported it (GET music/{audio_id}).

    Attributes:
        audio_id: ``user:<id>-pixverse:<email>-music:<number>``.
        status: ``audio_status``: an `AudioStatus`, or a bare ``int`` this release
            does not know (treated as not final unless ``final`` says otherwise).
        final: ``audio_status_final``, the only test for "done".
        pixverse_status: PixVerse's raw ``status`` string (``making``, ``finish``).
        url: The ``.mp3`` once COMPLETED; on a media host that never gets the token.
        duration: Length in seconds.
        fail_code: Set when FAILED, e.g. ``music_generation_failed``.
        fail_reason: PixVerse's readable explanation when FAILED.
        reply_ref: The ``replyRef`` given at create, when the server echoes it.
        extra: Keys of the response this release does not model.
    """

    prompt: str | None = None
    auto_lyrics: bool | None = None


@attrs.frozen(kw_only=True, slots=False)
class SpeechClip(_Audio):
    """One v2 text-to-speech job as the API last reported it (GET speech/{audio_id}).

    Attributes:
        text: The spoken text (the API's ``prompt``).
        voice_id: The voice used; see ``client.speech.voices()``.
        voice_name: The voice's display name.
        language_code: The language requested, if any.
    """

    text: str | None = None
    voice_id: str | None = None
    voice_name: str | None = None
    language_code: str | None = None


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a v2 list endpoint.

    Attributes:
        items: The items on this page (for music: music tracks only).
        next_offset: The offset of the next page, as the server gave it.
        has_more: Whether another page exists; the only reason to fetch one.
        offset: The offset this page was fetched at.
    """

    items: tuple[T, ...]
    next_offset: int | None = None
    has_more: bool = False
    offset: int = 0


@attrs.frozen(kw_only=True)
class Voice:
    """A speech voice (GET speech/voices): pass ``voice_id`` to ``speech.create``.

    Attributes:
        voice_id: The id ``speech.create`` takes, e.g. ``minimax_english_radiant_girl``.
        provider_voice_id: The provider's own id (filled in by useapi.net).
        display_name: A readable name.
        provider: ``minimax`` or ``elevenlabs``.
        gender: ``female``, ``male`` or ``neutral``, as the provider says.
        age: ``young``, ``middle_aged``, ``old``, ... as the provider says.
        accent: The accent, often empty.
        style_tags: Words describing the voice (``bright``, ``warm``).
        recommended_languages: Language codes the voice suits.
        preview_url: A sample of the voice.
        compatible_models: The models that take this voice.
    """

    voice_id: str
    provider_voice_id: str | None = None
    display_name: str | None = None
    provider: str | None = None
    gender: str | None = None
    age: str | None = None
    accent: str | None = None
    style_tags: tuple[str, ...] = ()
    recommended_languages: tuple[str, ...] = ()
    preview_url: str | None = None
    compatible_models: tuple[str, ...] = ()
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class CreditFormula:
    """How a speech model bills: ``unit_credits`` per ``unit_characters``."""

    unit_characters: int | None = None
    unit_credits: float | None = None
    round_up: bool | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class SpeechModel:
    """A speech model and its live limits (part of `SpeechModels`)."""

    model: str
    display_name: str | None = None
    provider: str | None = None
    max_characters: int | None = None
    supported_language_codes: tuple[str, ...] = ()
    credit_formula: CreditFormula | None = None
    emotions: tuple[str, ...] = ()
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class ProviderGroup:
    """The speech models of one provider (MiniMax, ElevenLabs)."""

    provider: str | None = None
    models: tuple[SpeechModel, ...] = ()
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class SpeechModels:
    """The live speech model catalogue (GET speech/models)."""

    default_model: str | None = None
    provider_groups: tuple[ProviderGroup, ...] = ()
    extra: Mapping[str, Any] = _extra()

    @property
    def models(self) -> tuple[SpeechModel, ...]:
        """Every model of every provider, in the server's order."""
        return tuple(m for group in self.provider_groups for m in group.models)

    def get(self, model: str) -> SpeechModel | None:
        """Return the model named ``model``, or ``None`` if the catalogue lacks it."""
        return next((m for m in self.models if m.model == model), None)


@attrs.frozen(kw_only=True)
class MinimaxSong:
    """A legacy MiniMax v1 song (GET /v1/minimax/music).

    Attributes:
        music_id: ``user:<id>-minimax:<account>-music:<number>``.
        status: `MinimaxStatus`, or a bare ``int`` this release does not know.
        final: ``statusFinal``, the only test for "done".
        create_time: ``createTime`` exactly as sent (its unit is undocumented).
    """

    music_id: str
    title: str | None = None
    lyrics: str | None = None
    style: str | None = None
    cover_url: str | None = None
    audio_url: str | None = None
    status: MinimaxStatus | int | None = None
    status_label: str | None = None
    final: bool = False
    create_time: int | None = None
    duration: float | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def account(self) -> str | None:
        """The MiniMax account the song belongs to, read from the id."""
        match = _V1_ID.search(self.music_id)
        return match["account"] if match else None


@attrs.frozen(kw_only=True)
class ScheduledJob:
    """A job useapi.net is tracking (GET scheduler).

    Attributes:
        id: The job id (for audio: the ``audio_id``).
        type: ``music``, ``speech``, ``video`` or ``image``.
        started: When it started.
        elapsed: ``mm:ss`` as sent; see ``elapsed_seconds``.
    """

    id: str
    type: str | None = None
    started: datetime | None = None
    elapsed: str | None = None
    reply_url: str | None = None
    reply_ref: str | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def elapsed_seconds(self) -> int | None:
        """``elapsed`` in seconds, or ``None`` when it is missing or not ``[h:]mm:ss``."""
        if not self.elapsed:
            return None
        total = 0
        for part in self.elapsed.split(":"):
            if not part.isdigit():
                return None
            total = total * 60 + int(part)
        return total


@attrs.frozen(kw_only=True)
class AccountAvailability:
    """Free capacity of one account (part of `Availability`)."""

    email: str
    max_jobs: int | None = None
    executing: int | None = None
    available: int | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class Availability:
    """Running jobs and free slots per account (GET scheduler/available).

    Attributes:
        executing: The jobs useapi.net is running.
        accounts: Per account: ``max_jobs``, ``executing`` and ``available`` slots.
    """

    executing: tuple[ScheduledJob, ...] = ()
    accounts: tuple[AccountAvailability, ...] = ()
    extra: Mapping[str, Any] = _extra()

    def for_email(self, email: str) -> AccountAvailability | None:
        """Return the entry of ``email``, or ``None``."""
        return next((a for a in self.accounts if a.email == email), None)


@attrs.frozen(kw_only=True)
class UploadedFile:
    """A file stored by POST files; pass ``path`` as an ``image_paths`` entry.

    Image uploads also report ``id``, ``size``, ``name`` and ``category``
    (numbers, as documented); audio and video uploads only ``path`` and ``url``.
    """

    path: str
    url: str | None = None
    id: int | None = None
    size: int | None = None
    name: str | None = None
    category: int | None = None
    err_msg: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class Account:
    """A configured PixVerse account (GET accounts).

    The password is never kept, and ``jwt`` (PixVerse session data) is left out
    of ``repr`` and comparisons.
    """

    email: str
    max_jobs: int | None = None
    jwt: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    extra: Mapping[str, Any] = _extra()
