"""A journal's results as JSON: a track's or clip's fields, and an error's type and message.

What `pixverse_audio._journal` stores for a final request, and how it is read
back (the same type, message and fields) when a batch is resumed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import datetime
from enum import IntEnum
from typing import Any, Final, TypeVar

import attrs

from ._errors import GenerationFailedError, OutcomeUnknownError, PixverseAudioError, _rebuild
from ._models import AudioStatus, SpeechClip, Track

__all__ = ["error_fields", "error_from", "result_fields", "result_from"]

T = TypeVar("T", Track, SpeechClip)


def result_fields(item: Track | SpeechClip) -> dict[str, Any]:
    """A track's or clip's fields as JSON values (``None`` ones left out)."""
    names = _NAMES.get(type(item))
    if names is None:
        names = _NAMES[type(item)] = tuple(field.name for field in attrs.fields(type(item)))
    fields = {}
    for name in names:
        value = getattr(item, name)
        if value is not None:
            fields[name] = value if value.__class__ in _AS_IS else _plain(value)
    return fields


_NAMES: dict[type, tuple[str, ...]] = {}
_AS_IS: Final = frozenset({str, int, float, bool})


def _plain(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def result_from(fields: Mapping[str, Any] | str, cls: type[T]) -> T:
    """The track or clip `result_fields` wrote (as a mapping, or its JSON text)."""
    if isinstance(fields, str):
        fields = json.loads(fields)
        assert isinstance(fields, Mapping)  # noqa: S101 - the journal wrote an object
    known = {field.name: field for field in attrs.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in known:
            continue
        if name in ("created_at", "updated_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif name == "status" and isinstance(value, int):
            with contextlib.suppress(ValueError):
                value = AudioStatus(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)


def error_fields(error: PixverseAudioError) -> dict[str, Any]:
    """An error as JSON: its type, message, and what it needs to be made again."""
    fields: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, GenerationFailedError):
        fields["track"] = result_fields(error.track)
    if isinstance(error, OutcomeUnknownError):
        fields["candidates"] = list(error.candidates)
    return fields


def error_from(fields: Mapping[str, Any], cls: type[T]) -> PixverseAudioError:
    """The error `error_fields` wrote: the same type and message."""
    from . import _errors

    name = fields.get("type", "")
    if name == "GenerationFailedError" and isinstance(fields.get("track"), Mapping):
        return GenerationFailedError(result_from(fields["track"], cls))
    error_type = getattr(_errors, str(name), None)
    if not (isinstance(error_type, type) and issubclass(error_type, PixverseAudioError)):
        error_type = PixverseAudioError
    error = _rebuild(error_type, (str(fields.get("message", "")),))
    if isinstance(error, OutcomeUnknownError):
        error.candidates = tuple(fields.get("candidates", ()))
    return error
