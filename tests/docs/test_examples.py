"""Every program in docs/examples/ runs against the emulator and does what its page says."""

from __future__ import annotations

import io
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mutagen.mp3
import pytest

import pixverse_audio
import pixverse_audio._scheduler
from pixverse_audio import AsyncClient, Client, SpeechClip, Track
from pixverse_audio.emulator import Emulator, ManualClock
from pixverse_audio.emulator._catalogue import VOICES

from ._support import EXAMPLES, FAST, assert_mp3, example_files, load_example, quick_emulator

pytest_plugins = ["pytester"]

# Each example and the tests of this module that run it; a new file fails
# test_every_example_is_run until it is added here (and tested below).
COVERED = {
    "blocking_celery",
    "blocking_flask",
    "blocking_quickstart",
    "blocking_script",
    "bulk_generation",
    "concurrency",
    "deadlines",
    "download_to_disk",
    "durable_batch",
    "emulator_offline",
    "errors",
    "first_track",
    "minimax_list",
    "object_storage",
    "quickstart",
    "test_my_service",
    "testing_conftest",
    "trio_nursery",
}


def test_every_example_is_run() -> None:
    """Each file in docs/examples/ is listed in COVERED, so a test below runs it."""
    assert {path.stem for path in example_files()} == COVERED


def mp3s(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.mp3"))


# ------------------------------------------------------------------ as programs


@pytest.mark.parametrize("name", sorted(COVERED - {"test_my_service", "testing_conftest"}))
def test_runs_as_a_program(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python docs/examples/<name>.py`` runs to the end, its AsyncClient() on an emulator."""
    emulator = quick_emulator(accounts=3, seed=1)
    real = pixverse_audio.AsyncClient

    def client_from_env(token: str | None = None, **kwargs: Any) -> AsyncClient:
        if "base_url" in kwargs:  # the example talks to a server it started itself
            return real(token, **kwargs)
        assert token is None  # the examples read $USEAPI_TOKEN
        kwargs.pop("max_jobs", None)  # accounts of the example's own
        return emulator.client(poll=FAST, **kwargs)

    def blocking_from_env(token: str | None = None, **kwargs: Any) -> Client:
        assert token is None
        return emulator.blocking_client(poll=FAST, **kwargs)

    monkeypatch.setattr(pixverse_audio, "AsyncClient", client_from_env)
    monkeypatch.setattr(pixverse_audio, "Client", blocking_from_env)
    monkeypatch.setenv("USEAPI_TOKEN", "not-used-by-the-emulator")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert capsys.readouterr().out
    if name != "emulator_offline":
        assert emulator.stats().requests  # it did talk to the (patched) client


# ------------------------------------------------------------------ one by one


def fast_client(emulator: Emulator, **kwargs: Any) -> AsyncClient:
    return emulator.client(poll=FAST, **kwargs)


@pytest.mark.anyio
async def test_quickstart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's program: one track saved to the current directory, then a batch of 10."""
    quickstart = load_example("quickstart")
    emulator = quick_emulator(accounts=3)
    monkeypatch.chdir(tmp_path)
    async with fast_client(emulator) as client:
        await quickstart.main(client)
    lines = capsys.readouterr().out.splitlines()
    (saved,) = mp3s(tmp_path)
    assert_mp3(saved)
    assert lines[0].split() == [
        f"{emulator.media_url}/pixverse/audio/music/{saved.stem.rsplit('_', 1)[-1]}.mp3",
        saved.name,
    ]
    assert sorted(int(line.split()[0]) for line in lines[1:]) == list(range(10))
    assert all(line.split()[1].startswith(emulator.media_url) for line in lines[1:])
    assert sum(emulator.stats().creates.values()) == 11


@pytest.mark.anyio
async def test_first_track(tmp_path: Path) -> None:
    """The getting-started program saves one real MP3 as long as the track."""
    first_track = load_example("first_track")
    emulator = quick_emulator()
    async with fast_client(emulator) as client:
        path = await first_track.main(client, tmp_path)
    (job,) = emulator.jobs.values()
    assert mp3s(tmp_path) == [path]
    assert path.stat().st_size == job.file_size
    assert_mp3(path, job.duration)


@pytest.mark.anyio
async def test_bulk_generation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every prompt ends as a saved MP3 although some jobs FAILED and were submitted again."""
    bulk = load_example("bulk_generation")
    emulator = quick_emulator(accounts=2, max_jobs=2, failure_rate=0.4, seed=2)
    async with fast_client(emulator) as client:
        saved = await bulk.main(client, tmp_path / "out")
    jobs = list(emulator.jobs.values())
    failed = sum(job.fails for job in jobs)
    assert len(saved) == len(bulk.PROMPTS) == 4
    assert sorted(saved) == mp3s(tmp_path / "out")
    for path in saved:
        assert_mp3(path)
    assert failed >= 1
    assert len(jobs) == len(saved) + failed  # each FAILED job was retried once more
    out = capsys.readouterr().out
    assert "4 saved" in out
    assert f"'retrying': {failed}" in out


@pytest.mark.anyio
async def test_durable_batch_pays_for_each_track_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three runs over one journal: the budget stops the first at three tracks, the second
    is left after five results, the third finishes; eight jobs in all, eight whole files."""
    durable = load_example("durable_batch")
    emulator = quick_emulator(accounts=3)
    out = tmp_path / "jingles"
    async with fast_client(emulator) as client:
        first, second, third = await durable.main(client, out)
    assert first == {"generated": 3, "over budget": 5}
    assert second.total() == 5
    assert second["read back"] >= 3  # the first run's tracks, with no request to the API
    assert third["read back"] + third["generated"] == 8
    assert third["read back"] >= 5
    jobs = list(emulator.jobs.values())
    assert len(jobs) == 8  # each track paid for once
    assert emulator.running() == []
    saved = mp3s(out)
    assert [path.name for path in saved] == [f"jingle-{n:03d}.mp3" for n in range(8)]
    sizes = sorted(job.file_size for job in jobs)
    assert sorted(path.stat().st_size for path in saved) == sizes
    out_text = capsys.readouterr().out
    assert "spent 120 credits; budget stopped it: True" in out_text
    assert "spent 320 credits; budget stopped it: False" in out_text


@pytest.mark.anyio
async def test_concurrency_narrows_each_account_to_two() -> None:
    """max_jobs=2 on the requests keeps each account at two jobs although it allows four."""
    concurrency = load_example("concurrency")
    emulator = quick_emulator(accounts=2, max_jobs=4)
    async with fast_client(emulator) as client:
        peak = await concurrency.main(client, jobs=8)
    stats = emulator.stats()
    assert peak == dict.fromkeys(emulator.accounts, 2)
    assert stats.peak_running == dict.fromkeys(emulator.accounts, 2)
    assert sum(stats.creates.values()) == 8
    assert stats.busy == 0


@pytest.mark.anyio
async def test_deadlines_release_jobs_that_never_finish() -> None:
    """On a stopped clock the wait times out and the batch is cancelled; nothing stays running."""
    deadlines = load_example("deadlines")
    emulator = quick_emulator(accounts=2, clock=ManualClock())  # jobs stay QUEUED
    async with fast_client(emulator) as client:
        outcome = await deadlines.main(client, timeout=0.1, budget=0.2)
        assert await client.scheduler.list() == []
    assert outcome == {"timed_out": 1, "finished": 0, "cancelled": 6}
    assert len(emulator.jobs) == 7
    assert emulator.running() == []
    assert emulator.stats().requests["scheduler.cancel"] == 7


@pytest.mark.anyio
async def test_deadlines_with_time_to_spare() -> None:
    """With realistic deadlines on a fast emulator, the job and the batch finish."""
    deadlines = load_example("deadlines")
    emulator = quick_emulator(accounts=2)
    async with fast_client(emulator) as client:
        outcome = await deadlines.main(client)
    assert outcome == {"timed_out": 0, "finished": 6, "cancelled": 0}
    assert "scheduler.cancel" not in emulator.stats().requests


Setup = Callable[[Emulator], None]
EMAIL = "account1@emulator.test"
MAX_BUSY = 4  # the scheduler's 429s in a row before BusyError, for these tests (100 really)
STARTED = "started"  # create returned the job


def busy(emulator: Emulator) -> None:
    emulator.faults.fail("music.create", 429, times=MAX_BUSY)


def busy_spell(emulator: Emulator) -> None:
    emulator.faults.fail("music.create", 429, times=MAX_BUSY - 1)


def no_credits(emulator: Emulator) -> None:
    emulator.accounts[EMAIL].credits = 0


def no_subscription(emulator: Emulator) -> None:
    emulator.state.subscription_active = False


def moderated(emulator: Emulator) -> None:
    emulator.faults.fail("music.create", 422)


def on_hold(emulator: Emulator) -> None:
    emulator.accounts[EMAIL].pending_error = True


def lost_answer(emulator: Emulator) -> None:
    emulator.faults.drop("music.create", after=True)  # the job exists, its answer is lost


def lost_without_job(emulator: Emulator) -> None:
    emulator.faults.drop("music.create")  # the connection drops before any job is made


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("setup", "expected", "jobs", "creates"),
    [
        (busy, "busy: the account stayed full (", 0, MAX_BUSY),
        (busy_spell, STARTED, 1, MAX_BUSY),
        (no_credits, "no credits: ", 0, 1),
        (no_subscription, "no subscription: ", 0, 1),
        (moderated, "refused by moderation: ", 0, 1),
        (on_hold, "account on hold: ", 0, 1),
        (lost_answer, STARTED, 1, 1),
        (lost_without_job, "unknown outcome, reconcile before retrying: ", 0, 1),
    ],
)
async def test_errors_explain_each_refusal(
    monkeypatch: pytest.MonkeyPatch, setup: Setup, expected: str, jobs: int, creates: int
) -> None:
    """Each documented failure lands in its own except branch, with the job count it implies.

    429s are absorbed (backed off, sent again) until MAX_BUSY in a row; a lost
    answer whose job is in the account's list is adopted, one without a job
    stays unknown. Neither lost create is sent twice.
    """
    monkeypatch.setattr(pixverse_audio._scheduler, "MAX_BUSY", MAX_BUSY)
    errors = load_example("errors")
    emulator = quick_emulator()
    setup(emulator)
    async with fast_client(emulator) as client:
        result = await errors.create(client, "a sea shanty", email=EMAIL)
    if expected == STARTED:
        assert isinstance(result, pixverse_audio.Job)
        assert list(emulator.jobs) == [result.audio_id]
    else:
        assert isinstance(result, str)
        assert result.startswith(expected)
    assert len(emulator.jobs) == jobs
    assert emulator.stats().requests["music.create"] == creates


@pytest.mark.anyio
async def test_errors_main_starts_both_tracks() -> None:
    """On a healthy account the errors example just starts its two tracks."""
    errors = load_example("errors")
    emulator = quick_emulator()
    async with fast_client(emulator) as client:
        outcomes = await errors.main(client)
    assert outcomes == [f"started {job_id}" for job_id in emulator.jobs]


@pytest.mark.anyio
async def test_download_to_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A safe name in the directory, a chosen name, an overwrite; no partial files left."""
    download = load_example("download_to_disk")
    emulator = quick_emulator()
    async with fast_client(emulator) as client:
        path, named, again = await download.main(client, tmp_path)
    (job,) = emulator.jobs.values()
    assert path.parent == tmp_path
    assert named == again == tmp_path / "bossa.mp3"
    names = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 - a test's temp dir
    assert names == sorted([path.name, "bossa.mp3"])
    for file in (path, named):
        assert file.stat().st_size == job.file_size
        assert_mp3(file, job.duration)
    assert f"{job.file_size} of {job.file_size} bytes" in capsys.readouterr().out


@pytest.mark.anyio
async def test_object_storage_gets_the_whole_mp3() -> None:
    """The bytes streamed into the fake bucket are the finished MP3, byte for byte in size."""
    storage = load_example("object_storage")
    emulator = quick_emulator()
    async with fast_client(emulator) as client:
        bucket = await storage.main(client)
    (job,) = emulator.jobs.values()
    ((key, data),) = bucket.objects.items()
    assert key == f"tracks/{job.audio_id.rsplit(':', 1)[-1]}.mp3"
    assert len(data) == job.file_size
    assert abs(mutagen.mp3.MP3(io.BytesIO(data)).info.length - job.duration) < 0.5
    assert all("authorization" not in r for r in emulator.media_requests)


@pytest.mark.anyio
async def test_object_storage_in_several_parts() -> None:
    """Parts are cut at PART_SIZE and joined back into the same bytes."""
    storage = load_example("object_storage")

    class SmallParts(storage.FakeBucket):  # type: ignore[name-defined,misc]
        PART_SIZE = 4096

        async def upload(self, key: str, parts: list[bytes]) -> str:
            self.sizes = [len(part) for part in parts]
            return str(await super().upload(key, parts))

    emulator = quick_emulator()
    bucket = SmallParts()
    async with fast_client(emulator) as client:
        await storage.main(client, bucket)
    (job,) = emulator.jobs.values()
    assert len(bucket.sizes) == -(-job.file_size // 4096) or bucket.sizes[-1] == 0
    assert all(size >= 4096 for size in bucket.sizes[:-1])
    assert sum(bucket.sizes) == job.file_size


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_nursery(anyio_backend: str) -> None:
    """The trio example finishes two tracks and a speech clip inside its nursery."""
    trio_example = load_example("trio_nursery")
    emulator = quick_emulator(accounts=2)
    async with fast_client(emulator) as client:
        done = await trio_example.main(client)
    assert sorted(type(item).__name__ for item in done) == ["SpeechClip", "Track", "Track"]
    assert all(isinstance(item, (Track, SpeechClip)) and item.completed for item in done)
    assert {item.audio_id for item in done} == set(emulator.jobs)


@pytest.mark.anyio
@pytest.mark.parametrize("account", [None, "minimax-account"])
async def test_minimax_list(account: str | None) -> None:
    """Every legacy song but the moderated ones, each once, across several cursor pages."""
    minimax = load_example("minimax_list")
    emulator = quick_emulator(minimax_songs=45)
    async with fast_client(emulator) as client:
        songs = await minimax.main(client, account)
    expected = [s["musicId"] for s in emulator.state.minimax if s["status"] != 4]
    assert [song.music_id for song in songs] == expected
    assert len(expected) == 39
    assert emulator.stats().requests["minimax.music.list"] >= 3


@pytest.mark.anyio
async def test_emulator_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """The emulator example: 503s retried away, a lost answer adopted, a lost request reported.

    No create is sent twice: three creates, two jobs (the first, and the one
    whose answer was lost, which the client adopted).
    """
    example = load_example("emulator_offline")
    stats = await example.main()
    assert stats.faults == {"503": 2, "drop_after": 1, "drop_before": 1}
    assert sum(stats.creates.values()) == 2  # the lost answer's job exists, once
    assert stats.requests["music.create"] == 3
    out = capsys.readouterr().out
    assert "adopted, never resent: user:" in out
    assert "never resent: a lost request" in out


@pytest.mark.anyio
async def test_emulator_over_http() -> None:
    """serve_emulator gives a real HTTP server; the track's MP3 is on localhost."""
    example = load_example("emulator_offline")
    with anyio.fail_after(30):
        track = await example.over_http()
    assert track.completed
    assert track.url is not None
    assert track.url.startswith("http://localhost:")


def test_my_service_runs_under_pytest(pytester: pytest.Pytester) -> None:
    """The testing guide's test module passes, on asyncio and on trio, in a fresh pytest."""
    pytester.makeconftest((EXAMPLES / "testing_conftest.py").read_text())
    pytester.makepyfile(test_my_service=(EXAMPLES / "test_my_service.py").read_text())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=6)


def test_readme_program_runs_unchanged_against_an_emulator_process(tmp_path: Path) -> None:
    """The README's program, with $USEAPI_BASE_URL set to `pixverse-audio emulator`, runs as is.

    Both are separate processes; the program's AsyncClient() gets no argument.
    """
    import os
    import re as regex
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("USEAPI_")}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            *(sys.executable, "-m", "pixverse_audio.emulator", "--port", "0", "--quiet"),
            *("--speed", "60", "--job-seconds", "30"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        match = regex.search(r"on (http://127\.0\.0\.1:\d+) \(token '([^']+)'", banner)
        assert match, banner
        program = subprocess.run(  # noqa: S603 - our own interpreter and example
            [sys.executable, str(EXAMPLES / "quickstart.py")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
            env={**env, "USEAPI_BASE_URL": match[1], "USEAPI_TOKEN": match[2]},
        )
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert program.returncode == 0, program.stderr
    lines = program.stdout.splitlines()
    assert len(lines) == 11
    (saved,) = mp3s(tmp_path)
    assert_mp3(saved)
    assert lines[0].endswith(saved.name)
    assert sorted(int(line.split()[0]) for line in lines[1:]) == list(range(10))


# ------------------------------------------------------------ blocking client


def blocking_example(name: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import ``docs/examples/<name>.py`` afresh, its ``Client()`` on ``emulator``."""
    monkeypatch.setattr(
        pixverse_audio, "Client", lambda **kwargs: emulator.blocking_client(poll=FAST, **kwargs)
    )
    monkeypatch.delitem(sys.modules, f"_docs_example_{name}", raising=False)
    return load_example(name)


def test_blocking_script_cells(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The notebook cells: one track saved, three batch results, every job final."""
    emulator = quick_emulator(accounts=2)
    monkeypatch.chdir(tmp_path)
    example = blocking_example("blocking_script", emulator, monkeypatch)
    (saved,) = mp3s(tmp_path)
    assert_mp3(saved)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"saved {saved.name}"
    assert sorted(int(line.split()[0]) for line in lines[2:5]) == [0, 1, 2]
    assert lines[5] == "True"  # the with_options copy read the same track
    assert sum(emulator.stats().creates.values()) == 4
    assert emulator.running() == []
    with pytest.raises(pixverse_audio.ConfigurationError, match="closed"):
        example.client.music.get(example.track.audio_id)


def test_blocking_flask_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """The view answers 201 with the track, and 400 for an empty prompt with no job made."""
    emulator = quick_emulator(accounts=2)
    example = blocking_example("blocking_flask", emulator, monkeypatch)
    try:
        with example.app.test_client() as http:
            made = http.post("/jingles", json={"prompt": "a jingle"})
            refused = http.post("/jingles", json={"prompt": ""})
        assert made.status_code == 201
        assert made.json["url"].startswith(emulator.media_url)
        assert refused.status_code == 400
        assert "prompt" in refused.json["error"]
        assert sum(emulator.stats().creates.values()) == 1
    finally:
        example.client.close()


def test_blocking_celery_task(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The task (run eagerly) saves the voice-over, on the worker's one lazy client."""
    emulator = quick_emulator(accounts=1)
    example = blocking_example("blocking_celery", emulator, monkeypatch)
    example.app.conf.task_always_eager = True
    try:
        voice = next(iter(VOICES))
        saved = Path(example.voice_over.delay("Welcome.", voice, str(tmp_path)).get())
        assert saved.parent == tmp_path
        assert_mp3(saved)
        assert example.pixverse() is example.pixverse()
    finally:
        example.pixverse().close()
