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
