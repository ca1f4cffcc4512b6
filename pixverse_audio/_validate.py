"""Argument rules checked before anything is sent (pure; raises `ValidationError`).

The limits come from the useapi.net documentation. Model names this release does
not know are passed through unchecked, so a new model never needs a release.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

from ._errors import ValidationError

__all__ = [
    "EMOTIONS",
    "MUSIC_PROMPT_LIMITS",
    "SPEECH_SETTINGS",
    "SPEECH_TEXT_LIMITS",
    "check_bool",
    "check_count",
    "check_email",
    "check_id",
    "check_speech_settings",
    "IMAGE_MODELS",
    "LYRICS_MODELS",
    "LYRICS_LIMIT",
    "MAX_IMAGES",
    "check_common",
    "image_paths",
    "speech_family",
    "check_text",
    "check_timeout",
]

MUSIC_PROMPT_LIMITS: Final[Mapping[str, int]] = {
    "music-2.6": 2000,
    "music-v1": 4000,
    "lyria-3-pro-preview": 5000,
}
LYRICS_LIMIT: Final = 3500
LYRICS_MODELS: Final = frozenset({"music-2.6", "music-v1"})
IMAGE_MODELS: Final = frozenset({"lyria-3-pro-preview"})
MAX_IMAGES: Final = 10
REPLY_LIMIT: Final = 1024

_MINIMAX_SPEECH: Final = frozenset({"speech-2.8-hd", "speech-2.8-turbo"})
_ELEVEN_SPEECH: Final = frozenset({"eleven-multilingual-v2", "eleven-v3", "eleven-turbo-v2.5"})
SPEECH_TEXT_LIMITS: Final[Mapping[str, int]] = {
    "speech-2.8-hd": 10_000,
    "speech-2.8-turbo": 10_000,
    "eleven-multilingual-v2": 10_000,
    "eleven-v3": 5_000,
    "eleven-turbo-v2.5": 40_000,
}
EMOTIONS: Final = frozenset(
    {"auto", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "neutral", "calm"}
)

_ID_FORBIDDEN: Final = frozenset("/?#%\\")


def _has_control_or_space(value: str) -> bool:
    # str.isprintable() is False exactly for the Unicode "Other" categories
    # (control, format, unassigned, ...) and separators other than the ASCII
    # space; the space is tested on its own. Done in C, not per character.
    return not value.isprintable() or " " in value


def check_text(field: str, value: object, *, limit: int | None = None) -> str:
    """Return ``value`` if it is a non-blank string of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, "must not be empty")
    if limit is not None and len(value) > limit:
        raise ValidationError(field, f"is {len(value):,} characters; the limit is {limit:,}")
    _check_encodable(field, value)
    return value


def _check_encodable(field: str, value: str) -> None:
    """Text is sent as UTF-8: lone surrogates (from broken JSON or file names) cannot be."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            field, "is not valid Unicode text (it holds a lone surrogate)"
        ) from None


def check_id(field: str, value: object) -> str:
    """Return ``value`` if it is safe to put raw into a URL path segment.

    Ids go into paths unencoded (``:`` and ``@`` stay as they are), so anything
    that could change the path's meaning is refused: ``/``, ``?``, ``#``, ``%``,
    backslashes, whitespace, control characters and ``..``.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > 1024:
        raise ValidationError(field, "is longer than 1,024 characters")
    bad = sorted(_ID_FORBIDDEN.intersection(value))
    if bad:
        raise ValidationError(field, f"must not contain {' '.join(repr(c) for c in bad)}")
    if _has_control_or_space(value):
        raise ValidationError(field, "must not contain whitespace or control characters")
    if ".." in value or value == ".":
        raise ValidationError(field, "must not be '.' or contain '..' (a path segment)")
    return value


def check_email(field: str, value: object) -> str:
    """Return ``value`` if it can name an account (sent as a query value)."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    if not value or len(value) > 320:
        raise ValidationError(field, "must be 1 to 320 characters")
    if _has_control_or_space(value):
        raise ValidationError(field, "must not contain whitespace or control characters")
    return value


def check_count(field: str, value: object, *, low: int, high: int) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}, got {value}")
    return value


def check_timeout(timeout: object, field: str = "timeout") -> float:
    """A wait's deadline must be a positive number (``math.inf`` to wait forever)."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or math.isnan(timeout)
        or not timeout > 0
    ):
        raise ValidationError(field, "must be a positive number of seconds (math.inf: forever)")
    return float(timeout)


def check_bool(field: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``."""
    if not isinstance(value, bool):
        raise ValidationError(field, f"must be True or False, not {type(value).__name__}")
    return value


def _check_number(field: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field, f"must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(field, f"must be between {low:g} and {high:g}, got {value!r}")
    return value


def _check_reply(reply_url: object, reply_ref: object) -> None:
    if reply_url is not None:
        url = check_text("reply_url", reply_url, limit=REPLY_LIMIT)
        if not url.lower().startswith(("https://", "http://")) or _has_control_or_space(url):
            raise ValidationError("reply_url", "must be an absolute http(s) URL")
    if reply_ref is not None:
        check_text("reply_ref", reply_ref, limit=REPLY_LIMIT)


def check_common(
    *, model: object, email: object, reply_url: object, reply_ref: object, max_jobs: object
) -> str:
    """Check the settings shared by music and speech creates; return the model."""
    name = check_text("model", model, limit=200)
    if email is not None:
        check_email("email", email)
    _check_reply(reply_url, reply_ref)
    if max_jobs is not None:
        check_count("max_jobs", max_jobs, low=1, high=8)
    return name


def image_paths(value: object) -> tuple[object, ...]:
    """``image_paths`` as a tuple: ``None`` is empty; a string or non-iterable is refused."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("image_paths", f"must be a list of paths, not {type(value).__name__}")
    return tuple(value)


def speech_family(model: str) -> str | None:
    """``"minimax"``, ``"elevenlabs"``, or ``None`` for a model this release does not know."""
    if model in _MINIMAX_SPEECH:
        return "minimax"
    if model in _ELEVEN_SPEECH:
        return "elevenlabs"
    return None


SPEECH_SETTINGS: Final = (
    "speed",
    "volume",
    "pitch",
    "emotion",
    "stability",
    "similarity_boost",
    "style",
    "use_speaker_boost",
)
"""The voice settings of a speech request (sent only when given)."""


_MINIMAX_ONLY: Final = ("volume", "pitch", "emotion")
_ELEVEN_ONLY: Final = ("stability", "similarity_boost")
_MULTILINGUAL_ONLY: Final = ("style", "use_speaker_boost")


def check_speech_settings(name: str, family: str | None, settings: Mapping[str, object]) -> None:
    given = {k: v for k, v in settings.items() if v is not None}
    for key in given:
        wrong_family = (
            (key in _MINIMAX_ONLY and family == "elevenlabs")
            or (key in _ELEVEN_ONLY + _MULTILINGUAL_ONLY and family == "minimax")
            or (key in _MULTILINGUAL_ONLY and family and name != "eleven-multilingual-v2")
        )
        if wrong_family:
            raise ValidationError(key, f"is not accepted by {name}")
    # Ranges are checked for known models only; for others the server decides,
    # and only the type (a finite number, an int, a bool) is checked here.
    known = family is not None
    wide = (-math.inf, math.inf)
    for key, (low, high) in (
        ("speed", (0.7, 1.2) if family == "elevenlabs" else (0.5, 2.0)),
        ("volume", (0.0, 10.0)),
        ("stability", (0.0, 1.0)),
        ("similarity_boost", (0.0, 1.0)),
        ("style", (0.0, 1.0)),
    ):
        if key in given:
            _check_number(key, given[key], *((low, high) if known else wide))
    if "pitch" in given:
        check_count(
            "pitch", given["pitch"], low=-12 if known else -(2**31), high=12 if known else 2**31
        )
    if "emotion" in given:
        emotion = check_text("emotion", given["emotion"], limit=40)
        if known and emotion not in EMOTIONS:
            raise ValidationError("emotion", f"must be one of {', '.join(sorted(EMOTIONS))}")
    if "use_speaker_boost" in given:
        check_bool("use_speaker_boost", given["use_speaker_boost"])
