"""Retries: the pure resend table and backoff, and how the client applies them.

The money rule under test: the API has no idempotency key, so a create is sent
again only when no job can exist (connect error, connect or pool timeout, 429).
The session resends what never left; a 429 on a create is the scheduler's: it
backs the account off and sends again, `BusyError` only after
`pixverse_audio._scheduler.MAX_BUSY` in a row. A create whose answer is lost is
reconciled from the account's newest jobs, never resent.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import httpx
import pytest
from conftest import ACCOUNT, NO_WAIT, Answer, Recorder, json_response, sample

import pixverse_audio._reconcile
import pixverse_audio._scheduler
from pixverse_audio import (
    AccountError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    BusyError,
    InsufficientCreditsError,
    Job,
    ModerationError,
    NotFoundError,
    OutcomeUnknownError,
    PixverseAudioError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    Track,
)
from pixverse_audio._cadence import Cadence
from pixverse_audio._retry import Failure, failure_of_status, may_resend
from pixverse_audio._sansio import CallKind

MakeClient = Callable[..., AsyncClient]

MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
PROMPT = "slow rain on a tin roof, lo-fi"
CREATE_PATH = "/v2/pixverse/music/create"
BUSY_MESSAGE = "Account me@example.com is busy executing 3 tasks."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


# ------------------------------------------------------------------ pure table

RESEND_TABLE = {
    (CallKind.READ, Failure.CONNECT): True,
    (CallKind.READ, Failure.POOL): True,
    (CallKind.READ, Failure.SEND): True,
    (CallKind.READ, Failure.READ): True,
    (CallKind.READ, Failure.BUSY): True,
    (CallKind.READ, Failure.SERVER): True,
    (CallKind.UPLOAD, Failure.CONNECT): True,
    (CallKind.UPLOAD, Failure.POOL): True,
    (CallKind.UPLOAD, Failure.SEND): True,
    (CallKind.UPLOAD, Failure.READ): True,
    (CallKind.UPLOAD, Failure.BUSY): True,
    (CallKind.UPLOAD, Failure.SERVER): True,
    (CallKind.CREATE, Failure.CONNECT): True,
    (CallKind.CREATE, Failure.POOL): True,
    (CallKind.CREATE, Failure.SEND): False,
    (CallKind.CREATE, Failure.READ): False,
    (CallKind.CREATE, Failure.BUSY): True,
    (CallKind.CREATE, Failure.SERVER): False,
}


def test_resend_table_covers_every_kind_and_failure() -> None:
    """The expected table names every CallKind x Failure pair (a new member needs a row)."""
    assert set(RESEND_TABLE) == {(k, f) for k in CallKind for f in Failure}


@pytest.mark.parametrize(
    ("kind", "failure", "expected"),
    [pytest.param(k, f, e, id=f"{k.value}-{f.value}") for (k, f), e in RESEND_TABLE.items()],
)
def test_may_resend(kind: CallKind, failure: Failure, expected: bool) -> None:
    """may_resend: reads and uploads resend any failure; creates only connect/pool/busy."""
    assert may_resend(kind, failure) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, None),
        (400, None),
        (401, None),
        (402, None),
        (404, None),
        (422, None),
        (429, Failure.BUSY),
        (500, Failure.SERVER),
        (502, Failure.SERVER),
        (503, Failure.SERVER),
        (596, None),
    ],
)
def test_failure_of_status(status: int, expected: Failure | None) -> None:
    """429 is BUSY, 5xx other than 596 is SERVER, every other status is an answer."""
    assert failure_of_status(status) is expected


@pytest.mark.parametrize("kind", list(CallKind))
def test_should_retry_counts_retries(kind: CallKind) -> None:
    """should_retry allows exactly max_retries retries of a resendable failure."""
    policy = RetryPolicy(max_retries=2)
    assert [policy.should_retry(kind, Failure.CONNECT, n) for n in range(4)] == [
        True,
        True,
        False,
        False,
    ]
    assert RetryPolicy(max_retries=0).should_retry(kind, Failure.CONNECT, 0) is False


def test_should_retry_refuses_what_may_resend_refuses() -> None:
    """should_retry never resends a create after a read failure, whatever the budget."""
    policy = RetryPolicy(max_retries=100)
    assert policy.should_retry(CallKind.CREATE, Failure.READ, 0) is False
    assert policy.should_retry(CallKind.CREATE, Failure.SERVER, 0) is False
    assert policy.should_retry(CallKind.CREATE, Failure.BUSY, 0) is True


# ------------------------------------------------------------------ pure delays


class RecordingRandom(random.Random):
    """A Random whose uniform() records its bounds and returns the upper one."""

    def __init__(self) -> None:
        super().__init__(0)
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return b


@pytest.mark.parametrize("retries_done", range(8))
@pytest.mark.parametrize("failure", [Failure.CONNECT, Failure.READ, Failure.SERVER, Failure.BUSY])
def test_backoff_is_full_jitter_up_to_the_ceiling(failure: Failure, retries_done: int) -> None:
    """Backoff draws uniformly from [0, min(cap, base * 2**n)] (busy reads too)."""
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    rng = RecordingRandom()
    ceiling = min(8.0, 0.5 * 2**retries_done)
    assert policy.delay(CallKind.READ, failure, retries_done, rng=rng) == ceiling
    assert rng.bounds == [(0, ceiling)]


@pytest.mark.parametrize("retries_done", range(6))
def test_backoff_samples_stay_within_bounds(retries_done: int) -> None:
    """Real jittered delays lie within [0, ceiling] and spread over that range."""
    policy = RetryPolicy(backoff_base=0.25, backoff_cap=2.0)
    ceiling = min(2.0, 0.25 * 2**retries_done)
    rng = random.Random(retries_done)
    samples = [policy.delay(CallKind.READ, Failure.READ, retries_done, rng=rng) for _ in range(300)]
    assert all(0 <= s <= ceiling for s in samples)
    assert max(samples) > 0.75 * ceiling
    assert min(samples) < 0.25 * ceiling


def test_busy_create_waits_within_busy_delay() -> None:
    """A create refused with 429 waits uniformly within busy_delay, not the short backoff."""
    policy = RetryPolicy(busy_delay=(12.0, 20.0))
    rng = RecordingRandom()
    assert policy.delay(CallKind.CREATE, Failure.BUSY, 0, rng=rng) == 20.0
    assert rng.bounds == [(12.0, 20.0)]
    seeded = random.Random(7)
    samples = [policy.delay(CallKind.CREATE, Failure.BUSY, 2, rng=seeded) for _ in range(200)]
    assert all(12.0 <= s <= 20.0 for s in samples)


def test_busy_create_default_delay_is_ten_to_thirty_seconds() -> None:
    """The default busy_delay follows useapi.net's advice: 10 to 30 seconds."""
    rng = random.Random(3)
    samples = [RetryPolicy().delay(CallKind.CREATE, Failure.BUSY, 0, rng=rng) for _ in range(200)]
    assert all(10.0 <= s <= 30.0 for s in samples)


@pytest.mark.parametrize("kind", list(CallKind))
@pytest.mark.parametrize("failure", [Failure.BUSY, Failure.SERVER])
def test_retry_after_is_honoured_and_capped(kind: CallKind, failure: Failure) -> None:
    """A Retry-After value is used as the delay, capped at retry_after_cap."""
    policy = RetryPolicy(retry_after_cap=60.0)
    rng = RecordingRandom()
    assert policy.delay(kind, failure, 0, retry_after=7.5, rng=rng) == 7.5
    assert policy.delay(kind, failure, 3, retry_after=0.0, rng=rng) == 0.0
    assert policy.delay(kind, failure, 0, retry_after=3600.0, rng=rng) == 60.0
    assert rng.bounds == []  # no jitter when the server said how long


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"backoff_base": -0.1},
        {"backoff_cap": -1.0},
        {"retry_after_cap": -1.0},
        {"busy_delay": (5.0, 1.0)},
        {"busy_delay": (-1.0, 2.0)},
        {"busy_delay": (math.nan, 2.0)},
    ],
    ids=repr,
)
def test_invalid_policy_raises(kwargs: dict[str, Any]) -> None:
    """Negative counts or delays and a reversed busy_delay are refused at construction."""
    with pytest.raises(ValueError):  # noqa: PT011 - attrs and the policy raise plain ValueError
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("field", ["backoff_base", "backoff_cap", "retry_after_cap"])
def test_nan_delay_settings_are_refused(field: str) -> None:
    """A NaN delay setting is refused (it would disable the cap or make sleep(nan))."""
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: math.nan})  # type: ignore[arg-type]


def test_policy_is_a_frozen_value() -> None:
    """RetryPolicy is immutable and compares by value."""
    policy = RetryPolicy(max_retries=2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_retries = 5  # type: ignore[misc]
    assert policy == RetryPolicy(max_retries=2)
    assert policy != RetryPolicy(max_retries=3)


# ------------------------------------------------------- through the client

LIST_PATH = "/v2/pixverse/music/"
AVAILABLE_PATH = "/v2/pixverse/scheduler/available"


class CreateRecorder(Recorder):
    """A `Recorder` for creates: POSTs play the script, the scheduler's reads are kept apart.

    ``requests`` holds the POSTs only (what "sent once" counts); ``reads`` holds
    every other request. The scheduler reads ``scheduler/available`` after a 429
    (``available`` free slots on the account: with some, the create goes again
    at once) and reconciles a lost create with ``GET music/?email=`` (no job is
    listed here, so its outcome stays unknown).
    """

    def __init__(self, default: Answer | None = None, *, available: int = 8) -> None:
        super().__init__(default)
        self.reads: list[httpx.Request] = []
        self.available = available

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return super().__call__(request)
        request.read()
        self.reads.append(request)
        if request.url.path == AVAILABLE_PATH:
            entry = {
                "email": ACCOUNT,
                "maxJobs": 8,
                "executing": 8 - self.available,
                "available": self.available,
            }
            return json_response(200, {"executing": [], "available": [entry]})
        if request.url.path == LIST_PATH:
            return json_response(200, {"data": [], "next_offset": 0, "has_more": False})
        return json_response(404, {"error": f"unexpected {request.method} {request.url.path}"})

    def read_paths(self) -> set[str]:
        """The paths read, without their queries."""
        return {r.url.path for r in self.reads}


def assert_reconciled(recorder: CreateRecorder) -> None:
    """The lost create was looked for in its account's newest jobs, TRIES times, nothing else."""
    assert len(recorder.reads) == pixverse_audio._reconcile.TRIES
    for read in recorder.reads:
        assert (read.method, read.url.path) == ("GET", LIST_PATH)
        assert read.url.params["email"] == ACCOUNT


@pytest.fixture(autouse=True)
def _no_reconcile_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconciliation reads the list again at once (not 1 s later)."""
    monkeypatch.setattr(pixverse_audio._reconcile, "PAUSE", 0.0)


Factory = Callable[[], "httpx.Response | Exception"]

FAILURES: dict[str, Factory] = {
    "ConnectError": lambda: httpx.ConnectError("connection refused"),
    "ConnectTimeout": lambda: httpx.ConnectTimeout("connect timed out"),
    "PoolTimeout": lambda: httpx.PoolTimeout("no connection free"),
    "ReadTimeout": lambda: httpx.ReadTimeout("read timed out"),
    "WriteTimeout": lambda: httpx.WriteTimeout("write timed out"),
    "ReadError": lambda: httpx.ReadError("connection reset"),
    "RemoteProtocolError": lambda: httpx.RemoteProtocolError("server disconnected"),
    "HTTP 500": lambda: json_response(500, {"error": "Internal error", "code": 500}),
    "HTTP 502": lambda: httpx.Response(502, text="<html>Bad gateway</html>"),
    "HTTP 503": lambda: json_response(503, {"error": "Service unavailable"}),
    "HTTP 429": lambda: json_response(429, {"error": BUSY_MESSAGE}),
    "HTTP 400": lambda: json_response(400, {"error": "prompt is too long", "code": 400}),
    "HTTP 401": lambda: json_response(401, {"error": "Unauthorized"}),
    "HTTP 402": lambda: json_response(402, sample("music_create_402")),
    "HTTP 404": lambda: json_response(404, {"error": f"Music {MUSIC_ID} not found"}),
    "HTTP 422": lambda: json_response(422, {"error": "Moderated prompt"}),
    "HTTP 596": lambda: json_response(596, sample("music_create_596")),
}

# Resent by every method: the request never left, or 429 created no job.
RESENT_ALWAYS = ["ConnectError", "ConnectTimeout", "PoolTimeout", "HTTP 429"]
# Resent by GET and DELETE; a create may have started a paid job.
RESENT_BY_READS = [
    "ReadTimeout",
    "WriteTimeout",
    "ReadError",
    "RemoteProtocolError",
    "HTTP 500",
    "HTTP 502",
    "HTTP 503",
]
# Answers: never resent, by any method.
ANSWERS: dict[str, type[APIError]] = {
    "HTTP 400": BadRequestError,
    "HTTP 401": AuthenticationError,
    "HTTP 402": InsufficientCreditsError,
    "HTTP 404": NotFoundError,
    "HTTP 422": ModerationError,
    "HTTP 596": AccountError,
}
assert set(FAILURES) == set(RESENT_ALWAYS) | set(RESENT_BY_READS) | set(ANSWERS)

OK = "ok"
NOT_RUNNING = "not running"  # scheduler.cancel's False

CALLS: dict[str, Callable[[AsyncClient], Awaitable[object]]] = {
    "GET": lambda c: c.music.get(MUSIC_ID),
    "DELETE": lambda c: c.scheduler.cancel(MUSIC_ID),
    "CREATE": lambda c: c.music.create(PROMPT),
}
SUCCESS: dict[str, Callable[[], httpx.Response]] = {
    "GET": lambda: json_response(200, sample("music_get_200")),
    "DELETE": lambda: httpx.Response(204),
    "CREATE": lambda: json_response(200, sample("music_create_200")),
}
HTTP_METHOD = {"GET": "GET", "DELETE": "DELETE", "CREATE": "POST"}


def _policy_table() -> list[Any]:
    rows: list[tuple[str, str, int, object]] = []
    for method in ("GET", "DELETE", "CREATE"):
        for name in RESENT_ALWAYS:
            rows.append((method, name, 2, OK))
        for name in RESENT_BY_READS:
            rows.append(
                (method, name, *((1, OutcomeUnknownError) if method == "CREATE" else (2, OK)))
            )
        for name, cls in ANSWERS.items():
            outcome = NOT_RUNNING if (method, name) == ("DELETE", "HTTP 404") else cls
            rows.append((method, name, 1, outcome))
    return [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in rows]


def _check_success(method: str, result: object) -> None:
    if method == "GET":
        assert isinstance(result, Track)
        assert result.final is True
    elif method == "DELETE":
        assert result is True
    else:
        assert isinstance(result, Job)
        assert result.audio_id == sample("music_create_200")["audio_id"]


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "failure", "sends", "outcome"), _policy_table())
async def test_policy_table(
    make_client: MakeClient, method: str, failure: str, sends: int, outcome: object
) -> None:
    """One failure then a success: whether it is resent, and what the caller gets.

    For a create, only the POSTs count (``recorder.requests``): a 429 makes the
    scheduler read ``scheduler/available`` (free here) before sending again;
    an unknown outcome makes it read the account's list (empty here).
    """
    recorder: Recorder = CreateRecorder() if method == "CREATE" else Recorder()
    recorder.then(FAILURES[failure](), SUCCESS[method]())
    client = make_client(recorder)
    if outcome == OK:
        _check_success(method, await CALLS[method](client))
    elif outcome == NOT_RUNNING:
        assert await CALLS[method](client) is False
    else:
        assert isinstance(outcome, type)
        with pytest.raises(outcome) as info:
            await CALLS[method](client)
        assert type(info.value) is outcome
    assert len(recorder.requests) == sends
    assert {r.method for r in recorder.requests} == {HTTP_METHOD[method]}
    assert len({r.url.raw_path for r in recorder.requests}) == 1
    if isinstance(recorder, CreateRecorder):
        if outcome is OutcomeUnknownError:
            assert_reconciled(recorder)
        elif failure == "HTTP 429":
            assert recorder.read_paths() == {AVAILABLE_PATH}
        else:
            assert recorder.reads == []


@pytest.mark.anyio
@pytest.mark.parametrize("failure", RESENT_BY_READS)
async def test_create_with_unknown_outcome_is_sent_once(
    make_client: MakeClient, failure: str
) -> None:
    """A create whose answer is lost or 5xx is sent once; no job found: OutcomeUnknownError.

    Its cause is what lost the answer (the transport error, or the ServerError).
    """
    recorder = CreateRecorder(default=json_response(200, sample("music_create_200")))
    recorder.then(FAILURES[failure]())
    client = make_client(recorder)
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create(PROMPT, reply_ref="batch-7")
    exc = info.value
    assert len(recorder.requests) == 1
    assert_reconciled(recorder)
    assert exc.candidates == ()
    assert not isinstance(exc, APIError)
    assert exc.endpoint == CREATE_PATH
    assert exc.payload["prompt"] == PROMPT
    assert exc.payload["replyRef"] == "batch-7"
    assert exc.__cause__ is not None
    if failure.startswith("HTTP"):
        assert isinstance(exc.__cause__, ServerError)
        assert exc.__cause__.status_code == int(failure.split()[1])
    else:
        assert type(exc.__cause__).__name__ == failure


@pytest.mark.anyio
@pytest.mark.parametrize("failure", ["ReadTimeout", "HTTP 503"])
async def test_speech_create_with_unknown_outcome_is_sent_once(
    make_client: MakeClient, failure: str
) -> None:
    """speech.create follows the same rule: one request, OutcomeUnknownError with the text."""
    recorder = CreateRecorder(default=json_response(200, sample("music_create_200")))
    recorder.then(FAILURES[failure]())
    client = make_client(recorder)
    with pytest.raises(OutcomeUnknownError) as info:
        await client.speech.create("Hello there", "minimax_english_radiant_girl")
    assert len(recorder.requests) == 1
    assert_reconciled(recorder)
    assert info.value.payload["text"] == "Hello there"
    assert info.value.endpoint == "/v2/pixverse/speech/create"
    if failure.startswith("HTTP"):
        assert isinstance(info.value.__cause__, ServerError)
    else:
        assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.anyio
@pytest.mark.parametrize("max_retries", [0, 1, 2, 5])
async def test_retries_stop_after_max_retries(
    make_client: MakeClient, recorder: Recorder, max_retries: int
) -> None:
    """A GET failing with 500 every time is sent max_retries + 1 times, then ServerError."""
    recorder.default = json_response(500, {"error": "Internal error", "code": 500})
    client = make_client(recorder, retry=attrs.evolve(NO_WAIT, max_retries=max_retries))
    with pytest.raises(ServerError) as info:
        await client.music.get(MUSIC_ID)
    assert len(recorder.requests) == max_retries + 1
    assert info.value.status_code == 500
    assert info.value.message == "Internal error"


@pytest.mark.anyio
async def test_max_retries_shortcut(make_client: MakeClient, recorder: Recorder) -> None:
    """AsyncClient(max_retries=0) sends a failing GET exactly once."""
    recorder.default = json_response(503, {"error": "Service unavailable"})
    client = make_client(recorder, retry=None, max_retries=0)
    assert client.retry.max_retries == 0
    with pytest.raises(ServerError):
        await client.music.get(MUSIC_ID)
    assert len(recorder.requests) == 1


EXHAUSTED = [
    pytest.param("GET", "ReadTimeout", APITimeoutError, id="GET-ReadTimeout"),
    pytest.param("GET", "WriteTimeout", APITimeoutError, id="GET-WriteTimeout"),
    pytest.param("GET", "ConnectTimeout", APITimeoutError, id="GET-ConnectTimeout"),
    pytest.param("GET", "PoolTimeout", APITimeoutError, id="GET-PoolTimeout"),
    pytest.param("GET", "ConnectError", APIConnectionError, id="GET-ConnectError"),
    pytest.param("GET", "ReadError", APIConnectionError, id="GET-ReadError"),
    pytest.param("GET", "RemoteProtocolError", APIConnectionError, id="GET-RemoteProtocol"),
    pytest.param("GET", "HTTP 500", ServerError, id="GET-500"),
    pytest.param("GET", "HTTP 502", ServerError, id="GET-502"),
    pytest.param("GET", "HTTP 429", BusyError, id="GET-429"),
    pytest.param("DELETE", "HTTP 503", ServerError, id="DELETE-503"),
    pytest.param("DELETE", "ReadTimeout", APITimeoutError, id="DELETE-ReadTimeout"),
    pytest.param("CREATE", "ConnectError", APIConnectionError, id="CREATE-ConnectError"),
    pytest.param("CREATE", "ConnectTimeout", APITimeoutError, id="CREATE-ConnectTimeout"),
    pytest.param("CREATE", "PoolTimeout", APITimeoutError, id="CREATE-PoolTimeout"),
    pytest.param("CREATE", "HTTP 429", BusyError, id="CREATE-429"),
]
MAX_BUSY = 6  # the scheduler's 429s in a row for these tests (not max_retries + 1)


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "failure", "error"), EXHAUSTED)
async def test_final_error_after_all_retries(
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    failure: str,
    error: type[Exception],
) -> None:
    """When every attempt fails, the retries run out and the right class is raised.

    The session sends max_retries + 1 times; a create refused with 429 every
    time is sent MAX_BUSY times by the scheduler (the account free again each
    time ``scheduler/available`` is read).
    """
    monkeypatch.setattr(pixverse_audio._scheduler, "MAX_BUSY", MAX_BUSY)
    recorder: Recorder = CreateRecorder() if method == "CREATE" else Recorder()
    recorder.default = lambda _request: _answer(FAILURES[failure]())
    client = make_client(recorder)
    with pytest.raises(error) as info:
        await CALLS[method](client)
    assert type(info.value) is error
    assert not isinstance(info.value, OutcomeUnknownError)
    busy_create = (method, failure) == ("CREATE", "HTTP 429")
    assert len(recorder.requests) == (MAX_BUSY if busy_create else NO_WAIT.max_retries + 1)
    if not failure.startswith("HTTP"):
        assert type(info.value.__cause__).__name__ == failure


def _answer(answer: httpx.Response | Exception) -> httpx.Response:
    if isinstance(answer, Exception):
        raise answer
    return answer


@pytest.mark.anyio
async def test_busy_create_after_all_retries_keeps_the_message(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create refused with 429 MAX_BUSY times raises BusyError carrying the server's message."""
    monkeypatch.setattr(pixverse_audio._scheduler, "MAX_BUSY", 4)
    recorder = CreateRecorder()
    recorder.default = json_response(429, {"error": BUSY_MESSAGE}, [("Retry-After", "5")])
    client = make_client(recorder)
    with pytest.raises(BusyError) as info:
        await client.music.create(PROMPT)
    assert len(recorder.requests) == 4
    assert info.value.status_code == 429
    assert info.value.message == BUSY_MESSAGE
    assert BUSY_MESSAGE in str(info.value)
    assert info.value.retry_after == 5.0


@pytest.mark.anyio
async def test_busy_and_transport_retries_are_counted_apart(make_client: MakeClient) -> None:
    """Connect failures spend the session's budget per send; a 429 is the scheduler's.

    max_retries (3) connect failures, a 429, then 3 more: each send after the
    429 has its whole budget again, and the create succeeds on the 8th POST.
    """

    def never_sent() -> list[Exception]:
        return [httpx.ConnectError("refused"), httpx.PoolTimeout("pool"), httpx.ConnectTimeout("")]

    recorder = CreateRecorder()
    recorder.then(
        *never_sent(),
        FAILURES["HTTP 429"](),
        *never_sent(),
        json_response(200, sample("music_create_200")),
    )
    client = make_client(recorder)
    job = await client.music.create(PROMPT)
    assert job.audio_id == sample("music_create_200")["audio_id"]
    assert len(recorder.requests) == 8
    assert recorder.read_paths() == {AVAILABLE_PATH}


@pytest.mark.anyio
async def test_create_lost_after_a_busy_retry_is_not_resent(make_client: MakeClient) -> None:
    """A create retried after 429 whose answer is then lost stops with OutcomeUnknownError."""
    recorder = CreateRecorder()
    recorder.then(FAILURES["HTTP 429"](), httpx.ReadTimeout("lost"))
    recorder.default = json_response(200, sample("music_create_200"))
    client = make_client(recorder)
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create(PROMPT)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(recorder.requests) == 2
    assert {r.url.path for r in recorder.reads} == {AVAILABLE_PATH, LIST_PATH}


@pytest.mark.anyio
@pytest.mark.parametrize("failure", ["ConnectError", "HTTP 429"])
async def test_resent_create_has_the_same_body(make_client: MakeClient, failure: str) -> None:
    """A create resent after a connect error or a 429 sends the identical body, same account."""
    recorder = CreateRecorder()
    recorder.then(FAILURES[failure](), json_response(200, sample("music_create_200")))
    client = make_client(recorder)
    await client.music.create(PROMPT, instrumental=True, reply_ref="r1")
    first, second = recorder.requests
    assert first.content == second.content
    assert first.url == second.url
    assert json.loads(first.content)["email"] == ACCOUNT


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [b"<html>gateway</html>", b"", b"{}", b"[]", b'{"audio_id": 5.5, "audio_status": "x"}'],
    ids=["html", "empty", "no-audio-id", "array", "bad-types"],
)
async def test_unreadable_200_create_is_an_unknown_outcome(
    make_client: MakeClient, body: bytes
) -> None:
    """A 200 create whose body cannot be parsed raises OutcomeUnknownError, not resent."""
    recorder = CreateRecorder()
    recorder.then(httpx.Response(200, content=body))
    client = make_client(recorder)
    with pytest.raises(OutcomeUnknownError) as info:
        await client.music.create(PROMPT)
    assert len(recorder.requests) == 1
    assert_reconciled(recorder)
    assert isinstance(info.value.__cause__, ResponseFormatError)
    assert info.value.payload["prompt"] == PROMPT


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body", [b"<html>gateway</html>", b"", b"[]"], ids=["html", "empty", "array"]
)
async def test_unreadable_200_get_is_a_format_error(
    make_client: MakeClient, recorder: Recorder, body: bytes
) -> None:
    """A 200 GET whose body cannot be parsed raises ResponseFormatError and is not resent."""
    recorder.then(httpx.Response(200, content=body))
    client = make_client(recorder)
    with pytest.raises(ResponseFormatError) as info:
        await client.music.get(MUSIC_ID)
    assert info.value.status_code == 200
    assert len(recorder.requests) == 1


# ----------------------------------------------------------- delays applied


@pytest.fixture(name="sleeps")
def _sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every anyio.sleep the client makes instead of sleeping."""
    delays: list[float] = []

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    return delays


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [(429, "7", 7.0), (503, "2", 2.0), (429, "3600", 60.0), (503, "0", 0.0)],
)
async def test_client_waits_for_retry_after(
    make_client: MakeClient,
    recorder: Recorder,
    sleeps: list[float],
    status: int,
    header: str,
    expected: float,
) -> None:
    """Before a GET retry the client sleeps for Retry-After, capped at retry_after_cap."""
    recorder.then(
        json_response(status, {"error": "later"}, [("Retry-After", header)]),
        json_response(200, sample("music_get_200")),
    )
    client = make_client(recorder, retry=RetryPolicy(retry_after_cap=60.0))
    await client.music.get(MUSIC_ID)
    assert sleeps == [expected]
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_client_honours_retry_after_http_date(
    make_client: MakeClient, recorder: Recorder, sleeps: list[float]
) -> None:
    """A Retry-After HTTP date far in the future is honoured up to retry_after_cap."""
    recorder.then(
        json_response(
            429, {"error": BUSY_MESSAGE}, [("Retry-After", "Fri, 01 Jan 2100 00:00:00 GMT")]
        ),
        json_response(200, sample("music_get_200")),
    )
    client = make_client(recorder, retry=RetryPolicy(retry_after_cap=45.0))
    await client.music.get(MUSIC_ID)
    assert sleeps == [45.0]
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_busy_create_backs_its_account_off(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    """A create refused with 429 is not slept on by the session: the scheduler backs off.

    Each 429 in a row blocks the account for ``Cadence.backoff(streak)`` (the
    streak grows) and re-reads ``scheduler/available``, which finds the account
    still full, so the block holds; then the create goes again, the same one.
    """
    streaks: list[int] = []

    def backoff(self: Cadence, streak: int) -> float:
        streaks.append(streak)
        return 0.01

    monkeypatch.setattr(Cadence, "backoff", backoff)
    recorder = CreateRecorder(available=0)
    recorder.then(
        json_response(429, {"error": BUSY_MESSAGE}),
        json_response(429, {"error": BUSY_MESSAGE}),
        json_response(200, sample("music_create_200")),
    )
    client = make_client(recorder, retry=RetryPolicy())
    pool = client._scheduler.pool
    blocks: list[tuple[str, float]] = []
    busy = pool.busy

    def spy(email: str, delay: float) -> int:
        blocks.append((email, delay))
        return busy(email, delay)

    monkeypatch.setattr(pool, "busy", spy)
    job = await client.music.create(PROMPT)
    assert job.audio_id == sample("music_create_200")["audio_id"]
    assert streaks == [1, 2]
    assert blocks == [(ACCOUNT, 0.01), (ACCOUNT, 0.01)]
    assert sleeps == []  # neither busy_delay nor a session backoff
    assert len(recorder.requests) == 3
    assert len({r.content for r in recorder.requests}) == 1
    assert recorder.read_paths() == {AVAILABLE_PATH}


@pytest.mark.anyio
async def test_client_backs_off_with_growing_ceiling(
    make_client: MakeClient, recorder: Recorder, sleeps: list[float]
) -> None:
    """GET retries wait within [0, min(cap, base * 2**n)] for n = 0, 1, 2."""
    recorder.then(
        json_response(500, {"error": "x"}),
        httpx.ReadTimeout("slow"),
        json_response(502, {"error": "x"}),
        json_response(200, sample("music_get_200")),
    )
    client = make_client(recorder, retry=RetryPolicy(backoff_base=0.5, backoff_cap=1.5))
    await client.music.get(MUSIC_ID)
    assert len(sleeps) == 3
    for n, delay in enumerate(sleeps):
        assert 0 <= delay <= min(1.5, 0.5 * 2**n)


@pytest.mark.anyio
async def test_huge_retry_after_with_zero_cap_retries_at_once(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """With retry_after_cap=0 a 429 carrying Retry-After: 3600 is retried without waiting."""
    recorder.then(
        json_response(429, {"error": BUSY_MESSAGE}, [("Retry-After", "3600")]),
        json_response(200, sample("music_get_200")),
    )
    client = make_client(recorder)  # NO_WAIT: retry_after_cap=0
    with anyio.fail_after(5):
        track = await client.music.get(MUSIC_ID)
    assert isinstance(track, Track)
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_each_retry_is_logged_at_info(
    make_client: MakeClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs one INFO record naming the method, path and failure."""
    caplog.set_level(logging.INFO, logger="pixverse_audio")
    recorder.then(
        httpx.ConnectError("refused"),
        json_response(503, {"error": "x"}),
        json_response(200, sample("music_get_200")),
    )
    client = make_client(recorder)
    await client.music.get(MUSIC_ID)
    infos = [r for r in caplog.records if r.name == "pixverse_audio" and r.levelno == logging.INFO]
    assert len(infos) == 2
    assert "ConnectError" in infos[0].getMessage()
    assert "HTTP 503" in infos[1].getMessage()
    assert all(f"GET /v2/pixverse/music/{MUSIC_ID}" in r.getMessage() for r in infos)


# ------------------------------------------------- no raw httpx exception


def _httpx_errors() -> list[type[httpx.HTTPError]]:
    found = [
        obj
        for obj in vars(httpx).values()
        if isinstance(obj, type) and issubclass(obj, httpx.HTTPError)
    ]
    return sorted(found, key=lambda cls: cls.__name__)


HTTPX_ERRORS = _httpx_errors()


def test_httpx_error_list_is_complete() -> None:
    """The parametrization covers the transport errors named in the brief and their bases."""
    names = {cls.__name__ for cls in HTTPX_ERRORS}
    assert {
        "UnsupportedProtocol",
        "LocalProtocolError",
        "DecodingError",
        "ProxyError",
        "CloseError",
        "WriteError",
        "TransportError",
        "TimeoutException",
        "NetworkError",
        "HTTPError",
    } <= names


def _make_httpx_error(cls: type[httpx.HTTPError]) -> httpx.HTTPError:
    request = httpx.Request("GET", "https://api.useapi.net/v2/pixverse/music/")
    if cls is httpx.HTTPStatusError:
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    return cls("boom")


async def _collect(iterator: Any) -> list[object]:
    return [item async for item in iterator]


PUBLIC_CALLS: dict[str, Callable[[AsyncClient, Path], Awaitable[object]]] = {
    "music.create": lambda c, _: c.music.create(PROMPT),
    "music.get": lambda c, _: c.music.get(MUSIC_ID),
    "music.list": lambda c, _: _collect(c.music.list()),
    "speech.create": lambda c, _: c.speech.create("Hello", "minimax_english_radiant_girl"),
    "scheduler.cancel": lambda c, _: c.scheduler.cancel(MUSIC_ID),
    "files.upload(bytes)": lambda c, _: c.files.upload(PNG, email="me@example.com"),
    "files.upload(path)": lambda c, path: c.files.upload(path),
}


@pytest.mark.anyio
@pytest.mark.parametrize("call", list(PUBLIC_CALLS))
@pytest.mark.parametrize("error_class", HTTPX_ERRORS, ids=lambda cls: cls.__name__)
async def test_no_raw_httpx_exception_escapes(
    make_client: MakeClient,
    tmp_path: Path,
    error_class: type[httpx.HTTPError],
    call: str,
) -> None:
    """Every httpx exception a transport raises surfaces as a PixverseAudioError, cause kept.

    A create counts its POSTs: after a lost one, the reconciliation's list
    reads (failing too) are the only other requests.
    """
    image = tmp_path / "cover.png"
    image.write_bytes(PNG)

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        raise _make_httpx_error(error_class)

    recorder = Recorder(default=handler)
    client = make_client(recorder)
    with pytest.raises(PixverseAudioError) as info:
        await PUBLIC_CALLS[call](client, image)
    assert not isinstance(info.value, httpx.HTTPError)
    assert isinstance(info.value.__cause__, error_class)
    if call.endswith(".create"):
        sent = [r for r in recorder.requests if r.method == "POST"]
        reads = [r for r in recorder.requests if r.method != "POST"]
        assert all(r.url.path == LIST_PATH for r in reads)
        assert all(r.url.params["email"] == ACCOUNT for r in reads)
    else:
        sent = recorder.requests
    assert 1 <= len(sent) <= NO_WAIT.max_retries + 1
