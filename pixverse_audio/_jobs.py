"""Values of the engine: requests, results, progress events and the polling policy."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Generic, Literal, TypeVar

import attrs

from . import _sansio as sansio
from ._errors import PixverseAudioError, ValidationError
from ._models import AudioStatus, SpeechClip, SpeechModels, Track

__all__ = ["EventKind", "GenerationResult", "JobEvent", "MusicRequest", "PollPolicy", "grow"]
__all__ += ["SpeechRequest", "poll_policy"]

R = TypeVar("R", bound="MusicRequest | SpeechRequest")
O = TypeVar("O", bound="Track | SpeechClip")  # noqa: E741 - the output type


@attrs.frozen(kw_only=True)
class MusicRequest:
    """One music job for `MusicAPI.generate_many`: the arguments of `MusicAPI.create`.

    Checked when built: a request that breaks a documented rule raises
    `ValidationError` here, as `MusicAPI.create` would, before any batch runs.
    """

    prompt: str
    model: str = "music-2.6"
    email: str | None = None
    instrumental: bool | None = None
    lyrics: str | None = None
    image_paths: Sequence[str] = ()
    reply_url: str | None = None
    reply_ref: str | None = None
    max_jobs: int | None = None

    def __attrs_post_init__(self) -> None:
        self.call(self.email)  # every documented rule, now rather than mid-batch

    def call(self, email: str | None) -> sansio.Call:
        """The create call for ``email`` (validated; raises `ValidationError`)."""
        return sansio.music_create(
            prompt=self.prompt,
            model=self.model,
            email=email,
            instrumental=self.instrumental,
            lyrics=self.lyrics,
            image_paths=self.image_paths,
            reply_url=self.reply_url,
            reply_ref=self.reply_ref,
            max_jobs=self.max_jobs,
        )

    @property
    def text(self) -> str:
        """The prompt (what reconciliation matches on)."""
        return self.prompt


@attrs.frozen(kw_only=True)
class SpeechRequest:
    """One speech job for `SpeechAPI.generate_many`: the arguments of `SpeechAPI.create`.

    Checked when built against the documented rules (`ValidationError`); the
    live catalogue's limits, once fetched with ``client.speech.models()``, are
    checked again when its job is created.
    """

    text: str
    voice_id: str
    model: str = "speech-2.8-hd"
    language_code: str | None = None
    speed: float | None = None
    volume: float | None = None
    pitch: int | None = None
    emotion: str | None = None
    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    use_speaker_boost: bool | None = None
    email: str | None = None
    reply_url: str | None = None
    reply_ref: str | None = None
    max_jobs: int | None = None

    def __attrs_post_init__(self) -> None:
        self.call(self.email)

    def call(self, email: str | None, catalogue: SpeechModels | None = None) -> sansio.Call:
        """The create call for ``email`` (validated; raises `ValidationError`)."""
        return sansio.speech_create(
            catalogue=catalogue,
            text=self.text,
            voice_id=self.voice_id,
            model=self.model,
            language_code=self.language_code,
            email=email,
            reply_url=self.reply_url,
            reply_ref=self.reply_ref,
            max_jobs=self.max_jobs,
            speed=self.speed,
            volume=self.volume,
            pitch=self.pitch,
            emotion=self.emotion,
            stability=self.stability,
            similarity_boost=self.similarity_boost,
            style=self.style,
            use_speaker_boost=self.use_speaker_boost,
        )


@attrs.frozen(kw_only=True)
class GenerationResult(Generic[R, O]):
    """The outcome of one request of a batch, streamed as it finishes.

    Attributes:
        request: The request, as given.
        index: Its position in the input (results arrive in completion order).
        track: The finished track or clip, when it COMPLETED.
        error: Why there is no track: `GenerationFailedError` (FAILED on every
            attempt), `WaitTimeoutError`, `OutcomeUnknownError`,
            `ValidationError`, or another `PixverseAudioError`.
        attempts: Jobs created for it (each one paid), including a failed last one.
        job_ids: The ``audio_id`` of every job created for it, oldest first.
    """

    request: R
    index: int
    track: O | None = None
    error: PixverseAudioError | None = None
    attempts: int = 0
    job_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when the request produced a finished track or clip."""
        return self.track is not None


EventKind = Literal[
    "submitted",  # a create was accepted
    "status",  # a job's status changed
    "completed",  # a job reached COMPLETED
    "failed",  # a job reached FAILED
    "retrying",  # a FAILED job is being submitted again (a new paid job)
    "busy",  # a create was refused with 429; it will be sent again
    "released",  # a job was removed from the scheduler (timeout or cancellation)
    "unknown",  # a create's outcome is unknown
    "adopted",  # an unknown create was found on the server and adopted
]


@attrs.frozen(kw_only=True)
class JobEvent:
    """A progress event of the engine, given to ``on_event`` callbacks.

    Attributes:
        kind: What happened (see `EventKind`).
        job_id: The job's ``audio_id``, when there is one.
        status: The job's status, when known.
        attempt: Which attempt of its request this is (1 for the first job).
        at: ``anyio.current_time()`` when it happened.
        email: The account involved, when known.
        index: The position of the request in a batch, else ``None``.
    """

    kind: EventKind
    job_id: str | None = None
    status: AudioStatus | int | None = None
    attempt: int = 1
    at: float = 0.0
    email: str | None = None
    index: int | None = None


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How often to ask for a job's status.

    A single `wait` polls by id: first after ``first`` seconds, then each gap
    ``factor`` times longer (with ``jitter``), at most ``cap``. A batch polls
    each account's newest list page instead and learns how long jobs take, so
    it asks near the moment jobs finish.

    Attributes:
        first: Seconds before the first check.
        factor: Growth of the gap after each check that found nothing new.
        cap: The longest gap.
        jitter: Relative random spread of each gap (0.1 is plus or minus 10%).
        not_found_grace: Seconds after a create during which a 404 means
            "not visible yet" rather than "gone".
    """

    first: float = attrs.field(default=1.0, validator=_positive)
    factor: float = attrs.field(default=1.5, validator=attrs.validators.ge(1.0))
    cap: float = attrs.field(default=10.0, validator=_positive)
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    not_found_grace: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))

    def scaled(self, speed: float) -> PollPolicy:
        """This policy on a clock ``speed`` times faster (for the emulator's ``speed``)."""
        return attrs.evolve(
            self,
            first=self.first / speed,
            cap=self.cap / speed,
            not_found_grace=self.not_found_grace / speed,
        )

    def gap(self, checks: int, rng: random.Random) -> float:
        """The wait before check number ``checks + 1`` (0 is the first), never above ``cap``."""
        base = grow(self.first, self.factor, checks, self.cap)
        return min(self.cap, base * (1 + self.jitter * rng.uniform(-1, 1)))


def poll_policy(value: object, default: PollPolicy) -> PollPolicy:
    """``poll_interval`` as a `PollPolicy`: ``None`` is ``default``; seconds are a fixed gap.

    Raises:
        ValidationError: Neither a `PollPolicy` nor a positive, finite number.
    """
    if value is None:
        return default
    if isinstance(value, PollPolicy):
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(
            "poll_interval", "must be a positive number of seconds or a PollPolicy"
        )
    seconds = float(value)
    return PollPolicy(first=seconds, factor=1.0, cap=seconds, jitter=0.0)


def grow(first: float, factor: float, steps: int, cap: float) -> float:
    """``first * factor**steps``, capped at ``cap``, without ever overflowing."""
    value = first
    for _ in range(steps):
        if value >= cap:
            break
        value *= factor
        if factor == 1.0:
            break
    return min(cap, value)
