"""Real worker processes sharing accounts through Redis, against one emulator server.

The emulator runs as its own process (``python -m pixverse_audio.emulator``) and
so does every worker (``examples/shared_worker.py``): half on asyncio, half on
trio. They meet only in Redis and at the emulator, as on separate machines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from pixverse_audio.emulator import DEFAULT_TOKEN

from ._server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "examples" / "shared_worker.py"
JOB_SECONDS = 0.2


class EmulatorProcess:
    """``python -m pixverse_audio.emulator`` on a free port."""

    def __init__(self, accounts: int, max_jobs: int) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "pixverse_audio.emulator",
                "--port",
                port,
                "--accounts",
                str(accounts),
                "--max-jobs",
                str(max_jobs),
                "--speed",
                "1",
                "--job-seconds",
                str(JOB_SECONDS),
                "--quiet",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.stats()
            except httpx.TransportError:
                time.sleep(0.05)
            else:
                return
        raise RuntimeError("the emulator did not start")

    def stats(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
        answer = httpx.get(f"{self.url}/_emulator/stats", headers=headers, timeout=5)
        data: dict[str, Any] = answer.json()
        return data

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def emulator_process() -> Iterator[EmulatorProcess]:
    emulator = EmulatorProcess(accounts=2, max_jobs=3)
    yield emulator
    emulator.stop()


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _reap_workers() -> Iterator[None]:
    """Workers a failed test left running are killed, and their pipes closed."""
    yield
    while _started:
        worker = _started.pop()
        if worker.poll() is None:
            worker.kill()
        worker.communicate()


def start_worker(
    api: str, redis: RedisServer, namespace: str, name: str, jobs: int, backend: str, **extra: str
) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        str(WORKER),
        "--api",
        api,
        "--redis",
        redis.url,
        "--namespace",
        namespace,
        "--jobs",
        str(jobs),
        "--name",
        name,
        "--backend",
        backend,
        "--status-poll",
        "0.1",
    ]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and example
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    _started.append(worker)
    return worker


def finish(worker: subprocess.Popen[str], timeout: float = 120) -> list[dict[str, Any]]:
    out, err = worker.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, f"worker printed nothing:\n{err[-3000:]}"
    assert lines[-1].get("summary"), f"worker ended without a summary:\n{err[-3000:]}"
    return lines


def test_four_workers_share_two_accounts_without_429s(
    emulator_process: EmulatorProcess, redis_server: RedisServer, namespace: str
) -> None:
    """4 processes x 50 jobs, 2 accounts x maxJobs 3: never over 3, no 429, 200 jobs once."""
    workers = [
        start_worker(
            emulator_process.url,
            redis_server,
            namespace,
            f"w{n}",
            50,
            "asyncio" if n < 2 else "trio",
        )
        for n in range(4)
    ]
    outputs = [finish(worker) for worker in workers]
    summaries = [lines[-1] for lines in outputs]
    assert [s["ok"] for s in summaries] == [50, 50, 50, 50], summaries
    assert all(s["busy"] == 0 for s in summaries), summaries
    job_ids = [i for lines in outputs for line in lines[:-1] for i in line["job_ids"]]
    assert len(job_ids) == len(set(job_ids)) == 200
    stats = emulator_process.stats()
    assert stats["busy"] == 0
    assert stats["jobs"] == 200
    assert stats["peak_running"] == {"account1@emulator.test": 3, "account2@emulator.test": 3}


def test_a_killed_workers_slots_return_within_the_ttl(
    emulator_process: EmulatorProcess, redis_server: RedisServer, namespace: str
) -> None:
    """kill -9 a worker holding every slot: they come back after the TTL; others finish."""
    ttl = 2.0
    victim = start_worker(
        emulator_process.url,
        redis_server,
        namespace,
        "victim",
        40,
        "asyncio",
        lease_ttl=str(ttl),
        poll="0.5",
    )
    assert victim.stdout is not None
    first = victim.stdout.readline()  # one job done: it holds slots for the next ones
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    _, err = victim.communicate()
    assert "job_ids" in first, err
    killed_at = time.monotonic()
    assert live_leases(redis_server, namespace) > 0  # left behind by the dead worker
    while live_leases(redis_server, namespace) and time.monotonic() - killed_at < ttl + 2:
        time.sleep(0.05)
    assert live_leases(redis_server, namespace) == 0  # expired: within the TTL (+ slack)
    others = [
        start_worker(
            emulator_process.url,
            redis_server,
            namespace,
            f"w{n}",
            20,
            backend,
            lease_ttl=str(ttl),
            poll="0.5",
        )
        for n, backend in enumerate(["asyncio", "trio"])
    ]
    outputs = [finish(worker) for worker in others]
    assert [lines[-1]["ok"] for lines in outputs] == [20, 20]
    assert max(emulator_process.stats()["peak_running"].values()) <= 3


def live_leases(server: RedisServer, namespace: str) -> int:
    """Leases whose expiry (Redis clock) is still ahead, over both accounts."""
    client = redis.Redis.from_url(server.url)
    try:
        seconds, micros = client.time()
        now_ms = seconds * 1000 + micros // 1000
        keys = [f"{{{namespace}}}:held:account{n}@emulator.test" for n in (1, 2)]
        return sum(int(client.zcount(key, f"({now_ms}", "+inf")) for key in keys)
    finally:
        client.close()


def test_a_redis_restart_mid_batch_double_creates_nothing(
    emulator_process: EmulatorProcess, own_redis: RedisServer, namespace: str
) -> None:
    """Redis dies and comes back empty mid-batch: every job is created at most once."""
    workers = [
        start_worker(
            emulator_process.url, own_redis, namespace, f"w{n}", 25, backend, lease_ttl="3"
        )
        for n, backend in enumerate(["asyncio", "trio", "asyncio"])
    ]
    time.sleep(2.0)
    own_redis.stop()
    time.sleep(0.5)
    own_redis.start()
    outputs = [finish(worker) for worker in workers]
    summaries = [lines[-1] for lines in outputs]
    # Each request ended either done or with a clear error; none was lost.
    assert [s["ok"] + s["failed"] for s in summaries] == [25, 25, 25]
    assert all(set(s["errors"]) <= {"LimiterError", "BusyError"} for s in summaries), summaries
    stats = emulator_process.stats()
    job_ids = [i for lines in outputs for line in lines[:-1] for i in line["job_ids"]]
    assert len(job_ids) == len(set(job_ids)) == stats["jobs"]  # each created job is one request's
    assert stats["jobs"] == sum(s["ok"] for s in summaries)
