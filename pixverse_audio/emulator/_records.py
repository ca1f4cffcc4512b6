"""The emulator's records: accounts, jobs and their timing, and the manual clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from . import _audio

__all__ = [
    "COMPLETED",
    "FAILED",
    "GENERATING",
    "MUSIC_TIMING",
    "NOT_CONFIGURED",
    "QUEUED",
    "SPEECH_TIMING",
    "EmulatedAccount",
    "EmulatedJob",
    "ManualClock",
    "Timing",
]

QUEUED: Final = 5
GENERATING: Final = 10
COMPLETED: Final = 1
FAILED: Final = 8
NOT_CONFIGURED: Final = "Configuration not found. To create configuration use POST /accounts/email."


class ManualClock:
    """A clock that moves only when told: ``clock.advance(seconds)``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._now += seconds


@attrs.frozen(kw_only=True)
class Timing:
    """How long jobs take, in API seconds (before ``speed`` scales them).

    Each is a ``(low, high)`` range sampled per job from the seeded generator.

    Attributes:
        queued: Time spent QUEUED before GENERATING.
        generating: Time spent GENERATING before the final status.
        audio: Length of the finished audio, in seconds.
    """

    queued: tuple[float, float] = (2.0, 8.0)
    generating: tuple[float, float] = (40.0, 120.0)
    audio: tuple[float, float] = (120.0, 300.0)

    @classmethod
    def fixed(cls, seconds: float, *, audio: float = 3.0) -> Timing:
        """Every job takes exactly ``seconds`` (no queue time) and lasts ``audio`` s."""
        return cls(queued=(0.0, 0.0), generating=(seconds, seconds), audio=(audio, audio))


MUSIC_TIMING: Final = Timing()
SPEECH_TIMING: Final = Timing(queued=(0.5, 2.0), generating=(3.0, 10.0), audio=(2.0, 30.0))


@attrs.define(eq=False, kw_only=True)
class EmulatedAccount:
    """One configured PixVerse account in the emulator."""

    email: str
    max_jobs: int
    credits: float
    password: str = attrs.field(default="emulator-password", repr=False)  # never served
    token: str | None = attrs.field(default=None, repr=False)  # a PixVerse token, never served
    account_id: int = 100000
    pending_error: bool = False
    running: list[EmulatedJob] = attrs.field(factory=list, repr=False)


@attrs.define(eq=False, kw_only=True)
class EmulatedJob:
    """One music or speech job; its status follows the clock."""

    audio_id: str
    asset_id: int
    kind: Literal["music", "speech"]
    email: str
    model: str
    provider: str
    prompt: str
    created: float
    started: float
    finished: float
    fails: bool
    duration: float
    credits: int
    reply_url: str | None = None
    reply_ref: str | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    tracked: bool = True
    callback_status: int | None = None

    def status(self, now: float) -> int:
        """``audio_status`` at ``now``."""
        if now < self.started:
            return QUEUED
        if now < self.finished:
            return GENERATING
        return FAILED if self.fails else COMPLETED

    def holds_slot(self, now: float) -> bool:
        """Whether the job counts against its account's ``maxJobs`` at ``now``."""
        return self.tracked and now < self.finished

    def changed_at(self, now: float) -> float:
        """When the current status began."""
        status = self.status(now)
        return (
            self.created
            if status == QUEUED
            else self.started
            if status == GENERATING
            else self.finished
        )

    @property
    def file_size(self) -> int:
        """The size of the finished MP3 in bytes."""
        return _audio.mp3_size(self.duration)
