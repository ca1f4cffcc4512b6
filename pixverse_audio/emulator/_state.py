"""The emulator's state: accounts, jobs on a scaled clock, scheduler slots, credits.

Pure and synchronous: no HTTP here. A job's status is a function of the clock
(QUEUED until it starts, GENERATING until it finishes, then COMPLETED or
FAILED), computed when looked at, so no background task is needed to move jobs
along and a manual clock makes every transition deterministic.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal

import attrs

from ._catalogue import (
    UPLOAD_EXTENSIONS,
    VOICES,
    MusicModel,
    SpeechModel,
    minimax_songs_catalogue,
)
from ._records import (
    COMPLETED,
    FAILED,
    GENERATING,
    MUSIC_TIMING,
    NOT_CONFIGURED,
    QUEUED,
    SPEECH_TIMING,
    EmulatedAccount,
    EmulatedJob,
    ManualClock,
    Timing,
)
from ._rules import Reject, check_music, check_speech

__all__ = [
    "COMPLETED",
    "FAILED",
    "GENERATING",
    "NOT_CONFIGURED",
    "QUEUED",
    "EmulatedAccount",
    "EmulatedJob",
    "EmulatorState",
    "ManualClock",
    "Timing",
]


@attrs.define
class _Counters:
    requests: Counter[str] = attrs.field(factory=Counter)
    responses: Counter[int] = attrs.field(factory=Counter)
    creates: Counter[str] = attrs.field(factory=Counter)
    peak_running: dict[str, int] = attrs.field(factory=dict)
    faults: Counter[str] = attrs.field(factory=Counter)
    callbacks: int = 0


class EmulatorState:
    """Accounts, jobs and counters of one emulator; all methods are synchronous."""

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
        music_timing: Timing = MUSIC_TIMING,
        speech_timing: Timing = SPEECH_TIMING,
        media_url: str = "https://media.pixverse.ai",
        minimax_songs: int = 45,
        start_time: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        emails = (
            [f"account{i}@emulator.test" for i in range(1, accounts + 1)]
            if isinstance(accounts, int)
            else list(accounts)
        )
        if not emails:
            raise ValueError("the emulator needs at least one account")
        caps = max_jobs if isinstance(max_jobs, Mapping) else dict.fromkeys(emails, max_jobs)
        for cap in caps.values():
            if not 1 <= cap <= 8:
                raise ValueError("max_jobs must be within 1..8")
        self.accounts: dict[str, EmulatedAccount] = {
            email: EmulatedAccount(
                email=email, max_jobs=caps.get(email, 4), credits=credits, account_id=100000 + i
            )
            for i, email in enumerate(emails)
        }
        self.default_credits = credits
        self.speed = speed
        self.seed = seed
        self.failure_rate = failure_rate
        self.timing = {"music": music_timing, "speech": speech_timing}
        self.media_url = media_url.rstrip("/")
        self.subscription_active = True
        self.user_id = "1000"
        self._clock = clock or time.monotonic
        self._t0 = self._clock()
        self._epoch = (start_time or datetime.now(timezone.utc)).replace(microsecond=0)
        self._rng = random.Random(seed)
        self._next_asset = 11_223_344
        self.jobs: dict[str, EmulatedJob] = {}
        self.by_account: dict[str, list[EmulatedJob]] = {email: [] for email in emails}
        self.speech: dict[str, list[EmulatedJob]] = {email: [] for email in emails}
        self._callback_jobs: list[EmulatedJob] = []
        self.uploads: dict[str, int] = {}
        self.counters = _Counters()
        self.minimax = minimax_songs_catalogue(minimax_songs, seed)

    # ------------------------------------------------------------ the clock

    def now(self) -> float:
        """API seconds since the emulator started (real seconds times ``speed``)."""
        return (self._clock() - self._t0) * self.speed

    def wall(self, api_seconds: float) -> datetime:
        """The UTC time an API-seconds instant stands for."""
        return self._epoch + timedelta(seconds=api_seconds)

    # ------------------------------------------------------------- accounts

    def account(self, email: str) -> EmulatedAccount:
        """The account ``email``, or a 404 answer."""
        account = self.accounts.get(email)
        if account is None:
            raise Reject(404, NOT_CONFIGURED)
        return account

    def configure(
        self, email: str, *, password: str, max_jobs: int, token: str | None
    ) -> EmulatedAccount:
        """POST accounts/{email}: add the account or update it.

        A new ``maxJobs`` applies to the account's next creates at once; saving
        an account again clears a pending error (596), as on useapi.net.
        """
        account = self.accounts.get(email)
        if account is None:
            account = EmulatedAccount(
                email=email,
                max_jobs=max_jobs,
                credits=self.default_credits,
                account_id=100000 + len(self.by_account),
            )
            self.accounts[email] = account
            self.by_account.setdefault(email, [])
            self.speech.setdefault(email, [])
        account.max_jobs = max_jobs
        account.password = password
        account.token = token
        account.pending_error = False
        return account

    def remove(self, email: str) -> None:
        """DELETE accounts/{email}: forget the account; its running jobs stop being tracked.

        Its jobs stay in its history (they live at PixVerse), visible again if
        the account is added back.
        """
        account = self.account(email)
        for job in account.running:
            job.tracked = False
        account.running = []
        del self.accounts[email]

    def running(self, account: EmulatedAccount, now: float) -> int:
        """Jobs holding a slot on ``account`` at ``now`` (finished ones are dropped)."""
        account.running = [job for job in account.running if job.holds_slot(now)]
        return len(account.running)

    def scope(self, email: str | None) -> list[EmulatedAccount]:
        """The accounts a list call covers: ``email`` is required with several."""
        if email is not None:
            return [self.account(email)]
        if len(self.accounts) > 1:
            raise Reject(400, "Parameter email is required when multiple accounts are configured")
        return list(self.accounts.values())

    def _pick(self, email: str | None, max_jobs: int | None, now: float) -> EmulatedAccount:
        if email is not None:
            account = self.account(email)
            if account.pending_error:
                raise Reject(596, _PENDING, code=False)
            cap = max_jobs or account.max_jobs
            if self.running(account, now) >= cap:
                raise Reject(429, f"Account {email} is busy executing {cap} tasks.", code=False)
            return account
        healthy = [a for a in self.accounts.values() if not a.pending_error]
        if not healthy:
            raise Reject(596, _PENDING, code=False)
        free = [a for a in healthy if self.running(a, now) < (max_jobs or a.max_jobs)]
        if not free:
            raise Reject(
                429, "All configured accounts are running at maximum capacity.", code=False
            )
        return self._rng.choice(free)

    # ----------------------------------------------------------------- jobs

    def create(self, kind: Literal["music", "speech"], fields: Mapping[str, Any]) -> EmulatedJob:
        """Validate, pick an account, bill and start a job; or raise `Reject`."""
        if not self.subscription_active:
            raise Reject(402, "Account has no subscription or subscription expired", code=False)
        model: MusicModel | SpeechModel
        if kind == "music":
            model, checked = check_music(fields)
            cost = model.credits
        else:
            model, checked = check_speech(fields)
            cost = model.credits_for(checked["text"])
        email = fields.get("email")
        if email is not None and not isinstance(email, str):
            raise Reject(400, "Parameter email must be a string")
        now = self.now()
        account = self._pick(email, checked["max_jobs"], now)
        if account.credits < cost:
            raise Reject(402, _NO_CREDITS, code=False)
        account.credits -= cost
        job = self._start(kind, account, model, checked, cost, now)
        account.running.append(job)
        running = len(account.running)
        peaks = self.counters.peak_running
        peaks[account.email] = max(peaks.get(account.email, 0), running)
        self.counters.creates[account.email] += 1
        return job

    def _start(
        self,
        kind: Literal["music", "speech"],
        account: EmulatedAccount,
        model: MusicModel | SpeechModel,
        checked: Mapping[str, Any],
        cost: int,
        now: float,
    ) -> EmulatedJob:
        asset_id = self._next_asset
        self._next_asset += 1
        rng = random.Random(f"{self.seed}:{asset_id}")
        timing = self.timing[kind]
        started = now + rng.uniform(*timing.queued)
        finished = started + rng.uniform(*timing.generating)
        if kind == "speech":
            low, high = timing.audio
            duration = min(high, max(low, len(checked["text"]) / 15))
        else:
            duration = rng.uniform(*timing.audio)
        audio_id = f"user:{self.user_id}-pixverse:{account.email}-{kind}:{asset_id}"
        job = EmulatedJob(
            audio_id=audio_id,
            asset_id=asset_id,
            kind=kind,
            email=account.email,
            model=model.name,
            provider=model.provider,
            prompt=checked["prompt"] if kind == "music" else checked["text"],
            created=now,
            started=started,
            finished=finished,
            fails=rng.random() < self.failure_rate,
            duration=round(duration),
            credits=cost,
            reply_url=checked["reply_url"],
            reply_ref=checked["reply_ref"],
            fields=checked,
        )
        self._record(job)
        if job.reply_url:
            self._callback_jobs.append(job)
        return job

    def job(self, audio_id: str, kind: Literal["music", "speech"]) -> EmulatedJob:
        """The job ``audio_id`` of ``kind``, or the documented 404."""
        job = self.jobs.get(audio_id)
        if job is None or job.kind != kind:
            noun = "Music" if kind == "music" else "Speech"
            raise Reject(404, f"{noun} {audio_id} not found", code=False)
        return job

    def listing(
        self, email: str | None, kind: Literal["speech"] | None, *, offset: int, limit: int
    ) -> tuple[list[EmulatedJob], int]:
        """One page, newest first, and the total: every audio job (``kind=None``, as
        GET music/ does) or speech only. Costs the page's size, not the account's."""
        (account,) = self.scope(email)  # one account: email is required with several
        jobs = self.by_account[account.email] if kind is None else self.speech[account.email]
        total = len(jobs)
        end = max(0, total - offset)
        return jobs[max(0, end - limit) : end][::-1], total

    def preload(
        self, count: int, *, email: str | None = None, kind: Literal["music", "speech"] = "music"
    ) -> list[EmulatedJob]:
        """Add ``count`` finished jobs to an account without requests or billing."""
        (account,) = (
            self.scope(email)
            if email or len(self.accounts) == 1
            else (next(iter(self.accounts.values())),)
        )
        now = self.now()
        added = []
        for i in range(count):
            asset_id = self._next_asset
            self._next_asset += 1
            job = EmulatedJob(
                audio_id=f"user:{self.user_id}-pixverse:{account.email}-{kind}:{asset_id}",
                asset_id=asset_id,
                kind=kind,
                email=account.email,
                model="music-2.6" if kind == "music" else "speech-2.8-hd",
                provider="minimax",
                prompt=f"preloaded {kind} {i}",
                created=now - 300.0,
                started=now - 290.0,
                finished=now - 200.0,
                fails=False,
                duration=120.0 if kind == "music" else 5.0,
                credits=40 if kind == "music" else 1,
                fields=_PRELOADED_FIELDS[kind],
                tracked=False,
            )
            self._record(job)
            added.append(job)
        return added

    def _record(self, job: EmulatedJob) -> None:
        self.jobs[job.audio_id] = job
        self.by_account[job.email].append(job)
        if job.kind == "speech":
            self.speech[job.email].append(job)

    def scheduled(self) -> list[EmulatedJob]:
        """Jobs useapi.net is tracking and that are not final yet."""
        now = self.now()
        return [job for a in self.accounts.values() for job in a.running if job.holds_slot(now)]

    def cancel(self, job_id: str) -> None:
        """Stop tracking a running job (frees its slot; the job itself goes on)."""
        now = self.now()
        job = self.jobs.get(job_id)
        if job is None or not job.holds_slot(now):
            raise Reject(404, f"Job {job_id} not found", code=False)
        job.tracked = False
        self.running(self.accounts[job.email], now)

    def due_callbacks(self) -> list[EmulatedJob]:
        """Jobs with a ``replyUrl`` whose status changed since their last callback."""
        now = self.now()
        due = []
        keep = []
        for job in self._callback_jobs:
            if not job.tracked:
                continue  # released with DELETE scheduler/{id}: no more callbacks
            status = job.status(now)
            if status != job.callback_status:
                job.callback_status = status
                due.append(job)
            if status not in (COMPLETED, FAILED):
                keep.append(job)
        self._callback_jobs = keep
        return due

    def upload(self, email: str | None, content_type: str, size: int) -> str:
        """Record an upload; return its path."""
        if email is not None:
            self.account(email)
        ext = UPLOAD_EXTENSIONS.get(content_type.lower(), content_type.partition("/")[2])
        name = random.Random(f"{self.seed}:upload:{len(self.uploads)}").randbytes(8).hex()
        path = f"upload/{name}.{ext}"
        self.uploads[path] = size
        return path


_PRELOADED_FIELDS: Final[Mapping[str, Mapping[str, Any]]] = {
    "music": {"lyrics": None, "instrumental": False},
    "speech": {"voice": VOICES["minimax_english_radiant_girl"], "language_code": "en"},
}
_NO_CREDITS: Final = (
    "All Credits have been used up. Please upgrade your membership or purchase credits."
)
_PENDING: Final = (
    "Your PixVerse account has pending error. Please address this issue at "
    "https://useapi.net/docs/api-pixverse-v2/post-pixverse-accounts-email "
    "before making any new API calls."
)
