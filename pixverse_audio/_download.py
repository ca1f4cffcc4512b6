"""Streamed, atomic downloads of finished audio, with no token sent to media hosts.

A finished track's ``url`` is on a media host (media.pixverse.ai), never the
API host: requests there carry no ``Authorization`` header and follow
redirects only to https (or plain http when the client itself talks plain
http, as to the local emulator). A download streams into a temporary file in
the destination directory and renames it into place only once the size is
verified, so a failed or cancelled download leaves nothing behind. A dropped
connection resumes with a ``Range`` request when the server accepts ranges,
and otherwise restarts, a bounded number of times.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import httpx

from ._errors import DownloadError, ValidationError
from ._logging import redact_url
from ._models import SpeechClip, Track
from ._streams import finish_chunks

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["AudioStream", "download", "safe_filename"]

CHUNK: Final = 64 * 1024
MAX_REDIRECTS: Final = 5
MAX_RESUMES: Final = 3
MAX_STEM_BYTES: Final = 146  # + ".mp3": 150 bytes
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in (*range(1, 10), "¹", "²", "³")}
    | {f"LPT{i}" for i in (*range(1, 10), "¹", "²", "³")}
)
_UNSAFE: Final = re.compile(r'[<>:"/\\|?*]')
_RESUMABLE: Final = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout)

Progress = Callable[[int, "int | None"], None]


def safe_filename(track: Track | SpeechClip) -> str:
    """A file name for ``track`` that cannot leave its directory.

    From ``name`` (else the id): path separators, ``..``, control and
    reserved characters, leading dots and Windows device names are removed;
    the result ends in ``.mp3`` and is at most 150 bytes in UTF-8 (file systems
    count bytes; the temporary ``.part`` name beside it must fit in 255 too).
    """
    raw = track.name or track.audio_id.replace(":", "_")
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    text = _UNSAFE.sub("_", text).replace("..", "_")
    text = text.strip(" .")
    stem, dot, suffix = text.rpartition(".")
    if not dot or suffix.lower() != "mp3":
        stem = text
    stem = stem.strip(" .") or "audio"
    if stem.split(".")[0].strip(" ").upper() in _RESERVED:
        stem = f"_{stem}"
    stem = stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .") or "audio"
    return f"{stem}.mp3"


def _check_url(connection: Connection, url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ValidationError("url", "is not a valid URL") from None
    plain_ok = connection.base_url.scheme == "http"  # a local emulator
    if parsed.scheme != "https" and not (parsed.scheme == "http" and plain_ok):
        raise DownloadError(
            f"refusing to fetch audio over {parsed.scheme or 'no scheme'}: {redact_url(url)}"
        )
    if not parsed.host:
        raise DownloadError(f"audio URL has no host: {redact_url(url)}")
    return parsed


def _audio_url(track: Track | SpeechClip) -> str:
    if not isinstance(track, (Track, SpeechClip)):
        raise ValidationError("track", f"must be a Track or SpeechClip, not {type(track).__name__}")
    if not track.completed:
        raise ValidationError("track", f"{track.audio_id} is not COMPLETED (status {track.status})")
    if not track.url:
        raise ValidationError("track", f"{track.audio_id} has no url")
    return track.url


class AudioStream:
    """The bytes of a finished track, streamed: an async context manager and iterator.

    ::

        async with client.stream_audio(track) as audio:
            async for chunk in audio:
                await sink.write(chunk)

    Attributes:
        total: The size in bytes, when the server said (``Content-Length``).
        received: Bytes yielded so far.
    """

    def __init__(
        self, connection: Connection, track: Track | SpeechClip, *, start: int = 0
    ) -> None:
        self._connection = connection
        self._url = _check_url(connection, _audio_url(track))
        self._start = start
        self._response: httpx.Response | None = None
        self._chunks: object = None
        self.total: int | None = None
        self.received = 0
        self.resumed_at: int | None = None

    async def __aenter__(self) -> AudioStream:
        self._response = await _open(self._connection, self._url, self._start)
        response = self._response
        if self._start and response.status_code == 206:
            self.resumed_at = _range_start(response)
        length = response.headers.get("content-length")
        encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
        if length and length.isdigit() and not encoded:  # a compressed length says nothing
            self.total = int(length) + (self.resumed_at or 0)
        self._chunks = response.aiter_bytes(CHUNK)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        chunks, self._chunks = self._chunks, None
        with anyio.CancelScope(shield=True):
            if self._response is not None:
                await self._response.aclose()
            if chunks is not None:
                await finish_chunks(chunks)

    def __aiter__(self) -> AudioStream:
        if self._response is None:
            raise TypeError("use `async with client.stream_audio(track) as audio:`")
        return self

    async def __anext__(self) -> bytes:
        chunks = self._chunks
        if chunks is None:
            raise StopAsyncIteration
        try:
            chunk: bytes = await chunks.__anext__()  # type: ignore[attr-defined]
        except StopAsyncIteration:
            self._chunks = None
            raise
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise DownloadError(
                f"connection lost after {self.received} bytes: {type(exc).__name__}"
            ) from exc
        self.received += len(chunk)
        return chunk


def _range_start(response: httpx.Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("content-range", ""))
    return int(match[1]) if match else None


async def _open(connection: Connection, url: httpx.URL, start: int) -> httpx.Response:
    """GET ``url`` as a stream, following safe redirects, never with the API token."""
    headers = {"Accept-Encoding": "identity", "User-Agent": connection.headers["User-Agent"]}
    if start:
        headers["Range"] = f"bytes={start}-"
    for _ in range(MAX_REDIRECTS + 1):
        request = httpx.Request("GET", url, headers=headers)
        try:
            response = await connection.http.send(
                request, stream=True, auth=None, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise DownloadError(
                f"cannot fetch {redact_url(str(url))}: {type(exc).__name__}"
            ) from exc
        if response.is_redirect:
            location = response.headers.get("location", "")
            await response.aclose()
            url = _check_url(connection, str(url.join(location)))
            continue
        if response.status_code not in (200, 206):
            await response.aclose()
            raise DownloadError(
                f"media host answered {response.status_code} for {redact_url(str(url))}",
                status_code=response.status_code,
            )
        return response
    raise DownloadError(f"too many redirects from {redact_url(str(url))}")


def _destination(track: Track | SpeechClip, dest: str | os.PathLike[str], overwrite: bool) -> Path:
    path = Path(dest)
    if str(dest).endswith(("/", os.sep)) and not path.is_dir():
        raise ValidationError("dest", f"directory {str(dest)!r} does not exist")
    if path.is_dir():
        target = path / safe_filename(track)
        if target.resolve().parent != path.resolve():
            raise ValidationError("dest", "the derived file name would leave the directory")
    else:
        target = path
        if not target.parent.is_dir():
            raise ValidationError("dest", f"directory {str(target.parent)!r} does not exist")
    if target.exists() and not overwrite:
        raise ValidationError("dest", f"{str(target)!r} exists; pass overwrite=True to replace it")
    return target


def _verify(received: int, total: int | None, track: Track | SpeechClip) -> None:
    """The bytes received must match ``Content-Length`` and the job's ``file_size``."""
    expected = total if total is not None else track.file_size
    if expected is not None and received != expected:
        raise DownloadError(f"got {received} bytes, expected {expected}")
    if track.file_size is not None and total is not None and total != track.file_size:
        raise DownloadError(
            f"the media host sent {total} bytes but the job reported {track.file_size}"
        )


async def download(
    connection: Connection,
    track: Track | SpeechClip,
    dest: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Download ``track`` to ``dest``; see `AsyncClient.download`."""
    _check_url(connection, _audio_url(track))
    target = await anyio.to_thread.run_sync(_destination, track, dest, overwrite)
    partial = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
    received = 0
    total: int | None = None
    try:
        async with await anyio.open_file(partial, "wb") as file:
            for attempt in range(MAX_RESUMES + 1):
                try:
                    async with AudioStream(connection, track, start=received) as audio:
                        if received and audio.resumed_at != received:
                            await file.seek(0)  # no resume: start over
                            await file.truncate()
                            received = 0
                        total = audio.total
                        async for chunk in audio:
                            await file.write(chunk)
                            received += len(chunk)
                            if progress is not None:
                                progress(received, total)
                    break
                except DownloadError as exc:
                    if not isinstance(exc.__cause__, _RESUMABLE) or attempt == MAX_RESUMES:
                        raise
            await file.flush()
        _verify(received, total, track)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
