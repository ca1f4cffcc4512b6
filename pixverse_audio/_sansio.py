"""The pure protocol core: typed calls in, request descriptions out; replies in, models out.

Nothing here performs I/O or awaits. Builders validate their arguments (raising
`ValidationError` before anything could be sent) and return a `Call`; parsers
take a `Reply` (status, headers, body bytes) and return a model or raise the
matching `APIError`. `raise_for_status` is the only place that picks an error
class from a status.
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from . import _validate as v
from ._convert import structure, structure_many
from ._errors import (
    AccountError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BusyError,
    InsufficientCreditsError,
    ModerationError,
    NotFoundError,
    PaymentRequiredError,
    ResponseFormatError,
    ServerError,
    SubscriptionExpiredError,
    ValidationError,
)
from ._models import (
    Account,
    Availability,
    Job,
    MinimaxSong,
    Page,
    ScheduledJob,
    SpeechClip,
    SpeechModels,
    Track,
    UploadedFile,
    Voice,
)

T = TypeVar("T")

V2: Final = "/v2/pixverse"
V1_MINIMAX: Final = "/v1/minimax"
MAX_PAGE_SIZE: Final = 1000


class CallKind(enum.Enum):
    """What resending a call could cost; drives the retry policy."""

    READ = "read"  # GET/DELETE: safe to resend
    CREATE = "create"  # may start a paid job: resent only if it provably never arrived
    UPLOAD = "upload"  # a POST that starts no job: like CREATE, but failures are plain


@attrs.frozen(kw_only=True)
class Call:
    """A request description: everything the I/O layer needs, nothing it decides.

    ``path`` is the raw path below the base URL; ids in it are not
    percent-encoded. Exactly one of ``json``, ``form`` and ``content`` may be set.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    content: bytes | Path | None = None
    content_type: str | None = None
    kind: CallKind = CallKind.READ

    @property
    def payload(self) -> Mapping[str, Any]:
        """The fields sent in the body (for reconciling an unknown outcome)."""
        return self.json or self.form or {}


@attrs.frozen(kw_only=True)
class Reply:
    """A received response, reduced to what the parsers need."""

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""


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


def music_create(
    *,
    prompt: object,
    model: object = "music-2.6",
    email: object = None,
    instrumental: object = None,
    lyrics: object = None,
    image_paths: object = (),
    reply_url: object = None,
    reply_ref: object = None,
    max_jobs: object = None,
) -> Call:
    """POST music/create with a JSON body (``image_path_1..N``, ``replyUrl``, ``maxJobs``)."""
    images = _sequence("image_paths", image_paths)
    v.check_music(
        prompt=prompt,
        model=model,
        instrumental=instrumental,
        lyrics=lyrics,
        image_paths=images,
        email=email,
        reply_url=reply_url,
        reply_ref=reply_ref,
        max_jobs=max_jobs,
    )
    body: dict[str, Any] = {"prompt": prompt, "model": model}
    optional = {
        "email": email,
        "instrumental": instrumental,
        "lyrics": lyrics,
        "replyUrl": reply_url,
        "replyRef": reply_ref,
        "maxJobs": max_jobs,
    }
    body.update({k: val for k, val in optional.items() if val is not None})
    body.update({f"image_path_{i}": path for i, path in enumerate(images, start=1)})
    return Call(method="POST", path=f"{V2}/music/create", json=body, kind=CallKind.CREATE)


def _sequence(field: str, value: object) -> tuple[object, ...]:
    """``value`` as a tuple: ``None`` is empty; a string or non-iterable is refused."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(field, f"must be a list of paths, not {type(value).__name__}")
    return tuple(value)


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def speech_create(
    *,
    text: object,
    voice_id: object,
    model: object = "speech-2.8-hd",
    language_code: object = None,
    email: object = None,
    reply_url: object = None,
    reply_ref: object = None,
    max_jobs: object = None,
    catalogue: SpeechModels | None = None,
    **settings: object,
) -> Call:
    """POST speech/create as ``multipart/form-data``, the documented encoding.

    ``settings`` are the voice settings (``speed``, ``volume``, ``pitch``,
    ``emotion``, ``stability``, ``similarity_boost``, ``style``,
    ``use_speaker_boost``); ``None`` values are left out.
    """
    unknown = set(settings) - _SPEECH_SETTINGS
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a speech setting")
    v.check_speech(
        text=text,
        voice_id=voice_id,
        model=model,
        language_code=language_code,
        settings=settings,
        email=email,
        reply_url=reply_url,
        reply_ref=reply_ref,
        max_jobs=max_jobs,
        catalogue=catalogue,
    )
    fields = {
        "text": text,
        "voice_id": voice_id,
        "model": model,
        "language_code": language_code,
        **settings,
        "email": email,
        "replyUrl": reply_url,
        "replyRef": reply_ref,
        "maxJobs": max_jobs,
    }
    form = {k: _form_value(val) for k, val in fields.items() if val is not None}
    return Call(method="POST", path=f"{V2}/speech/create", form=form, kind=CallKind.CREATE)


_SPEECH_SETTINGS: Final = frozenset(
    {"speed", "volume", "pitch", "emotion", "stability", "similarity_boost", "style"}
    | {"use_speaker_boost"}
)


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
    """GET scheduler/available/."""
    return Call(method="GET", path=f"{V2}/scheduler/available/")


def scheduler_cancel(job_id: object) -> Call:
    """DELETE scheduler/{id}: frees the slot; the job may still finish and bill."""
    return Call(method="DELETE", path=f"{V2}/scheduler/{v.check_id('job_id', job_id)}")


def accounts_list() -> Call:
    """GET accounts/."""
    return Call(method="GET", path=f"{V2}/accounts/")


def accounts_get(email: object) -> Call:
    """GET accounts/{email}."""
    return Call(method="GET", path=f"{V2}/accounts/{v.check_id('email', email)}")


_CONTENT_TYPES: Final = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
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
    if head[4:8] == b"ftyp":
        return "video/mp4"
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
    if not major or not minor or any(c in kind for c in " ;\r\n"):
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


# ------------------------------------------------------------------ replies


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


_MAX_BODY_IN_ERROR: Final = 500


def _decode_json(reply: Reply) -> Any:
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError) as exc:
        text = reply.body[:_MAX_BODY_IN_ERROR].decode("utf-8", "replace")
        what = "an empty body" if not reply.body.strip() else "a body that is not JSON"
        raise ResponseFormatError(reply.status_code, f"expected JSON, got {what}", text) from exc


def _error_message(reply: Reply) -> tuple[str, object]:
    try:
        body = json.loads(reply.body)
    except (ValueError, RecursionError):
        text = reply.body[:_MAX_BODY_IN_ERROR].decode("utf-8", "replace").strip()
        return (text.splitlines()[0][:200] if text else "no error message"), text
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], body
    return "no error message", body


_BY_STATUS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    422: ModerationError,
    596: AccountError,
}


def raise_for_status(reply: Reply) -> None:
    """Raise the `APIError` subclass matching a non-2xx reply; return on 2xx."""
    status = reply.status_code
    if 200 <= status < 300:
        return
    message, body = _error_message(reply)
    if status == 402:
        lowered = message.lower()
        if "subscription" in lowered:
            raise SubscriptionExpiredError(status, message, body)
        if "credit" in lowered:
            raise InsufficientCreditsError(status, message, body)
        raise PaymentRequiredError(status, message, body)
    if status == 429:
        retry_after = parse_retry_after(reply.headers.get("retry-after"))
        raise BusyError(status, message, body, retry_after=retry_after)
    if status in _BY_STATUS:
        raise _BY_STATUS[status](status, message, body)
    if 500 <= status < 600:
        raise ServerError(status, message, body)
    if 300 <= status < 400:
        where = reply.headers.get("location", "nowhere")
        raise APIError(status, f"unexpected redirect to {where[:200]}", body)
    raise APIError(status, message, body)


def _object(reply: Reply, required: str | None) -> dict[str, Any]:
    """The body as a JSON object holding ``required``; a 2xx ``{"error"}`` is an error."""
    raise_for_status(reply)
    data = _decode_json(reply)
    if not isinstance(data, dict):
        raise ResponseFormatError(
            reply.status_code, f"expected a JSON object, got {type(data).__name__}", data
        )
    if (required is None or required not in data) and isinstance(data.get("error"), str):
        raise APIError(reply.status_code, data["error"], data)
    return data


def _one(reply: Reply, cls: type[T], required: str) -> T:
    return structure(_object(reply, required), cls, status_code=reply.status_code)


def parse_job(reply: Reply) -> Job:
    """The body of music/create or speech/create."""
    return _one(reply, Job, "audio_id")


def parse_track(reply: Reply) -> Track:
    """The body of GET music/{audio_id} (and of a music callback)."""
    return _one(reply, Track, "audio_id")


def parse_speech_clip(reply: Reply) -> SpeechClip:
    """The body of GET speech/{audio_id}."""
    return _one(reply, SpeechClip, "audio_id")


def parse_minimax_song(reply: Reply) -> MinimaxSong:
    """The body of GET /v1/minimax/music/{musicId}."""
    return _one(reply, MinimaxSong, "musicId")


def parse_speech_models(reply: Reply) -> SpeechModels:
    """The body of GET speech/models."""
    return _one(reply, SpeechModels, "provider_groups")


def parse_availability(reply: Reply) -> Availability:
    """The body of GET scheduler/available."""
    return _one(reply, Availability, "available")


def parse_account(reply: Reply) -> Account:
    """The body of GET accounts/{email}."""
    return _one(reply, Account, "email")


def _list(reply: Reply, cls: type[T], what: str) -> list[T]:
    raise_for_status(reply)
    data = _decode_json(reply)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        raise APIError(reply.status_code, data["error"], data)
    if not isinstance(data, list):
        raise ResponseFormatError(reply.status_code, f"expected a JSON array of {what}", data)
    return [structure(item, cls, status_code=reply.status_code) for item in data]


def parse_scheduled_jobs(reply: Reply) -> list[ScheduledJob]:
    """The body of GET scheduler/: a bare array."""
    return _list(reply, ScheduledJob, "jobs")


def parse_minimax_songs(reply: Reply) -> list[MinimaxSong]:
    """The body of GET /v1/minimax/music/: a bare array."""
    return _list(reply, MinimaxSong, "songs")


def parse_cancel(reply: Reply) -> bool:
    """DELETE scheduler/{id}: ``True`` on any 2xx, ``False`` on 404 (not running)."""
    if reply.status_code == 404:
        return False
    raise_for_status(reply)
    return True


def parse_accounts(reply: Reply) -> list[Account]:
    """The body of GET accounts/: a map of email to account."""
    data = _object(reply, None)
    accounts = []
    for key, value in data.items():
        if isinstance(value, dict) and "email" not in value:
            value = {**value, "email": key}
        accounts.append(structure(value, Account, status_code=reply.status_code))
    return accounts


def parse_uploaded_file(reply: Reply) -> UploadedFile:
    """The body of POST files: ``{"result": [{...}]}`` for images, ``{path, url}`` otherwise."""
    data = _object(reply, "path")
    result = data.get("result")
    if "path" not in data and isinstance(result, list) and result:
        item = result[0]
        if isinstance(item, dict) and item.get("err_msg") and not item.get("path"):
            raise APIError(reply.status_code, str(item["err_msg"]), data)
        return structure(item, UploadedFile, status_code=reply.status_code)
    return structure(data, UploadedFile, status_code=reply.status_code)


def _is_music(item: object) -> bool:
    if not isinstance(item, dict):
        return True  # let the structurer report it
    mode = item.get("create_mode")
    if mode is None:
        return "-speech:" not in str(item.get("audio_id", ""))
    return bool(mode == "music")


def parse_page(
    reply: Reply,
    cls: type[T],
    *,
    offset: int,
    keep: Callable[[object], bool] | None = None,
    limit: int | None = None,
) -> tuple[Page[T], int]:
    """A v2 list page (``{data, next_offset, has_more}``; voices may be a bare list).

    Returns the page (items filtered by ``keep``) and the number of items the
    server sent before filtering, which pagination needs. A missing or null
    ``has_more`` means no more pages, except for a bare list as long as
    ``limit``, which may be followed by another.
    """
    raise_for_status(reply)
    data = _decode_json(reply)
    bare = isinstance(data, list)
    if bare:
        data = {"data": data}
    if not isinstance(data, dict):
        raise ResponseFormatError(reply.status_code, "expected a JSON object with data", data)
    if "data" not in data and isinstance(data.get("error"), str):
        raise APIError(reply.status_code, data["error"], data)
    items = data.get("data")
    if items is None:
        items = []  # every field is optional: no data is an empty page
    if not isinstance(items, list):
        raise ResponseFormatError(reply.status_code, "expected data to be a list", data)
    next_offset = data.get("next_offset")
    if next_offset is not None and (
        isinstance(next_offset, bool) or not isinstance(next_offset, int)
    ):
        raise ResponseFormatError(reply.status_code, "next_offset is not an integer", data)
    has_more = data.get("has_more")
    if has_more is None:
        has_more = bare and limit is not None and len(items) >= limit
    if not isinstance(has_more, bool):
        raise ResponseFormatError(reply.status_code, "has_more is not a boolean", data)
    chosen = [i for i in items if keep(i)] if keep else items
    kept = structure_many(chosen, cls, status_code=reply.status_code)
    page = Page(items=tuple(kept), next_offset=next_offset, has_more=has_more, offset=offset)
    return page, len(items)


def parse_music_page(reply: Reply, *, offset: int) -> tuple[Page[Track], int]:
    """A music list page, speech items removed (the endpoint returns both)."""
    return parse_page(reply, Track, offset=offset, keep=_is_music)


def parse_speech_page(reply: Reply, *, offset: int) -> tuple[Page[SpeechClip], int]:
    """A speech list page."""
    return parse_page(reply, SpeechClip, offset=offset)


def parse_voice_page(
    reply: Reply, *, offset: int, limit: int | None = None
) -> tuple[Page[Voice], int]:
    """A voices page (a ``data`` list or a bare list; the envelope is undocumented)."""
    return parse_page(reply, Voice, offset=offset, limit=limit)
