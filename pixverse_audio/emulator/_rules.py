"""The server-side checks the emulator applies to create requests (400 answers).

They follow the documentation, independently of the client's own checks, so
the two can be compared. Values may come from JSON (typed) or multipart
(strings): the ``as_*`` helpers accept both.
"""

from __future__ import annotations

import email.policy
import math
from collections.abc import Mapping
from email.parser import BytesParser
from typing import Any, NoReturn

from ._catalogue import (
    DEFAULT_MUSIC_MODEL,
    DEFAULT_SPEECH_MODEL,
    EMOTIONS,
    MUSIC_MODELS,
    SPEECH_MODELS,
    VOICES,
    MusicModel,
    SpeechModel,
)

__all__ = ["Reject", "as_bool", "as_int", "check_music", "check_speech", "form_fields"]


class Reject(Exception):
    """An API error answer: raised by the state, turned into a response by the app."""

    def __init__(self, status: int, message: str, *, code: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        """The documented error shape: ``{"error": ...}`` plus ``code`` where shown."""
        return (
            {"error": self.message, "code": self.status} if self.code else {"error": self.message}
        )


def bad(message: str) -> NoReturn:
    raise Reject(400, message)


def as_str(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        bad(f"Parameter {key} must be a string")
    return value


def as_bool(fields: Mapping[str, Any], key: str) -> bool | None:
    value = fields.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    bad(f"Parameter {key} must be a boolean")


def as_int(fields: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        bad(f"Parameter {key} must be an integer between {low} and {high}")
    return value


def as_float(fields: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            bad(f"Parameter {key} must be a number")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        bad(f"Parameter {key} must be a number")
    if not math.isfinite(value) or not low <= value <= high:
        bad(f"Parameter {key} must be between {low:g} and {high:g}")
    return float(value)


def check_reply(fields: Mapping[str, Any]) -> tuple[str | None, str | None, int | None]:
    """``replyUrl``, ``replyRef`` (each at most 1,024 characters) and ``maxJobs`` (1..8)."""
    reply_url = as_str(fields, "replyUrl")
    reply_ref = as_str(fields, "replyRef")
    for key, value in (("replyUrl", reply_url), ("replyRef", reply_ref)):
        if value is not None and len(value) > 1024:
            bad(f"Parameter {key} is too long (maximum 1024 characters)")
    return reply_url, reply_ref, as_int(fields, "maxJobs", 1, 8)


def check_music(fields: Mapping[str, Any]) -> tuple[MusicModel, dict[str, Any]]:
    """Validate a music/create body; return the model and the normalised fields."""
    model_name = as_str(fields, "model") or DEFAULT_MUSIC_MODEL
    model = MUSIC_MODELS.get(model_name)
    if model is None:
        bad(f"Model {model_name} is not supported. Supported: {', '.join(MUSIC_MODELS)}")
    prompt = as_str(fields, "prompt")
    if not prompt or not prompt.strip():
        bad("Parameter prompt is required")
    if len(prompt) > model.prompt_max:
        bad(f"Parameter prompt is too long for {model.name} (maximum {model.prompt_max})")
    instrumental = as_bool(fields, "instrumental") or False
    lyrics = as_str(fields, "lyrics")
    if lyrics is not None:
        if not model.lyrics:
            bad(f"Parameter lyrics is not supported by {model.name}")
        if instrumental:
            bad("Parameters lyrics and instrumental cannot be combined")
        if len(lyrics) > 3500:
            bad("Parameter lyrics is too long (maximum 3500 characters)")
    images = []
    for i in range(1, 11):
        path = as_str(fields, f"image_path_{i}")
        if path is None:
            continue
        if not model.images:
            bad(f"Parameter image_path_{i} is not supported by {model.name}")
        if i > 1 and as_str(fields, f"image_path_{i - 1}") is None:
            bad(f"Parameter image_path_{i} requires image_path_{i - 1}")
        images.append(path)
    reply_url, reply_ref, max_jobs = check_reply(fields)
    return model, {
        "prompt": prompt,
        "instrumental": instrumental,
        "lyrics": lyrics,
        "images": images,
        "reply_url": reply_url,
        "reply_ref": reply_ref,
        "max_jobs": max_jobs,
    }


_MINIMAX_ONLY = ("volume", "pitch", "emotion")
_ELEVEN_ONLY = ("stability", "similarity_boost")
_MULTILINGUAL_ONLY = ("style", "use_speaker_boost")


def check_speech(fields: Mapping[str, Any]) -> tuple[SpeechModel, dict[str, Any]]:
    """Validate a speech/create body; return the model and the normalised fields."""
    model_name = as_str(fields, "model") or DEFAULT_SPEECH_MODEL
    model = SPEECH_MODELS.get(model_name)
    if model is None:
        bad(f"Model {model_name} is not supported. Supported: {', '.join(SPEECH_MODELS)}")
    text = as_str(fields, "text")
    if not text or not text.strip():
        bad("Parameter text is required")
    if len(text) > model.max_characters:
        bad(f"Parameter text is too long for {model.name} (maximum {model.max_characters})")
    voice_id = as_str(fields, "voice_id")
    if not voice_id:
        bad("Parameter voice_id is required")
    voice = VOICES.get(voice_id)
    if voice is None or voice.provider != model.provider:
        bad(f"Voice {voice_id} is not available for {model.name}")
    language = as_str(fields, "language_code")
    if language is not None:
        if not model.accepts_language_code:
            bad(f"Parameter language_code is not supported by {model.name} (auto-detected)")
        if language not in model.languages:
            bad(f"Language {language} is not supported by {model.name}")
    for key in fields:
        wrong = (
            (key in _MINIMAX_ONLY and model.provider != "minimax")
            or (key in _ELEVEN_ONLY + _MULTILINGUAL_ONLY and model.provider != "elevenlabs")
            or (key in _MULTILINGUAL_ONLY and model.name != "eleven-multilingual-v2")
        )
        if wrong and fields[key] is not None:
            bad(f"Parameter {key} is not supported by {model.name}")
    as_float(fields, "speed", *model.speed)
    as_float(fields, "volume", 0, 10)
    as_int(fields, "pitch", -12, 12)
    emotion = as_str(fields, "emotion")
    if emotion is not None and emotion not in EMOTIONS:
        bad(f"Parameter emotion must be one of {', '.join(sorted(EMOTIONS))}")
    for key in ("stability", "similarity_boost", "style"):
        as_float(fields, key, 0, 1)
    as_bool(fields, "use_speaker_boost")
    reply_url, reply_ref, max_jobs = check_reply(fields)
    return model, {
        "text": text,
        "voice": voice,
        "language_code": language,
        "reply_url": reply_url,
        "reply_ref": reply_ref,
        "max_jobs": max_jobs,
    }


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a ``multipart/form-data`` body; any defect is a 400."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n"
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        head.encode("latin-1", "replace") + body
    )
    if not message.is_multipart() or message.defects:
        raise Reject(400, "Malformed multipart body")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.defects or not isinstance(name, str):
            raise Reject(400, "Malformed multipart body")
        if part.get_filename() is not None:
            raise Reject(400, f"Parameter {name} must be text, not a file")
        if len(fields) >= 64:
            raise Reject(400, "Too many multipart fields")
        payload = part.get_payload(decode=True)
        try:
            fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else ""
        except UnicodeDecodeError:
            raise Reject(400, f"Parameter {name} is not UTF-8 text") from None
    return fields
