"""The command as a new user meets it: checks before the first request, messages in the
command line's words, every account listed, traceable bulk output, missing extras, busy ports.

Most commands run in-process against an emulator (the command's AsyncClient is
wired to it), so the emulator's own counters say whether anything was sent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pixverse_audio._cli_base as cli_base
from pixverse_audio import PollPolicy
from pixverse_audio._cli import main
from pixverse_audio.emulator import Emulator, Timing

EMAIL = "account1@emulator.test"
VOICE = "minimax_english_radiant_girl"
FAST_POLL = PollPolicy(first=0.02, cap=0.1, not_found_grace=2.0)


@pytest.fixture(name="emulator")
def _emulator(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A 3-account emulator the command's client talks to in-process (no sockets)."""
    emulator = Emulator.fast(accounts=3, max_jobs=2)
    built: list[Any] = []

    def client(token: str | None = None, *, base_url: str | None = None) -> Any:
        built.append((token, base_url))
        return emulator.client(poll=FAST_POLL)

    monkeypatch.setattr(cli_base, "AsyncClient", client)
    monkeypatch.setenv("USEAPI_TOKEN", "unused-by-the-emulator-token")
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    return emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("pixverse-audio")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------ nothing is sent


def _files(tmp: Path) -> dict[str, Path]:
    paths = {
        "lyrics": tmp / "lyrics.txt",
        "prompts": tmp / "prompts.txt",
        "bad_jsonl": tmp / "bad.jsonl",
        "lines": tmp / "lines.txt",
        "empty": tmp / "empty.png",
        "existing": tmp / "a-file",
    }
    paths["lyrics"].write_text("la la la", encoding="utf-8")
    paths["prompts"].write_text("one\ntwo\n", encoding="utf-8")
    paths["bad_jsonl"].write_text(
        '{"prompt": "fine"}\n{"prompt": "also fine"}\n{"prompt": ""}\n', encoding="utf-8"
    )
    paths["lines"].write_text("Hello there.\n", encoding="utf-8")
    paths["empty"].write_bytes(b"")
    paths["existing"].write_text("x", encoding="utf-8")
    return paths


INVALID: list[tuple[str, list[str], str]] = [
    ("music-timeout-negative", ["music", "create", "x", "--timeout", "-5", "--wait"], "--timeout"),
    ("music-timeout-zero", ["music", "create", "x", "--timeout", "0", "--wait"], "--timeout"),
    (
        "music-timeout-nan-download",
        ["music", "create", "x", "--timeout", "nan", "--download", "{tmp}/out"],
        "--timeout",
    ),
    ("music-timeout-no-wait", ["music", "create", "x", "--timeout", "-1"], "--timeout"),
    ("music-empty-prompt", ["music", "create", ""], "PROMPT"),
    ("speech-empty-text", ["speech", "create", " ", "--voice", VOICE], "TEXT"),
    ("music-empty-model", ["music", "create", "x", "--model", " "], "--model"),
    ("music-bad-email", ["music", "create", "x", "--email", "a b@x.com"], "--email"),
    (
        "music-lyrics-and-instrumental",
        ["music", "create", "x", "--lyrics-file", "{lyrics}", "--instrumental"],
        "--lyrics-file",
    ),
    (
        "music-lyrics-on-lyria",
        ["music", "create", "x", "--model", "lyria-3-pro-preview", "--lyrics-file", "{lyrics}"],
        "--lyrics-file",
    ),
    (
        "speech-timeout",
        ["speech", "create", "hi", "--voice", VOICE, "--timeout", "-1", "--wait"],
        "--timeout",
    ),
    ("speech-empty-voice", ["speech", "create", "hi", "--voice", ""], "--voice"),
    (
        "speech-language-on-v3",
        ["speech", "create", "hi", "--voice", "v", "--model", "eleven-v3", "--language", "en"],
        "--language",
    ),
    (
        "generate-timeout",
        ["music", "generate", "--from", "{prompts}", "--out", "{tmp}/o", "--timeout", "0"],
        "--timeout",
    ),
    (
        "generate-attempts",
        ["music", "generate", "--from", "{prompts}", "--out", "{tmp}/o", "--max-attempts", "0"],
        "--max-attempts",
    ),
    (
        "generate-bad-line",
        ["music", "generate", "--from", "{bad_jsonl}", "--out", "{tmp}/o"],
        "line 3",
    ),
    (
        "speech-generate-no-voice",
        ["speech", "generate", "--from", "{lines}", "--out", "{tmp}/o"],
        "--voice",
    ),
    ("list-limit-zero", ["music", "list", "--limit", "0"], "--limit"),
    ("list-limit-huge", ["speech", "list", "--limit", "5000"], "--limit"),
    ("list-bad-email", ["music", "list", "--email", "a\tb"], "--email"),
    ("get-bad-id", ["music", "get", "a/b"], "AUDIO_ID"),
    ("voices-empty-model", ["speech", "voices", "--model", " "], "--model"),
    ("minimax-limit", ["minimax", "list", "--limit", "0"], "--limit"),
    ("cancel-bad-id", ["scheduler", "cancel", "../x"], "JOB_ID"),
    ("upload-empty", ["files", "upload", "{empty}"], "PATH"),
    ("account-max-jobs-9", ["accounts", "create", EMAIL, "--max-jobs", "9"], "--max-jobs"),
    ("account-max-jobs-0", ["accounts", "create", EMAIL, "--max-jobs", "0"], "--max-jobs"),
    ("account-bad-email", ["accounts", "delete", "a/b@x.com"], "EMAIL"),
    ("account-get-bad-email", ["accounts", "get", "a b@x.com"], "EMAIL"),
    ("account-create-bad-email", ["accounts", "create", "a\tb@x", "--max-jobs", "1"], "EMAIL"),
    ("account-no-at-sign", ["accounts", "create", "nobody", "--max-jobs", "1"], "EMAIL"),
    ("download-bad-id", ["download", "a b", "{tmp}/dl"], "AUDIO_ID"),
    ("demo-no-tracks", ["demo", "--tracks", "0", "--out", "{tmp}/demo"], "--tracks"),
]


@pytest.mark.parametrize(
    ("argv", "names"), [(a, n) for _, a, n in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_options_send_nothing(
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    names: str,
) -> None:
    """Each command with each invalid option exits 2 naming it; the emulator saw no request."""
    monkeypatch.setenv("PIXVERSE_PASSWORD", "pw-from-env")
    paths = {name: str(path) for name, path in _files(tmp_path).items()}
    args = [a.format(tmp=tmp_path, **paths) for a in argv]
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert names in error_line(err)
    assert emulator.stats().requests == {}
    assert emulator.stats().jobs == 0
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "out").exists()
    assert "pw-from-env" not in out + err


# ------------------------------------------------------------ output directories

FINISHED = f"user:1000-pixverse:{EMAIL}-music:11223344"
WITH_DIRECTORY: list[tuple[str, list[str], str]] = [
    ("music-download", ["music", "create", "x", "--download", "{dir}"], "--download"),
    (
        "speech-download",
        ["speech", "create", "hi", "--voice", VOICE, "--wait", "--download", "{dir}"],
        "--download",
    ),
    ("music-generate", ["music", "generate", "--from", "{prompts}", "--out", "{dir}"], "--out"),
    (
        "speech-generate",
        ["speech", "generate", "--from", "{lines}", "--voice", VOICE, "--out", "{dir}"],
        "--out",
    ),
    ("download", ["download", FINISHED, "{dir}"], "DIRECTORY"),
    ("demo", ["demo", "--tracks", "1", "--out", "{dir}"], "--out"),
]
UNUSABLE: dict[str, tuple[str, str]] = {  # where, and what the line says
    "a-file": ("{existing}", "it is not a directory"),
    "under-a-file": ("{existing}/sub/dir", "a-file' is not a directory"),
    "cannot-be-created": ("/proc/pixverse-audio-test/out", "cannot create"),
    "not-writable": ("/proc", "cannot write into"),
}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("where", list(UNUSABLE))
@pytest.mark.parametrize(
    ("argv", "option"),
    [(a, o) for _, a, o in WITH_DIRECTORY],
    ids=[i for i, _, _ in WITH_DIRECTORY],
)
def test_unusable_output_directory_sends_nothing(
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    option: str,
    where: str,
) -> None:
    """An output directory that is a file, or cannot be created or written: exit 2, one line
    naming the option, before the first request (no job is created, nothing is written)."""
    paths = {name: str(path) for name, path in _files(tmp_path).items()}
    before = sorted(p.name for p in tmp_path.iterdir())
    target, says = UNUSABLE[where]
    directory = target.format(**paths)
    code, out, err = run(capsys, *[a.format(dir=directory, **paths) for a in argv])
    line = error_line(err)
    assert code == 2, err
    assert line.startswith(f"pixverse-audio: ValidationError: {option}: ")
    assert repr(directory) in line
    assert says in line
    assert emulator.stats().requests == {}
    assert emulator.stats().jobs == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert Path(paths["existing"]).read_text(encoding="utf-8") == "x"
    assert "demo" not in out  # the demo did not start either


@pytest.mark.parametrize(
    "argv",
    [a for i, a, _ in WITH_DIRECTORY if i != "demo"],  # the demo needs no client
    ids=[i for i, _, _ in WITH_DIRECTORY if i != "demo"],
)
def test_output_directory_checks_leave_nothing_behind(
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    """A usable directory that does not exist yet is not created by the check alone: when a
    later step refuses (here: making the client), no empty directory is left behind."""
    paths = {name: str(path) for name, path in _files(tmp_path).items()}
    monkeypatch.setattr(cli_base.Settings, "client", _refuse_to_connect)
    directory = tmp_path / "new" / "dir"
    code, _, err = run(capsys, *[a.format(dir=directory, **paths) for a in argv])
    assert code == 2, err
    assert "no client" in error_line(err)
    assert not (tmp_path / "new").exists()
    assert emulator.stats().requests == {}


def _refuse_to_connect(self: Any) -> Any:
    from pixverse_audio import ConfigurationError

    raise ConfigurationError("no client in this test")


@pytest.mark.parametrize("kind", ["create", "generate"])
def test_an_os_error_is_one_line_not_a_traceback(
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """A disk that fills up while saving: one line naming the error and the file, exit 1."""
    import errno

    from pixverse_audio import AsyncClient

    emulator.state.timing["music"] = Timing.fixed(0)
    full = tmp_path / "out" / "song.mp3"

    async def no_space(self: Any, *args: Any, **kwargs: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(full))

    monkeypatch.setattr(AsyncClient, "download", no_space)
    paths = {name: str(path) for name, path in _files(tmp_path).items()}
    out_dir = str(tmp_path / "out")
    if kind == "create":
        argv = ["music", "create", "x", "--download", out_dir]
    else:
        argv = ["music", "generate", "--from", paths["prompts"], "--out", out_dir, "--json"]
    code, _, err = run(capsys, *argv)
    assert code == 1, err
    assert error_line(err) == f"pixverse-audio: OSError: No space left on device: {str(full)!r}"


def test_demo_without_the_emulator_extra_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """demo without the emulator extra (starlette missing): the install command, exit 2."""
    for name in [m for m in sys.modules if m.startswith("pixverse_audio.emulator")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "starlette", None)  # as if not installed
    out_dir = tmp_path / "demo"
    code, out, err = run(capsys, "demo", "--out", str(out_dir), "--tracks", "1")
    line = error_line(err)
    assert code == 2
    assert "starlette is missing" in line
    assert line.endswith('python -m pip install "pixverse-audio[emulator]"')
    assert out == ""
    assert not out_dir.exists()


# ------------------------------------------------------------ messages


def test_messages_name_options_not_keyword_arguments(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An existing file says --overwrite; a bad timeout says --timeout (no Python spellings)."""
    emulator.state.timing["music"] = Timing.fixed(0)  # final at once
    job = emulator.state.create("music", {"prompt": "done"})
    code, _, _ = run(capsys, "download", job.audio_id, str(tmp_path))
    assert code == 0
    code, _, err = run(capsys, "download", job.audio_id, str(tmp_path))
    line = error_line(err)
    assert code == 2
    assert "--overwrite" in line
    assert "overwrite=True" not in line
    _, _, err = run(capsys, "music", "create", "x", "--timeout", "-1")
    assert "--timeout: must be a positive number" in error_line(err)


def test_missing_token_message_names_the_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no token anywhere, the message says --token (not token=)."""
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    code, _, err = run(capsys, "--base-url", "http://127.0.0.1:9", "accounts", "list")
    line = error_line(err)
    assert code == 2
    assert "pass --token or set $USEAPI_TOKEN" in line
    assert "token=" not in line


# ------------------------------------------------------------ lists


def test_list_without_email_lists_every_account(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """music list --json with 3 accounts and no --email merges every account, newest first."""
    clock = {"now": 0.0}
    emulator.state._clock = lambda: clock["now"]
    made = []
    for i, email in enumerate([EMAIL, "account2@emulator.test", "account3@emulator.test"] * 2):
        clock["now"] = float(i)
        made.append(emulator.state.create("music", {"prompt": f"p{i}", "email": email}).audio_id)
    code, out, err = run(capsys, "music", "list", "--json")
    assert code == 0, err
    page = json.loads(out)
    assert [item["audio_id"] for item in page["items"]] == made[::-1]
    assert page["has_more"] is False
    code, out, _ = run(capsys, "music", "list", "--json", "--limit", "4")
    page = json.loads(out)
    assert [item["audio_id"] for item in page["items"]] == made[::-1][:4]
    assert page["has_more"] is True


def test_speech_list_without_email_lists_every_account(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """speech list works without --email on several accounts too (it answered 400 before)."""
    job = emulator.state.create(
        "speech", {"text": "hi there", "voice_id": VOICE, "email": "account3@emulator.test"}
    )
    code, out, err = run(capsys, "speech", "list", "--json")
    assert code == 0, err
    assert [item["audio_id"] for item in json.loads(out)["items"]] == [job.audio_id]


# ------------------------------------------------------------ accounts


def test_accounts_create_reads_the_password_from_the_environment(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """accounts create takes $PIXVERSE_PASSWORD, sets maxJobs, and never prints the password."""
    monkeypatch.setenv("PIXVERSE_PASSWORD", "env-s3cret-pw")
    code, out, err = run(capsys, "accounts", "create", "new@example.com", "--max-jobs", "3")
    assert code == 0, err
    assert emulator.accounts["new@example.com"].max_jobs == 3
    assert emulator.accounts["new@example.com"].password == "env-s3cret-pw"
    assert "env-s3cret-pw" not in out + err
    assert "new@example.com" in out


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # no terminal under pytest
def test_accounts_create_asks_for_the_password(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --password or $PIXVERSE_PASSWORD, a hidden prompt asks; nothing echoes it."""
    import io

    monkeypatch.delenv("PIXVERSE_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("typed-s3cret\n"))
    code, out, err = run(capsys, "accounts", "add", EMAIL, "--max-jobs", "5", "--json")
    assert code == 0, err
    assert emulator.accounts[EMAIL].max_jobs == 5
    assert emulator.accounts[EMAIL].password == "typed-s3cret"
    assert "typed-s3cret" not in out + err
    assert json.loads(out)["max_jobs"] == 5


def test_accounts_get_and_delete(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """accounts get shows one account; delete removes it (then "not configured", exit 0)."""
    code, out, _ = run(capsys, "accounts", "get", "account2@emulator.test", "--json")
    assert code == 0
    assert json.loads(out)["email"] == "account2@emulator.test"
    assert run(capsys, "accounts", "delete", "account2@emulator.test")[1].strip() == "deleted"
    assert run(capsys, "accounts", "delete", "account2@emulator.test")[1].strip() == (
        "not configured"
    )
    code, _, err = run(capsys, "accounts", "get", "account2@emulator.test")
    assert code == 6
    assert "Configuration not found" in error_line(err)


# ------------------------------------------------------------ bulk output


@pytest.mark.parametrize("kind", ["music", "speech"])
def test_generate_files_carry_their_request_index(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    """generate names each file after its request's index; --json maps index, prompt, job, file."""
    source = tmp_path / "in.txt"
    prompts = [f"{kind} request number {i}" for i in range(5)]
    source.write_text("\n".join(prompts) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    extra = ["--voice", VOICE] if kind == "speech" else []
    code, printed, err = run(
        capsys, kind, "generate", "--from", str(source), "--out", str(out), *extra, "--json"
    )
    assert code == 0, err
    summary = json.loads(printed)
    assert [r["index"] for r in summary["results"]] == list(range(5))
    for result in summary["results"]:
        job = emulator.jobs[result["job_id"]]
        path = Path(result["file"])
        assert result["prompt"] == prompts[result["index"]] == job.prompt
        assert path.parent == out
        assert path.name.startswith(f"{result['index']:04d}-")
        assert path.stat().st_size == job.file_size
        assert result["error"] is None
    assert sorted(p.name[:4] for p in out.iterdir()) == [f"{i:04d}" for i in range(5)]


def test_generate_json_lists_released_jobs_with_their_status(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Jobs released at the --timeout deadline are in --json's results, each with its status
    ("released") and the last job status seen; the emulator no longer runs them."""
    emulator.state.timing["music"] = Timing.fixed(600)
    source = tmp_path / "in.txt"
    source.write_text("slow one\nslow two\nslow three\n", encoding="utf-8")
    out = tmp_path / "out"
    code, printed, err = run(
        capsys,
        *("music", "generate", "--from", str(source), "--out", str(out)),
        *("--timeout", "0.5", "--json"),
    )
    assert code == 7, err
    summary = json.loads(printed)
    assert summary["released"] == 3
    results = summary["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    for result in results:
        assert result["status"] == "released"
        assert result["job_status"] in ("QUEUED", "GENERATING")
        assert result["job_id"] in emulator.jobs
        assert result["prompt"] == emulator.jobs[result["job_id"]].prompt
        assert result["file"] is None
        assert result["error"].startswith("WaitTimeoutError")
    assert emulator.running() == []
    assert list(out.glob("*.mp3")) == []


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv, "--help")
    assert code == 0, err
    return " ".join(out.split())


@pytest.mark.parametrize("kind", ["music", "speech"])
def test_generate_help_says_what_the_file_index_is(
    capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """generate --help: files carry the request's 0-based position among the prompts."""
    text = _help(capsys, kind, "generate")
    assert "0-based position among the prompts" in text
    assert "line index" not in text


@pytest.mark.parametrize("kind", ["music", "speech"])
def test_list_help_says_every_account_is_listed_without_email(
    capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """list --help: --email is optional; without it every account is listed."""
    text = _help(capsys, kind, "list")
    assert "without it, every account is listed" in text
    assert "needed by the API" not in text


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # no terminal under pytest
def test_accounts_create_needs_an_at_sign_before_the_prompt(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EMAIL without "@": exit 2 naming EMAIL, no password asked for, nothing sent."""
    import io

    monkeypatch.delenv("PIXVERSE_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("never-read\n"))
    code, out, err = run(capsys, "accounts", "create", "account4.emulator.test", "--max-jobs", "2")
    line = error_line(err)
    assert code == 2
    assert line == (
        "pixverse-audio: ValidationError: EMAIL: must be an email address, like name@example.com"
    )
    assert "password" not in (out + err).lower()
    assert sys.stdin.read() == "never-read\n"  # the prompt never read it
    assert emulator.stats().requests == {}
    assert "account4.emulator.test" not in emulator.accounts


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["music", "create", ""], "PROMPT"),
        (["speech", "create", "", "--voice", VOICE], "TEXT"),
        (["accounts", "get", "a b@x.com"], "EMAIL"),
        (["accounts", "delete", "a/b@x.com"], "EMAIL"),
    ],
    ids=["music-prompt", "speech-text", "accounts-get", "accounts-delete"],
)
def test_positional_arguments_are_named_as_the_help_shows_them(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], argv: list[str], name: str
) -> None:
    """A bad positional argument is named as in the usage line (PROMPT, TEXT, EMAIL)."""
    code, _, err = run(capsys, *argv)
    line = error_line(err)
    assert code == 2
    assert line.startswith(f"pixverse-audio: ValidationError: {name}: ")
    usage = _help(capsys, *argv[:2])
    assert f"[OPTIONS] {name}" in usage
    assert emulator.stats().requests == {}


# ------------------------------------------------------------ the environment


def test_base_url_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --base-url the command talks to $USEAPI_BASE_URL (here: nobody listens)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("USEAPI_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("USEAPI_TOKEN", "t")
    code, _, err = run(capsys, "accounts", "list")
    assert code == 8
    assert "APIConnectionError" in error_line(err)
    monkeypatch.setenv("USEAPI_BASE_URL", "ftp://nowhere")
    code, _, err = run(capsys, "accounts", "list")
    assert code == 2
    assert "--base-url (or $USEAPI_BASE_URL) must be an absolute http" in error_line(err)


# ------------------------------------------------------------ processes


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("USEAPI_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_emulator_on_a_busy_port_fails_before_any_banner() -> None:
    """pixverse-audio emulator --port P on a busy port: one error line, no banner, exit 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pixverse_audio._cli", "emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=_env(),
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def _blocking(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment in which ``modules`` cannot be imported (as if not installed)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    lines = [f"sys.modules[{name!r}] = None" for name in modules]
    (shim / "sitecustomize.py").write_text("import sys\n" + "\n".join(lines) + "\n")
    return _env(PYTHONPATH=os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "pixverse_audio.emulator", "--port", "0"],
        ["-m", "pixverse_audio._cli", "emulator"],
        ["-c", "from pixverse_audio.emulator import Emulator"],
        ["-c", "from pixverse_audio.testing import emulated_client"],
    ],
    ids=["python-m", "pixverse-audio", "import", "testing"],
)
def test_missing_emulator_extra_is_one_line(tmp_path: Path, argv: list[str]) -> None:
    """Without the emulator extra: the install command in one line (commands: no traceback)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_blocking(tmp_path, "starlette"),
    )
    assert result.returncode != 0
    install = 'python -m pip install "pixverse-audio[emulator]"'
    message = [line for line in result.stderr.splitlines() if install in line]
    assert len(message) == 1, result.stderr
    assert "starlette is missing" in message[0]
    if argv[0] == "-m":
        assert "Traceback" not in result.stderr
        assert result.returncode == 2


def test_testing_helpers_work_without_pytest(tmp_path: Path) -> None:
    """pixverse_audio.testing's emulated_client runs where pytest is not installed."""
    program = (
        "import anyio\n"
        "from pixverse_audio.testing import emulated_client\n"
        "async def main():\n"
        "    async with emulated_client() as client:\n"
        "        job = await client.music.create('offline')\n"
        "        print(job.audio_id)\n"
        "anyio.run(main)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_blocking(tmp_path, "pytest", "_pytest"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("user:1000-pixverse:account1@emulator.test-music:")


def test_help_gives_every_option_a_description() -> None:
    """Every option of every command has help text (units where there are some)."""
    import click

    from pixverse_audio._cli_app import cli

    def walk(group: click.Group) -> Iterator[click.Command]:
        for command in group.commands.values():
            if isinstance(command, click.Group):
                yield from walk(command)
            else:
                yield command

    missing = [
        (command.name, param.opts)
        for command in walk(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert missing == []
    text = " ".join(cli.commands["music"].commands["create"].get_help(click.Context(cli)).split())  # type: ignore[attr-defined]
    assert "Seconds to wait" in text


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # no terminal under pytest
def test_accounts_create_checks_before_asking_and_needs_a_password(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad --max-jobs is refused before the prompt; no password at all is a usage error."""
    import io

    monkeypatch.delenv("PIXVERSE_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("never-read\n"))
    code, _, err = run(capsys, "accounts", "create", EMAIL, "--max-jobs", "9")
    assert code == 2
    assert "--max-jobs" in error_line(err)
    assert "password" not in err.lower()  # not asked
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # end of input at the prompt
    code, _, err = run(capsys, "accounts", "create", EMAIL, "--max-jobs", "2")
    assert code == 2
    assert "--password: none given" in error_line(err)
    assert emulator.stats().requests == {}
