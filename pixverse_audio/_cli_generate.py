"""Bulk generation with live progress (``music generate``) and the offline ``demo``."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ._audio_api import MusicAPI, SpeechAPI
from ._cli_output import print_json, print_table
from ._client import AsyncClient
from ._download import safe_filename
from ._errors import GenerationFailedError, WaitTimeoutError
from ._jobs import GenerationResult, JobEvent
from ._models import AudioStatus, SpeechClip, Track
from ._requests import MusicRequest, SpeechRequest

__all__ = ["Summary", "generate_and_download", "ideal_makespan", "output_name", "run_demo"]

DEMO_PROMPTS = (
    "upbeat synthwave with a clear female vocal",
    "lofi hip hop beat for studying, vinyl crackle",
    "epic orchestral trailer music with choir",
    "acoustic folk ballad about the sea",
    "deep house groove with warm bassline",
    "jazz trio late at night, brushed drums",
    "8-bit chiptune boss battle",
    "ambient drone for meditation",
)


@attrs.define
class Summary:
    """What a bulk run did.

    ``results`` holds one entry per request that has a result or a job (index,
    prompt, job id, file or error, and its ``status``: ``done``, ``failed``,
    ``released``, ``running`` or ``error``), so every file can be traced to its
    request and no paid job goes unlisted: a job released from the scheduler
    (at its deadline, or by Ctrl-C) is listed with the last status seen.
    """

    requested: int
    done: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    credits: float = 0.0
    elapsed: float = 0.0
    busy: int = 0
    results: list[dict[str, Any]] = attrs.Factory(list)
    files: list[str] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    interrupted: bool = False


_LABELS = {
    "submitted": "queued",
    "status": "generating",
    "completed": "done",
    "failed": "failed",
    "retrying": "retrying",
    "busy": "waiting for a slot",
    "released": "released",
}


@attrs.define
class _Jobs:
    """What the events said about each request's jobs (by request index)."""

    ids: dict[int, list[str]] = attrs.Factory(dict)
    status: dict[int, str | None] = attrs.Factory(dict)
    released: set[str] = attrs.Factory(set)

    def note(self, event: JobEvent) -> None:
        if event.index is None:
            return
        if event.job_id is not None and event.kind in ("submitted", "adopted"):
            ids = self.ids.setdefault(event.index, [])
            if event.job_id not in ids:
                ids.append(event.job_id)
        if event.status is not None:
            self.status[event.index] = _status_name(event.status)
        if event.kind == "released" and event.job_id is not None:
            self.released.add(event.job_id)


def _status_name(status: AudioStatus | int | None) -> str | None:
    """``GENERATING`` for a known status, the number for an unknown one."""
    if status is None:
        return None
    return status.name if isinstance(status, AudioStatus) else str(status)


def output_name(index: int, track: Track | SpeechClip) -> str:
    """The file name of request ``index``'s audio: its index first, then the track's name."""
    return f"{index:04d}-{safe_filename(track)}"


async def generate_and_download(
    api: MusicAPI | SpeechAPI,
    client: AsyncClient,
    requests: Sequence[MusicRequest | SpeechRequest],
    out_dir: Path,
    *,
    max_attempts: int,
    timeout: float,
    as_json: bool,
    console: Console,
) -> Summary:
    """Run ``requests`` through ``api.generate_many``, save each into ``out_dir``, summarise.

    Files are named ``<index>-<name>.mp3`` (`output_name`). Cancellation
    (Ctrl-C) stops the batch cleanly; the summary still shows what finished,
    and how many running jobs were released (they may still finish and bill).
    """
    await anyio.Path(out_dir).mkdir(parents=True, exist_ok=True)
    summary = Summary(requested=len(requests))
    counts: Counter[str] = Counter()
    jobs = _Jobs()
    rows: dict[int, TaskID] = {}
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    )

    def on_event(event: JobEvent) -> None:
        counts[event.kind] += 1
        jobs.note(event)
        if event.index is None:
            return
        label = _LABELS.get(event.kind, event.kind)
        if event.kind == "status" and event.status == AudioStatus.QUEUED:
            label = "queued"
        row = rows.get(event.index)
        if row is None and event.kind in ("submitted", "busy"):
            rows[event.index] = progress.add_task(f"  #{event.index:<4} {label}", total=1)
        elif row is not None:
            progress.update(row, description=f"  #{event.index:<4} {label}")

    started = anyio.current_time()
    generate_many: Any = api.generate_many  # music or speech: requests of its own kind
    batch = generate_many(requests, max_attempts=max_attempts, timeout=timeout, on_event=on_event)
    try:
        with progress:
            overall = progress.add_task("jobs", total=len(requests))
            async with batch as results:
                async for result in results:
                    await _record(client, result, out_dir, summary, jobs)
                    row = rows.pop(result.index, None)
                    if row is not None:
                        progress.remove_task(row)
                    progress.advance(overall)
    except anyio.get_cancelled_exc_class():
        summary.interrupted = True
        raise
    finally:
        summary.elapsed = anyio.current_time() - started
        summary.busy = counts["busy"]
        summary.released = counts["released"]
        _add_unfinished(summary, requests, jobs)
        _print_summary(console, summary, as_json)
    return summary


def _entry(
    index: int, request: MusicRequest | SpeechRequest, job_ids: Sequence[str], jobs: _Jobs
) -> dict[str, Any]:
    """A request's line in ``Summary.results``, before its outcome is filled in."""
    return {
        "index": index,
        "prompt": request.prompt if isinstance(request, MusicRequest) else request.text,
        "status": "running",
        "job_status": jobs.status.get(index),
        "job_id": job_ids[-1] if job_ids else None,
        "job_ids": list(job_ids),
        "attempts": len(job_ids),
        "file": None,
        "error": None,
    }


async def _record(
    client: AsyncClient,
    result: GenerationResult[Any, Any],
    out_dir: Path,
    summary: Summary,
    jobs: _Jobs,
) -> None:
    """Save one result's audio (named by its index) and note it in ``summary``."""
    entry = _entry(result.index, result.request, result.job_ids, jobs)
    entry["attempts"] = result.attempts
    summary.retried += max(0, result.attempts - 1)
    track = result.track
    if track is not None:
        target = out_dir / output_name(result.index, track)
        path = await client.download(track, target, overwrite=True)
        summary.done += 1
        summary.credits += track.credits or 0
        summary.files.append(str(path))
        entry.update(status="done", job_status=_status_name(track.status), file=str(path))
    else:
        error = result.error
        summary.failed += 1
        summary.errors.append(f"#{result.index}: {error}")
        entry["error"] = f"{type(error).__name__}: {error}"
        if isinstance(error, GenerationFailedError):
            entry.update(status="failed", job_status=_status_name(error.track.status))
        elif entry["job_id"] is not None and entry["job_id"] in jobs.released:
            entry["status"] = "released"  # it may still finish and bill
            if isinstance(error, WaitTimeoutError) and error.last_seen is not None:
                entry["job_status"] = _status_name(error.last_seen.status)
        else:
            entry["status"] = "error"
    summary.results.append(entry)


def _add_unfinished(
    summary: Summary, requests: Sequence[MusicRequest | SpeechRequest], jobs: _Jobs
) -> None:
    """List the requests whose jobs never gave a result (Ctrl-C): released, or still running."""
    listed = {entry["index"] for entry in summary.results}
    for index, job_ids in sorted(jobs.ids.items()):
        if index in listed:
            continue
        entry = _entry(index, requests[index], job_ids, jobs)
        if job_ids[-1] in jobs.released:
            entry["status"] = "released"
        summary.results.append(entry)


def _print_summary(console: Console, summary: Summary, as_json: bool) -> None:
    if as_json:
        summary.results.sort(key=lambda entry: entry["index"])
        print_json(console, attrs.asdict(summary))
        return
    rows: list[tuple[str, object]] = [
        ("done", f"{summary.done} of {summary.requested}"),
        ("failed", summary.failed),
        ("failures retried", summary.retried),
        ("credits (finished jobs)", f"{summary.credits:g}"),
        ("elapsed", f"{summary.elapsed:.1f} s"),
        ("429 answers", summary.busy),
    ]
    if summary.released:
        rows.append(("released", f"{summary.released}; they may still finish and bill"))
    if summary.interrupted:
        rows.append(("interrupted", "yes: no new job was started"))
    print_table(console, "summary", ["", ""], rows)
    for line in summary.errors[:10]:
        console.print(f"[red]{line}[/red]")


async def run_demo(out_dir: Path, tracks: int, console: Console) -> None:
    """Generate ``tracks`` tracks on an in-process emulator (3 accounts x maxJobs 4)."""
    from .emulator import Emulator, Timing

    emulator = Emulator(
        accounts=3,
        max_jobs=4,
        seed=7,
        failure_rate=0.1,
        music_timing=Timing(queued=(0.2, 0.6), generating=(2.0, 3.5), audio=(20.0, 40.0)),
    )
    console.print(
        f"[bold]pixverse-audio demo[/bold]: {tracks} tracks on the embedded emulator "
        "(3 accounts x maxJobs 4, 10% of jobs fail and are retried), offline, no token."
    )
    requests = [
        MusicRequest(
            prompt=f"{DEMO_PROMPTS[i % len(DEMO_PROMPTS)]} (take {i // len(DEMO_PROMPTS) + 1})"
        )
        for i in range(tracks)
    ]
    async with emulator.client() as client:  # default polling: it learns the job length
        summary = await generate_and_download(
            client.music,
            client,
            requests,
            out_dir,
            max_attempts=3,
            timeout=60,
            as_json=False,
            console=console,
        )
    _print_demo_stats(console, emulator, summary, dict(emulator.stats().peak_running))


def ideal_makespan(chains: list[list[float]], slots: int) -> float:
    """The makespan of the same jobs with no overhead at all.

    ``chains`` holds, per request in order, the durations of its attempts
    (a retry starts the moment its failed attempt ends). Requests start in
    order on the first free slot, as the engine starts them, but every job is
    noticed the instant it finishes: the difference to the real makespan is
    what polling and scheduling cost.
    """
    free = [0.0] * slots
    ready = [(0.0, index, 0) for index in range(len(chains))]
    heapq.heapify(ready)
    end = 0.0
    while ready:
        ready_at, index, attempt = heapq.heappop(ready)
        start = max(ready_at, heapq.heappop(free))
        finish = start + chains[index][attempt]
        heapq.heappush(free, finish)
        end = max(end, finish)
        if attempt + 1 < len(chains[index]):
            heapq.heappush(ready, (finish, index, attempt + 1))
    return end


def _print_demo_stats(
    console: Console, emulator: Any, summary: Summary, peaks: dict[str, int]
) -> None:
    jobs = list(emulator.jobs.values())
    chains: dict[str, list[float]] = {}
    for job in jobs:  # creation order: a request's attempts in turn
        chains.setdefault(job.prompt, []).append(job.finished - job.created)
    ideal = ideal_makespan(list(chains.values()), slots=12)
    stats = emulator.stats()
    status = stats.requests.get("music.list", 0) + stats.requests.get("music.get", 0)
    rows = [
        ("jobs created (retries included)", len(jobs)),
        (
            "makespan vs ideal (same jobs, no overhead)",
            f"{summary.elapsed:.1f} s vs {ideal:.1f} s ({summary.elapsed / ideal:.2f}x)"
            if ideal
            else "-",
        ),
        ("429 answers from the emulator", stats.busy),
        ("status requests per job", f"{status / max(1, len(jobs)):.2f}"),
        ("most jobs at once per account", ", ".join(f"{v}" for v in peaks.values())),
        ("MP3s in", str(Path(summary.files[0]).parent) if summary.files else "-"),
    ]
    print_table(console, "engine", ["", ""], rows)
