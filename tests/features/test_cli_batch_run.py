"""`pixverse-audio batch run` and `batch status`: a durable batch in a directory.

Most runs go in-process against an emulator (the command's AsyncClient is wired
to it), so its counters say what was created and downloaded; the Ctrl-C test
runs the command as a subprocess against a served emulator. Every run is made
on asyncio and on trio (the command's hidden --backend).
"""

from __future__ import annotations

import functools
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mutagen.mp3
import pytest

import pixverse_audio._cli_base as cli_base
from pixverse_audio import AsyncClient, JournalError, PollPolicy
from pixverse_audio._cli import main
from pixverse_audio._journal import Journal
from pixverse_audio._journal_rows import RUNNING, read
from pixverse_audio.emulator import Emulator, Timing
from tests.features.test_cli import api, served, subprocess_env

VOICE = "minimax_english_radiant_girl"
FAST_POLL = PollPolicy(first=0.02, cap=0.1, not_found_grace=2.0)
MIXED = [
    {"prompt": "rainy lofi", "key": "intro/theme"},
    {"prompt": "a brass march", "model": "music-v1"},
    {"prompt": "drums only", "instrumental": True, "key": "Ünï key"},
    {"prompt": "a ballad", "lyrics": "la la la", "key": "ballad"},
]
MIXED_FILES = {"intro_theme.mp3", "Ünï key.mp3", "ballad.mp3"}  # + the derived one
BUDGET_MESSAGE = (
    "pixverse-audio: the budget of 80 credits stopped the batch; "
    "run again with a higher --max-credits to continue"
)


@pytest.fixture(name="emulator")
def _emulator(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A 2-account emulator the command's client talks to in-process (no sockets)."""
    emulator = Emulator.fast(accounts=2, max_jobs=2)

    def client(token: str | None = None, *, base_url: str | None = None) -> Any:
        return emulator.client(poll=FAST_POLL)

    monkeypatch.setattr(cli_base, "AsyncClient", client)
    monkeypatch.setenv("USEAPI_TOKEN", "unused-by-the-emulator-token")
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    return emulator


@pytest.fixture(name="backend", params=["asyncio", "trio"])
def _backend(request: pytest.FixtureRequest) -> str:
    """The command's event loop (its hidden --backend option)."""
    return str(request.param)


def run(capsys: pytest.CaptureFixture[str], backend: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--backend", backend, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    """The one line of ``err`` that reports an error (and no traceback)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("pixverse-audio")]
    assert len(lines) == 1, err
    return lines[0]


def creates(emulator: Emulator) -> int:
    return sum(emulator.stats().creates.values())


def manifest(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "manifest.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def by_key(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {line["key"]: line for line in lines}
    assert len(found) == len(lines), "a key has two lines"
    return found


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def status(capsys: pytest.CaptureFixture[str], backend: str, directory: Path) -> dict[str, Any]:
    code, out, err = run(capsys, backend, "batch", "status", str(directory), "--json")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


# ------------------------------------------------------------ a whole run, and again


def test_mixed_jsonl_saves_one_mp3_per_request_named_by_its_key(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """Every request of a mixed JSONL file finishes; each MP3 is named by its key (made
    safe); the manifest has one line per request; status says all done, nothing left."""
    source = write_jsonl(tmp_path / "requests.jsonl", MIXED)
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, backend, "batch", "run", str(source), "--out", str(out_dir))
    assert code == 0, err
    assert "4 of 4" in out
    assert "resuming" not in err  # a new batch
    names = {path.name for path in out_dir.glob("*.mp3")}
    derived = names - MIXED_FILES
    assert names >= MIXED_FILES
    assert len(derived) == 1
    assert re.fullmatch(r"000001-[0-9a-f]{12}\.mp3", derived.pop())
    for path in out_dir.glob("*.mp3"):
        assert mutagen.mp3.MP3(path).info.length > 0
    lines = manifest(out_dir)
    assert len(lines) == 4
    for line in lines:
        assert set(line) == {"key", "prompt", "job_id", "status", "file", "credits", "error"}
        job = emulator.jobs[line["job_id"]]
        assert line["status"] == "done"
        assert line["error"] is None
        assert job.prompt == line["prompt"]
        assert line["credits"] == job.credits
        assert (out_dir / line["file"]).is_file()
    keyed = by_key(lines)
    assert keyed["intro/theme"]["file"] == "intro_theme.mp3"
    assert keyed["Ünï key"]["prompt"] == "drums only"
    assert sorted(line["credits"] for line in lines) == [40, 40, 40, 150]
    described = json.loads((out_dir / "batch.json").read_text(encoding="utf-8"))
    assert described["total"] == 4
    assert described["kind"] == "music"
    assert described["source"] == str(source.absolute())
    report = status(capsys, backend, out_dir)
    assert report["states"] == {"done": 4, "failed": 0, "running": 0, "sending": 0, "stopped": 0}
    assert report["total"] == 4
    assert report["left"] == 0
    assert report["spent"] == 270


def test_running_again_creates_nothing_and_rewrites_the_same_manifest(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """A second run replays every request from the journal: no create, no download, the
    same manifest (a damaged one is rewritten whole); a deleted MP3 is fetched again."""
    source = write_jsonl(tmp_path / "requests.jsonl", MIXED)
    out_dir = tmp_path / "out"
    argv = ("batch", "run", str(source), "--out", str(out_dir))
    assert run(capsys, backend, *argv)[0] == 0
    first = by_key(manifest(out_dir))
    made, fetched = creates(emulator), len(emulator.media_requests)
    with (out_dir / "manifest.jsonl").open("a", encoding="utf-8") as damaged:
        damaged.write(json.dumps(next(iter(first.values()))) + "\n" + '{"half a li')
    code, out, err = run(capsys, backend, *argv, "--json")
    assert code == 0, err
    assert "resuming: 4 finished, 0 running" in err
    assert json.loads(out)["counts"] == {"done": 4}
    assert creates(emulator) == made
    assert len(emulator.media_requests) == fetched  # every file was there already
    assert len(manifest(out_dir)) == 4
    assert by_key(manifest(out_dir)) == first

    (out_dir / "ballad.mp3").unlink()
    assert run(capsys, backend, *argv)[0] == 0
    assert creates(emulator) == made
    assert len(emulator.media_requests) == fetched + 1
    assert (out_dir / "ballad.mp3").is_file()
    assert by_key(manifest(out_dir)) == first


def test_plain_text_prompts(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """A text file gives one music request per line (comments and blanks skipped)."""
    source = tmp_path / "prompts.txt"
    source.write_text("# my album\nfirst song\n\nsecond song\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, backend, "batch", "run", str(source), "--out", str(out_dir))
    assert code == 0, err
    lines = sorted(manifest(out_dir), key=lambda line: line["key"])
    assert [line["prompt"] for line in lines] == ["first song", "second song"]
    assert [line["key"][:7] for line in lines] == ["000000-", "000001-"]
    assert sorted(p.name for p in out_dir.glob("*.mp3")) == [f"{x['key']}.mp3" for x in lines]
    assert sorted(job.prompt for job in emulator.jobs.values()) == ["first song", "second song"]


def test_a_killed_runs_temporary_files_are_removed_and_nothing_else(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """A run killed mid-download or mid-rewrite leaves ``.part`` and ``.tmp`` files; the
    next run removes those of its own files, and leaves anything else in DIR alone."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "a", "key": "one"}])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    leftovers = [
        ".one.mp3.0a1b2c3d.part",
        ".manifest.jsonl.x1y2_3ab.tmp",
        ".batch.json.9f8e7d6c.tmp",
    ]
    others = [".notes.mp3.0a1b2c3d.part", ".one.mp3.part", "keep.txt", ".manifest.jsonl.tmp"]
    others += [".manifest.jsonl.my-notes.tmp", ".batch.json.0a1b2c3d.tmp.bak"]
    for name in leftovers + others:
        (out_dir / name).write_text("x", encoding="utf-8")
    code, _, err = run(capsys, backend, "batch", "run", str(source), "--out", str(out_dir))
    assert code == 0, err
    names = {path.name for path in out_dir.iterdir()}
    assert names.isdisjoint(leftovers)
    assert set(others) <= names
    assert (out_dir / "one.mp3").is_file()
    mode = (out_dir / "one.mp3").stat().st_mode & 0o777  # what the umask gives new files
    for written in ("manifest.jsonl", "batch.json"):
        assert (out_dir / written).stat().st_mode & 0o777 == mode


def test_plain_text_speech_with_a_voice(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """--kind speech with --voice speaks each line; status reports a speech batch."""
    source = tmp_path / "lines.txt"
    source.write_text("Hello there.\nGood night.\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    argv = ("batch", "run", str(source), "--out", str(out_dir), "--kind", "speech")
    code, _, err = run(capsys, backend, *argv, "--voice", VOICE)
    assert code == 0, err
    assert sorted(line["prompt"] for line in manifest(out_dir)) == ["Good night.", "Hello there."]
    assert len(list(out_dir.glob("*.mp3"))) == 2
    assert sorted(job.kind for job in emulator.jobs.values()) == ["speech", "speech"]
    assert status(capsys, backend, out_dir)["kind"] == "speech"


# ------------------------------------------------------------ the budget


def test_a_budget_stops_creating_and_a_higher_one_finishes_the_rest(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """--max-credits at 40% of the cost creates no job past it, says so plainly and exits
    7; a run with a higher budget creates only the rest, never one twice."""
    prompts = [f"song {i}" for i in range(5)]  # 5 x 40 credits
    source = tmp_path / "prompts.txt"
    source.write_text("\n".join(prompts) + "\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    argv = ("batch", "run", str(source), "--out", str(out_dir))
    code, out, err = run(capsys, backend, *argv, "--max-credits", "80")
    assert code == 7
    assert BUDGET_MESSAGE in err.splitlines()
    assert "ETA" in out
    assert "80 credits" in out  # the spend, on the progress line
    made = creates(emulator)
    assert made >= 1
    assert made * 40 <= 80
    lines = manifest(out_dir)
    assert sorted(line["status"] for line in lines) == ["budget"] * (5 - made) + ["done"] * made
    report = status(capsys, backend, out_dir)
    assert report["left"] == 5 - made
    assert report["spent"] == made * 40

    code, out, err = run(capsys, backend, *argv, "--max-credits", "1000", "--json")
    assert code == 0, err
    assert creates(emulator) == 5
    assert sorted(job.prompt for job in emulator.jobs.values()) == prompts
    lines = manifest(out_dir)
    assert len(lines) == 5
    assert {line["status"] for line in lines} == {"done"}
    assert len({line["job_id"] for line in lines}) == 5
    assert json.loads(out)["spent"] == 200
    assert status(capsys, backend, out_dir)["left"] == 0


# ------------------------------------------------------------ one run at a time


def test_a_locked_journal_is_refused_before_anything_happens(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """While another process holds the journal, run exits with one line and creates and
    writes nothing; status still reads the journal."""
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    argv = ("batch", "run", str(source), "--out", str(out_dir))
    assert run(capsys, backend, *argv)[0] == 0
    source.write_text("one\ntwo\nthree\n", encoding="utf-8")
    kept = {name: (out_dir / name).read_bytes() for name in ("manifest.jsonl", "batch.json")}
    asked = emulator.stats().requests
    journal = Journal(out_dir / "journal.sqlite")
    anyio.run(journal.open, "music", backend=backend)
    try:
        code, _, err = run(capsys, backend, *argv)
        report = status(capsys, backend, out_dir)
    finally:
        anyio.run(journal.close, backend=backend)
    assert code != 0
    assert "another process is running the batch" in error_line(err)
    assert emulator.stats().requests == asked
    assert {name: (out_dir / name).read_bytes() for name in kept} == kept
    assert report["states"]["done"] == 2
    assert report["left"] == 0  # batch.json still describes the run that finished


# ------------------------------------------------------------ checks before the first request


BAD: list[tuple[str, list[str], str]] = [
    ("bad-jsonl-line", ["{bad}", "--out", "{out}"], "FILE: line 2 is not JSON"),
    ("max-credits-negative", ["{good}", "--out", "{out}", "--max-credits", "-1"], "--max-credits"),
    ("max-credits-nan", ["{good}", "--out", "{out}", "--max-credits", "nan"], "--max-credits"),
    ("unknown-field", ["{unknown}", "--out", "{out}"], "unknown keys: tempo"),
    ("speech-without-voice", ["{text}", "--out", "{out}", "--kind", "speech"], "--voice"),
    ("voice-on-music", ["{text}", "--out", "{out}", "--voice", VOICE], "--voice"),
    ("dir-is-a-file", ["{good}", "--out", "{text}"], "--out"),
    ("same-key-twice", ["{twice}", "--out", "{out}"], "the same key"),
    ("same-file-name", ["{clash}", "--out", "{out}"], "the same file name"),
    ("empty-prompt", ["{empty}", "--out", "{out}"], "FILE: line 1: prompt"),
    ("attempts-zero", ["{good}", "--out", "{out}", "--max-attempts", "0"], "--max-attempts"),
    ("timeout-negative", ["{good}", "--out", "{out}", "--timeout", "-1"], "--timeout"),
    ("resubmit-negative", ["{good}", "--out", "{out}", "--resubmit-after", "-5"], "--resubmit"),
]


def _inputs(tmp: Path) -> dict[str, str]:
    bad = tmp / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": "broken"\n', encoding="utf-8")
    files = {
        "good": write_jsonl(tmp / "good.jsonl", [{"prompt": "fine"}]),
        "unknown": write_jsonl(tmp / "unknown.jsonl", [{"prompt": "x", "tempo": 120}]),
        "twice": write_jsonl(tmp / "twice.jsonl", [{"prompt": "a", "key": "k"}] * 2),
        "clash": write_jsonl(
            tmp / "clash.jsonl", [{"prompt": "a", "key": "a/b"}, {"prompt": "b", "key": "A_b"}]
        ),
        "empty": write_jsonl(tmp / "empty.jsonl", [{"prompt": " "}]),
        "bad": bad,
        "text": tmp / "lines.txt",
    }
    files["text"].write_text("Hello there.\n", encoding="utf-8")
    return {name: str(path) for name, path in files.items()}


@pytest.mark.parametrize(("argv", "says"), [(a, s) for _, a, s in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_exits_2_and_creates_and_writes_nothing(
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: str,
    argv: list[str],
    says: str,
) -> None:
    """A bad line, option or directory: exit 2 with one line saying what, before any
    request; no directory, journal or manifest is made, and no input file is touched."""
    paths = _inputs(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out_dir = tmp_path / "out"
    args = [a.format(out=out_dir, **paths) for a in argv]
    code, _, err = run(capsys, backend, "batch", "run", *args)
    assert code == 2, err
    assert says in error_line(err)
    assert emulator.stats().requests == {}
    assert not out_dir.exists()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_file_that_does_not_fit_the_journal_is_refused(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
) -> None:
    """On an existing batch: the other --kind, or a key now naming another request, exit 2
    before any request, and the manifest is left as it was."""
    source = write_jsonl(tmp_path / "requests.jsonl", MIXED)
    out_dir = tmp_path / "out"
    assert run(capsys, backend, "batch", "run", str(source), "--out", str(out_dir))[0] == 0
    asked = emulator.stats().requests
    kept = (out_dir / "manifest.jsonl").read_bytes()
    spoken = tmp_path / "lines.txt"
    spoken.write_text("Hello there.\n", encoding="utf-8")
    argv = ("batch", "run", str(spoken), "--out", str(out_dir), "--kind", "speech")
    code, _, err = run(capsys, backend, *argv, "--voice", VOICE)
    assert code == 2
    assert "--kind: " in error_line(err)
    assert "is a music batch" in error_line(err)
    changed = write_jsonl(tmp_path / "changed.jsonl", [{"prompt": "other", "key": "ballad"}])
    code, _, err = run(capsys, backend, "batch", "run", str(changed), "--out", str(out_dir))
    assert code == 2
    assert "the key 'ballad' names another request" in error_line(err)
    assert emulator.stats().requests == asked
    assert (out_dir / "manifest.jsonl").read_bytes() == kept


@pytest.mark.parametrize("where", ["empty", "missing"])
def test_status_without_a_journal_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str, where: str
) -> None:
    """batch status on a directory with no journal: exit 2, one line naming DIR."""
    directory = tmp_path / "batch"
    if where == "empty":
        directory.mkdir()
    code, out, err = run(capsys, backend, "batch", "status", str(directory))
    assert code == 2
    assert error_line(err).startswith("pixverse-audio: ValidationError: DIR: no batch journal")
    assert out == ""


# ------------------------------------------------------------ Ctrl-C, against a server


def test_ctrl_c_keeps_the_journal_and_the_next_run_follows_the_jobs(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGINT mid-run exits 130 and releases the jobs; the journal keeps them running, and
    the next run follows them to the end: no job is created twice."""
    monkeypatch.setattr(cli_base, "AsyncClient", functools.partial(AsyncClient, poll=FAST_POLL))
    emulator = Emulator(accounts=1, max_jobs=4, music_timing=Timing.fixed(3, audio=2))
    source = tmp_path / "prompts.txt"
    source.write_text("one\ntwo\nthree\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    with served(emulator) as url:
        argv = [sys.executable, "-m", "pixverse_audio._cli", *api(url, emulator)]
        argv += ["--backend", backend, "batch", "run", str(source), "--out", str(out_dir)]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
        ) as proc:
            try:
                deadline = time.monotonic() + 30
                while _running(out_dir) < 3:
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "the jobs never started"
                    time.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                _, stderr = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr
        assert "Traceback" not in stderr
        assert emulator.running() == []  # released
        assert status(capsys, backend, out_dir)["states"]["running"] == 3
        again = ("batch", "run", str(source), "--out", str(out_dir))
        code, _, err = run(capsys, backend, *api(url, emulator), *again)
    assert code == 0, err
    assert "resuming: 0 finished, 3 running" in err
    assert len(emulator.jobs) == 3
    assert {line["status"] for line in manifest(out_dir)} == {"done"}
    assert len(list(out_dir.glob("*.mp3"))) == 3


def _running(out_dir: Path) -> int:
    """Requests the journal says have a running job (0 while there is no journal)."""
    try:
        return sum(1 for entry in read(out_dir / "journal.sqlite")[1] if entry.state == RUNNING)
    except JournalError:  # not made yet
        return 0
