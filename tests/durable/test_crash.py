"""Crash tests: `pixverse-audio batch run` killed again and again, restarted until it ends.

Two processes, as a user runs them: `pixverse-audio emulator` (3 accounts x
maxJobs 4, jobs of one real second, 10% of jobs FAILED, optionally
``--fault music.create:drop_after:SHARE``: the server makes the job, then drops
the connection) and `pixverse-audio batch run` against it (the default client
settings, on asyncio or on trio). The run is stopped at seeded random moments
(SIGKILL, or SIGINT for the graceful path) and started again each time until
it exits 0. Then, from the emulator's own answers (every account's job list,
the scheduler, the media host) and the batch directory:

- every request has exactly one line in the manifest, ``done``, with its file;
- no job is handed to two requests, every successful job is some request's,
  and the jobs are the requests plus the FAILED ones (no create paid twice);
- every file has the size the media host serves for its job, and nothing else
  (no partial download, no temporary manifest) is left in the directory;
- no job holds a scheduler slot.

The default run has small batches (a few stops); the ``soak`` marker runs the
200-prompt, 5-stop batches the acceptance names (``nox -s soak``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import httpx
import pytest

from pixverse_audio import AudioStatus, Client, Track
from pixverse_audio.emulator import DEFAULT_TOKEN
from tests.features.test_cli import subprocess_env

BACKENDS = ("asyncio", "trio")
OWN_FILES = {"journal.sqlite", "journal.sqlite.lock", "manifest.jsonl", "batch.json"}
CLI = [sys.executable, "-m", "pixverse_audio._cli"]


@attrs.frozen
class Plan:
    """One crash test: how many prompts, how many stops, which signal, which faults."""

    prompts: int
    stops: int
    signal: signal.Signals = signal.SIGKILL
    drop_creates: float = 0.0  # share of creates whose answer is lost after the job is made
    seed: int = 0


def prompts(count: int) -> list[str]:
    """``count`` prompts; one in ten repeats an earlier one (bulk users ask for variations)."""
    return [f"crash prompt {i - i % 10 if i % 10 == 9 else i}" for i in range(count)]


@contextmanager
def emulator_process(plan: Plan) -> Iterator[str]:
    """`pixverse-audio emulator` on a free port, for ``plan``; its URL."""
    argv = [*CLI, "emulator", "--port", "0", "--accounts", "3", "--max-jobs", "4", "--quiet"]
    argv += ["--failure-rate", "0.1", "--seed", str(plan.seed)]
    # jobs of one second on a clock at real speed: reconciliation compares the server's
    # stamps with this machine's clock, as it does against useapi.net
    argv += ["--speed", "1", "--job-seconds", "1"]
    if plan.drop_creates:
        argv += ["--fault", f"music.create:drop_after:{plan.drop_creates}"]
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "the emulator printed nothing"
            banner = proc.stdout.readline()
            found = re.search(r"http://[\d.]+:\d+", banner)
            assert found, (banner, proc.stderr.read() if proc.stderr else "")
            yield found.group(0)
        finally:
            proc.terminate()
            proc.communicate(timeout=15)


def run_until_done(plan: Plan, backend: str, tmp_path: Path) -> list[int]:
    """Run the batch, stopping it ``plan.stops`` times, then until it exits 0; check it."""
    source = tmp_path / "prompts.txt"
    source.write_text("\n".join(prompts(plan.prompts)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    rng = random.Random(f"crash:{plan.seed}:{backend}")
    codes: list[int] = []
    logs: list[str] = []
    stopped_midway = 0  # stops that left requests without a result
    with emulator_process(plan) as url:
        argv = [*CLI, "--base-url", url, "--token", DEFAULT_TOKEN, "--backend", backend]
        argv += ["batch", "run", str(source), "--out", str(out)]
        argv += ["--max-attempts", "20", "--resubmit-after", "1", "--json"]
        for run in range(plan.stops + 30):
            # a moment within the first half of what is left (12 one-second jobs at a time)
            left = plan.prompts - finished(out)
            stop_at = rng.uniform(0.0, 0.5 + left / 24) if run < plan.stops else None
            code, stderr = run_once(argv, out, stop_at, plan.signal)
            codes.append(code)
            stopped_midway += code != 0 and finished(out) < plan.prompts
            logs.append(f"run {run}: stop at {stop_at}, exit {code}\n{stderr[-2000:]}")
            if code == 0 and stop_at is None:
                break
            assert "Traceback" not in stderr, stderr
            # a create a stopped run lost and nobody found is sent again after 1 s
            time.sleep(0.5 if stop_at is not None else 1.1)
        else:
            raise AssertionError(f"the batch never finished: exit codes {codes}")
        assert stopped_midway >= 1, codes
        try:
            check(url, out, plan.prompts)
        except AssertionError:
            print("\n".join(logs))  # what each run said, for the report
            raise
    return codes


def wait_until_locked(proc: subprocess.Popen[str], lock: Path) -> None:
    """Wait until ``proc`` holds ``lock`` open (its batch began), or has ended."""
    deadline, wanted = time.monotonic() + 60, str(lock.resolve())
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the batch never took its journal's lock"
        with contextlib.suppress(OSError):  # fds come and go while they are read
            fds = Path(f"/proc/{proc.pid}/fd")
            if any(os.readlink(fd) == wanted for fd in fds.iterdir()):
                return
        time.sleep(0.01)


def finished(out: Path) -> int:
    """Requests with a final line in the manifest so far."""
    try:
        return len((out / "manifest.jsonl").read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


def run_once(
    argv: list[str], out: Path, stop_at: float | None, signum: signal.Signals
) -> tuple[int, str]:
    """Run the command; send ``signum`` ``stop_at`` seconds after the batch began (it holds
    the journal's lock), or let it end (``None``)."""
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    ) as proc:
        try:
            if stop_at is not None:
                wait_until_locked(proc, out / "journal.sqlite.lock")
            try:
                _, stderr = proc.communicate(timeout=stop_at if stop_at is not None else 120)
            except subprocess.TimeoutExpired:
                assert stop_at is not None, "a run without a stop took over 120 s"
                proc.send_signal(signum)
                _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    if stop_at is not None and signum == signal.SIGINT and proc.returncode not in (0, 7):
        assert proc.returncode == 130, stderr  # interrupted, not crashed
    return proc.returncode, stderr


def check(url: str, out: Path, count: int) -> None:
    """The promises of a durable batch, from the emulator's answers and the directory."""
    texts = prompts(count)
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    keys = [line["key"] for line in lines]
    assert len(keys) == count
    assert len(set(keys)) == count  # one final line per request
    assert sorted(line["prompt"] for line in lines) == sorted(texts)
    assert {line["status"] for line in lines} == {"done"}, [
        line for line in lines if line["status"] != "done"
    ]

    with Client(DEFAULT_TOKEN, base_url=url) as client:
        accounts = [account.email for account in client.accounts.list()]
        assert len(accounts) == 3
        jobs: list[Track] = [job for a in accounts for job in client.music.list(email=a)]
        scheduled = client.scheduler.list()
    assert all(job.final for job in jobs)
    completed = {job.audio_id: job for job in jobs if job.status == AudioStatus.COMPLETED}
    failed = [job for job in jobs if job.status == AudioStatus.FAILED]
    handed = [line["job_id"] for line in lines]
    assert len(set(handed)) == count  # no job handed to two requests
    unhanded = [
        (job.audio_id, job.prompt) for job in completed.values() if job.audio_id not in handed
    ]
    assert unhanded == [], [line for line in lines if line["prompt"] in dict(unhanded).values()]
    assert set(handed) == set(completed)  # every successful job is some request's
    assert len(jobs) == count + len(failed)  # no create beyond the FAILED retries
    assert Counter(job.prompt for job in completed.values()) == Counter(texts)
    assert scheduled == []  # the scheduler is empty
    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    stats = httpx.get(f"{url}/_emulator/stats", headers=auth).json()  # its own counters
    assert sum(stats["creates"].values()) == stats["jobs"] == len(jobs)
    assert max(stats["peak_running"].values()) <= 4

    files = {p.name for p in out.iterdir()}
    assert files == OWN_FILES | {line["file"] for line in lines}, files - OWN_FILES
    with httpx.Client() as media:  # the media host's own sizes
        for line in lines:
            track = completed[line["job_id"]]
            assert track.url is not None
            served = media.get(track.url)
            assert served.status_code == 200
            size = int(served.headers["content-length"])
            assert size == len(served.content) == track.file_size
            assert (out / line["file"]).stat().st_size == size, line


SMALL = [
    pytest.param(Plan(prompts=30, stops=2, seed=1), id="sigkill"),
    pytest.param(Plan(prompts=30, stops=2, signal=signal.SIGINT, seed=2), id="sigint"),
    pytest.param(Plan(prompts=30, stops=2, drop_creates=0.15, seed=3), id="sigkill-drops"),
]
FULL = [
    pytest.param(Plan(prompts=200, stops=5, seed=11), id="sigkill"),
    pytest.param(Plan(prompts=200, stops=5, signal=signal.SIGINT, seed=12), id="sigint"),
    pytest.param(Plan(prompts=200, stops=5, drop_creates=0.1, seed=13), id="sigkill-drops"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("plan", SMALL)
def test_a_stopped_batch_resumes_without_paying_twice(
    plan: Plan, backend: str, tmp_path: Path
) -> None:
    """A few stops over 30 prompts: one result each, no job twice, every file whole."""
    run_until_done(plan, backend, tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("plan", FULL)
def test_soak_200_prompts_stopped_5_times(plan: Plan, backend: str, tmp_path: Path) -> None:
    """The acceptance's crash test: 200 prompts, 5 seeded stops, restarted until exit 0."""
    codes = run_until_done(plan, backend, tmp_path)
    print(f"\ncrash[{backend}]: exit codes {codes}")
