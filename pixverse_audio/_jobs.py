"""Values the engine hands out: results of requests and progress events."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import attrs

from ._errors import PixverseAudioError
from ._models import AudioStatus, SpeechClip, Track
from ._requests import MusicRequest, SpeechRequest

__all__ = ["EventKind", "GenerationResult", "JobEvent"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


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
        key: Its name in the batch's journal (its ``key``, or the one derived
            from its content and position); its own ``key`` without a journal.
        resumed: ``True`` when its track was read back from the journal (a
            run before this one finished it; nothing was asked of the API).
    """

    request: R
    index: int
    track: O | None = None
    error: PixverseAudioError | None = None
    attempts: int = 0
    job_ids: tuple[str, ...] = ()
    key: str | None = None
    resumed: bool = False

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
