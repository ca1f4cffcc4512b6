"""What a create asks for: `MusicRequest` and `SpeechRequest`, declared once.

These classes are the only place the create arguments are declared: the
endpoints' ``create`` and ``generate`` take the same arguments (their types are
read from these classes), the request builders in `pixverse_audio._sansio`
read the fields, and `pixverse_audio._validate` holds the rules. A request is
checked when built, so a bad one never reaches a batch or the server.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._models import SpeechModels

__all__ = ["MusicRequest", "SpeechRequest", "check_music", "check_speech"]


@attrs.frozen
class MusicRequest:
    """One music job: the arguments of ``client.music.create`` and ``generate``.

    ``prompt`` may be given by position; everything else by keyword. Checked
    when built: a request that breaks a documented rule raises
    `ValidationError` here, before anything is sent.

    Attributes:
        prompt: What the track should be (2,000 characters for music-2.6,
            4,000 for music-v1, 5,000 for lyria-3-pro-preview).
        model: ``music-2.6`` (default), ``music-v1`` or ``lyria-3-pro-preview``;
            other names are sent unchecked.
        email: The account to run on; ``None`` lets the client pick the least
            busy one.
        instrumental: ``True`` for no vocals. Not with ``lyrics``.
        lyrics: Words to sing (up to 3,500 characters; not on lyria).
        image_paths: Up to 10 ``UploadedFile.path`` values (lyria only).
        reply_url: A URL that receives progress and result callbacks.
        reply_ref: Your reference, echoed with the result.
        max_jobs: Run it only on an account running fewer than this many jobs
            (1 to 8; sent as the job's ``maxJobs``).
        key: Names the request in a batch's journal (``generate_many(journal=...)``);
            never sent. Up to 200 characters.
    """

    prompt: str
    model: str = attrs.field(default="music-2.6", kw_only=True)
    email: str | None = attrs.field(default=None, kw_only=True)
    instrumental: bool | None = attrs.field(default=None, kw_only=True)
    lyrics: str | None = attrs.field(default=None, kw_only=True)
    image_paths: Sequence[str] = attrs.field(default=(), kw_only=True)
    reply_url: str | None = attrs.field(default=None, kw_only=True)
    reply_ref: str | None = attrs.field(default=None, kw_only=True)
    max_jobs: int | None = attrs.field(default=None, kw_only=True)
    key: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        check_music(self)

    @property
    def text(self) -> str:
        """The prompt (what reconciliation matches on)."""
        return self.prompt


@attrs.frozen
class SpeechRequest:
    """One speech job: the arguments of ``client.speech.create`` and ``generate``.

    ``text`` and ``voice_id`` may be given by position; everything else by
    keyword. Checked when built against the documented rules
    (`ValidationError`); once ``client.speech.models()`` was fetched, the live
    catalogue's limits are checked again at create.

    Attributes:
        text: The words to speak (10,000 characters; 5,000 on eleven-v3,
            40,000 on eleven-turbo-v2.5, or the live limit).
        voice_id: A voice from ``client.speech.voices()``.
        model: MiniMax ``speech-2.8-hd`` (default) or ``speech-2.8-turbo``;
            ElevenLabs ``eleven-multilingual-v2``, ``eleven-v3`` or
            ``eleven-turbo-v2.5``. Other names are sent unchecked.
        language_code: Not accepted by eleven-v3, which detects it.
        speed: MiniMax 0.5 to 2; ElevenLabs 0.7 to 1.2.
        volume: MiniMax only, 0 to 10.
        pitch: MiniMax only, -12 to 12.
        emotion: MiniMax only: auto, happy, sad, angry, fearful, disgusted,
            surprised, neutral or calm.
        stability: ElevenLabs only, 0 to 1.
        similarity_boost: ElevenLabs only, 0 to 1.
        style: eleven-multilingual-v2 only, 0 to 1.
        use_speaker_boost: eleven-multilingual-v2 only.
        email: The account to run on.
        reply_url: A URL that receives progress and result callbacks.
        reply_ref: Your reference, echoed with the result.
        max_jobs: As for music.
        key: As for music: names the request in a journal; never sent.
    """

    text: str
    voice_id: str
    model: str = attrs.field(default="speech-2.8-hd", kw_only=True)
    language_code: str | None = attrs.field(default=None, kw_only=True)
    speed: float | None = attrs.field(default=None, kw_only=True)
    volume: float | None = attrs.field(default=None, kw_only=True)
    pitch: int | None = attrs.field(default=None, kw_only=True)
    emotion: str | None = attrs.field(default=None, kw_only=True)
    stability: float | None = attrs.field(default=None, kw_only=True)
    similarity_boost: float | None = attrs.field(default=None, kw_only=True)
    style: float | None = attrs.field(default=None, kw_only=True)
    use_speaker_boost: bool | None = attrs.field(default=None, kw_only=True)
    email: str | None = attrs.field(default=None, kw_only=True)
    reply_url: str | None = attrs.field(default=None, kw_only=True)
    reply_ref: str | None = attrs.field(default=None, kw_only=True)
    max_jobs: int | None = attrs.field(default=None, kw_only=True)
    key: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        check_speech(self)


Request = MusicRequest | SpeechRequest


def check_music(request: MusicRequest) -> None:
    """Check a music request against the documented rules."""
    name = v.check_common(
        model=request.model,
        email=request.email,
        reply_url=request.reply_url,
        reply_ref=request.reply_ref,
        max_jobs=request.max_jobs,
    )
    v.check_text("prompt", request.prompt, limit=v.MUSIC_PROMPT_LIMITS.get(name))
    if request.key is not None:
        v.check_text("key", request.key, limit=200)
    instrumental, lyrics = request.instrumental, request.lyrics
    if instrumental is not None:
        v.check_bool("instrumental", instrumental)
    if lyrics is not None:
        v.check_text("lyrics", lyrics, limit=v.LYRICS_LIMIT)
        if instrumental is True:
            raise ValidationError("lyrics", "cannot be combined with instrumental=True")
        if name in v.MUSIC_PROMPT_LIMITS and name not in v.LYRICS_MODELS:
            raise ValidationError("lyrics", f"are not supported by {name}")
    images = v.image_paths(request.image_paths)
    if images:
        if name in v.MUSIC_PROMPT_LIMITS and name not in v.IMAGE_MODELS:
            raise ValidationError("image_paths", f"are not supported by {name}")
        if len(images) > v.MAX_IMAGES:
            raise ValidationError("image_paths", f"at most {v.MAX_IMAGES}, got {len(images)}")
        for path in images:
            v.check_text("image_paths", path, limit=1024)


def check_speech(request: SpeechRequest, catalogue: SpeechModels | None = None) -> None:
    """Check a speech request; with a fetched `SpeechModels` catalogue, against it too.

    The catalogue's live ``max_characters`` and ``supported_language_codes``
    can only tighten the documented limits: a request is checked against the
    documented ones when it is built, before any catalogue is consulted.
    """
    name = v.check_common(
        model=request.model,
        email=request.email,
        reply_url=request.reply_url,
        reply_ref=request.reply_ref,
        max_jobs=request.max_jobs,
    )
    live = catalogue.get(name) if catalogue else None
    limits = [v.SPEECH_TEXT_LIMITS.get(name), live.max_characters if live else None]
    known = [limit for limit in limits if limit]
    v.check_text("text", request.text, limit=min(known) if known else None)
    if request.key is not None:
        v.check_text("key", request.key, limit=200)
    if request.voice_id is None:
        raise ValidationError("voice_id", "is required (see client.speech.voices())")
    v.check_text("voice_id", request.voice_id, limit=200)
    if request.language_code is not None:
        code = v.check_text("language_code", request.language_code, limit=35)
        if name == "eleven-v3":
            raise ValidationError("language_code", "is not accepted by eleven-v3 (auto-detected)")
        if live and live.supported_language_codes and code not in live.supported_language_codes:
            raise ValidationError("language_code", f"{code!r} is not supported by {name}")
    settings = {key: getattr(request, key) for key in v.SPEECH_SETTINGS}
    v.check_speech_settings(name, v.speech_family(name), settings)
