"""wait and generate: one job followed until final, within a deadline that releases it."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from pixverse_audio import (
    AsyncClient,
    GenerationFailedError,
    Job,
    NotFoundError,
    PollPolicy,
    SpeechClip,
    Track,
    ValidationError,
    WaitTimeoutError,
)
from pixverse_audio.emulator import Emulator, Timing

pytestmark = pytest.mark.anyio

EMAIL = "account1@emulator.test"
VOICE = "minimax_english_radiant_girl"
POLL = PollPolicy(first=0.05, cap=0.3, not_found_grace=1.0)
QUICK = Timing.fixed(0.1)  # every job takes 0.1 s
SLOW = Timing.fixed(30.0)  # a job no test waits for
MISSING_ID = f"user:1000-pixverse:{EMAIL}-music:99999999"


def emulator_with(timing: Timing = QUICK, **kwargs: Any) -> Emulator:
    """One account whose music and speech jobs all take ``timing``."""
    return Emulator(music_timing=timing, speech_timing=timing, **kwargs)


def requests_to(emulator: Emulator, route: str) -> int:
    """How many requests ``route`` has answered."""
    return emulator.stats().requests.get(route, 0)


# ------------------------------------------------------------------ success


@pytest.mark.parametrize("handle", ["job", "id", "track"])
async def test_wait_returns_the_completed_track(handle: str) -> None:
    """wait, given a Job, an id or a Track, returns the COMPLETED track of that job."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("rain on a tin roof")
        target: str | Job | Track = job
        if handle == "id":
            target = job.audio_id
        elif handle == "track":
            target = await client.music.get(job.audio_id)
        track = await client.music.wait(target, timeout=10)
    assert isinstance(track, Track)
    assert track.audio_id == job.audio_id
    assert track.completed
    assert track.final
    assert track.url is not None
    assert track.prompt == "rain on a tin roof"
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 0


async def test_generate_creates_one_job_and_returns_its_track() -> None:
    """generate is create + wait: one create, the COMPLETED track of that job."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        track = await client.music.generate("lofi beats", timeout=10, instrumental=True)
    assert track.completed
    assert track.prompt == "lofi beats"
    assert emulator.stats().jobs == 1
    assert list(emulator.jobs) == [track.audio_id]
    assert requests_to(emulator, "music.create") == 1
    assert requests_to(emulator, "music.list") >= 1  # status comes from the account's list
    assert requests_to(emulator, "music.get") == 0


async def test_speech_generate_and_wait_return_completed_clips() -> None:
    """speech.generate and speech.wait return the COMPLETED SpeechClip of their job."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        clip = await client.speech.generate("Hello there.", VOICE, timeout=10)
        job = await client.speech.create("General Kenobi.", VOICE)
        waited = await client.speech.wait(job.audio_id, timeout=10)
    assert isinstance(clip, SpeechClip)
    assert clip.completed
    assert clip.text == "Hello there."
    assert isinstance(waited, SpeechClip)
    assert waited.completed
    assert waited.audio_id == job.audio_id
    assert waited.text == "General Kenobi."
    assert emulator.stats().jobs == 2
    # GET music/ lists speech jobs too: one list request answers for both kinds
    assert requests_to(emulator, "music.list") >= 2
    assert requests_to(emulator, "speech.list") == 0
    assert requests_to(emulator, "speech.get") == 0


# ------------------------------------------------------------------ failure


async def test_failed_job_raises_generation_failed_error() -> None:
    """A job ending FAILED raises GenerationFailedError carrying its id and fail_code."""
    emulator = emulator_with(failure_rate=1.0)
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("doomed")
        with pytest.raises(GenerationFailedError) as caught:
            await client.music.wait(job, timeout=10)
    error = caught.value
    assert error.audio_id == job.audio_id
    assert error.fail_code == "music_generation_failed"
    assert error.track.final
    assert not error.track.completed
    assert requests_to(emulator, "scheduler.cancel") == 0  # a final job holds no slot


async def test_generate_of_a_failing_job_raises_generation_failed_error() -> None:
    """generate raises GenerationFailedError (not a result) when its job ends FAILED."""
    emulator = emulator_with(failure_rate=1.0)
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(GenerationFailedError) as caught:
            await client.music.generate("doomed", timeout=10)
    assert caught.value.audio_id == next(iter(emulator.jobs))
    assert caught.value.fail_code


async def test_failed_speech_raises_generation_failed_error() -> None:
    """A FAILED speech job raises GenerationFailedError with the clip's id and fail_code."""
    emulator = emulator_with(failure_rate=1.0)
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(GenerationFailedError) as caught:
            await client.speech.generate("No.", VOICE, timeout=10)
    assert caught.value.audio_id == next(iter(emulator.jobs))
    assert caught.value.fail_code
    assert isinstance(caught.value.track, SpeechClip)


# ----------------------------------------------------------------- deadlines


async def test_deadline_raises_wait_timeout_and_releases_the_job() -> None:
    """At the deadline wait raises WaitTimeoutError and DELETEs the job from the scheduler."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("forever")
        assert [j.audio_id for j in emulator.running()] == [job.audio_id]
        with pytest.raises(WaitTimeoutError) as caught:
            await client.music.wait(job, timeout=0.15)
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.audio_id == job.audio_id
    assert error.timeout == 0.15
    assert error.last_seen is not None
    assert error.last_seen.audio_id == job.audio_id
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1
    assert not emulator.jobs[job.audio_id].tracked


async def test_deadline_without_cancel_on_timeout_keeps_the_job() -> None:
    """With cancel_on_timeout=False the deadline raises but the job keeps its slot."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("forever")
        with pytest.raises(WaitTimeoutError) as caught:
            await client.music.wait(job, timeout=0.15, cancel_on_timeout=False)
    assert caught.value.audio_id == job.audio_id
    assert [j.audio_id for j in emulator.running()] == [job.audio_id]
    assert requests_to(emulator, "scheduler.cancel") == 0


async def test_generate_deadline_releases_its_job() -> None:
    """generate's deadline raises WaitTimeoutError for the job it created, and releases it."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(WaitTimeoutError) as caught:
            await client.music.generate("forever", timeout=0.15)
    assert caught.value.audio_id == next(iter(emulator.jobs))
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1


async def test_speech_deadline_releases_the_job() -> None:
    """speech.wait's deadline raises WaitTimeoutError and releases the speech job."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        job = await client.speech.create("Slowly.", VOICE)
        with pytest.raises(WaitTimeoutError) as caught:
            await client.speech.wait(job, timeout=0.15)
    assert caught.value.audio_id == job.audio_id
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1


async def test_move_on_after_around_wait_releases_the_job() -> None:
    """A cancelled wait (move_on_after around it) releases its job, then lets the cancel go on."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("forever")
        with anyio.move_on_after(0.15) as scope:
            await client.music.wait(job, timeout=10)
        assert scope.cancelled_caught
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1


async def test_cancelling_the_waiting_task_releases_the_job() -> None:
    """Cancelling the task group of a waiting task releases the job it waited for."""
    emulator = emulator_with(SLOW)
    waiting = anyio.Event()
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("forever")

        async def waiter() -> None:
            waiting.set()
            await client.music.wait(job, timeout=10)

        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await waiting.wait()
            await anyio.sleep(0.08)  # the waiter is between two polls
            group.cancel_scope.cancel()
        assert group.cancel_scope.cancelled_caught
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1


async def test_cancelled_generate_releases_its_job() -> None:
    """Cancelling generate after its create releases the job it created."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        with anyio.move_on_after(0.15):
            await client.music.generate("forever", timeout=10)
    assert emulator.stats().jobs == 1
    assert emulator.running() == []
    assert requests_to(emulator, "scheduler.cancel") == 1


async def test_cancelled_wait_without_cancel_on_timeout_keeps_the_job() -> None:
    """With cancel_on_timeout=False a cancelled wait leaves the job running."""
    emulator = emulator_with(SLOW)
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("forever")
        with anyio.move_on_after(0.15):
            await client.music.wait(job, timeout=10, cancel_on_timeout=False)
    assert [j.audio_id for j in emulator.running()] == [job.audio_id]
    assert requests_to(emulator, "scheduler.cancel") == 0


# ----------------------------------------------------------------- not found


async def test_not_found_just_after_create_is_tolerated() -> None:
    """404s within not_found_grace mean "not visible yet": the wait goes on to the track."""
    emulator = emulator_with()
    poll = PollPolicy(first=0.02, cap=0.05, not_found_grace=5.0)
    first_id = f"user:1000-pixverse:{EMAIL}-music:11223344"  # the emulator's first job
    waited: list[Track] = []

    async def wait(client: AsyncClient) -> None:
        waited.append(await client.music.wait(first_id, timeout=10))

    async with (
        emulator.client(poll=poll) as client,
        emulator.client() as other,
        anyio.create_task_group() as group,
    ):
        group.start_soon(wait, client)
        with anyio.fail_after(5):
            while emulator.stats().responses.get(404, 0) < 2:  # noqa: ASYNC110 - polls a counter
                await anyio.sleep(0.01)
        job = await other.music.create("shy")
    assert job.audio_id == first_id
    assert waited[0].completed
    assert waited[0].audio_id == first_id
    assert requests_to(emulator, "music.get") >= 2  # absent from the list: asked by id


async def test_not_found_after_the_grace_is_raised() -> None:
    """A job still 404 after not_found_grace raises NotFoundError (after tolerating some)."""
    emulator = emulator_with()
    poll = PollPolicy(first=0.02, cap=0.05, not_found_grace=0.2)
    async with emulator.client(poll=poll) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.music.wait(MISSING_ID, timeout=10)
    assert caught.value.status_code == 404
    assert requests_to(emulator, "music.get") >= 2  # the first 404s were tolerated


async def test_not_found_with_zero_grace_is_raised_at_once() -> None:
    """not_found_grace=0 turns the first 404 into NotFoundError."""
    emulator = emulator_with()
    poll = PollPolicy(first=0.02, cap=0.05, not_found_grace=0)
    async with emulator.client(poll=poll) as client:
        with pytest.raises(NotFoundError):
            await client.music.wait(MISSING_ID, timeout=10)
    assert requests_to(emulator, "music.get") == 1


# ------------------------------------------------------------ bad arguments

BAD_TIMEOUTS = [0, -1, 0.0, math.nan, -math.inf, True, "10"]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
async def test_music_wait_rejects_a_bad_timeout_before_any_request(timeout: object) -> None:
    """music.wait with timeout None/0/-1/NaN/bool/str raises ValidationError, sends nothing."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(ValidationError) as caught:
            await client.music.wait(MISSING_ID, timeout=timeout)  # type: ignore[arg-type]
    assert caught.value.field == "timeout"
    assert emulator.stats().requests == {}


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
async def test_speech_wait_rejects_a_bad_timeout_before_any_request(timeout: object) -> None:
    """speech.wait with a bad timeout raises ValidationError and sends nothing."""
    emulator = emulator_with()
    speech_id = f"user:1000-pixverse:{EMAIL}-speech:99999999"
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(ValidationError):
            await client.speech.wait(speech_id, timeout=timeout)  # type: ignore[arg-type]
    assert emulator.stats().requests == {}


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
async def test_music_generate_rejects_a_bad_timeout_before_any_request(timeout: object) -> None:
    """music.generate with a bad timeout raises ValidationError before creating a (paid) job."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(ValidationError):
            await client.music.generate("p", timeout=timeout)  # type: ignore[arg-type]
    assert emulator.stats().requests == {}
    assert emulator.stats().jobs == 0


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
async def test_speech_generate_rejects_a_bad_timeout_before_any_request(timeout: object) -> None:
    """speech.generate with a bad timeout raises ValidationError before creating a job."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(ValidationError):
            await client.speech.generate("Hi.", VOICE, timeout=timeout)  # type: ignore[arg-type]
    assert emulator.stats().requests == {}
    assert emulator.stats().jobs == 0


@pytest.mark.parametrize("bad_id", ["", "not an id", "user:1-pixverse:a@b-music:1/../x"])
async def test_wait_rejects_a_bad_id_before_any_request(bad_id: str) -> None:
    """wait with a malformed id raises ValidationError and sends nothing."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        with pytest.raises(ValidationError):
            await client.music.wait(bad_id, timeout=5)
    assert emulator.stats().requests == {}


async def test_no_timeout_is_the_kinds_default() -> None:
    """timeout=None (the default) waits up to the kind's default deadline."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("default deadline")
        track = await client.music.wait(job, timeout=None)
        clip = await client.speech.generate("Hello.", VOICE)
    assert track.completed
    assert clip.completed


async def test_infinite_timeout_waits_for_the_job() -> None:
    """timeout=math.inf is a valid deadline: the wait runs until the job is final."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        track = await client.music.generate("patient", timeout=math.inf)
    assert track.completed


async def test_a_long_wait_never_overflows_the_poll_gap() -> None:
    """Polls past the point where factor**checks overflows keep the gap at the cap.

    factor=1e300 overflows a float at the third check, as the default factor
    1.5 does after about 1,750 checks (some 5 hours at the 10 s cap, well
    within timeout=math.inf).
    """
    emulator = emulator_with(Timing.fixed(0.25))  # checks are at least 0.05 s apart
    poll = PollPolicy(first=0.01, factor=1e300, cap=0.01, not_found_grace=1.0)
    async with emulator.client(poll=poll) as client:
        track = await client.music.generate("many polls", timeout=10)
    assert track.completed
    assert requests_to(emulator, "music.list") >= 3


# ------------------------------------------------------------ poll_interval


@pytest.mark.parametrize("seconds", [0.05, 1])
async def test_poll_interval_may_be_a_number_of_seconds(seconds: float) -> None:
    """wait(job, poll_interval=N) polls every N seconds (a fixed gap) and returns the track."""
    emulator = emulator_with(Timing.fixed(0.12))
    async with emulator.client(poll=POLL) as client:
        job = await client.music.create("steady")
        started = anyio.current_time()
        track = await client.music.wait(job, timeout=10, poll_interval=seconds)
        waited = anyio.current_time() - started
    assert track.completed
    gets = requests_to(emulator, "music.list")
    # checks at N, 2N, ... until the job (0.12 s) is final: no growth, no jitter (a
    # check that comes late may already find it final, one fewer)
    assert math.ceil(0.12 / seconds) - 1 <= gets <= math.ceil(0.12 / seconds)
    assert gets >= 1
    assert waited >= gets * seconds


async def test_poll_interval_number_for_generate_and_speech() -> None:
    """generate and speech.wait take a number of seconds too."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        track = await client.music.generate("n", timeout=10, poll_interval=0.05)
        job = await client.speech.create("Hello there.", VOICE)
        clip = await client.speech.wait(job, timeout=10, poll_interval=0.05)
    assert track.completed
    assert clip.completed


BAD_POLLS = [0, -1, math.nan, math.inf, True, "5", [5]]


@pytest.mark.parametrize("poll", BAD_POLLS)
async def test_bad_poll_interval_is_refused_before_any_request(poll: object) -> None:
    """wait, generate and generate_many refuse a bad poll_interval with ValidationError first."""
    emulator = emulator_with()
    async with emulator.client(poll=POLL) as client:
        calls = [
            lambda: client.music.wait(MISSING_ID, poll_interval=poll),  # type: ignore[arg-type]
            lambda: client.music.generate("p", poll_interval=poll),  # type: ignore[arg-type]
            lambda: client.speech.generate("hi", VOICE, poll_interval=poll),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(ValidationError) as caught:
                await call()
            assert caught.value.field == "poll_interval"
        with pytest.raises(ValidationError):
            client.music.generate_many([], poll_interval=poll)  # type: ignore[arg-type]
    assert emulator.stats().requests == {}
