"""An embedded emulator of useapi.net's PixVerse audio API, for offline work.

It serves the documented paths, status codes and JSON shapes from local state:
accounts with ``maxJobs`` and credits, jobs that move from QUEUED to GENERATING
to COMPLETED or FAILED on a scaled clock, the scheduler, uploads, the legacy
MiniMax list, callbacks to ``replyUrl``, and real MP3 files for finished jobs.
Faults (errors, delays, dropped connections) can be injected per route, and
counters tell what happened.

Three ways to run it (install the ``emulator`` extra)::

    emulator = Emulator(accounts=3, max_jobs=4, speed=60)
    async with emulator.client() as client:          # in-process, no sockets
        job = await client.music.create("lofi beats")

    async with serve_emulator(emulator, port=8800) as url:   # a real HTTP server
        ...

    $ python -m pixverse_audio.emulator --port 8800 --accounts 3 --max-jobs 4 --speed 60
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

import attrs
import httpx

from .. import AsyncClient, Client, PollPolicy
from .._retry import RetryPolicy
from . import _extra, _wire  # noqa: F401 - _extra first: one line when the extra is missing
from ._app import ConnectionDropped, ConnectionRefused, EmulatorApp
from ._faults import ROUTES, Fault, Faults
from ._server import serve_emulator
from ._state import EmulatedAccount, EmulatedJob, EmulatorState, ManualClock, Timing
from ._transport import EmulatorTransport

__all__ = [
    "CallbackRecord",
    "ConnectionDropped",
    "ConnectionRefused",
    "DEFAULT_TOKEN",
    "EmulatedAccount",
    "EmulatedJob",
    "Emulator",
    "EmulatorStats",
    "EmulatorTransport",
    "Fault",
    "Faults",
    "ManualClock",
    "ROUTES",
    "Timing",
    "serve_emulator",
]

DEFAULT_TOKEN: Final = "pixverse-emulator-token"  # noqa: S105 - public, emulator only
API_URL: Final = "http://api.emulator.test"
MEDIA_URL: Final = "http://media.emulator.test"


@attrs.define(kw_only=True)
class CallbackRecord:
    """One callback the emulator made (or would make) to a ``replyUrl``.

    Attributes:
        url: The ``replyUrl``.
        body: The JSON body: a GET music/{id} (or speech) body plus ``replyRef``.
        delivered: ``True`` once POSTed with a 2xx answer, ``False`` if that
            failed, ``None`` if only recorded (in-process).
    """

    url: str
    body: Mapping[str, Any]
    delivered: bool | None = None


@attrs.frozen(kw_only=True)
class EmulatorStats:
    """A snapshot of the emulator's counters.

    Attributes:
        requests: Requests per route name.
        responses: Responses per status code.
        creates: Accepted creates per account email.
        peak_running: The most jobs that ran at once, per account email.
        busy: 429 answers given.
        faults: Injected faults per kind (``"500"``, ``"drop_after"``, ...).
        callbacks: Callbacks recorded.
        jobs: Jobs created in all.
    """

    requests: Mapping[str, int]
    responses: Mapping[int, int]
    creates: Mapping[str, int]
    peak_running: Mapping[str, int]
    busy: int
    faults: Mapping[str, int]
    callbacks: int
    jobs: int

    def as_json(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data (served at ``GET /_emulator/stats``)."""
        data = attrs.asdict(self)
        data["responses"] = {str(k): v for k, v in self.responses.items()}
        return data


class Emulator:
    """A local, in-memory PixVerse audio API (see the module documentation).

    Args:
        accounts: How many accounts (``account1@emulator.test``, ...) or their emails.
        max_jobs: Every account's ``maxJobs`` (1..8), or a map of email to it.
        credits: Every account's starting credit balance.
        speed: API seconds per real second: ``60`` makes a minute-long job take a second.
        seed: Makes job timings, failures, account choice and faults repeat.
        clock: A function returning seconds (default ``time.monotonic``); a
            `ManualClock` moves only when advanced.
        failure_rate: The share of jobs that end FAILED.
        music_timing: How long music jobs queue and generate, and their audio length.
        speech_timing: The same for speech jobs.
        token: The API token the emulator accepts.
        minimax_songs: How many legacy MiniMax v1 songs to serve.
        start_time: The UTC wall time the emulator's clock starts at.
    """

    def __init__(
        self,
        *,
        accounts: int | Sequence[str] = 1,
        max_jobs: int | Mapping[str, int] = 4,
        credits: float = 1_000_000,
        speed: float = 1.0,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        failure_rate: float = 0.0,
        music_timing: Timing | None = None,
        speech_timing: Timing | None = None,
        token: str = DEFAULT_TOKEN,
        minimax_songs: int = 45,
        start_time: datetime | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if music_timing is not None:
            extra["music_timing"] = music_timing
        if speech_timing is not None:
            extra["speech_timing"] = speech_timing
        self.state = EmulatorState(
            accounts=accounts,
            max_jobs=max_jobs,
            credits=credits,
            speed=speed,
            seed=seed,
            clock=clock,
            failure_rate=failure_rate,
            media_url=MEDIA_URL,
            minimax_songs=minimax_songs,
            start_time=start_time,
            **extra,
        )
        self.token = token
        self.base_url = API_URL
        #: The status polling its `client` uses: the default, scaled by ``speed``.
        self.client_poll = PollPolicy().scaled(speed) if speed > 1 else PollPolicy()
        self.faults = Faults(seed)
        self.app = EmulatorApp(self)
        self.callbacks: list[CallbackRecord] = []
        self.media_requests: list[dict[str, str]] = []
        self._outbox: list[CallbackRecord] | None = None

    @classmethod
    def fast(cls, **kwargs: Any) -> Emulator:
        """An emulator whose jobs finish within about half a second of real time.

        Jobs queue 0-0.1 s and generate 0.2-0.4 s; music lasts 2-4 s of audio.
        Other arguments are passed on.
        """
        kwargs.setdefault(
            "music_timing", Timing(queued=(0, 0.1), generating=(0.2, 0.4), audio=(2, 4))
        )
        kwargs.setdefault(
            "speech_timing", Timing(queued=(0, 0.1), generating=(0.1, 0.2), audio=(1, 3))
        )
        emulator = cls(**kwargs)
        emulator.client_poll = PollPolicy(first=0.05, cap=0.5)  # jobs take about 0.5 s
        return emulator

    @property
    def accounts(self) -> Mapping[str, EmulatedAccount]:
        """The accounts by email: change ``max_jobs``, ``credits`` or ``pending_error`` freely."""
        return self.state.accounts

    @property
    def jobs(self) -> Mapping[str, EmulatedJob]:
        """Every job created, by ``audio_id`` (creation order)."""
        return self.state.jobs

    @property
    def media_url(self) -> str:
        """The origin finished tracks' ``url`` values point at."""
        return self.state.media_url

    def stats(self) -> EmulatorStats:
        """A snapshot of the counters."""
        counters = self.state.counters
        return EmulatorStats(
            requests=dict(counters.requests),
            responses=dict(counters.responses),
            creates=dict(counters.creates),
            peak_running=dict(counters.peak_running),
            busy=counters.responses.get(429, 0),
            faults=dict(self.faults.injected),
            callbacks=counters.callbacks,
            jobs=len(self.state.jobs),
        )

    def preload(
        self, count: int, *, email: str | None = None, kind: Literal["music", "speech"] = "music"
    ) -> list[EmulatedJob]:
        """Add ``count`` finished (COMPLETED) jobs to an account's lists at once.

        No request is made and nothing is billed: for filling lists in tests
        and benchmarks. ``email`` may be omitted when there is one account
        (the first account is used otherwise).
        """
        return self.state.preload(count, email=email, kind=kind)

    def running(self) -> list[EmulatedJob]:
        """Jobs holding a scheduler slot now."""
        return self.state.scheduled()

    async def pump(self) -> list[CallbackRecord]:
        """Record the callbacks due now (jobs whose status changed); return them.

        Runs at the start of every API request; call it to see callbacks of jobs
        nobody asked about. A server started by `serve_emulator` also POSTs them.
        """
        due = []
        for job in self.state.due_callbacks():
            if job.reply_url is None:  # only jobs with a replyUrl are ever due
                continue
            record = CallbackRecord(
                url=job.reply_url, body=_wire.job_body(self.state, job, reply_ref=True)
            )
            due.append(record)
        self.callbacks.extend(due)
        self.state.counters.callbacks += len(due)
        if self._outbox is not None:
            self._outbox.extend(due)
        return due

    def transport(self) -> EmulatorTransport:
        """An in-process ``httpx`` transport to this emulator (API and media)."""
        return EmulatorTransport(self.app)

    def client(self, **kwargs: Any) -> AsyncClient:
        """An `AsyncClient` wired to this emulator in-process (no sockets).

        Retries wait no longer than 0.1 s unless ``retry`` is given, and status
        polls follow `client_poll` unless ``poll`` is; other arguments go to
        `AsyncClient`.
        """
        kwargs.setdefault("poll", self.client_poll)
        if "retry" not in kwargs:
            kwargs["retry"] = _fast_retry(kwargs.pop("max_retries", 3))
        return AsyncClient(self.token, base_url=self.base_url, transport=self.transport(), **kwargs)

    def blocking_client(self, **kwargs: Any) -> Client:
        """A blocking `Client` wired to this emulator in-process, set up as `client` is.

        ``backend`` (``"asyncio"`` or ``"trio"``) chooses the client's event loop.
        """
        kwargs.setdefault("poll", self.client_poll)
        if "retry" not in kwargs:
            kwargs["retry"] = _fast_retry(kwargs.pop("max_retries", 3))
        return Client(self.token, base_url=self.base_url, transport=self.transport(), **kwargs)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` on the in-process transport (no token set)."""
        return httpx.AsyncClient(transport=self.transport(), **kwargs)


def _fast_retry(max_retries: int) -> RetryPolicy:
    """Retries that wait no longer than 0.1 s: the emulator answers at once."""
    return RetryPolicy(
        max_retries=max_retries,
        backoff_base=0.01,
        backoff_cap=0.1,
        busy_delay=(0.01, 0.1),
        retry_after_cap=0.1,
    )
