"""Downloads of finished audio: atomic, resumable, safe names, and no token to media hosts."""

from __future__ import annotations

import gc
import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import TOKEN, Recorder, json_response

from pixverse_audio import (
    AsyncClient,
    AudioStatus,
    DownloadError,
    PollPolicy,
    SpeechClip,
    Track,
    ValidationError,
)
from pixverse_audio._download import CHUNK, MAX_REDIRECTS, MAX_RESUMES, safe_filename
from pixverse_audio.emulator import Emulator, Timing, serve_emulator

pytestmark = pytest.mark.anyio

MakeClient = Callable[..., AsyncClient]

MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
API_HOST = "api.useapi.net"
MEDIA_HOST = "media.pixverse.ai"
MEDIA_URL = f"https://{MEDIA_HOST}/pixverse/audio/music/11223344.mp3"
NAME = "PixVerse_Music_11223344.mp3"
DATA = random.Random(0).randbytes(200_000)  # not periodic: a wrong resume offset shows
FAST = PollPolicy(first=0.05, cap=0.2)
PROMPT = "lofi beats"


def finished(**changes: Any) -> Track:
    """A COMPLETED music track whose audio is DATA at MEDIA_URL."""
    fields: dict[str, Any] = {
        "audio_id": MUSIC_ID,
        "status": AudioStatus.COMPLETED,
        "final": True,
        "url": MEDIA_URL,
        "name": NAME,
        "file_size": len(DATA),
    }
    fields.update(changes)
    return Track(**fields)


class Chunks(httpx.AsyncByteStream):
    """A response body of fixed chunks, optionally ending in an exception.

    A plain iterator rather than an async generator, so nothing is left
    unfinished when the consumer stops early.
    """

    def __init__(self, chunks: list[bytes], *, then: Exception | None = None) -> None:
        self._chunks = list(chunks)
        self._then = then

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks:
            return self._chunks.pop(0)
        if self._then is not None:
            raise self._then
        raise StopAsyncIteration


class Hanging(httpx.AsyncByteStream):
    """Yields ``first``, then sets ``stalled`` and waits forever (a stalled media host)."""

    def __init__(self, first: bytes, stalled: anyio.Event) -> None:
        self._first: bytes | None = first
        self._stalled = stalled

    def __aiter__(self) -> Hanging:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        self._stalled.set()
        await anyio.sleep_forever()
        raise StopAsyncIteration  # pragma: no cover - never reached


def media(
    request: httpx.Request,
    data: bytes = DATA,
    *,
    ranges: bool = True,
    cut: int | None = None,
    length: int | bool | None = True,
) -> httpx.Response:
    """Answer a media GET with ``data`` (206 for a Range when ``ranges``).

    ``cut`` sends only that many bytes and then breaks the connection;
    ``length`` is ``True`` for a correct Content-Length, ``None``/``False`` for
    none, or a number to send instead.
    """
    start = 0
    headers = {"content-type": "audio/mpeg", "accept-ranges": "bytes" if ranges else "none"}
    status = 200
    wanted = request.headers.get("range")
    if ranges and wanted:
        start = int(wanted.removeprefix("bytes=").removesuffix("-"))
        status = 206
        headers["content-range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    body = data[start:]
    if length is True:
        headers["content-length"] = str(len(body))
    elif length:
        headers["content-length"] = str(length)
    if cut is None:
        return httpx.Response(status, headers=headers, stream=Chunks([body]))
    error = httpx.ReadError("connection reset by peer", request=request)
    return httpx.Response(status, headers=headers, stream=Chunks([body[:cut]], then=error))


def leftovers(directory: Path) -> list[str]:
    """Every name in ``directory``."""
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------ atomic writes


async def test_download_writes_the_bytes_under_the_track_name(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A download lands as <name>.mp3 in the directory with exactly the served bytes."""
    recorder = Recorder(default=media)
    path = await make_client(recorder).download(finished(), tmp_path)
    assert path == tmp_path / NAME
    assert path.read_bytes() == DATA
    assert leftovers(tmp_path) == [NAME]
    assert [str(r.url) for r in recorder.requests] == [MEDIA_URL]


async def test_download_to_an_explicit_file_path(make_client: MakeClient, tmp_path: Path) -> None:
    """A dest that is a file path in an existing directory is used as is."""
    target = tmp_path / "mine.mp3"
    path = await make_client(Recorder(default=media)).download(finished(), target)
    assert path == target
    assert target.read_bytes() == DATA
    assert leftovers(tmp_path) == ["mine.mp3"]


async def test_partial_download_is_hidden_until_complete(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """While bytes arrive only a .part file exists; cancelling then leaves the directory empty."""
    stalled = anyio.Event()
    recorder = Recorder(
        default=lambda r: httpx.Response(
            200, headers={"content-length": str(len(DATA))}, stream=Hanging(DATA[:1000], stalled)
        )
    )
    client = make_client(recorder)
    seen: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.download, finished(), tmp_path)
        await stalled.wait()
        seen = leftovers(tmp_path)
        tg.cancel_scope.cancel()
    assert len(seen) == 1
    assert seen[0].endswith(".part")
    assert NAME not in seen
    assert leftovers(tmp_path) == []


async def test_deadline_mid_download_leaves_nothing(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A move_on_after deadline during a stalled stream cancels it and removes the partial file."""
    stalled = anyio.Event()
    recorder = Recorder(
        default=lambda r: httpx.Response(
            200, headers={"content-length": str(len(DATA))}, stream=Hanging(DATA[:5000], stalled)
        )
    )
    client = make_client(recorder)
    with anyio.move_on_after(0.1) as scope:
        await client.download(finished(), tmp_path)
    assert scope.cancelled_caught
    assert stalled.is_set()
    assert leftovers(tmp_path) == []


async def test_connection_that_always_breaks_leaves_nothing(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A stream raising ReadError on every attempt ends in DownloadError with no file or .part."""
    recorder = Recorder(default=lambda r: media(r, cut=0))
    with pytest.raises(DownloadError):
        await make_client(recorder).download(finished(), tmp_path)
    assert leftovers(tmp_path) == []


async def test_resumption_is_bounded(make_client: MakeClient, tmp_path: Path) -> None:
    """A host that breaks every stream gets the first request plus MAX_RESUMES (3) more, no more."""
    recorder = Recorder(default=lambda r: media(r, cut=1000))
    with pytest.raises(DownloadError) as info:
        await make_client(recorder).download(finished(), tmp_path)
    assert MAX_RESUMES == 3
    assert len(recorder.requests) == MAX_RESUMES + 1
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------ sizes


async def test_short_body_against_content_length_is_an_error(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """Fewer bytes than Content-Length, cleanly ended, raise DownloadError and leave nothing."""
    recorder = Recorder(default=lambda r: media(r, DATA[:150_000], length=len(DATA)))
    with pytest.raises(DownloadError, match="150000"):
        await make_client(recorder).download(finished(file_size=None), tmp_path)
    assert leftovers(tmp_path) == []


async def test_long_body_against_content_length_is_an_error(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """More bytes than Content-Length raises DownloadError and leaves nothing."""
    recorder = Recorder(default=lambda r: media(r, DATA, length=100_000))
    with pytest.raises(DownloadError):
        await make_client(recorder).download(finished(file_size=None), tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("length", [True, None], ids=["with-content-length", "no-content-length"])
async def test_job_file_size_mismatch_is_an_error(
    make_client: MakeClient, tmp_path: Path, length: bool | None
) -> None:
    """A body whose size differs from the job's file_size raises DownloadError, leaves nothing."""
    recorder = Recorder(default=lambda r: media(r, length=length))
    with pytest.raises(DownloadError):
        await make_client(recorder).download(finished(file_size=len(DATA) + 1), tmp_path)
    assert leftovers(tmp_path) == []


async def test_missing_sizes_are_accepted(make_client: MakeClient, tmp_path: Path) -> None:
    """With neither Content-Length nor file_size, whatever arrives is kept."""
    recorder = Recorder(default=lambda r: media(r, length=None))
    path = await make_client(recorder).download(finished(file_size=None), tmp_path)
    assert path.read_bytes() == DATA


# ------------------------------------------------------------ resume


async def test_broken_stream_resumes_with_a_range_request(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A stream broken after N bytes is resumed with Range: bytes=N- and the file is exact."""
    cut = 2 * CHUNK  # bytes are handed over in CHUNK pieces: a cut on a boundary is exact
    recorder = Recorder(default=media).then(lambda r: media(r, cut=cut))
    path = await make_client(recorder).download(finished(), tmp_path)
    assert len(recorder.requests) == 2
    assert "range" not in recorder.requests[0].headers
    assert recorder.requests[1].headers["range"] == f"bytes={cut}-"
    assert path.read_bytes() == DATA
    assert leftovers(tmp_path) == [NAME]


async def test_two_breaks_resume_from_the_right_offsets(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """Each resume asks for the bytes after everything received so far."""
    recorder = Recorder(default=media).then(
        lambda r: media(r, cut=CHUNK), lambda r: media(r, cut=CHUNK)
    )
    path = await make_client(recorder).download(finished(), tmp_path)
    assert [r.headers.get("range") for r in recorder.requests] == [
        None,
        f"bytes={CHUNK}-",
        f"bytes={2 * CHUNK}-",
    ]
    assert path.read_bytes() == DATA


async def test_server_ignoring_range_restarts_cleanly(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A host answering 200 (whole file) to a Range request restarts the file from byte 0."""
    recorder = Recorder(default=lambda r: media(r, ranges=False)).then(
        lambda r: media(r, ranges=False, cut=90_000)
    )
    path = await make_client(recorder).download(finished(), tmp_path)
    assert recorder.requests[1].headers["range"].startswith("bytes=")
    assert path.read_bytes() == DATA
    assert leftovers(tmp_path) == [NAME]


# ------------------------------------------------------------ names


HOSTILE_NAMES = {
    "parent-traversal": "../../etc/passwd",
    "absolute": "/abs/path.mp3",
    "nul-byte": "a\x00b",
    "device-con": "CON",
    "device-nul-mp3": "nul.mp3",
    "dotdot": "..",
    "blank": "   ",
    "1000-chars": "x" * 1000,
    "device-then-1000-chars": "CON." + "x" * 1000,
    "backslash-traversal": "dir\\..\\..\\evil.mp3",
    "windows-absolute": "C:\\Windows\\evil",
    "drive-relative": "c:evil.mp3",
    "backslash-dotdot": "..\\..",
    "hidden": ".hidden",
    "control-chars": "song\n\r\t.mp3",
    "device-lpt9-txt": "lpt9.txt",
    "1000-two-byte-chars": "\u00e9" * 1000,
    "1000-four-byte-chars": "\U0001f3b5" * 1000,
}


@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_safe_filename_stays_in_the_directory(name: str, tmp_path: Path) -> None:
    """Any name becomes one plain .mp3 file name of at most 150 characters and 255 bytes."""
    result = safe_filename(finished(name=name))
    assert result.endswith(".mp3")
    assert Path(result).name == result
    assert (tmp_path / result).resolve().parent == tmp_path.resolve()
    for bad in ("/", "\\", ":", "\x00", "\n", ".."):
        assert bad not in result
    assert not result.startswith(".")
    assert result.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT9"}
    assert len(result) <= 150
    assert len(result.encode("utf-8")) <= 255  # NAME_MAX on common filesystems


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CON", "_CON.mp3"),
        ("nul.mp3", "_nul.mp3"),
        ("com1.txt", "_com1.txt.mp3"),
        ("   ", "audio.mp3"),
        ("..", "_.mp3"),
        ("a\x00b", "ab.mp3"),
        ("a\\b:c", "a_b_c.mp3"),
        ("song.MP3", "song.mp3"),
        ("My Song", "My Song.mp3"),
    ],
)
def test_safe_filename_examples(name: str, expected: str) -> None:
    """Known names map to known safe names."""
    assert safe_filename(finished(name=name)) == expected


def test_safe_filename_without_a_name_uses_the_id() -> None:
    """No name: the id with ':' replaced is used, and it stays one .mp3 name."""
    assert safe_filename(finished(name=None)) == MUSIC_ID.replace(":", "_") + ".mp3"
    assert safe_filename(finished(name="")) == MUSIC_ID.replace(":", "_") + ".mp3"


@pytest.mark.parametrize(
    "name",
    ["COM\u00b9", "LPT\u00b2.mp3", "com\u00b3"],
    ids=["COM1-sup", "LPT2-sup-mp3", "com3-sup"],
)
def test_safe_filename_renames_superscript_device_names(name: str) -> None:
    """COM¹-³ and LPT¹-³ are Windows device names too and get the same '_' prefix."""
    assert safe_filename(finished(name=name)).startswith("_")


@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
async def test_download_with_hostile_name_lands_in_the_directory(
    make_client: MakeClient, tmp_path: Path, name: str
) -> None:
    """A real download of a track with a hostile name writes one .mp3 directly in dest."""
    out = tmp_path / "out"
    out.mkdir()
    path = await make_client(Recorder(default=media)).download(finished(name=name), out)
    assert path.parent == out
    assert path.suffix == ".mp3"
    assert path.read_bytes() == DATA
    assert leftovers(out) == [path.name]
    assert leftovers(tmp_path) == ["out"]


# ------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "track",
    [
        finished(status=AudioStatus.GENERATING, final=False, url=None),
        finished(status=AudioStatus.QUEUED, final=False),
        finished(status=AudioStatus.FAILED, final=True, url=None),
        finished(url=None),
        finished(url=""),
        finished(status=AudioStatus.COMPLETED, final=False),
    ],
    ids=["generating", "queued-with-url", "failed", "no-url", "empty-url", "not-final"],
)
async def test_unfinished_track_is_refused_without_requests(
    make_client: MakeClient, tmp_path: Path, track: Track
) -> None:
    """A track that is not COMPLETED or has no url raises ValidationError and sends nothing."""
    recorder = Recorder(default=media)
    client = make_client(recorder)
    with pytest.raises(ValidationError):
        await client.download(track, tmp_path)
    with pytest.raises(ValidationError):
        client.stream_audio(track)
    assert recorder.requests == []
    assert leftovers(tmp_path) == []


async def test_non_track_is_refused(make_client: MakeClient, tmp_path: Path) -> None:
    """Downloading something that is not a Track or SpeechClip raises ValidationError."""
    recorder = Recorder(default=media)
    with pytest.raises(ValidationError):
        await make_client(recorder).download(MEDIA_URL, tmp_path)  # type: ignore[arg-type]
    assert recorder.requests == []


async def test_existing_file_is_kept_without_overwrite(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """overwrite=False with an existing file raises ValidationError; the file is untouched."""
    existing = tmp_path / NAME
    existing.write_bytes(b"precious")
    recorder = Recorder(default=media)
    client = make_client(recorder)
    with pytest.raises(ValidationError, match="exists"):
        await client.download(finished(), tmp_path)
    with pytest.raises(ValidationError, match="exists"):
        await client.download(finished(), existing, overwrite=False)
    assert existing.read_bytes() == b"precious"
    assert recorder.requests == []
    assert leftovers(tmp_path) == [NAME]


async def test_overwrite_replaces_the_file(make_client: MakeClient, tmp_path: Path) -> None:
    """overwrite=True replaces an existing file with the downloaded bytes."""
    (tmp_path / NAME).write_bytes(b"old")
    path = await make_client(Recorder(default=media)).download(finished(), tmp_path, overwrite=True)
    assert path.read_bytes() == DATA
    assert leftovers(tmp_path) == [NAME]


async def test_missing_directory_is_refused(make_client: MakeClient, tmp_path: Path) -> None:
    """A file path whose directory does not exist raises ValidationError and sends nothing."""
    recorder = Recorder(default=media)
    with pytest.raises(ValidationError, match="does not exist"):
        await make_client(recorder).download(finished(), tmp_path / "missing" / "song.mp3")
    assert recorder.requests == []
    assert leftovers(tmp_path) == []


async def test_missing_directory_with_trailing_separator_is_refused(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """'missing/' names a directory; since it does not exist, ValidationError, nothing written."""
    recorder = Recorder(default=media)
    with pytest.raises(ValidationError):
        await make_client(recorder).download(finished(), f"{tmp_path / 'missing'}/")
    assert recorder.requests == []
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------ progress, chunks


async def test_progress_counts_up_to_the_total(make_client: MakeClient, tmp_path: Path) -> None:
    """progress gets strictly increasing byte counts with the total, ending at the total."""
    calls: list[tuple[int, int | None]] = []
    await make_client(Recorder(default=media)).download(
        finished(), tmp_path, progress=lambda done, total: calls.append((done, total))
    )
    counts = [done for done, _ in calls]
    assert len(calls) >= 2
    assert counts == sorted(set(counts))
    assert calls[-1] == (len(DATA), len(DATA))
    assert {total for _, total in calls} == {len(DATA)}
    steps = [b - a for a, b in zip([0, *counts], counts, strict=False)]
    assert max(steps) <= CHUNK


async def test_failing_progress_callback_leaves_nothing(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """An exception raised by the progress callback propagates and removes the partial file."""

    def progress(done: int, total: int | None) -> None:
        if done > CHUNK:
            raise RuntimeError("disk quota")

    with pytest.raises(RuntimeError, match="disk quota"):
        await make_client(Recorder(default=media)).download(finished(), tmp_path, progress=progress)
    assert leftovers(tmp_path) == []


async def test_progress_total_is_none_without_content_length(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """Without Content-Length the total is reported as None; the count still ends at the size."""
    calls: list[tuple[int, int | None]] = []
    await make_client(Recorder(default=lambda r: media(r, length=None))).download(
        finished(), tmp_path, progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1] == (len(DATA), None)


async def test_stream_audio_yields_everything_in_small_chunks(make_client: MakeClient) -> None:
    """stream_audio yields the full bytes in chunks of at most 64 KiB inside `async with`."""
    client = make_client(Recorder(default=media))
    chunks = []
    async with client.stream_audio(finished()) as audio:
        assert audio.total == len(DATA)
        async for chunk in audio:
            chunks.append(chunk)
        assert audio.received == len(DATA)
    assert CHUNK == 64 * 1024
    assert b"".join(chunks) == DATA
    assert len(chunks) >= 4
    assert all(0 < len(c) <= CHUNK for c in chunks)


async def test_stream_audio_without_async_with_raises_type_error(
    make_client: MakeClient,
) -> None:
    """Iterating stream_audio() without `async with` raises TypeError and sends nothing."""
    recorder = Recorder(default=media)
    client = make_client(recorder)
    with pytest.raises(TypeError, match="async with"):
        async for _ in client.stream_audio(finished()):
            pass  # pragma: no cover - never reached
    assert recorder.requests == []


async def test_stream_audio_left_early_is_closed_cleanly(make_client: MakeClient) -> None:
    """Leaving `async for` early (break) leaves no unfinished async generator to warn about."""
    client = make_client(Recorder(default=media))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with client.stream_audio(finished()) as audio:
            async for _ in audio:
                break
        del audio
        gc.collect()
    unfinished = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert unfinished == [], [str(w.message) for w in unfinished]


async def test_stream_audio_reports_a_broken_stream_as_download_error(
    make_client: MakeClient,
) -> None:
    """A connection lost while streaming raises DownloadError, not an httpx error."""
    client = make_client(Recorder(default=lambda r: media(r, cut=1000)))
    with pytest.raises(DownloadError):  # noqa: PT012 - the error comes from iterating
        async with client.stream_audio(finished()) as audio:
            async for _ in audio:
                pass


async def test_stream_audio_of_a_speech_clip(make_client: MakeClient) -> None:
    """A finished SpeechClip streams like a Track."""
    clip = SpeechClip(
        audio_id="user:123-pixverse:me@example.com-speech:1",
        status=AudioStatus.COMPLETED,
        final=True,
        url=MEDIA_URL,
    )
    async with make_client(Recorder(default=media)).stream_audio(clip) as audio:
        data = b"".join([chunk async for chunk in audio])
    assert data == DATA


# ------------------------------------------------------------ no token to the media host


async def test_emulator_media_requests_carry_no_token(tmp_path: Path) -> None:
    """In-process: the emulator's media route never sees an Authorization header."""
    emulator = Emulator.fast()
    async with emulator.client(poll=FAST) as client:
        job = await client.music.create(PROMPT)
        track = await client.music.wait(job, timeout=10)
        path = await client.download(track, tmp_path)
        async with client.stream_audio(track) as audio:
            streamed = b"".join([chunk async for chunk in audio])
    assert path.read_bytes() == streamed
    assert len(streamed) == track.file_size
    assert len(emulator.media_requests) == 2
    for headers in emulator.media_requests:
        assert "authorization" not in headers
        assert emulator.token not in " ".join(headers.values())


async def test_token_goes_to_the_api_host_only(make_client: MakeClient, tmp_path: Path) -> None:
    """MockTransport: the API GET has the token; the media GET on another host has none."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == API_HOST:
            body = {
                "audio_id": MUSIC_ID,
                "audio_status": 1,
                "audio_status_final": True,
                "url": MEDIA_URL,
                "name": NAME,
                "file_size": len(DATA),
            }
            return json_response(200, body)
        return media(request)

    recorder = Recorder(default=handler)
    client = make_client(recorder)
    track = await client.music.get(MUSIC_ID)
    path = await client.download(track, tmp_path)
    assert path.read_bytes() == DATA
    api, download = recorder.requests
    assert api.url.host == API_HOST
    assert api.headers["authorization"] == f"Bearer {TOKEN}"
    assert download.url.host == MEDIA_HOST
    assert "authorization" not in download.headers
    assert "cookie" not in download.headers
    assert TOKEN not in str(download.headers.raw)


async def test_media_over_a_real_socket_gets_no_token(tmp_path: Path) -> None:
    """Over a real server the API is 127.0.0.1, media is localhost, and media sees no token."""
    emulator = Emulator.fast(seed=3)
    async with (
        serve_emulator(emulator) as url,
        AsyncClient(emulator.token, base_url=url, poll=FAST) as client,
    ):
        job = await client.music.create(PROMPT)
        track = await client.music.wait(job, timeout=10)
        assert track.url is not None
        assert httpx.URL(url).host == "127.0.0.1"
        assert httpx.URL(track.url).host == "localhost"
        path = await client.download(track, tmp_path)
    assert path.stat().st_size == track.file_size
    assert len(emulator.media_requests) == 1
    assert "authorization" not in emulator.media_requests[0]


# ------------------------------------------------------------ redirects


async def test_redirect_to_another_https_host_is_followed_without_token(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A media redirect to another https host is followed; neither host gets the token."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == MEDIA_HOST:
            return httpx.Response(302, headers={"location": "https://cdn.example.net/a.mp3"})
        return media(request)

    recorder = Recorder(default=handler)
    path = await make_client(recorder).download(finished(), tmp_path)
    assert path.read_bytes() == DATA
    assert [r.url.host for r in recorder.requests] == [MEDIA_HOST, "cdn.example.net"]
    assert all("authorization" not in r.headers for r in recorder.requests)


async def test_relative_redirect_is_followed(make_client: MakeClient, tmp_path: Path) -> None:
    """A relative Location is resolved against the media URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/moved.mp3":
            return httpx.Response(301, headers={"location": "/moved.mp3"})
        return media(request)

    recorder = Recorder(default=handler)
    path = await make_client(recorder).download(finished(), tmp_path)
    assert path.read_bytes() == DATA
    assert str(recorder.requests[-1].url) == f"https://{MEDIA_HOST}/moved.mp3"


@pytest.mark.parametrize(
    "location",
    ["http://cdn.example.net/a.mp3", "ftp://cdn.example.net/a.mp3", "file:///etc/passwd"],
)
async def test_redirect_to_an_unsafe_scheme_is_refused(
    make_client: MakeClient, tmp_path: Path, location: str
) -> None:
    """With an https API, a redirect to http://, ftp:// or file:// raises DownloadError."""
    recorder = Recorder(default=httpx.Response(302, headers={"location": location}))
    with pytest.raises(DownloadError, match="refusing"):
        await make_client(recorder).download(finished(), tmp_path)
    assert [r.url.host for r in recorder.requests] == [MEDIA_HOST]
    assert leftovers(tmp_path) == []


async def test_plain_http_audio_url_is_refused_for_an_https_api(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """An http:// track url is refused before any request when the API is https."""
    recorder = Recorder(default=media)
    with pytest.raises(DownloadError):
        await make_client(recorder).download(
            finished(url="http://media.pixverse.ai/a.mp3"), tmp_path
        )
    assert recorder.requests == []


async def test_too_many_redirects(make_client: MakeClient, tmp_path: Path) -> None:
    """A redirect loop raises DownloadError after MAX_REDIRECTS hops; nothing is written."""
    recorder = Recorder(
        default=lambda r: httpx.Response(
            302, headers={"location": f"https://{MEDIA_HOST}/hop{len(recorder.requests)}.mp3"}
        )
    )
    with pytest.raises(DownloadError, match="redirects"):
        await make_client(recorder).download(finished(), tmp_path)
    assert len(recorder.requests) == MAX_REDIRECTS + 1
    assert leftovers(tmp_path) == []


async def test_media_error_status_is_a_download_error(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """A 404 from the media host raises DownloadError with the status and leaves nothing."""
    recorder = Recorder(default=httpx.Response(404, text="gone"))
    with pytest.raises(DownloadError) as info:
        await make_client(recorder).download(finished(), tmp_path)
    assert info.value.status_code == 404
    assert leftovers(tmp_path) == []


async def test_emulator_media_drop_is_resumed_over_a_socket(tmp_path: Path) -> None:
    """A real server cutting a 160 kB MP3 off halfway is resumed with Range to the full file.

    Bytes are handed over in CHUNK pieces, so the resume starts at the last
    whole chunk received (65536 of the 79992 sent).
    """
    emulator = Emulator.fast(
        music_timing=Timing(queued=(0, 0), generating=(0.2, 0.2), audio=(40, 40))
    )
    async with (
        serve_emulator(emulator) as url,
        AsyncClient(emulator.token, base_url=url, poll=FAST) as client,
    ):
        track = await client.music.wait(await client.music.create(PROMPT), timeout=10)
        assert track.file_size is not None
        assert track.file_size // 2 > CHUNK
        emulator.faults.drop("media", after=True)
        path = await client.download(track, tmp_path)
    assert path.stat().st_size == track.file_size
    assert len(emulator.media_requests) == 2
    assert "range" not in emulator.media_requests[0]
    assert emulator.media_requests[1]["range"] == f"bytes={CHUNK}-"
    assert leftovers(tmp_path) == [path.name]


async def test_emulator_in_process_media_drop_restarts(tmp_path: Path) -> None:
    """In-process, a dropped media answer (no bytes delivered) is fetched again in full."""
    emulator = Emulator.fast()
    async with emulator.client(poll=FAST) as client:
        track = await client.music.wait(await client.music.create(PROMPT), timeout=10)
        emulator.faults.drop("media", after=True)
        path = await client.download(track, tmp_path)
    assert path.stat().st_size == track.file_size
    assert len(emulator.media_requests) == 2
    assert leftovers(tmp_path) == [path.name]
