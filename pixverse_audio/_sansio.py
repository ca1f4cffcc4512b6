"""The pure protocol core: typed calls in, request descriptions out; replies in, models out.

Nothing here performs I/O or awaits. Builders (this module) validate their
arguments, raising `ValidationError` before anything could be sent, and return
a `Call`; parsers (`pixverse_audio._parse`, re-exported here) take a `Reply`
(status, headers, body bytes) and return a model or raise the matching
`APIError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._models import SpeechModels
from ._parse import (
    parse_account,
    parse_accounts,
    parse_audio_page,
    parse_availability,
    parse_cancel,
    parse_job,
    parse_minimax_song,
    parse_minimax_songs,
    parse_music_page,
    parse_page,
    parse_retry_after,
    parse_scheduled_jobs,
    parse_speech_clip,
    parse_speech_models,
    parse_speech_page,
    parse_track,
    parse_uploaded_file,
    parse_voice_page,
    raise_for_status,
)
from ._protocol import Call, CallKind, Reply
from ._requests import MusicRequest, SpeechRequest, check_speech

__all__ = [
    "Call",
    "CallKind",
    "Reply",
    "parse_account",
    "parse_accounts",
    "parse_audio_page",
    "parse_availability",
    "parse_cancel",
    "parse_job",
    "parse_minimax_song",
    "parse_minimax_songs",
    "parse_music_page",
    "parse_page",
    "parse_retry_after",
    "parse_scheduled_jobs",
    "parse_speech_clip",
    "parse_speech_models",
    "parse_speech_page",
    "parse_track",
    "parse_uploaded_file",
    "parse_voice_page",
    "raise_for_status",
]

V2: Final = "/v2/pixverse"
V1_MINIMAX: Final = "/v1/minimax"
MAX_PAGE_SIZE: Final = 1000


def _params(**values: object) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in values.items():
        if value is None:
            continue
        out.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return tuple(out)


def _paging(email: object, limit: object, offset: object) -> dict[str, object]:
    if email is not None:
        v.check_email("email", email)
    v.check_count("limit", limit, low=1, high=MAX_PAGE_SIZE)
    v.check_count("offset", offset, low=0, high=2**53)
    return {"email": email, "limit": limit, "offset": offset}


# ---------------------------------------------------------------- builders


_WIRE_NAMES: Final = {"reply_url": "replyUrl", "reply_ref": "replyRef", "max_jobs": "maxJobs"}


def _create_fields(request: MusicRequest | SpeechRequest, email: object) -> dict[str, Any]:
    """The request's given fields under their wire names, ``email`` for the account."""
    if email is not None:
        v.check_email("email", email)
    fields: dict[str, Any] = {}
    for field in attrs.fields(type(request)):
        if field.name == "key":  # the request's name in a journal: never sent
            continue
        value = email if field.name == "email" else getattr(request, field.name)
        if value is not None and field.name != "image_paths":
            fields[_WIRE_NAMES.get(field.name, field.name)] = value
    return fields


def music_create(request: MusicRequest, email: str | None = None) -> Call:
    """POST music/create with a JSON body (``image_path_1..N``, ``replyUrl``, ``maxJobs``).

    ``email`` is the account to run on (the request's own ``email``, or the one
    the engine chose). The request was checked when it was built.
    """
    body = _create_fields(request, email)
    images = v.image_paths(request.image_paths)
    body.update({f"image_path_{i}": path for i, path in enumerate(images, start=1)})
    return Call(method="POST", path=f"{V2}/music/create", json=body, kind=CallKind.CREATE)


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def speech_create(
    request: SpeechRequest, email: str | None = None, catalogue: SpeechModels | None = None
) -> Call:
    """POST speech/create as ``multipart/form-data``, the documented encoding.

    With a fetched ``catalogue``, the request is checked against its live limits first.
    """
    if catalogue is not None:
        check_speech(request, catalogue)
    form = {k: _form_value(val) for k, val in _create_fields(request, email).items()}
    return Call(method="POST", path=f"{V2}/speech/create", form=form, kind=CallKind.CREATE)


def music_get(audio_id: object) -> Call:
    """GET music/{audio_id}, the id raw in the path."""
    return Call(method="GET", path=f"{V2}/music/{v.check_id('audio_id', audio_id)}")


def speech_get(audio_id: object) -> Call:
    """GET speech/{audio_id}, the id raw in the path."""
    return Call(method="GET", path=f"{V2}/speech/{v.check_id('audio_id', audio_id)}")


def music_list(*, email: object = None, limit: object = 50, offset: object = 0) -> Call:
    """GET music/?email=&limit=&offset=."""
    return Call(method="GET", path=f"{V2}/music/", params=_params(**_paging(email, limit, offset)))


def speech_list(*, email: object = None, limit: object = 50, offset: object = 0) -> Call:
    """GET speech/?email=&limit=&offset=."""
    query = _params(**_paging(email, limit, offset))
    return Call(method="GET", path=f"{V2}/speech/", params=query)


def speech_voices(
    *,
    model: object = None,
    language: object = None,
    email: object = None,
    limit: object = 50,
    offset: object = 0,
) -> Call:
    """GET speech/voices?model=&language=&email=&limit=&offset=."""
    if model is not None:
        v.check_text("model", model, limit=200)
    if language is not None:
        v.check_text("language", language, limit=35)
    query = _params(model=model, language=language, **_paging(email, limit, offset))
    return Call(method="GET", path=f"{V2}/speech/voices", params=query)


def speech_models(*, email: object = None) -> Call:
    """GET speech/models?email=."""
    if email is not None:
        v.check_email("email", email)
    return Call(method="GET", path=f"{V2}/speech/models", params=_params(email=email))


def minimax_music_list(
    *, account: object = None, limit: object = 20, last_music_id: object = None
) -> Call:
    """GET /v1/minimax/music/?account=&limit=&lastMusicId=."""
    if account is not None:
        v.check_email("account", account)
    v.check_count("limit", limit, low=1, high=MAX_PAGE_SIZE)
    if last_music_id is not None:
        v.check_id("last_music_id", last_music_id)
    query = _params(account=account, limit=limit, lastMusicId=last_music_id)
    return Call(method="GET", path=f"{V1_MINIMAX}/music/", params=query)


def minimax_music_get(music_id: object) -> Call:
    """GET /v1/minimax/music/{musicId}, the id raw in the path."""
    return Call(method="GET", path=f"{V1_MINIMAX}/music/{v.check_id('music_id', music_id)}")


def scheduler_list() -> Call:
    """GET scheduler/."""
    return Call(method="GET", path=f"{V2}/scheduler/")


def scheduler_available() -> Call:
    """GET scheduler/available (no trailing slash, as documented)."""
    return Call(method="GET", path=f"{V2}/scheduler/available")


def scheduler_cancel(job_id: object) -> Call:
    """DELETE scheduler/{id}: frees the slot; the job may still finish and bill."""
    return Call(method="DELETE", path=f"{V2}/scheduler/{v.check_id('job_id', job_id)}")


def accounts_list() -> Call:
    """GET accounts (no trailing slash, as documented)."""
    return Call(method="GET", path=f"{V2}/accounts")


def accounts_get(email: object) -> Call:
    """GET accounts/{email}."""
    return Call(method="GET", path=f"{V2}/accounts/{_account_email(email)}")


def _account_email(email: object) -> str:
    v.check_email("email", email)
    return v.check_id("email", email)


def accounts_create(
    *, email: object, password: object, max_jobs: object, token: object = None
) -> Call:
    """POST accounts/{email} with ``{email, password, maxJobs[, token]}`` (create or update).

    The password and token are secrets: the `Call` hides them from its repr
    and `Call.payload`, and no error message quotes them.
    """
    path_email = _account_email(email)
    if not isinstance(password, str) or not password:
        raise ValidationError("password", "must be a non-empty string")
    if len(password) > 1024:
        raise ValidationError("password", "is longer than 1,024 characters")
    v.check_count("max_jobs", max_jobs, low=1, high=8)
    body: dict[str, Any] = {"email": email, "password": password, "maxJobs": max_jobs}
    if token is not None:
        if not isinstance(token, str) or not token.strip():
            raise ValidationError("token", "must be a non-empty string")
        if len(token) > 8192:
            raise ValidationError("token", "is longer than 8,192 characters")
        body["token"] = token
    # Re-saving an account is idempotent: safe to resend, like a read.
    return Call(method="POST", path=f"{V2}/accounts/{path_email}", json=body)


def accounts_delete(email: object) -> Call:
    """DELETE accounts/{email}: remove the account's configuration."""
    return Call(method="DELETE", path=f"{V2}/accounts/{_account_email(email)}")


_CONTENT_TYPES: Final = {  # the documented upload types, by file suffix
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".3gp": "video/3gpp",
    ".mkv": "video/x-matroska",
    ".flv": "video/x-flv",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
    ".ts": "video/MP2T",
    ".avi": "video/x-msvideo",
    ".mjpeg": "video/x-motion-jpeg",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
}
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"FLV\x01", "video/x-flv"),
    (b"OggS", "video/ogg"),
    (b"\x00\x00\x01\xba", "video/mpeg"),
)
MAX_UPLOAD: Final = 5 * 1024**3


def sniff_content_type(head: bytes) -> str | None:
    """Guess a supported content type from a file's first bytes."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[4:8] == b"ftyp":
        brand = head[8:11]
        if brand == b"3gp":
            return "video/3gpp"
        return "video/quicktime" if brand == b"qt " else "video/mp4"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    return None


def files_upload(
    content: bytes | Path,
    *,
    size: int,
    head: bytes,
    content_type: object = None,
    email: object = None,
) -> Call:
    """POST files/?email= with the raw bytes as the body (not multipart).

    ``size`` and ``head`` (the first bytes) are read by the caller; the content
    type comes from ``content_type``, the file suffix, or the bytes themselves.
    """
    if email is not None:
        v.check_email("email", email)
    if size <= 0:
        raise ValidationError("file", "is empty")
    if size > MAX_UPLOAD:
        raise ValidationError("file", f"is {size:,} bytes; the limit is 5 GB")
    if content_type is None:
        suffix = content.suffix.lower() if isinstance(content, Path) else ""
        content_type = _CONTENT_TYPES.get(suffix) or sniff_content_type(head)
        if content_type is None:
            raise ValidationError("content_type", "cannot be guessed; pass it explicitly")
    kind = v.check_text("content_type", content_type, limit=100)
    major, _, minor = kind.partition("/")
    header_safe = kind.isascii() and kind.isprintable() and not any(c in kind for c in " ;")
    if not major or not minor or not header_safe:
        raise ValidationError("content_type", f"{kind!r} is not a type/subtype media type")
    return Call(
        method="POST",
        path=f"{V2}/files/",
        params=_params(email=email),
        content=content,
        content_type=kind,
        kind=CallKind.UPLOAD,
    )


def encode_multipart(fields: Mapping[str, str], boundary: str) -> tuple[bytes, str]:
    """Encode text ``fields`` as ``multipart/form-data``; return (body, content type)."""
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
