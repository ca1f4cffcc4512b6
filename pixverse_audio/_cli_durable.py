"""``batch run`` and ``batch status``: a durable batch kept in one directory.

``batch run FILE --out DIR`` runs every request of FILE through
``generate_many(journal=DIR/journal.sqlite)``; the same command again resumes
(finished requests are replayed, running jobs followed, nothing paid twice).
What the directory holds is `pixverse_audio._cli_manifest`'s business.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
import attrs
import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from . import _validate as v
from ._cli_base import Settings, err, json_option, out, pass_settings, show_many
from ._cli_manifest import (
    STATUSES,
    BatchDir,
    entries_of,
    file_name,
    journal_of,
    result_line,
    saved,
    status_report,
    text_field,
)
from ._cli_output import print_json, print_table
from ._cli_run import check_output_dir, checked, read_requests
from ._client import AsyncClient
from ._errors import ValidationError
from ._jobs import GenerationResult
from ._journal_rows import DONE, RUNNING, SENDING, Entry, content_of, key_of
from ._kinds import KINDS, Kind

__all__ = ["batch"]

FAILURES: Final = 7  # as `generate`: some request has no audio (see EXIT_MEANINGS)
_KINDS: Final[Mapping[str, Kind[Any, Any]]] = {kind.name: kind for kind in KINDS}
_NAMES: Final = {  # the command's spellings (see `pixverse_audio._cli_output.cli_message`)
    "--from": "FILE",
    "prompt": "prompt",
    "text": "text",
    "max_credits": "--max-credits",
    "resubmit_after": "--resubmit-after",
}


@attrs.frozen(kw_only=True)
class _Plan:
    """A checked ``batch run``: its requests and their keys, its directory, its options."""

    kind: Kind[Any, Any]
    source: Path
    directory: BatchDir
    requests: list[Any]
    keys: list[str]
    max_credits: float | None
    max_attempts: int
    timeout: float
    resubmit_after: float | None


@attrs.define
class _Outcome:
    """What a run did: a manifest line per result, and the batch's spend."""

    total: int
    lines: list[dict[str, Any]] = attrs.Factory(list)
    spent: float = 0.0
    stopped_by_budget: bool = False
    interrupted: bool = False
    elapsed: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(line["status"] for line in self.lines)


@click.group()
def batch() -> None:
    """Durable batches: run a request file into a directory, resume it, ask how far it got."""


@batch.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="The batch's directory: MP3s, journal.sqlite, manifest.jsonl, batch.json (created).",
)
@click.option(
    "--kind",
    "kind_name",
    type=click.Choice(sorted(_KINDS)),
    default="music",
    show_default=True,
    help="What FILE asks for: music prompts or speech texts.",
)
@click.option("--voice", "voice_id", help="The voice_id of every speech line without one.")
@click.option("--model", help="The model of every line without one (default: the kind's).")
@click.option(
    "--max-credits",
    type=float,
    help="Create no job once the batch's credits (all runs) could pass this (at least 0).",
)
@click.option(
    "--max-attempts",
    type=int,
    default=2,
    show_default=True,
    help="Jobs per request when they end FAILED (each is paid; 1 to 100).",
)
@click.option(
    "--timeout",
    type=float,
    help="Seconds to wait for each job (a positive number; default 1200 music, 600 speech).",
)
@click.option(
    "--resubmit-after",
    type=float,
    help="Seconds after which a create a crashed run lost, and nobody found, is sent "
    "again (default: never; it is reported as unknown).",
)
@json_option
@pass_settings
def run_command(
    settings: Settings,
    file: Path,
    out_dir: Path,
    kind_name: str,
    voice_id: str | None,
    model: str | None,
    max_credits: float | None,
    max_attempts: int,
    timeout: float | None,
    resubmit_after: float | None,
    as_json: bool,
) -> None:
    """Run every request of FILE into --out DIR; the same command again resumes.

    FILE is JSON Lines (.jsonl/.ndjson: MusicRequest or SpeechRequest fields, and an
    optional "key") or text (one prompt, or one speech text, per line; # comments). Each
    MP3 is named <key>.mp3: the line's "key", else <position>-<hash of the request>.
    Finished requests are never paid for again; running jobs are followed.
    """
    with checked(_NAMES):
        options = (max_credits, max_attempts, timeout, resubmit_after)
        plan = _prepare(_KINDS[kind_name], file, out_dir, voice_id, model, *options)
    outcome = _Outcome(total=len(plan.requests))

    async def work(client: AsyncClient) -> None:
        await _run(client, plan, outcome, as_json)

    settings.run(work)
    if outcome.counts()[DONE] == outcome.total:
        return
    if outcome.stopped_by_budget:
        print(
            f"pixverse-audio: the budget of {plan.max_credits:g} credits stopped the batch; "
            "run again with a higher --max-credits to continue",
            file=sys.stderr,
        )
    raise SystemExit(FAILURES)


@batch.command("status")
@click.argument("directory", type=click.Path(path_type=Path), metavar="DIR")
@json_option
def status_command(directory: Path, as_json: bool) -> None:
    """How far the batch in DIR got: requests by state, credits spent, what is left.

    It reads the journal without its lock, so it works while a run goes on.
    """
    with checked():
        report = status_report(directory)
    rows: list[tuple[str, object]] = list(report["states"].items())
    rows.append(("credits spent", f"{report['spent']:g}"))
    for name, field in (("requests in the file", "total"), ("left", "left")):
        rows.append((name, "unknown" if report[field] is None else report[field]))
    show_many(report, as_json, f"{report['kind']} batch in {directory}", ["", ""], rows)


# ------------------------------------------------------------ checks before the first request


def _prepare(
    kind: Kind[Any, Any],
    source: Path,
    out_dir: Path,
    voice_id: str | None,
    model: str | None,
    max_credits: float | None,
    max_attempts: int,
    timeout: float | None,
    resubmit_after: float | None,
) -> _Plan:
    """Check every option, every line of ``source``, and ``out_dir`` with its journal."""
    v.check_count("max_attempts", max_attempts, low=1, high=100)
    wait = v.check_timeout(kind.default_timeout if timeout is None else timeout)
    for field, value in (("max_credits", max_credits), ("resubmit_after", resubmit_after)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValidationError(field, "must be a finite number of at least 0")
    fields = attrs.fields_dict(kind.request_type)
    defaults: dict[str, Any] = {}
    if model is not None:
        defaults["model"] = v.check_text("model", model, limit=200)
    if voice_id is not None:
        if "voice_id" not in fields:
            raise ValidationError("voice_id", f"is for --kind speech, not {kind.name}")
        defaults["voice_id"] = v.check_text("voice_id", voice_id, limit=200)
    allowed = frozenset(fields)
    rows = read_requests(source, defaults, text_field=text_field(kind), allowed=allowed)
    numbers = [number for number, _ in rows]
    requests = [_request(kind, number, values) for number, values in rows]
    check_output_dir("--out", out_dir)
    contents = [content_of(request) for request in requests]
    keys = [key_of(r, i, c) for i, (r, c) in enumerate(zip(requests, contents, strict=True))]
    _check_keys(numbers, keys)
    directory = BatchDir(out_dir.absolute())
    if directory.journal.exists():
        found, entries = journal_of(directory.journal, "--out")
        if found != kind.name:
            where = repr(str(directory.journal))
            raise ValidationError("--kind", f"{where} is a {found} batch; give --kind {found}")
        named = {entry.key: entry.content for entry in entries}
        for number, key, content in zip(numbers, keys, contents, strict=True):
            if named.get(key, content) != content:
                raise ValidationError(
                    "FILE", f"line {number}: the key {key!r} names another request in the journal"
                )
    return _Plan(
        kind=kind,
        source=source.absolute(),
        directory=directory,
        requests=requests,
        keys=keys,
        max_credits=max_credits,
        max_attempts=max_attempts,
        timeout=wait,
        resubmit_after=resubmit_after,
    )


def _request(kind: Kind[Any, Any], number: int, values: dict[str, Any]) -> Any:
    for field in attrs.fields(kind.request_type):
        if field.default is attrs.NOTHING and values.get(field.name) is None:
            raise ValidationError(field.name, f"is missing on line {number} of FILE")
    try:
        return kind.request_type(**values)
    except ValidationError as exc:
        raise ValidationError("FILE", f"line {number}: {exc.field}: {exc.reason}") from None


def _check_keys(numbers: list[int], keys: list[str]) -> None:
    """Keys, and the file names made of them, must differ (also by case)."""
    for what, names in (("key", keys), ("file name", [file_name(k).casefold() for k in keys])):
        first: dict[str, int] = {}
        for number, name in zip(numbers, names, strict=True):
            if name in first:
                raise ValidationError(
                    "FILE", f"lines {first[name]} and {number} have the same {what}: {name!r}"
                )
            first[name] = number


# ------------------------------------------------------------ the run


async def _run(client: AsyncClient, plan: _Plan, outcome: _Outcome, as_json: bool) -> None:
    """Run the batch, save each result into the directory, write the manifest."""
    directory = plan.directory
    before = await anyio.to_thread.run_sync(entries_of, directory.journal)
    await anyio.Path(directory.path).mkdir(parents=True, exist_ok=True)
    api: Any = getattr(client, plan.kind.name)
    batch = api.generate_many(
        plan.requests,
        journal=directory.journal,
        max_credits=plan.max_credits,
        resubmit_after=plan.resubmit_after,
        timeout=plan.timeout,
        max_attempts=plan.max_attempts,
    )
    progress = Progress(
        *(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()),
        *(TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()),
        TextColumn("{task.fields[spent]:g} credits"),
        console=out,
        disable=as_json,
    )
    started = anyio.current_time()
    entered = False
    try:
        async with batch as results:  # holds the journal's lock: nothing is written before
            entered = True
            begin = directory.begin
            settled = await anyio.to_thread.run_sync(
                begin, plan.kind, plan.source, plan.keys, before
            )
            if before:
                running = sum(1 for e in before.values() if e.state in (RUNNING, SENDING))
                finished = sum(1 for e in before.values() if e.final)
                err.print(f"resuming: {finished} finished, {running} running", markup=False)
            with progress:
                known = len(settled.keys() & set(plan.keys))
                task = progress.add_task(
                    "", total=outcome.total, completed=known, spent=results.spent
                )
                async for result in results:
                    line = await _save(client, results, result, plan, before)
                    outcome.lines.append(line)
                    if line["key"] not in settled:  # its line is not in the manifest yet
                        await anyio.to_thread.run_sync(directory.append, line)
                        progress.advance(task)
                    done = outcome.counts()[DONE]
                    label = f"{done} done, {len(outcome.lines) - done} without audio"
                    progress.update(task, description=label, spent=results.spent)
                outcome.spent, outcome.stopped_by_budget = results.spent, results.stopped_by_budget
    except anyio.get_cancelled_exc_class():
        outcome.interrupted = True
        raise
    finally:
        outcome.elapsed = anyio.current_time() - started
        if entered:
            _print_outcome(outcome, plan, as_json)


async def _save(
    client: AsyncClient,
    results: Any,
    result: GenerationResult[Any, Any],
    plan: _Plan,
    before: Mapping[str, Entry],
) -> dict[str, Any]:
    """Download a finished result (unless the journal has its file) and make its line."""
    key = result.key if result.key is not None else plan.keys[result.index]
    name = None
    if result.track is not None:
        target = plan.directory.target(key)
        size = before[key].size if key in before else None
        journaled = results.journaled_file(result)
        if not await anyio.to_thread.run_sync(saved, journaled, target, size):
            await client.download(result.track, target, overwrite=True)
            await results.record_file(result, target)
        name = target.name
    prompt = plan.kind.text_of(result.request)
    return result_line(key, prompt, result.job_ids, result.track, result.error, name)


def _print_outcome(outcome: _Outcome, plan: _Plan, as_json: bool) -> None:
    counts = outcome.counts()
    if as_json:
        position = {key: index for index, key in enumerate(plan.keys)}
        lines = sorted(outcome.lines, key=lambda line: position.get(line["key"], -1))
        summary = attrs.asdict(outcome, filter=lambda field, _: field.name != "lines")
        print_json(out, {**summary, "counts": dict(counts), "results": lines})
        return
    rows: list[tuple[str, object]] = [("done", f"{counts[DONE]} of {outcome.total}")]
    rows += [(status, counts[status]) for status in STATUSES[1:]]
    rows += [
        ("credits spent (all runs)", f"{outcome.spent:g}"),
        ("elapsed", f"{outcome.elapsed:.1f} s"),
        ("manifest", str(plan.directory.manifest)),
    ]
    if outcome.interrupted:
        rows.append(("interrupted", "yes: running jobs were released; run again to resume"))
    print_table(out, "batch", ["", ""], rows)
    failures = [line for line in outcome.lines if line["status"] not in (DONE, "budget")]
    for line in failures[:10]:  # the budget has its own line, after the run
        out.print(f"{line['key']}: {line['error']}", style="red", markup=False)
