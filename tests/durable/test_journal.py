"""Durable batches: a journal that replays, follows and reconciles without paying twice,
one runner per journal, and a credit budget (emulator, asyncio and trio)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from pixverse_audio import (
    AsyncClient,
    BudgetError,
    GenerationResult,
    JournalError,
    MusicRequest,
    OutcomeUnknownError,
    SpeechClip,
    SpeechRequest,
    Track,
    ValidationError,
    _journal,
    _reconcile,
)
from pixverse_audio._journal import Journal
from pixverse_audio._journal_rows import SENDING, Entry, content_of, key_of, read
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

A1 = "account1@emulator.test"
Result = GenerationResult[MusicRequest, Track]


@pytest.fixture(autouse=True)
def quick_reconciliation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconciliation reads the list 3 times, 1 s apart; here 50 ms apart."""
    monkeypatch.setattr(_reconcile, "PAUSE", 0.05)


def emulator(seconds: float = 0.1, **kwargs: Any) -> Emulator:
    kwargs.setdefault("accounts", 2)
    kwargs.setdefault("max_jobs", 3)
    timing = Timing.fixed(seconds)
    return Emulator(music_timing=timing, speech_timing=timing, **kwargs)


async def run(
    client: AsyncClient, requests: list[MusicRequest], journal: Path, **options: Any
) -> list[Result]:
    async with client.music.generate_many(requests, journal=journal, **options) as results:
        return [result async for result in results]


async def crashed_send(path: Path, request: MusicRequest, index: int, account: str) -> str:
    """Write the mark a run makes before a create, as if it died right after: its key."""
    content = content_of(request)
    key = key_of(request, index, content)
    journal = Journal(path)
    await journal.open("music")
    entry = Entry(
        key=key, position=index, content=content, state=SENDING, account=account, attempts=1
    )
    entry.sent_at = time.time()
    await journal.save(entry)
    await journal.close()
    return key


def creates(server: Emulator) -> int:
    return sum(server.stats().creates.values())


async def test_queued_and_awaited_writes_land_in_the_order_they_were_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row queued for the writer thread never lands after a newer row of the same
    request that an awaited save committed meanwhile (the writer's gathering pause
    must not hold an old row outside the commit order)."""
    monkeypatch.setattr(_journal, "GATHER", 0.3)  # the steps below fit in the pause
    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open("music")
    entry = Entry(key="a", position=0, content="{}", state="running", job_id="old")
    other = Entry(key="b", position=1, content="{}", state=SENDING)
    journal.save_soon(entry)  # the writer wakes for this row and gathers more
    await anyio.sleep(0.05)  # it is in its pause now
    entry.state, entry.job_id = SENDING, None
    await journal.save(entry)  # the write-ahead mark of the next create
    entry.state, entry.job_id = "running", "new"
    journal.save_soon(entry)  # its answer
    await journal.save(other)  # another request's mark commits the queued row
    await anyio.sleep(2 * _journal.GATHER)  # the writer's pause is over
    await journal.close()
    rows = {row.key: row for row in read(tmp_path / "journal.sqlite")[1]}
    assert (rows["a"].state, rows["a"].job_id) == ("running", "new")
    assert rows["b"].state == SENDING


async def test_a_mark_is_committed_to_disk_and_other_rows_are_not_waited_for(
    tmp_path: Path,
) -> None:
    """An awaited save (a write-ahead mark) commits with synchronous=FULL, a queued row
    with NORMAL: the mark survives a power cut before its create is sent."""
    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open("music")
    db = journal._db
    assert db is not None

    def synchronous() -> int:
        return int(db.execute("PRAGMA synchronous").fetchone()[0])

    mark = Entry(key="a", position=0, content="{}", state=SENDING)
    await journal.save(mark)
    assert synchronous() == 2  # FULL
    mark.state, mark.job_id = "running", "job"
    journal.save_soon(mark)

    def committed_normally() -> bool:  # once the writer thread commits it
        deadline = time.monotonic() + 5
        while synchronous() != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        return synchronous() == 1  # NORMAL

    assert await anyio.to_thread.run_sync(committed_normally)
    await journal.save(Entry(key="b", position=1, content="{}", state=SENDING))
    assert synchronous() == 2
    await journal.close()
    rows = {row.key: row.state for row in read(tmp_path / "journal.sqlite")[1]}
    assert rows == {"a": "running", "b": SENDING}


class FailingCommits:
    """Makes a journal's next ``times`` commits fail as a full disk would."""

    def __init__(self, journal: Journal, times: int, delay: float = 0.0) -> None:
        self.times, self.delay = times, delay
        self.failed = threading.Event()
        self._commit = journal._commit
        journal._commit = self  # type: ignore[method-assign]

    def __call__(self, rows: list[Any], synchronous: str) -> None:
        if self.times > 0:
            self.times -= 1
            time.sleep(self.delay)
            self.failed.set()
            raise sqlite3.OperationalError("database or disk is full")
        self._commit(rows, synchronous)


def rows_of(path: Path) -> dict[str, str]:
    return {row.key: row.state for row in read(path)[1]}


async def test_rows_of_a_failed_queued_write_are_written_by_the_next_one(
    tmp_path: Path,
) -> None:
    """The writer thread's failed commit keeps its rows queued; the next mark writes them."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    await journal.open("music")
    failing = FailingCommits(journal, times=1)
    journal.save_soon(Entry(key="a", position=0, content="{}", state="running", job_id="j"))
    assert await anyio.to_thread.run_sync(failing.failed.wait, 5)  # the writer met it
    await journal.save(Entry(key="b", position=1, content="{}", state=SENDING))
    await journal.close()
    assert rows_of(path) == {"a": "running", "b": SENDING}


async def test_a_close_that_cannot_write_says_so_and_gives_up_the_lock(tmp_path: Path) -> None:
    """close() raises JournalError when the last rows cannot be written, and still closes
    the file and its lock: the journal can be opened again at once."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    await journal.open("music")
    await journal.save(Entry(key="a", position=0, content="{}", state=SENDING))
    FailingCommits(journal, times=99)
    journal.save_soon(Entry(key="a", position=0, content="{}", state="running", job_id="j"))
    with pytest.raises(JournalError, match="could not be written: database or disk is full"):
        await journal.close()
    with pytest.raises(JournalError, match="is closed"):
        journal.save_soon(Entry(key="b", position=1, content="{}", state=SENDING))
    again = Journal(path)
    assert await again.open("music")  # not "another process is running the batch"
    await again.close()
    assert rows_of(path) == {"a": SENDING}  # the mark, committed before


async def test_marks_waiting_on_a_commit_that_fails_fail_too(tmp_path: Path) -> None:
    """Marks that arrive while a failing commit is under way end with JournalError (their
    creates are not sent), rather than waiting for ever."""
    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open("music")
    FailingCommits(journal, times=1, delay=0.2)
    errors: list[BaseException] = []

    async def mark(key: str) -> None:
        try:
            await journal.save(Entry(key=key, position=0, content="{}", state=SENDING))
        except JournalError as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(mark, "first")
            await anyio.sleep(0.05)  # the first is committing
            group.start_soon(mark, "second")
    assert len(errors) == 2
    await journal.save(Entry(key="third", position=2, content="{}", state=SENDING))
    await journal.close()
    assert rows_of(tmp_path / "journal.sqlite") == {"third": SENDING}


async def test_a_finished_journal_replays_without_asking_the_api(tmp_path: Path) -> None:
    """Every result comes back from the journal: same tracks, no request of any kind."""
    server = emulator()
    requests = [MusicRequest(prompt=f"song {i}") for i in range(6)]
    async with server.client() as client:
        first = await run(client, requests, tmp_path / "j.sqlite")
        asked = dict(server.stats().requests)
        again = await run(client, requests, tmp_path / "j.sqlite")
    assert all(result.ok and not result.resumed for result in first)
    assert all(result.resumed for result in again)
    by_index = {result.index: result for result in first}
    for result in again:
        assert result.track == by_index[result.index].track
        assert result.key == by_index[result.index].key
    assert server.stats().requests == asked


async def test_an_interrupted_batch_resumes_without_creating_twice(tmp_path: Path) -> None:
    """Stopped after three results, then run again: every request once, repeated prompts
    included, and no job created twice."""
    server = emulator(0.2)
    requests = [MusicRequest(prompt=f"variation {i % 3}") for i in range(12)]
    journal = tmp_path / "j.sqlite"
    async with server.client() as client:
        async with client.music.generate_many(requests, journal=journal) as results:
            seen = 0
            async for _ in results:
                seen += 1
                if seen == 3:
                    break
        made = creates(server)
        assert 3 <= made < 12
        final = await run(client, requests, journal)
    assert sorted(result.index for result in final) == list(range(12))
    assert all(result.ok for result in final)
    ids = [result.track.audio_id for result in final if result.track]
    assert len(set(ids)) == 12
    assert creates(server) == 12
    assert server.running() == []


async def test_a_job_adopted_after_a_lost_answer_is_journaled(tmp_path: Path) -> None:
    """A create whose answer is lost, and whose job this run adopts, has that job in the
    journal at once: a crash after it leaves a job to follow, not a mark to settle."""
    server = emulator(0.2)
    server.faults.drop("music.create", after=True, times=2)  # the jobs are made, unanswered
    requests = [MusicRequest(prompt=f"dropped {i}") for i in range(3)]
    journal = tmp_path / "j.sqlite"
    async with server.client() as client:
        results = await run(client, requests, journal)
    entries = {entry.position: entry for entry in read(journal)[1]}
    assert all(result.ok for result in results)
    for result in results:
        assert result.track is not None
        assert entries[result.index].job_ids == [result.track.audio_id]
        assert entries[result.index].job_id == result.track.audio_id
    assert creates(server) == 3


async def test_a_create_cut_off_by_a_crash_is_adopted(tmp_path: Path) -> None:
    """The run died after its mark; the server made the job: the next run follows it."""
    server = emulator(1.0)
    request = MusicRequest(prompt="cut off")
    journal = tmp_path / "j.sqlite"
    key = await crashed_send(journal, request, 0, A1)
    async with server.client() as crashed, server.client() as client:
        job = await crashed.music.create("cut off", email=A1)  # the create the crash hid
        (result,) = await run(client, [request], journal)
    assert result.key == key
    assert result.track is not None
    assert result.track.audio_id == job.audio_id
    assert creates(server) == 1
    _, (entry,) = read(journal)
    assert (entry.state, entry.job_id) == ("done", job.audio_id)


async def test_a_lost_create_with_no_job_is_reported_not_resent(tmp_path: Path) -> None:
    """Nothing found: OutcomeUnknownError, no create; resubmit_after=0 opts into sending it."""
    server = emulator()
    request = MusicRequest(prompt="never made")
    journal = tmp_path / "j.sqlite"
    await crashed_send(journal, request, 0, A1)
    async with server.client() as client:
        (reported,) = await run(client, [request], journal)
        assert isinstance(reported.error, OutcomeUnknownError)
        assert creates(server) == 0
        (resent,) = await run(client, [request], journal, resubmit_after=0)
    assert resent.ok
    assert creates(server) == 1


async def test_twin_creates_cut_off_share_the_jobs_found(tmp_path: Path) -> None:
    """Two marks of the same prompt (variations), two jobs made: one each, none twice."""
    server = emulator(1.0)
    requests = [MusicRequest(prompt="twin"), MusicRequest(prompt="twin")]
    journal = tmp_path / "j.sqlite"
    for index, request in enumerate(requests):
        await crashed_send(journal, request, index, A1)
    async with server.client() as crashed, server.client() as client:
        jobs = {(await crashed.music.create("twin", email=A1)).audio_id for _ in range(2)}
        results = await run(client, requests, journal)
    assert {result.track.audio_id for result in results if result.track} == jobs
    assert creates(server) == 2


async def test_a_job_made_before_the_mark_is_not_adopted(tmp_path: Path) -> None:
    """A finished job of the same prompt from before the crashed send is someone else's."""
    server = emulator(0.05)
    request = MusicRequest(prompt="older")
    journal = tmp_path / "j.sqlite"
    async with server.client() as client:
        old = await client.music.generate("older", email=A1)
        await anyio.sleep(1.1)  # the server's stamps have whole seconds
        await crashed_send(journal, request, 0, A1)
        (result,) = await run(client, [request], journal)
    assert isinstance(result.error, OutcomeUnknownError)
    assert old.audio_id not in result.job_ids
    assert creates(server) == 1


async def test_a_job_the_journal_gives_another_request_is_not_adopted(tmp_path: Path) -> None:
    """Request 1 was cut off; then request 0 (same prompt) ran and made job X, after the
    mark: X matches request 1 by prompt and time, but the journal gives it to 0."""
    server = emulator(1.0)
    requests = [MusicRequest(prompt="same"), MusicRequest(prompt="same")]
    journal = tmp_path / "j.sqlite"
    await crashed_send(journal, requests[1], 1, A1)
    await anyio.sleep(1.1)  # X is stamped a whole second after the mark: provably later
    async with server.client() as earlier:  # an earlier process: X is made after the mark
        (first,) = await run(earlier, requests[:1], journal)
    async with server.client() as client:
        results = await run(client, requests, journal)
    second = next(result for result in results if result.index == 1)
    assert first.track is not None
    assert isinstance(second.error, OutcomeUnknownError)
    assert creates(server) == 1


async def test_one_runner_per_journal(tmp_path: Path) -> None:
    """While a batch runs on a journal, another batch on it is refused before any request."""
    server = emulator(0.5)
    journal = tmp_path / "j.sqlite"
    async with server.client() as client, server.client() as other:
        batch = client.music.generate_many([MusicRequest(prompt="first")], journal=journal)
        async with batch as results:
            with pytest.raises(JournalError, match="another process"):
                await run(other, [MusicRequest(prompt="second")], journal)
            assert [result.ok async for result in results] == [True]
        assert creates(server) == 1
        (later,) = await run(other, [MusicRequest(prompt="second")], journal)
    assert later.ok


async def test_a_journal_of_the_other_kind_or_no_journal_is_refused(tmp_path: Path) -> None:
    """A speech batch on a music journal, or a file that is not a journal: JournalError."""
    server = emulator()
    journal = tmp_path / "j.sqlite"
    not_a_journal = tmp_path / "notes.txt"
    not_a_journal.write_text("not sqlite at all, just some words\n" * 20)
    voice = "minimax_english_radiant_girl"
    async with server.client() as client:
        await run(client, [MusicRequest(prompt="music")], journal)
        with pytest.raises(JournalError, match="music batch"):
            async with client.speech.generate_many(
                [SpeechRequest("Hello there.", voice)], journal=journal
            ):
                pass
        with pytest.raises(JournalError, match="not a journal"):
            await run(client, [MusicRequest(prompt="x")], not_a_journal)
    assert creates(server) == 1


async def test_a_key_naming_other_content_is_refused(tmp_path: Path) -> None:
    """The same key with another prompt is a JournalError result, and nothing is created."""
    server = emulator()
    journal = tmp_path / "j.sqlite"
    async with server.client() as client:
        await run(client, [MusicRequest(prompt="first words", key="intro")], journal)
        (result,) = await run(client, [MusicRequest(prompt="other words", key="intro")], journal)
    assert isinstance(result.error, JournalError)
    assert "intro" in str(result.error)
    assert creates(server) == 1


async def test_the_budget_stops_creating_and_a_higher_one_continues(tmp_path: Path) -> None:
    """40 credits a track: a budget of 160 runs 4 of 10 and says so; 400 runs the rest."""
    server = emulator()
    requests = [MusicRequest(prompt=f"budget {i}") for i in range(10)]
    journal = tmp_path / "j.sqlite"
    async with server.client() as client:
        async with client.music.generate_many(
            requests, journal=journal, max_credits=160
        ) as results:
            first = [result async for result in results]
            assert results.stopped_by_budget
            assert results.spent <= 160
        assert sum(result.ok for result in first) == 4
        refused = [result.error for result in first if not result.ok]
        assert all(isinstance(error, BudgetError) for error in refused)
        assert "160" in str(refused[0])
        second = await run(client, requests, journal, max_credits=400)
    assert sum(result.resumed for result in second) == 4
    assert all(result.ok for result in second)
    assert creates(server) == 10


async def test_speech_is_budgeted_by_its_credit_formula(tmp_path: Path) -> None:
    """120 characters at 1 credit per started 50: 3 credits a clip; 7 credits run two."""
    server = emulator(accounts=1)
    text = "x" * 120
    voice = "minimax_english_radiant_girl"
    requests = [SpeechRequest(text, voice) for _ in range(4)]
    async with server.client() as client:
        await client.speech.models()  # the live credit_formula
        async with client.speech.generate_many(
            requests, journal=tmp_path / "s.sqlite", max_credits=7
        ) as results:
            done: list[GenerationResult[SpeechRequest, SpeechClip]] = [r async for r in results]
    assert sum(result.ok for result in done) == 2
    assert sum(isinstance(result.error, BudgetError) for result in done) == 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"journal": 3}, "journal"),
        ({"max_credits": -1}, "max_credits"),
        ({"max_credits": "lots"}, "max_credits"),
        ({"resubmit_after": 10}, "resubmit_after"),  # without a journal
    ],
)
async def test_bad_durable_arguments_are_refused_before_anything(
    options: dict[str, Any], field: str
) -> None:
    """A ValidationError at the call, no request sent."""
    server = emulator()
    async with server.client() as client:
        with pytest.raises(ValidationError, match=field):
            client.music.generate_many([MusicRequest(prompt="x")], **options)
    assert server.stats().requests == {}


def test_the_blocking_client_runs_a_journaled_batch(tmp_path: Path) -> None:
    """SyncBatch takes the same journal, and replays it."""
    server = emulator()
    requests = [MusicRequest(prompt=f"sync {i}") for i in range(3)]
    with server.blocking_client() as client:
        with client.music.generate_many(requests, journal=tmp_path / "j.sqlite") as results:
            first = list(results)
        with client.music.generate_many(requests, journal=tmp_path / "j.sqlite") as results:
            again = list(results)
    assert all(result.ok for result in first)
    assert all(result.resumed for result in again)
    assert creates(server) == 3


async def test_a_journal_that_cannot_close_does_not_hide_the_blocks_own_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving the block with an exception while the journal's last rows cannot be written:
    the block's exception goes on (a warning names the journal); leaving it normally
    raises JournalError."""
    server = emulator(0.05)
    requests = [MusicRequest(prompt=f"song {i}") for i in range(2)]

    def full(self: Journal, rows: list[Any], synchronous: str) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    async def leave(client: AsyncClient, journal: Path, error: Exception | None) -> None:
        """Leave the block after the first result, the disk full from then on."""
        async with client.music.generate_many(requests, journal=journal) as results:
            async for _ in results:
                monkeypatch.setattr(Journal, "_commit", full)
                if error is not None:
                    raise error
                break

    async with server.client() as client:
        with pytest.raises(ValueError, match="the caller's own"):
            await leave(client, tmp_path / "a", ValueError("the caller's own"))
        assert "could not be written: database or disk is full" in caplog.text
        monkeypatch.undo()
        with pytest.raises(JournalError, match="could not be written"):
            await leave(client, tmp_path / "b", None)
