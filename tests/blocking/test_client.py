"""The blocking `Client` against the emulator: from plain functions, from threads, from
inside a running event loop, and leaving a batch early or by Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from pixverse_audio import (
    Client,
    ConfigurationError,
    MusicRequest,
    NotFoundError,
    PollPolicy,
    SyncBatch,
    Track,
    ValidationError,
)
from pixverse_audio.emulator import Emulator, Timing

A1 = "account1@emulator.test"
BACKENDS = ["asyncio", "trio"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The blocking client's own event loop: asyncio and trio."""
    return str(request.param)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(accounts=2, max_jobs=3, music_timing=Timing.fixed(0.2))


def ctrl_c_after(seconds: float) -> threading.Timer:
    """A timer that sends SIGINT to the main thread, as Ctrl-C in a terminal does."""
    main = threading.main_thread().ident
    assert main is not None
    return threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))


@pytest.fixture
def client(emulator: Emulator, backend: str) -> Iterator[Client]:
    with emulator.blocking_client(backend=backend) as client:
        yield client


def test_generate_download_stream_and_list_from_a_plain_function(
    client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    """No event loop in the test: every call blocks and returns the async client's result."""
    track = client.music.generate("a plain song", email=A1)
    assert isinstance(track, Track)
    assert track.completed
    path = client.download(track, tmp_path)
    with client.stream_audio(track) as audio:
        streamed = b"".join(audio)
    assert path.read_bytes() == streamed
    assert audio.total == len(streamed) == audio.received
    listed = list(client.music.list(email=A1))
    assert [item.audio_id for item in listed] == [track.audio_id]
    assert client.music.get(track.audio_id) == listed[0]
    assert emulator.running() == []


def test_errors_are_the_async_clients(client: Client) -> None:
    """Typed errors come through unchanged; bad input is refused before any request."""
    with pytest.raises(NotFoundError):
        client.music.get(f"user:1-pixverse:{A1}-music:404")
    with pytest.raises(ValidationError, match="prompt"):
        client.music.generate("")
    with pytest.raises(ValidationError):
        client.music.generate_many([MusicRequest(prompt="x")], max_attempts=0)


def test_sixteen_threads_share_one_scheduler(emulator: Emulator, client: Client) -> None:
    """16 threads generating at once on 2 accounts x maxJobs 3: at most 3 jobs per
    account, no 429, one track per call."""
    tracks: list[Track] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            tracks.append(client.music.generate(f"thread {i}"))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({track.audio_id for track in tracks}) == 16
    assert all(track.completed for track in tracks)
    stats = emulator.stats()
    assert stats.busy == 0
    assert stats.jobs == 16
    assert max(stats.peak_running.values()) <= 3


@pytest.mark.anyio
async def test_called_from_inside_a_running_event_loop(emulator: Emulator) -> None:
    """From a worker thread of a running loop, and from the loop's own thread (as a
    notebook cell does): the client runs on its own loop either way."""
    with emulator.blocking_client() as client:
        track = await anyio.to_thread.run_sync(client.music.generate, "from a thread")
        assert track.completed
        again = client.music.get(track.audio_id)  # blocks this loop, as a notebook would
        assert again.audio_id == track.audio_id


def test_leaving_a_batch_early_releases_its_running_jobs(
    client: Client, emulator: Emulator
) -> None:
    """break after the first result: no job of the batch is left on the scheduler, and
    no job is created after the block."""
    requests = [MusicRequest(prompt=f"early {i}") for i in range(30)]
    with client.music.generate_many(requests) as results:
        assert isinstance(results, SyncBatch)
        first = next(iter(results))
    assert first.ok
    assert emulator.running() == []
    created = emulator.stats().jobs
    time.sleep(0.3)
    assert emulator.stats().jobs == created < 30


def run_batch(client: Client, requests: list[MusicRequest], timer: threading.Timer) -> None:
    """Run a batch to its end, starting ``timer`` once it runs."""
    with client.music.generate_many(requests) as results:
        timer.start()
        for _ in results:
            pass


def test_ctrl_c_in_a_batch_releases_its_jobs_before_propagating(backend: str) -> None:
    """KeyboardInterrupt lands in the main thread while it waits for a result."""
    slow = Emulator(accounts=2, max_jobs=3, music_timing=Timing.fixed(30.0))
    requests = [MusicRequest(prompt=f"interrupted {i}") for i in range(12)]
    with slow.blocking_client(backend=backend) as client:
        timer = ctrl_c_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            run_batch(client, requests, timer)
        timer.join()
        assert slow.stats().jobs == 6  # the first six ran; the rest never started
        assert slow.running() == []


def test_ctrl_c_in_generate_releases_its_job(backend: str) -> None:
    """A single blocking call interrupted: its job is released before the interrupt goes on."""
    slow = Emulator(accounts=1, music_timing=Timing.fixed(30.0))
    with slow.blocking_client(backend=backend) as client:
        timer = ctrl_c_after(0.3)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            client.music.generate("never waited for")
        timer.join()
        assert slow.stats().jobs == 1
        assert slow.running() == []


def test_with_options_shares_the_connection_pool(client: Client, emulator: Emulator) -> None:
    """The copy opens no HTTP client of its own; closing it leaves the original open."""
    opened: list[object] = []
    original = httpx.AsyncClient.__init__

    def counting(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.AsyncClient, "__init__", counting)
        copy = client.with_options(timeout=5, poll=PollPolicy.fixed(0.05))
        track = copy.music.generate("through the copy", email=A1)
    assert opened == []
    copy.close()
    assert client.music.get(track.audio_id).completed
    assert copy._async._connection is client._async._connection


def test_a_closed_client_refuses_calls(emulator: Emulator, backend: str) -> None:
    """After close (twice is fine) every call is a ConfigurationError; the loop thread ended."""
    client = emulator.blocking_client(backend=backend)
    loop_thread = client._loop._thread
    client.close()
    client.close()
    assert not loop_thread.is_alive()
    with pytest.raises(ConfigurationError, match="closed"):
        client.music.get(f"user:1-pixverse:{A1}-music:1")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"backend": "curio"}, "backend must be one of"), ({"max_jobs": 0}, "max_jobs")],
)
def test_bad_settings_start_nothing(options: dict[str, Any], message: str) -> None:
    """A bad setting raises ConfigurationError and leaves no loop thread behind."""
    before = threading.active_count()
    with pytest.raises(ConfigurationError, match=message):
        Client("token", base_url="http://127.0.0.1:9", **options)
    assert threading.active_count() == before


def test_a_client_never_closed_does_not_hang_the_interpreter(tmp_path: Path) -> None:
    """A script that makes a call and exits without closing ends at once."""
    script = tmp_path / "forgot_to_close.py"
    script.write_text(
        "from pixverse_audio.emulator import Emulator\n"
        "client = Emulator().blocking_client()\n"
        "print(client.scheduler.available().accounts[0].max_jobs)\n",
        encoding="utf-8",
    )
    done = subprocess.run(  # noqa: S603 - this interpreter on a file of the test's
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()


def test_close_while_another_thread_generates_releases_its_job(backend: str) -> None:
    """close() from one thread: the other thread's call ends with ConfigurationError, and its
    job is released (the connections close after every call has cleaned up)."""
    slow = Emulator(accounts=1, music_timing=Timing.fixed(30.0))
    client = slow.blocking_client(backend=backend)
    raised: list[BaseException] = []

    def generate() -> None:
        try:
            client.music.generate("closed under it")
        except BaseException as exc:  # collected for the assertion
            raised.append(exc)

    worker = threading.Thread(target=generate)
    worker.start()
    deadline = time.monotonic() + 10
    while not slow.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close()
    worker.join(10)
    assert [type(exc) for exc in raised] == [ConfigurationError]
    assert "closed" in str(raised[0])
    assert slow.stats().jobs == 1
    assert slow.running() == []


def test_ctrl_c_while_a_stream_opens_leaves_nothing_running(backend: str) -> None:
    """Interrupted before the media host answers: the opening task is cancelled, not left
    holding the response; the client still works."""
    emulator = Emulator(accounts=1, music_timing=Timing.fixed(0.1))
    with emulator.blocking_client(backend=backend) as client:
        track = client.music.generate("slow media")
        emulator.faults.slow("media", 1.0)
        timer = ctrl_c_after(0.3)
        timer.start()
        with pytest.raises(KeyboardInterrupt), client.stream_audio(track):
            pass
        timer.join()
        emulator.faults.clear()
        with client.stream_audio(track) as audio:
            assert sum(len(chunk) for chunk in audio) == track.file_size


def test_closing_while_a_batch_opens_is_a_configuration_error(backend: str) -> None:
    """close() from another thread while generate_many is entered: a ConfigurationError,
    never concurrent.futures.CancelledError."""
    slow = Emulator(accounts=1, music_timing=Timing.fixed(30.0))
    client = slow.blocking_client(backend=backend)
    slow.faults.slow("scheduler.available", 1.0)  # the accounts' slots load slowly
    threading.Timer(0.2, client.close).start()
    with pytest.raises(ConfigurationError, match="closed"):
        run_batch(client, [MusicRequest(prompt="x")], threading.Timer(0, lambda: None))
    assert slow.running() == []


def test_an_escaping_base_exception_in_a_callback_reaches_the_caller(
    emulator: Emulator, backend: str
) -> None:
    """SystemExit raised in on_event comes out of the call; the loop survives it."""

    exits = [SystemExit(3)]

    def leave(event: Any) -> None:
        if event.kind == "submitted" and exits:
            raise exits.pop()

    with emulator.blocking_client(backend=backend, on_event=leave) as client:
        with pytest.raises(SystemExit):
            client.music.generate("callback exits")
        assert client.music.generate("then another", email=A1).completed


def test_a_batch_entered_twice_is_a_configuration_error(client: Client) -> None:
    """As the async Batch says."""
    batch = client.music.generate_many([MusicRequest(prompt="once")])
    with batch as results:
        assert [r.ok for r in results] == [True]
    with pytest.raises(ConfigurationError, match="only once"), batch:
        pass
