"""The emulator over real sockets: serve_emulator, the docs' own requests, callbacks, the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import mutagen.mp3
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from pixverse_audio import AsyncClient, SpeechClip, Track
from pixverse_audio.emulator import DEFAULT_TOKEN, Emulator, Fault, serve_emulator
from pixverse_audio.emulator import _server as emulator_server
from pixverse_audio.emulator.__main__ import main as emulator_main

V2 = "/v2/pixverse"
EMAIL = "account1@emulator.test"
PROMPT = "An upbeat synthwave track with a clear female vocal"
VOICE = "minimax_english_radiant_girl"


def doc_headers(emulator: Emulator) -> dict[str, str]:
    """The headers of the docs' examples."""
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {emulator.token}",
    }


class Receiver:
    """A minimal ASGI app that records the JSON bodies (and headers) POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[bytes, bytes]] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.headers.append(dict(scope["headers"]))
        self.paths.append(scope["path"] + "?" + scope["query_string"].decode())
        self.bodies.append(json.loads(b"".join(chunks)))
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


@contextlib.asynccontextmanager
async def serve_receiver(receiver: Receiver) -> AsyncIterator[str]:
    """Serve ``receiver`` with uvicorn in a worker thread on 127.0.0.1; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(receiver, lifespan="off", log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - set by uvicorn in its thread
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10)
        sock.close()


async def wait_final(client: AsyncClient, audio_id: str, kind: str = "music") -> Any:
    """Poll a job until final (at most 10 s of real time)."""
    api = client.music if kind == "music" else client.speech
    with anyio.fail_after(10):
        while True:
            item = await api.get(audio_id)
            if item.final:
                return item
            await anyio.sleep(0.05)


# ---------------------------------------------------- the docs' requests


@pytest.mark.anyio
async def test_docs_examples_work_over_http() -> None:
    """The docs' request examples (URLs, headers, bodies) succeed against a served emulator."""
    emulator = Emulator.fast()
    async with serve_emulator(emulator) as url, httpx.AsyncClient() as http:
        assert httpx.URL(url).host == "127.0.0.1"
        headers = doc_headers(emulator)
        created = await http.post(
            f"{url}/v2/pixverse/music/create",
            headers=headers,
            content=json.dumps({"prompt": PROMPT}),
        )
        assert created.status_code == 200, created.text
        audio_id = created.json()["audio_id"]
        assert audio_id.startswith(f"user:1000-pixverse:{EMAIL}-music:")

        one = await http.get(f"{url}/v2/pixverse/music/{audio_id}", headers=headers)
        assert one.status_code == 200
        assert one.request.url.raw_path.decode() == f"/v2/pixverse/music/{audio_id}"  # raw : @
        assert one.json()["audio_id"] == audio_id

        speech = await http.post(
            f"{url}/v2/pixverse/speech/create",
            headers=headers,
            json={"text": "Use API dot net.", "voice_id": VOICE},
        )
        assert speech.status_code == 200

        music_list = await http.get(f"{url}/v2/pixverse/music/?email={EMAIL}", headers=headers)
        assert music_list.status_code == 200
        assert {i["audio_id"] for i in music_list.json()["data"]} == {
            audio_id,
            speech.json()["audio_id"],
        }
        speech_list = await http.get(f"{url}/v2/pixverse/speech/?email={EMAIL}", headers=headers)
        assert speech_list.status_code == 200
        assert [i["create_mode"] for i in speech_list.json()["data"]] == ["voice"]

        minimax = await http.get(
            f"{url}/v1/minimax/music/?account=minimax-account", headers=headers
        )
        assert minimax.status_code == 200
        assert isinstance(minimax.json(), list)
        assert len(minimax.json()) == 20

        denied = await http.post(f"{url}/v2/pixverse/music/create", json={"prompt": PROMPT})
        assert denied.status_code == 401
        assert denied.json() == {"error": "Unauthorized"}


@pytest.mark.anyio
async def test_client_end_to_end_over_the_socket() -> None:
    """The client creates, polls and the track downloads without a token from the media host."""
    emulator = Emulator.fast(seed=5)
    async with serve_emulator(emulator) as url:
        async with AsyncClient(emulator.token, base_url=url) as client:
            job = await client.music.create(PROMPT, reply_ref="e2e")
            track = await wait_final(client, job.audio_id)
            clip_job = await client.speech.create("Use API dot net.", VOICE)
            clip = await wait_final(client, clip_job.audio_id, "speech")
            listed = [t.audio_id async for t in client.music.list()]
        assert isinstance(track, Track)
        assert isinstance(clip, SpeechClip)
        assert listed == [job.audio_id]
        api, media = httpx.URL(url), httpx.URL(track.url)
        assert api.host == "127.0.0.1"
        assert media.host == "localhost"
        assert media.port == api.port
        emulator.media_requests.clear()
        async with httpx.AsyncClient() as plain:
            responses = [await plain.get(item.url) for item in (track, clip)]
    for item, response in zip((track, clip), responses, strict=True):
        assert item.completed
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/mpeg"
        info = mutagen.mp3.MP3(io.BytesIO(response.content)).info
        assert abs(info.length - item.duration) <= 0.05 * item.duration
        assert item.file_size == len(response.content)
    assert len(emulator.media_requests) == 2
    assert all("authorization" not in h for h in emulator.media_requests)
    assert emulator.state.media_url == "http://media.emulator.test"  # restored afterwards


@pytest.mark.anyio
async def test_dropped_connection_over_the_socket() -> None:
    """A dropped answer on a real server reaches the client as a broken connection."""
    emulator = Emulator.fast()
    job = emulator.state.create("music", {"prompt": PROMPT})
    emulator.faults.drop("music.get")
    async with serve_emulator(emulator) as url, httpx.AsyncClient() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"{url}{V2}/music/{job.audio_id}", headers=doc_headers(emulator))
        again = await http.get(f"{url}{V2}/music/{job.audio_id}", headers=doc_headers(emulator))
    assert again.status_code == 200


@pytest.mark.anyio
async def test_callbacks_are_posted() -> None:
    """A served emulator POSTs each status change to replyUrl; the last is GET + replyRef."""
    emulator = Emulator.fast(seed=2)
    receiver = Receiver()
    async with serve_receiver(receiver) as hook, serve_emulator(emulator) as url:
        async with AsyncClient(emulator.token, base_url=url) as client:
            job = await client.music.create(
                PROMPT, reply_url=f"{hook}/hook?order=42", reply_ref="ref-42"
            )
            with anyio.fail_after(10):
                while not any(b.get("audio_status_final") for b in receiver.bodies):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
                while any(r.delivered is None for r in emulator.callbacks):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            track = await client.music.get(job.audio_id)
        async with httpx.AsyncClient() as http:
            final_get = (
                await http.get(f"{url}{V2}/music/{job.audio_id}", headers=doc_headers(emulator))
            ).json()
    bodies = receiver.bodies
    assert bodies
    assert all(b["audio_id"] == job.audio_id for b in bodies)
    assert all(b["replyRef"] == "ref-42" for b in bodies)
    assert bodies[-1]["audio_status_final"] is True
    assert bodies[-1] == {**final_get, "replyRef": "ref-42"}
    assert track.status == bodies[-1]["audio_status"]
    assert set(receiver.paths) == {"/hook?order=42"}
    for headers in receiver.headers:
        assert b"authorization" not in headers
        assert emulator.token.encode() not in b"".join(headers.values())
    assert all(r.delivered is True for r in emulator.callbacks)
    assert len(emulator.callbacks) == len(bodies)


# --------------------------------------------------------------------- CLI


def test_cli_help() -> None:
    """python -m pixverse_audio.emulator --help exits 0 and describes the options."""
    result = subprocess.run(
        [sys.executable, "-m", "pixverse_audio.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
    assert "--speed" in result.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves() -> None:
    """python -m pixverse_audio.emulator --port P --speed 600 serves authenticated requests."""
    port = _free_port()
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pixverse_audio.emulator", "--port", str(port), "--speed", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "the emulator printed nothing"
            line = proc.stdout.readline()
            assert f"http://127.0.0.1:{port}" in line
            assert "speed 600" in line
            deadline = time.monotonic() + 15
            with httpx.Client() as http:
                while True:
                    try:
                        response = http.get(
                            f"http://127.0.0.1:{port}{V2}/accounts/",
                            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
                        )
                        break
                    except httpx.ConnectError:
                        assert time.monotonic() < deadline, "the emulator never listened"
                        time.sleep(0.05)
                denied = http.get(f"http://127.0.0.1:{port}{V2}/accounts/")
        finally:
            proc.terminate()
            proc.wait(15)
    assert response.status_code == 200
    assert sorted(response.json()) == [
        "account1@emulator.test",
        "account2@emulator.test",
        "account3@emulator.test",
    ]
    assert denied.status_code == 401


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("bogus:drop_after", "unknown route 'bogus'"),
        ("music.create:explode", "unknown fault 'explode'"),
        ("music.create:drop_after:1.5", "not a number within 0..1"),
        ("music.create:drop_after:x", "not a number within 0..1"),
        ("music.create:delay=-1", "unknown fault 'delay=-1'"),
        ("music.create:399", "unknown fault '399'"),
        ("music.create:drop_after=3", "unknown fault 'drop_after=3'"),
    ],
)
def test_cli_refuses_a_bad_fault_before_serving(
    spec: str, why: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --fault that does not parse is a usage error (exit 2) naming what is wrong."""
    monkeypatch.setattr(emulator_server, "bind", _never)
    assert emulator_main(["--port", "0", "--fault", spec]) == 2
    err = capsys.readouterr().err
    assert "argument --fault" in err
    assert why in err


def _never(*args: object) -> object:
    raise AssertionError("the port was bound")


def test_cli_faults_reach_the_served_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each --fault is added to the emulator the command serves, with its share."""
    served: list[Emulator] = []

    def capture(emulator: Emulator, sock: socket.socket, **kwargs: Any) -> None:
        sock.close()
        served.append(emulator)

    monkeypatch.setattr(emulator_server, "run_emulator", capture)
    argv = ["--port", "0", "--quiet", "--fault", "music.create:drop_after:0.25"]
    argv += ["--fault", "media:503", "--fault", "*:delay=0.5:0"]
    assert emulator_main(argv) == 0
    (emulator,) = served
    faults = emulator.faults
    assert faults.next_for("media") == Fault("status", status=503)  # share 1: every time
    assert faults.next_for("music.list") is None  # share 0 on every route
    dropped = sum(faults.next_for("music.create") is not None for _ in range(400))
    assert 60 <= dropped <= 140  # about a quarter
    assert faults.next_for("music.create") in (None, Fault("drop_after"))
