"""The pixverse-audio command against a served emulator: output, files, exit codes, Ctrl-C."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mutagen.mp3
import pytest

import pixverse_audio._cli_base as cli_base
from pixverse_audio import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    BusyError,
    ConfigurationError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    NotFoundError,
    OutcomeUnknownError,
    PixverseAudioError,
    PollPolicy,
    RetryPolicy,
    ServerError,
    Track,
    ValidationError,
)
from pixverse_audio._cli import main
from pixverse_audio._cli_output import exit_code
from pixverse_audio.emulator import Emulator, Timing, serve_emulator

EMAIL = "account1@emulator.test"
VOICE = "minimax_english_radiant_girl"
FAST_POLL = PollPolicy(first=0.05, cap=0.2, not_found_grace=2.0)
FAST_RETRY = RetryPolicy(
    backoff_base=0.01, backoff_cap=0.02, retry_after_cap=0.01, busy_delay=(0.0, 0.01)
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@contextlib.contextmanager
def served(emulator: Emulator) -> Iterator[str]:
    """Serve ``emulator`` over HTTP from a background thread with its own event loop."""
    ready = threading.Event()
    stop = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with serve_emulator(emulator) as url:
            box["url"] = url
            ready.set()
            await anyio.to_thread.run_sync(stop.wait)

    def run() -> None:
        try:
            anyio.run(serve)
        except BaseException as exc:  # reported in the test's thread
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "the emulator did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield box["url"]
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def api(url: str, emulator: Emulator, *args: str) -> list[str]:
    """The argv of a command against ``url`` with the emulator's token."""
    return ["--base-url", url, "--token", emulator.token, *args]


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that report an error."""
    return [line for line in stderr.splitlines() if line.startswith("pixverse-audio:")]


def assert_one_error_line(stderr: str, name: str) -> None:
    """stderr holds exactly one error line, naming ``name``, and no traceback."""
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert name in lines[0]


def mp3s(directory: Path) -> list[Path]:
    """The .mp3 files in ``directory``, sorted."""
    return sorted(directory.glob("*.mp3"))


def partials(directory: Path) -> list[str]:
    """Names of temporary download files left in ``directory``."""
    if not directory.exists():
        return []
    return [p.name for p in directory.iterdir() if p.name.endswith(".part")]


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finished_job(emulator: Emulator, prompt: str = "finished", **fields: Any) -> str:
    """Create a job directly in the emulator's state; return its id."""
    return emulator.state.create("music", {"prompt": prompt, **fields}).audio_id


def subprocess_env() -> dict[str, str]:
    """The environment for a CLI subprocess: no token from the outside."""
    env = {k: v for k, v in os.environ.items() if k != "USEAPI_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(autouse=True)
def _no_token_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)


@pytest.fixture(name="fast_client")
def _fast_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's clients poll every 50-200 ms and retry without waiting (speed only)."""
    monkeypatch.setattr(
        cli_base,
        "AsyncClient",
        functools.partial(AsyncClient, poll=FAST_POLL, retry=FAST_RETRY),
    )


@pytest.fixture(name="cli_backend", params=["asyncio", "trio"])
def _cli_backend(request: pytest.FixtureRequest) -> str:
    """The CLI's hidden --backend option: both event loops."""
    return str(request.param)


# ------------------------------------------------------------ music


def test_music_create_json(capsys: pytest.CaptureFixture[str]) -> None:
    """music create --json prints one JSON job with the new audio_id; the job exists."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "rainy lofi", "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job = json.loads(captured.out)
    assert job["audio_id"] in emulator.jobs
    assert job["audio_id"].startswith(f"user:1000-pixverse:{EMAIL}-music:")
    assert job["status"] == 5
    assert emulator.jobs[job["audio_id"]].prompt == "rainy lofi"


def test_music_create_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json, music create prints a table naming the audio_id."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "a table"))
    captured = capsys.readouterr()
    assert code == 0
    (audio_id,) = emulator.jobs
    assert audio_id in captured.out


@pytest.mark.usefixtures("fast_client")
def test_music_create_wait_download(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cli_backend: str
) -> None:
    """music create --wait --download DIR saves a decodable MP3 in DIR and prints the track."""
    emulator = Emulator.fast()
    out = tmp_path / "songs"
    with served(emulator) as url:
        code = main(
            [
                "--backend",
                cli_backend,
                *api(url, emulator, "music", "create", "p", "--wait", "--download", str(out)),
                "--json",
            ]
        )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    track = json.loads(captured.out)
    assert track["final"] is True
    assert track["status"] == 1
    (saved,) = mp3s(out)
    assert saved.name == track["name"]
    assert saved.stat().st_size == track["file_size"]
    assert mutagen.mp3.MP3(saved).info.length > 0
    assert f"saved {saved}" in captured.err.replace("\n", "")
    assert partials(out) == []


@pytest.mark.usefixtures("fast_client")
def test_saved_path_is_printed_on_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The "saved PATH" note keeps a long path on one line (not wrapped at 80 columns)."""
    emulator = Emulator.fast()
    out = tmp_path / ("a-rather-long-directory-name-" * 3)
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "p", "--download", str(out)))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (saved,) = mp3s(out)
    assert f"saved {saved}" in captured.err.splitlines()


def test_music_get_json(capsys: pytest.CaptureFixture[str]) -> None:
    """music get ID --json prints that job as JSON."""
    emulator = Emulator.fast(music_timing=Timing.fixed(0))
    audio_id = finished_job(emulator, "got it")
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "get", audio_id, "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    track = json.loads(captured.out)
    assert track["audio_id"] == audio_id
    assert track["prompt"] == "got it"
    assert track["final"] is True
    assert track["url"].startswith("http://localhost:")


def test_music_list_json_for_one_account(capsys: pytest.CaptureFixture[str]) -> None:
    """music list --json --email E lists exactly E's jobs, newest first."""
    emulator = Emulator.fast(accounts=2)
    mine = [finished_job(emulator, f"mine {i}", email=EMAIL) for i in range(3)]
    finished_job(emulator, "other", email="account2@emulator.test")
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "list", "--json", "--email", EMAIL))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    page = json.loads(captured.out)
    assert [item["audio_id"] for item in page["items"]] == mine[::-1]
    assert page["has_more"] is False


@pytest.mark.usefixtures("fast_client")
def test_music_generate_from_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cli_backend: str
) -> None:
    """music generate --from prompts.txt --out DIR saves one MP3 per prompt and a summary."""
    emulator = Emulator.fast(accounts=2, max_jobs=2)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# my prompts\nfirst song\n\nsecond song\nthird song\n", encoding="utf-8")
    out = tmp_path / "out"
    with served(emulator) as url:
        code = main(
            [
                "--backend",
                cli_backend,
                *api(url, emulator, "music", "generate", "--from", str(prompts)),
                "--out",
                str(out),
            ]
        )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(mp3s(out)) == 3
    assert partials(out) == []
    assert sorted(job.prompt for job in emulator.jobs.values()) == [
        "first song",
        "second song",
        "third song",
    ]
    assert "summary" in captured.out
    assert "3 of 3" in captured.out
    assert emulator.running() == []


@pytest.mark.usefixtures("fast_client")
def test_music_generate_from_jsonl(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """music generate --from prompts.jsonl --json passes each line's fields and prints JSON."""
    emulator = Emulator.fast()
    prompts = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "an instrumental", "instrumental": True},
        {"prompt": "a song with words", "lyrics": "[verse]\nla la la"},
    ]
    prompts.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with served(emulator) as url:
        code = main(
            [
                *api(url, emulator, "music", "generate", "--from", str(prompts)),
                *("--out", str(out), "--json"),
            ]
        )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["requested"] == 2
    assert summary["done"] == 2
    assert summary["failed"] == 0
    assert sorted(Path(f) for f in summary["files"]) == mp3s(out)
    by_prompt = {job.prompt: job.fields for job in emulator.jobs.values()}
    assert by_prompt["an instrumental"]["instrumental"] is True
    assert by_prompt["a song with words"]["lyrics"] == "[verse]\nla la la"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", "# only a comment\n\n"),
        ("bad.jsonl", "not json\n"),
        ("array.jsonl", "[1, 2]\n"),
        ("unknown-field.jsonl", '{"prompt": "x", "tempo": 120}\n'),
    ],
    ids=["no-prompts", "not-json", "not-an-object", "unknown-field"],
)
def test_music_generate_bad_prompt_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: str
) -> None:
    """A prompts file with no prompts or a bad line exits 2 with one error line, no traceback."""
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    argv = ["--token", "t", "--base-url", f"http://127.0.0.1:{free_port()}", "music", "generate"]
    code = main([*argv, "--from", str(source), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert len(error_lines(captured.err)) == 1


# ------------------------------------------------------------ other commands


def test_speech_voices_json(capsys: pytest.CaptureFixture[str]) -> None:
    """speech voices --json prints the voices of the default model's provider."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(api(url, emulator, "speech", "voices", "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    voices = json.loads(captured.out)
    ids = [v["voice_id"] for v in voices]
    assert VOICE in ids
    assert len(ids) == len(set(ids))


def test_speech_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    """speech models --json prints the catalogue, which includes speech-2.8-hd."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(api(url, emulator, "speech", "models", "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    catalogue = json.loads(captured.out)
    models = [m["model"] for g in catalogue["provider_groups"] for m in g["models"]]
    assert "speech-2.8-hd" in models


def test_minimax_list_json_pages_through_everything(capsys: pytest.CaptureFixture[str]) -> None:
    """minimax list --json --limit 4 prints every listed legacy song across pages."""
    emulator = Emulator.fast(minimax_songs=10)
    listed = [s["musicId"] for s in emulator.state.minimax if s["status"] != 4]
    with served(emulator) as url:
        code = main(api(url, emulator, "minimax", "list", "--json", "--limit", "4"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    songs = json.loads(captured.out)
    assert [s["music_id"] for s in songs] == listed
    assert len(listed) > 4


def test_scheduler_list_available_and_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    """scheduler list/available --json show a running job; scheduler cancel ID releases it."""
    emulator = Emulator.fast(music_timing=Timing.fixed(600))
    audio_id = finished_job(emulator, "long")
    with served(emulator) as url:
        assert main(api(url, emulator, "scheduler", "list", "--json")) == 0
        running = json.loads(capsys.readouterr().out)
        assert main(api(url, emulator, "scheduler", "available", "--json")) == 0
        availability = json.loads(capsys.readouterr().out)
        assert main(api(url, emulator, "scheduler", "cancel", audio_id)) == 0
        released = capsys.readouterr().out
        after = list(emulator.running())
        assert main(api(url, emulator, "scheduler", "cancel", audio_id)) == 0
        again = capsys.readouterr().out
    assert [(j["id"], j["type"]) for j in running] == [(audio_id, "music")]
    assert [j["id"] for j in availability["executing"]] == [audio_id]
    (account,) = availability["accounts"]
    assert (account["email"], account["max_jobs"], account["executing"]) == (EMAIL, 4, 1)
    assert account["available"] == 3
    assert released.strip() == "released"
    assert after == []
    assert again.strip() == "not running"


def test_files_upload_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """files upload PATH --json uploads the file and prints its path."""
    emulator = Emulator.fast()
    image = tmp_path / "cover.png"
    image.write_bytes(PNG)
    with served(emulator) as url:
        code = main(api(url, emulator, "files", "upload", str(image), "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    uploaded = json.loads(captured.out)
    assert uploaded["path"].startswith("upload/")
    assert uploaded["path"].endswith(".png")
    assert emulator.state.uploads == {uploaded["path"]: len(PNG)}


def test_accounts_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    """accounts list --json prints each account's email and maxJobs, no session data."""
    emulator = Emulator.fast(accounts=2, max_jobs={EMAIL: 3, "account2@emulator.test": 5})
    with served(emulator) as url:
        code = main(api(url, emulator, "accounts", "list", "--json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    accounts = json.loads(captured.out)
    assert sorted((a["email"], a["max_jobs"]) for a in accounts) == [
        (EMAIL, 3),
        ("account2@emulator.test", 5),
    ]
    assert "jwt" not in captured.out
    assert "secured" not in captured.out


def test_download_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """download ID DIR saves the finished job's MP3 in DIR (created) and prints its path."""
    emulator = Emulator.fast(music_timing=Timing.fixed(0, audio=3))
    audio_id = finished_job(emulator)
    out = tmp_path / "new" / "dir"
    with served(emulator) as url:
        code = main(api(url, emulator, "download", audio_id, str(out)))
        first = capsys.readouterr()
        again = main(api(url, emulator, "download", audio_id, str(out)))
        refused = capsys.readouterr()
    assert code == 0, first.err
    (saved,) = mp3s(out)
    assert first.out.strip() == str(saved)
    assert saved.stat().st_size == emulator.jobs[audio_id].file_size
    assert mutagen.mp3.MP3(saved).info.length > 0
    assert again == 2  # exists, no --overwrite
    assert_one_error_line(refused.err, "ValidationError")
    assert mp3s(out) == [saved]


# ------------------------------------------------------------ exit codes


def test_missing_token_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No --token and no $USEAPI_TOKEN: exit 2, one error line, nothing sent."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(["--base-url", url, "accounts", "list"])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "ConfigurationError")
    assert emulator.stats().requests == {}


def test_bad_token_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    """A token the API refuses: exit 3, one error line that does not echo the token."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(["--base-url", url, "--token", "wrong-token-1234567", "accounts", "list"])
    err = capsys.readouterr().err
    assert code == 3
    assert_one_error_line(err, "AuthenticationError")
    assert "wrong-token-1234567" not in err


def test_out_of_credits_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    """An account without credits: music create exits 4 and no job exists."""
    emulator = Emulator.fast(credits=0)
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "p"))
    assert code == 4
    assert_one_error_line(capsys.readouterr().err, "InsufficientCreditsError")
    assert emulator.jobs == {}


@pytest.mark.usefixtures("fast_client")
def test_busy_exits_5(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating on an account at maxJobs gets 429 on every try: exit 5, no new job.

    The scheduler backs the account off after each 429 and sends the create
    again; BusyError comes after MAX_BUSY 429s in a row (3 here, not 100, with
    10 ms back-offs instead of up to 30 s: speed only).
    """
    monkeypatch.setattr("pixverse_audio._scheduler.MAX_BUSY", 3)
    monkeypatch.setattr("pixverse_audio._cadence.Cadence.backoff", lambda _self, _streak: 0.01)
    emulator = Emulator.fast(max_jobs=1, music_timing=Timing.fixed(600))
    finished_job(emulator, "holds the only slot")
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "p", "--email", EMAIL))
    assert code == 5
    assert_one_error_line(capsys.readouterr().err, "BusyError")
    assert len(emulator.jobs) == 1
    assert emulator.stats().busy == 3
    assert emulator.stats().requests["music.create"] == 3


def test_not_found_exits_6(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An unknown id: music get and download exit 6 with one error line."""
    emulator = Emulator.fast()
    missing = f"user:1000-pixverse:{EMAIL}-music:1"
    with served(emulator) as url:
        got = main(api(url, emulator, "music", "get", missing))
        get_err = capsys.readouterr().err
        downloaded = main(api(url, emulator, "download", missing, str(tmp_path)))
        download_err = capsys.readouterr().err
    assert (got, downloaded) == (6, 6)
    assert_one_error_line(get_err, "NotFoundError")
    assert_one_error_line(download_err, "NotFoundError")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("fast_client")
def test_failed_generation_exits_7(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """music create --wait on a job that ends FAILED exits 7 and downloads nothing."""
    emulator = Emulator.fast(failure_rate=1.0)
    out = tmp_path / "out"
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", "p", "--wait", "--download", str(out)))
    assert code == 7
    assert_one_error_line(capsys.readouterr().err, "GenerationFailedError")
    assert mp3s(out) == []


@pytest.mark.usefixtures("fast_client")
def test_network_error_exits_8(capsys: pytest.CaptureFixture[str]) -> None:
    """A base URL nobody listens on: exit 8 with one error line."""
    code = main(
        ["--base-url", f"http://127.0.0.1:{free_port()}", "--token", "t", "accounts", "list"]
    )
    assert code == 8
    assert_one_error_line(capsys.readouterr().err, "APIConnectionError")


def test_empty_prompt_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An empty prompt is refused locally: exit 2, one error line, nothing sent."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        code = main(api(url, emulator, "music", "create", ""))
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "ValidationError")
    assert emulator.stats().requests == {}


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command is a click usage error: exit 2, no traceback."""
    code = main(["music", "compose"])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("prompt", "is empty"), 2),
        (ConfigurationError("no token"), 2),
        (AuthenticationError(401, "Unauthorized"), 3),
        (InsufficientCreditsError(402, "no credits"), 4),
        (BusyError(429, "busy"), 5),
        (NotFoundError(404, "not found"), 6),
        (GenerationFailedError(Track(audio_id="a", status=8, final=True)), 7),
        (APIConnectionError("refused"), 8),
        (OutcomeUnknownError("lost", endpoint="/music/create/", payload={}), 8),
        (DownloadError("cut short"), 8),
        (ServerError(500, "boom"), 1),
        (PixverseAudioError("other"), 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_exit_code_table(error: PixverseAudioError, code: int) -> None:
    """Each error class maps to its documented exit code (BusyError is 5)."""
    assert exit_code(error) == code


# ------------------------------------------------------------ subprocesses


def test_subprocess_music_create_json() -> None:
    """`python -m pixverse_audio._cli music create p --json` prints JSON and exits 0."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                *(sys.executable, "-m", "pixverse_audio._cli", *api(url, emulator)),
                *("music", "create", "from a subprocess", "--json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=subprocess_env(),
        )
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["audio_id"] in emulator.jobs


def test_subprocess_error_is_one_line() -> None:
    """A subprocess with a bad token exits 3 with one stderr line and no traceback."""
    emulator = Emulator.fast()
    with served(emulator) as url:
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                *(sys.executable, "-m", "pixverse_audio._cli", "--base-url", url),
                *("--token", "nope-nope-nope", "music", "list"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=subprocess_env(),
        )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert_one_error_line(result.stderr, "AuthenticationError")


def test_ctrl_c_releases_jobs_and_exits_130(tmp_path: Path) -> None:
    """SIGINT during music generate exits 130, releases every running job, leaves no .part."""
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(60, audio=2))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\nthree\n", encoding="utf-8")
    out = tmp_path / "out"
    with served(emulator) as url:
        argv = [sys.executable, "-m", "pixverse_audio._cli", *api(url, emulator)]
        argv += ["music", "generate", "--from", str(prompts), "--out", str(out)]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        ) as proc:
            try:
                deadline = time.monotonic() + 30
                while len(emulator.running()) < 3:
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "the jobs never started"
                    time.sleep(0.05)
                running_before = len(emulator.running())
                proc.send_signal(signal.SIGINT)
                stdout, stderr = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        running_after = emulator.running()
        released = emulator.stats().requests.get("scheduler.cancel", 0)
    assert running_before == 3
    assert proc.returncode == 130, stderr
    assert running_after == []
    assert released == 3
    assert partials(out) == []
    assert "interrupted" in stderr
    summary = " ".join(stdout.split())
    assert "released │ 3; they may still finish and bill" in summary  # apart from finished ones
    assert "credits (finished jobs) │ 0" in summary
    assert "Traceback" not in stderr


def test_ctrl_c_json_lists_the_released_jobs(tmp_path: Path) -> None:
    """After SIGINT, generate --json still lists every request that had a job: "released",
    with its job id and last status, so a script knows what may still bill."""
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(60, audio=2))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one\ntwo\nthree\n", encoding="utf-8")
    out = tmp_path / "out"
    with served(emulator) as url:
        argv = [sys.executable, "-m", "pixverse_audio._cli", *api(url, emulator)]
        argv += ["music", "generate", "--from", str(prompts), "--out", str(out), "--json"]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        ) as proc:
            try:
                deadline = time.monotonic() + 30
                while len(emulator.running()) < 3:
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "the jobs never started"
                    time.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                stdout, stderr = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        running_after = emulator.running()
    assert proc.returncode == 130, stderr
    assert running_after == []
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    assert summary["released"] == 3
    results = summary["results"]
    assert sorted(r["index"] for r in results) == [0, 1, 2]
    for result in results:
        assert result["status"] == "released"
        assert result["prompt"] == ["one", "two", "three"][result["index"]]
        assert emulator.jobs[result["job_id"]].prompt == result["prompt"]
        assert result["job_ids"] == [result["job_id"]]
        assert result["file"] is None
    assert "Traceback" not in stderr


def test_ctrl_c_during_wait_releases_the_job() -> None:
    """SIGINT during music create --wait exits 130 and releases the job it was waiting for."""
    emulator = Emulator(music_timing=Timing.fixed(60, audio=2))
    with served(emulator) as url:
        argv = [sys.executable, "-m", "pixverse_audio._cli", *api(url, emulator)]
        argv += ["music", "create", "a long one", "--wait"]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        ) as proc:
            try:
                deadline = time.monotonic() + 30
                while not emulator.running():
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "the job never started"
                    time.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                _, stderr = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        running_after = emulator.running()
    assert proc.returncode == 130, stderr
    assert len(emulator.jobs) == 1
    assert running_after == []
    assert "Traceback" not in stderr


# ------------------------------------------------------------ demo


def test_demo_writes_decodable_mp3s(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """demo --out DIR --tracks 6 exits 0, writes 6 decodable MP3s and prints the summary."""
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--tracks", "6"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    files = mp3s(out)
    assert len(files) == 6
    for path in files:
        assert mutagen.mp3.MP3(path).info.length > 0
    assert partials(out) == []
    assert "summary" in captured.out
    assert "6 of 6" in captured.out
    assert "engine" in captured.out


def test_track_json_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON of music get has the Track's fields (a script can rebuild the model)."""
    emulator = Emulator.fast(music_timing=Timing.fixed(0))
    audio_id = finished_job(emulator)
    with served(emulator) as url:
        assert main(api(url, emulator, "music", "get", audio_id, "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    data.pop("extra", None)
    data["created_at"] = data["updated_at"] = None
    track = Track(**data)
    assert track.audio_id == audio_id
    assert track.completed


def test_ctrl_c_before_a_command_takes_over_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the command still starts (importing, parsing) prints one line, no
    traceback, and exits 130 like a Ctrl-C later on."""
    import pixverse_audio._cli_app as cli_app

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_app.cli, "main", interrupted)
    assert main(["music", "list"]) == 130
    assert capsys.readouterr().err.splitlines() == ["pixverse-audio: interrupted"]
