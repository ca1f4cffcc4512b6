"""The one private cattrs converter: wire names, lenient primitives, extras.

Wire spellings (``audio_status_final``, ``maxJobs``, ``coverURL``) live here and
in the request builders only. Hooks are registered on a private converter, never
on ``cattrs.global_converter``, so importing this library changes nothing for
other users of cattrs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._errors import ResponseFormatError
from ._fastbuild import compile_builder
from ._models import (
    Account,
    AccountAvailability,
    AudioStatus,
    Availability,
    CreditFormula,
    Job,
    MinimaxSong,
    MinimaxStatus,
    ProviderGroup,
    ScheduledJob,
    SpeechClip,
    SpeechModel,
    SpeechModels,
    Track,
    UploadedFile,
    Voice,
)

__all__ = ["WIRE_NAMES", "parse_datetime", "structure", "structure_many"]

T = TypeVar("T")

# attribute -> wire key, where the two differ. Every other attribute but
# ``extra`` is spelled the same on the wire.
_AUDIO_RENAMES = {
    "status": "audio_status",
    "status_name": "audio_status_name",
    "final": "audio_status_final",
    "pixverse_status": "status",
    "reply_ref": "replyRef",
}
_RENAMES: dict[type[Any], dict[str, str]] = {
    Job: {k: v for k, v in _AUDIO_RENAMES.items() if k != "reply_ref"},
    Track: _AUDIO_RENAMES,
    SpeechClip: {**_AUDIO_RENAMES, "text": "prompt"},
    MinimaxSong: {
        "music_id": "musicId",
        "cover_url": "coverURL",
        "audio_url": "audioURL",
        "status_label": "statusLabel",
        "final": "statusFinal",
        "create_time": "createTime",
    },
    ScheduledJob: {"reply_url": "replyUrl", "reply_ref": "replyRef"},
    AccountAvailability: {"max_jobs": "maxJobs"},
    Availability: {"accounts": "available"},
    Account: {"max_jobs": "maxJobs"},
    Voice: {},
    CreditFormula: {},
    SpeechModel: {},
    ProviderGroup: {},
    SpeechModels: {},
    UploadedFile: {},
}

# The final flag is the only test for "done". When a body lacks it, it follows
# the documented status table: (flag key, final status codes).
_FINAL_FROM_STATUS: dict[type[Any], tuple[str, frozenset[int]]] = {
    Job: ("audio_status_final", frozenset({1, 8})),
    Track: ("audio_status_final", frozenset({1, 8})),
    SpeechClip: ("audio_status_final", frozenset({1, 8})),
    MinimaxSong: ("statusFinal", frozenset({2, 4})),
}

WIRE_NAMES: dict[type[Any], frozenset[str]] = {
    cls: frozenset(renames.get(a.name, a.name) for a in attrs.fields(cls) if a.name != "extra")
    | ({"password"} if cls is Account else frozenset())  # read and dropped, never kept
    for cls, renames in _RENAMES.items()
}
"""The wire keys each model reads; everything else goes to ``extra``."""


_ZERO = timedelta(0)
_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?)?\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_datetime(value: object) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime (naive means UTC).

    Accepts ``Z`` or numeric offsets and fractions of any length, on every
    supported Python (3.10's ``fromisoformat`` alone takes neither ``Z`` nor,
    for example, two-digit fractions).
    """
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    try:  # the fast path: the API's own form, and anything 3.11+ understands
        parsed = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed if parsed.utcoffset() == _ZERO else parsed.astimezone(timezone.utc)
    match = _ISO.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r:.60}")
    text = f"{match['date']}T{match['time'] or '00:00'}"
    if match["fraction"]:
        text += "." + match["fraction"][:6].ljust(6, "0")
    zone = match["zone"]
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        text += f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _int(value: object, _: object = None) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {value!r:.40}")


def _float(value: object, _: object = None) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number = float(value)  # ValueError on garbage, reported with the path
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r:.40}")
    return number


def _str(value: object, _: object = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids are sometimes sent as numbers
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _bool(value: object, _: object = None) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {value!r:.40}")


def _str_tuple(value: object, _: object = None) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {type(value).__name__}")
    return tuple(_str(v) for v in value)


def _mapping(value: object, _: object = None) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


_AUDIO_STATUSES: dict[int, AudioStatus] = {s.value: s for s in AudioStatus}
_MINIMAX_STATUSES: dict[int, MinimaxStatus] = {s.value: s for s in MinimaxStatus}


def _audio_status(value: object, _: object = None) -> AudioStatus | int:
    code = value if value.__class__ is int else _int(value)
    # a code this release does not know is kept as a plain int, never raised
    return _AUDIO_STATUSES.get(code, code)


def _minimax_status(value: object, _: object = None) -> MinimaxStatus | int:
    code = value if value.__class__ is int else _int(value)
    return _MINIMAX_STATUSES.get(code, code)


# Optional primitives, with the common case (the right type, or null) inline:
# these run for nearly every field of every item of every page.
def _opt_str(value: object, _: object = None) -> str | None:
    if value is None or value.__class__ is str:
        return value
    return _str(value)


def _opt_int(value: object, _: object = None) -> int | None:
    if value is None or value.__class__ is int:
        return value
    return _int(value)


def _opt_float(value: object, _: object = None) -> float | None:
    if value is None:
        return None
    if value.__class__ is int:
        return float(value)
    if value.__class__ is float and math.isfinite(value):
        return value
    return _float(value)


def _opt_bool(value: object, _: object = None) -> bool | None:
    if value is None or value.__class__ is bool:
        return value
    return _bool(value)


def _optional(hook: Callable[[object, object], T]) -> Callable[[object, object], T | None]:
    def optional_hook(value: object, _: object = None) -> T | None:
        return None if value is None else hook(value, _)

    return optional_hook


def _datetime(value: object, _: object = None) -> datetime:
    return parse_datetime(value)


def _is(alias: object) -> Callable[[object], bool]:
    return lambda candidate: candidate == alias


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(datetime, _datetime)
    # Generic aliases and unions are not classes: match them by equality. Direct
    # hooks for the optional primitives skip cattrs' generic Optional dispatch.
    for alias, hook in (
        (int | None, _opt_int),
        (float | None, _opt_float),
        (str | None, _opt_str),
        (bool | None, _opt_bool),
        (datetime | None, _optional(_datetime)),
        (tuple[str, ...], _str_tuple),
        (Mapping[str, Any], _mapping),
        (AudioStatus | int | None, _optional(_audio_status)),
        (MinimaxStatus | int | None, _optional(_minimax_status)),
    ):
        conv.register_structure_hook_func(_is(alias), hook)
    for cls, renames in _RENAMES.items():
        fast = (
            _fast_hook(cls, renames) if not detailed and cls in (Job, Track, SpeechClip) else None
        )
        conv.register_structure_hook(cls, fast or _model_hook(conv, cls, renames))
    return conv


_FAST_CONVERTERS: dict[object, Callable[[object], Any]] = {
    str: _str,
    str | None: _str,
    int | None: _int,
    bool: _bool,
    bool | None: _bool,
    float | None: _float,
    datetime | None: parse_datetime,
    AudioStatus | int | None: _audio_status,
}


def _fast_hook(cls: type[T], renames: Mapping[str, str]) -> Callable[[object, object], T] | None:
    flag, final_codes = _FINAL_FROM_STATUS.get(cls, ("", frozenset()))
    build = compile_builder(
        cls,
        renames=renames,
        known=WIRE_NAMES[cls],
        converters=_FAST_CONVERTERS,
        final_flag=flag,
        final_codes=final_codes,
    )
    if build is None:
        return None

    def hook(data: object, _: object) -> T:
        if data.__class__ is not dict:
            raise TypeError(f"expected an object, got {type(data).__name__}")
        return build(data)

    return hook


def _model_hook(
    conv: cattrs.Converter, cls: type[T], renames: Mapping[str, str]
) -> Callable[[object, object], T]:
    overrides = {name: override(rename=wire) for name, wire in renames.items()}
    overrides["extra"] = override(omit=True)
    base = make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]
    known = WIRE_NAMES[cls]
    flag, final_codes = _FINAL_FROM_STATUS.get(cls, ("", frozenset()))

    def hook(data: object, _: object) -> T:
        if not isinstance(data, dict):
            raise TypeError(f"expected an object, got {type(data).__name__}")
        if flag and flag in data and data[flag] is None:
            data = {k: v for k, v in data.items() if k != flag}  # null flag: as if absent
        obj = base(data, cls)
        # The object was created above and nobody else holds it yet: setting
        # attributes here is part of construction (attrs' own idiom).
        rest = {k: v for k, v in data.items() if k not in known}
        if rest:
            object.__setattr__(obj, "extra", rest)
        if flag and data.get(flag) is None:
            object.__setattr__(obj, "final", getattr(obj, "status", None) in final_codes)
        return obj

    return hook


# Two converters with the same hooks: the fast one structures every response;
# the detailed one (which collects every problem with its path, several times
# slower) runs only when the fast one fails, to write the error message.
_FAST = _make_converter(detailed=False)
_DETAILED = _make_converter(detailed=True)


_PATH = re.compile(r"@ (?P<cls>\w+)\.(?P<attr>\w+)\S*")


def _wire_path(line: str, cls: type[Any]) -> str:
    """Name the wire key after a renamed attribute: ``@ Track.status (JSON key audio_status)``."""
    renames = _RENAMES.get(cls, {})

    def name(match: re.Match[str]) -> str:
        wire = renames.get(match["attr"]) if match["cls"] == cls.__name__ else None
        return f"{match[0]} (JSON key {wire})" if wire else match[0]

    return _PATH.sub(name, line, count=1)


def structure_many(items: list[Any], cls: type[T], *, status_code: int = 200) -> list[T]:
    """`structure` every item of a list; one failing item raises its detailed error."""
    hook = _FAST.get_structure_hook(cls)
    try:
        return [hook(item, cls) for item in items]
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError, RecursionError):
        return [structure(item, cls, status_code=status_code) for item in items]


def structure(data: object, cls: type[T], *, status_code: int = 200) -> T:
    """Build a ``cls`` from decoded JSON, or raise `ResponseFormatError`.

    The error names the path of every field that did not fit; ``status_code``
    is the HTTP status the body came with, for the error.
    """
    try:
        return _FAST.structure(data, cls)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError, RecursionError):
        pass  # report it with the detailed converter below
    try:
        result = _DETAILED.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(
            _wire_path(line, cls) for line in cattrs.transform_error(exc, path=cls.__name__)
        )
        raise ResponseFormatError(
            status_code, f"unexpected response shape: {problems}", data
        ) from exc
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        ArithmeticError,
        RecursionError,
    ) as exc:
        raise ResponseFormatError(
            status_code, f"unexpected {cls.__name__} shape: {exc}", data
        ) from exc
    return result  # both converters accept the same data; kept for safety
