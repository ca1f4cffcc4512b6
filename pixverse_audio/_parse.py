"""The pure core's reply side: (status, headers, body) in, a model or an `APIError` out.

`raise_for_status` is the only place that picks an error class from a status.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final, TypeVar

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
from ._protocol import Reply

T = TypeVar("T")


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
        return _text_message(text), text
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], body
    return "no error message", body


_TITLE: Final = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG: Final = re.compile(r"<[^>]*>")


def _text_message(text: str) -> str:
    """A one-line message from a non-JSON body: an HTML page's title (or its text),
    else the first line, as a proxy's error page would best be summarised."""
    if not text:
        return "no error message"
    if text.startswith("<"):
        title = _TITLE.search(text)
        words = title[1] if title else _TAG.sub(" ", text)
        summary = " ".join(words.split())
        if summary:
            return summary[:200]
    return text.splitlines()[0][:200]


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
    """The body of GET speech/models: ``{default_model, provider_groups: [...]}``.

    ``provider_groups`` must be a list: a body without it, or with anything
    else under it, is a `ResponseFormatError` naming what it held (never an
    empty catalogue).
    """
    raise_for_status(reply)
    data = _decode_json(reply)
    _items(reply, data, ("provider_groups",), bare=False)
    return structure(data, SpeechModels, status_code=reply.status_code)


def parse_availability(reply: Reply) -> Availability:
    """The body of GET scheduler/available: ``{executing: [...], available: [...]}``.

    ``available`` (the per-account capacity) must be a list; ``executing`` may
    be missing (nothing runs).
    """
    data = _object(reply, "available")
    _items(reply, data, ("available",), bare=False)
    executing = data.get("executing")
    if isinstance(executing, list):
        data = {**data, "executing": [_scheduled_item(i) for i in executing]}
    return structure(data, Availability, status_code=reply.status_code)


def parse_account(reply: Reply) -> Account:
    """The body of GET accounts/{email}."""
    return _one(reply, Account, "email")


def _keys_seen(data: Mapping[str, Any]) -> str:
    """The keys of an unexpected body, for an error message (at most 20, sorted)."""
    keys = sorted(str(k) for k in data)
    shown = ", ".join(repr(k) for k in keys[:20])
    more = f" and {len(keys) - 20} more" if len(keys) > 20 else ""
    return f"keys {shown}{more}" if keys else "no keys"


def _items(reply: Reply, data: Any, keys: tuple[str, ...], *, bare: bool) -> list[Any]:
    """The list a list endpoint answered: a bare array, or the first of ``keys`` in an object.

    A body of any other shape (no known key, or a key that does not hold a
    list) is a `ResponseFormatError` naming what it did hold: an unknown shape
    never reads as an empty result.
    """
    if isinstance(data, list):
        if bare:
            return data
        raise ResponseFormatError(
            reply.status_code, f"expected a JSON object with {_one_of(keys)}, got an array", data
        )
    if not isinstance(data, dict):
        raise ResponseFormatError(
            reply.status_code,
            f"expected a JSON object with {_one_of(keys)}, got {type(data).__name__}",
            data,
        )
    key = next((k for k in keys if k in data), None)
    if key is None:
        if isinstance(data.get("error"), str):
            raise APIError(reply.status_code, data["error"], data)
        raise ResponseFormatError(
            reply.status_code,
            f"expected a JSON object with {_one_of(keys)}; it has {_keys_seen(data)}",
            data,
        )
    items = data[key]
    if not isinstance(items, list):
        raise ResponseFormatError(
            reply.status_code, f"expected {key} to be a list, got {type(items).__name__}", data
        )
    return items


def _one_of(keys: tuple[str, ...]) -> str:
    listed = " or ".join(repr(k) for k in keys)
    return f"a list under {listed}"


def _list(reply: Reply, cls: type[T], keys: tuple[str, ...]) -> list[T]:
    """A list endpoint answering a bare JSON array (also tolerated under ``keys``)."""
    raise_for_status(reply)
    items = _items(reply, _decode_json(reply), keys, bare=True)
    return structure_many(items, cls, status_code=reply.status_code)


def _scheduled_item(item: object) -> object:
    """Scheduler items carry ``id``; pages of 2024 called it ``video_id``."""
    if isinstance(item, dict) and "id" not in item and "video_id" in item:
        return {**item, "id": item["video_id"]}
    return item


def parse_scheduled_jobs(reply: Reply) -> list[ScheduledJob]:
    """The body of GET scheduler/: a bare array (``executing`` or ``data`` tolerated)."""
    raise_for_status(reply)
    items = _items(reply, _decode_json(reply), ("executing", "data"), bare=True)
    return structure_many(
        [_scheduled_item(i) for i in items], ScheduledJob, status_code=reply.status_code
    )


def parse_minimax_songs(reply: Reply) -> list[MinimaxSong]:
    """The body of GET /v1/minimax/music/: a bare array (``data`` tolerated)."""
    return _list(reply, MinimaxSong, ("data",))


def parse_cancel(reply: Reply) -> bool:
    """DELETE scheduler/{id} or accounts/{email}: ``True`` on any 2xx, ``False`` on 404."""
    if reply.status_code == 404:
        return False
    raise_for_status(reply)
    return True


def parse_accounts(reply: Reply) -> list[Account]:
    """The body of GET accounts: a map of email to account.

    Every value must be an account object; anything else is a
    `ResponseFormatError` (an unknown shape never reads as "no accounts").
    """
    data = _object(reply, None)
    accounts = []
    for key, value in data.items():
        if not isinstance(value, dict):
            raise ResponseFormatError(
                reply.status_code,
                f"expected a map of email to account; {key!r} holds {type(value).__name__}",
                data,
            )
        if "email" not in value:
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


def _envelope(
    reply: Reply, keys: tuple[str, ...], limit: int | None
) -> tuple[list[Any], int | None, bool]:
    """A v2 list page's items, ``next_offset`` and ``has_more``; see `parse_page`."""
    raise_for_status(reply)
    data = _decode_json(reply)
    items = _items(reply, data, keys, bare=True)
    envelope: Mapping[str, Any] = data if isinstance(data, dict) else {}
    next_offset = envelope.get("next_offset")
    if next_offset is not None and (
        isinstance(next_offset, bool) or not isinstance(next_offset, int)
    ):
        raise ResponseFormatError(reply.status_code, "next_offset is not an integer", data)
    has_more = envelope.get("has_more")
    if has_more is None:
        has_more = not envelope and limit is not None and len(items) >= limit
    if not isinstance(has_more, bool):
        raise ResponseFormatError(reply.status_code, "has_more is not a boolean", data)
    return items, next_offset, has_more


def parse_page(
    reply: Reply,
    cls: type[T],
    *,
    offset: int,
    keep: Callable[[object], bool] | None = None,
    limit: int | None = None,
    keys: tuple[str, ...] = ("data",),
) -> tuple[Page[T], int]:
    """A v2 list page: ``{<key>: [...], next_offset, has_more}`` or a bare array.

    ``keys`` are the envelope keys that may hold the items (the first present
    one is used). Returns the page (items filtered by ``keep``) and the number
    of items the server sent before filtering, which pagination needs. A
    missing or null ``has_more`` means no more pages, except for a bare list as
    long as ``limit``, which may be followed by another. A body of any other
    shape raises `ResponseFormatError`, never an empty page.
    """
    items, next_offset, has_more = _envelope(reply, keys, limit)
    chosen = [i for i in items if keep(i)] if keep else items
    kept = structure_many(chosen, cls, status_code=reply.status_code)
    page = Page(items=tuple(kept), next_offset=next_offset, has_more=has_more, offset=offset)
    return page, len(items)


def parse_music_page(reply: Reply, *, offset: int) -> tuple[Page[Track], int]:
    """A music list page, speech items removed (the endpoint returns both)."""
    return parse_page(reply, Track, offset=offset, keep=_is_music)


def parse_audio_page(reply: Reply, *, offset: int) -> Page[Track | SpeechClip]:
    """A music list page read whole: music items as tracks, speech items as clips.

    GET music/ lists every audio job of an account, speech included, so one
    request tells the engine about both kinds. The server's order is kept.
    """
    items, next_offset, has_more = _envelope(reply, ("data",), None)
    music = [i for i in items if _is_music(i)]
    speech = [i for i in items if not _is_music(i)]
    tracks = iter(structure_many(music, Track, status_code=reply.status_code))
    clips = iter(structure_many(speech, SpeechClip, status_code=reply.status_code))
    both: list[Track | SpeechClip] = [next(tracks) if _is_music(i) else next(clips) for i in items]
    return Page(items=tuple(both), next_offset=next_offset, has_more=has_more, offset=offset)


def parse_speech_page(reply: Reply, *, offset: int) -> tuple[Page[SpeechClip], int]:
    """A speech list page."""
    return parse_page(reply, SpeechClip, offset=offset)


def parse_voice_page(
    reply: Reply, *, offset: int, limit: int | None = None
) -> tuple[Page[Voice], int]:
    """A voices page: the documented ``{"voices": [...]}``, or ``data``, or a bare list."""
    return parse_page(reply, Voice, offset=offset, limit=limit, keys=("voices", "data"))
