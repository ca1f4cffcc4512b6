"""Reading ``replyUrl`` callbacks: pure, for use inside any web framework.

useapi.net POSTs the job's JSON (the same shape as GET music/{id} or
speech/{id}) to ``replyUrl`` with progress updates until the job is final,
possibly more than once for the same status. Callbacks are not signed: treat
one as a hint and confirm it with a GET (``client.music.confirm``) before
acting on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ._convert import structure
from ._errors import PixverseAudioError, ValidationError
from ._models import SpeechClip, Track

__all__ = ["MAX_CALLBACK_BYTES", "parse_callback"]

MAX_CALLBACK_BYTES: Final = 1024 * 1024


def _decode(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ValidationError("body", f"must be bytes, str or a mapping, not {type(body).__name__}")
    if len(body) > MAX_CALLBACK_BYTES:
        raise ValidationError("body", f"is {len(body):,} bytes; a callback is at most 1 MiB")
    try:
        data = json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise ValidationError("body", "is not JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("body", f"must be a JSON object, not {type(data).__name__}")
    return data


def parse_callback(body: bytes | str | Mapping[str, Any]) -> Track | SpeechClip:
    """Parse a ``replyUrl`` callback body into a `Track` or a `SpeechClip`.

    Accepts progress (non-final) and final callbacks alike; check ``final``.
    The job may be at the top level or under ``response``; ``replyRef`` is read
    from either place into ``reply_ref``. Speech is told from music by
    ``create_mode`` ("voice") or the id.

    Callbacks are unsigned: confirm one with ``client.music.confirm(track)``
    (or ``client.speech.confirm``) before acting on it.

    Raises:
        ValidationError: The body is too large, not JSON, or not a job.
    """
    data = dict(_decode(body))
    nested = data.get("response")
    if "audio_id" not in data and isinstance(nested, Mapping):
        outer_ref = data.get("replyRef")
        data = dict(nested)
        if outer_ref is not None and "replyRef" not in data:
            data["replyRef"] = outer_ref
    elif isinstance(nested, Mapping) and "replyRef" not in data and "replyRef" in nested:
        data["replyRef"] = nested["replyRef"]
    audio_id = data.get("audio_id")
    if not isinstance(audio_id, str) or not audio_id:
        raise ValidationError("body", "has no audio_id: not a PixVerse audio callback")
    speech = data.get("create_mode") == "voice" or "-speech:" in audio_id
    try:
        if speech:
            return structure(data, SpeechClip)
        return structure(data, Track)
    except PixverseAudioError as exc:
        raise ValidationError("body", f"does not have the job's shape: {exc}") from exc
