"""The emulator's media host: job MP3s and large test blobs, with byte ranges."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import _audio

if TYPE_CHECKING:
    from ._state import EmulatorState

__all__ = ["BLOB_CHUNK", "is_media", "media_response"]

_MEDIA: Final = re.compile(r"/pixverse/audio/(?P<kind>music|speech)/(?P<asset>\d+)\.mp3")
_BLOB: Final = re.compile(r"/_emulator/blob/(?P<size>\d{1,11})\.bin")
BLOB_CHUNK: Final = 64 * 1024


def is_media(path: str) -> bool:
    """Whether ``path`` is served by the media host."""
    return bool(_MEDIA.fullmatch(path) or _BLOB.fullmatch(path))


def media_response(state: EmulatorState, request: Request) -> Response:
    """A finished job's MP3 (or a test blob), whole or the range asked for."""
    blob = _BLOB.fullmatch(request.url.path)
    if blob:
        return _blob(int(blob["size"]), request)
    match = _MEDIA.fullmatch(request.url.path)
    job = next(
        (
            j
            for j in state.jobs.values()
            if match and str(j.asset_id) == match["asset"] and j.kind == match["kind"]
        ),
        None,
    )
    if job is None or job.status(state.now()) != 1:
        return Response(b"Not Found", 404, media_type="text/plain")
    data = _audio.mp3_bytes(job.duration)
    headers = {"accept-ranges": "bytes", "content-type": "audio/mpeg"}
    ranged = _byte_range(request.headers.get("range"), len(data))
    if ranged is None:
        body = b"" if request.method == "HEAD" else data
        return Response(body, 200, headers={**headers, "content-length": str(len(data))})
    start, end = ranged
    headers["content-range"] = f"bytes {start}-{end}/{len(data)}"
    body = b"" if request.method == "HEAD" else data[start : end + 1]
    return Response(body, 206, headers={**headers, "content-length": str(end - start + 1)})


def _blob_bytes(start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of a deterministic pattern: byte i is i mod 251."""
    pattern = bytes(i % 251 for i in range(251)) * (BLOB_CHUNK // 251 + 2)
    position = start
    while position <= end:
        size = min(BLOB_CHUNK, end - position + 1)
        offset = position % 251
        yield pattern[offset : offset + size]
        position += size


def _blob(size: int, request: Request) -> Response:
    """A large streamed download of ``size`` bytes (for download benchmarks), with ranges."""
    headers = {"accept-ranges": "bytes", "content-type": "application/octet-stream"}
    ranged = _byte_range(request.headers.get("range"), size)
    start, end = ranged if ranged is not None else (0, size - 1)
    headers["content-length"] = str(end - start + 1)
    status = 200
    if ranged is not None:
        headers["content-range"] = f"bytes {start}-{end}/{size}"
        status = 206
    if request.method == "HEAD" or size == 0:
        return Response(b"", status, headers=headers)
    return StreamingResponse(_blob_bytes(start, end), status, headers=headers)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single ``bytes=a-b`` range within ``size``, or ``None`` for the whole file."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    try:
        if first:
            start = int(first)
            end = int(last) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
    except ValueError:
        return None
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)
