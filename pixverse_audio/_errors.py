"""Exceptions raised by pixverse_audio.

Every exception the library raises on purpose derives from `PixverseAudioError`,
so one ``except PixverseAudioError`` catches them all; no raw ``httpx``
exception escapes a public method (the original is kept as ``__cause__``)::

    PixverseAudioError
    ├── ConfigurationError                 no token, closed client, bad settings
    ├── ValidationError(ValueError)        bad arguments; nothing was sent
    ├── APIError                           .status_code .message .body
    │   ├── BadRequestError                400
    │   ├── AuthenticationError            401
    │   ├── PaymentRequiredError           402
    │   │   ├── InsufficientCreditsError   402: PixVerse credits used up
    │   │   └── SubscriptionExpiredError   402: useapi.net subscription ended
    │   ├── NotFoundError                  404
    │   ├── ModerationError                422
    │   ├── BusyError                      429: account(s) at maxJobs; .retry_after
    │   ├── AccountError                   596: PixVerse account needs attention
    │   ├── ServerError                    other 5xx
    │   └── ResponseFormatError            a body that does not fit the model
    ├── APIConnectionError                 the request failed on the network
    │   └── APITimeoutError(TimeoutError)  ... by timing out
    ├── DownloadError                      fetching a finished track's audio failed
    ├── LimiterError                       the shared limiter (Redis) cannot be reached
    ├── JournalError                       a batch's journal cannot be used (locked, other kind)
    ├── BudgetError                        a job would pass max_credits; it was not created
    ├── OutcomeUnknownError                a create may or may not have started a paid job
    ├── GenerationFailedError              the job reached FAILED; .track .fail_code
    └── WaitTimeoutError(TimeoutError)     a wait passed its deadline; .audio_id

Errors of a request (`APIError`, `APIConnectionError` and `OutcomeUnknownError`)
also say which request it was and what it took: ``.method``, ``.path``,
``.attempts`` and ``.elapsed`` (``None`` where no request was involved).

Messages never contain the API token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._models import Job, SpeechClip, Track

_E = TypeVar("_E", bound=BaseException)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetError",
    "BusyError",
    "ConfigurationError",
    "DownloadError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "JournalError",
    "LimiterError",
    "ModerationError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaymentRequiredError",
    "PixverseAudioError",
    "ResponseFormatError",
    "ServerError",
    "SubscriptionExpiredError",
    "ValidationError",
    "WaitTimeoutError",
]


class PixverseAudioError(Exception):
    """Base class of every exception raised by pixverse_audio."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructors take other arguments than ``args`` holds (the message):
        # pickle and copy rebuild from ``args`` and the attributes instead.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[_E], args: tuple[Any, ...]) -> _E:
    """An instance of ``cls`` with ``args``, without running its ``__init__``."""
    try:  # OSError (TimeoutError's base) reads errno and strerror from its arguments here
        error = cls.__new__(cls, *args)
    except Exception:
        error = cls.__new__(cls)
    error.args = args
    return error


class ConfigurationError(PixverseAudioError):
    """The client is set up wrongly (no token, bad base URL) or already closed."""


class ValidationError(PixverseAudioError, ValueError):
    """An argument breaks a documented rule; no request was sent.

    Attributes:
        field: The name of the offending argument, as the caller spelled it.
        reason: What is wrong with it (the message without the field).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class APIError(PixverseAudioError):
    """The API answered with an error status, or with a body that cannot be used.

    Attributes:
        status_code: The HTTP status of the response.
        message: The server's ``error`` text, or a description of what was wrong.
        body: The decoded JSON body when there was one, else the raw text (truncated).
        method: The HTTP method of the request (``None`` if no request was involved).
        path: The API path requested, e.g. ``/v2/pixverse/music/create``: no host,
            no query string.
        attempts: How many times the request was sent for this call, retries included.
        elapsed: Seconds from the first attempt to the final answer (or failure),
            back-off pauses included.
    """

    # Which request it was and what it took: class-level ``None`` defaults (the
    # constructors are unchanged); the session sets them on the instance, so
    # they travel in ``__dict__`` through pickle, copies and secret scrubbing.
    method: str | None = None
    path: str | None = None
    attempts: int | None = None
    elapsed: float | None = None

    def __init__(self, status_code: int, message: str, body: object = None) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class BadRequestError(APIError):
    """400: the server rejected a parameter."""


class AuthenticationError(APIError):
    """401: the API token is missing, wrong or revoked."""


class PaymentRequiredError(APIError):
    """402: the job cannot be paid for. Never retried."""


class InsufficientCreditsError(PaymentRequiredError):
    """402: the PixVerse account's credits are used up."""


class SubscriptionExpiredError(PaymentRequiredError):
    """402: the useapi.net subscription is missing or expired."""


class NotFoundError(APIError):
    """404: the job, file or account does not exist (or was deleted)."""


class ModerationError(APIError):
    """422: the prompt or text was refused by moderation."""


class BusyError(APIError):
    """429: the account (or every account) is running ``maxJobs`` jobs already.

    A 429 never creates a job, so a create that got one can be sent again.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), if it said.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        body: object = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status_code, message, body)
        self.retry_after = retry_after


class AccountError(APIError):
    """596: the PixVerse account is on hold or its password changed.

    Fix the account, then re-save it with ``POST accounts/{email}``. Never retried.
    """


class ServerError(APIError):
    """5xx (other than 596): useapi.net or PixVerse failed."""


class ResponseFormatError(APIError):
    """The response body is not JSON, or does not have the documented shape."""


class APIConnectionError(PixverseAudioError):
    """The request could not be completed on the network.

    Attributes:
        method: The HTTP method of the request (``None`` if no request was involved).
        path: The API path requested, e.g. ``/v2/pixverse/music/create``: no host,
            no query string.
        attempts: How many times the request was sent for this call, retries included.
        elapsed: Seconds from the first attempt to the final answer (or failure),
            back-off pauses included.
    """

    # Set by the session, as on APIError.
    method: str | None = None
    path: str | None = None
    attempts: int | None = None
    elapsed: float | None = None


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request timed out (connect, write, read or waiting for a connection).

    It has `APIConnectionError`'s ``method``, ``path``, ``attempts`` and ``elapsed``.
    """


class DownloadError(PixverseAudioError):
    """Fetching a finished track's audio failed: the media host refused or broke off,
    the size did not match, or a redirect went somewhere unsafe.

    Nothing is left at the destination when this is raised.

    Attributes:
        status_code: The media host's HTTP status, when it answered with an error.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class JournalError(PixverseAudioError):
    """A batch's journal cannot be used: another process runs it, it is not a journal,
    it belongs to a batch of the other kind, or a request's key names other content."""


class BudgetError(PixverseAudioError):
    """Creating this request's job could pass the batch's ``max_credits``; it was not created.

    A later run of the same journal with a higher budget continues from here.

    Attributes:
        budget: The batch's ``max_credits``.
        committed: Credits spent and reserved for running jobs when it stopped.
        estimate: What this request's job was estimated to cost.
    """

    def __init__(self, budget: float, committed: float, estimate: float) -> None:
        super().__init__(
            f"the budget of {budget:g} credits stopped the batch: {committed:g} spent or "
            f"running, and this job would cost about {estimate:g} more"
        )
        self.budget = budget
        self.committed = committed
        self.estimate = estimate


class LimiterError(PixverseAudioError):
    """The shared limiter (`RedisLimiter`) could not be reached; no job was created.

    Raised, after retrying for the limiter's ``unavailable_timeout``, where a
    job needed a slot: in a batch, the request's result carries it.
    """


class OutcomeUnknownError(PixverseAudioError):
    """A create request may have reached the server, but no answer came back.

    A paid job may or may not exist. The library never resends such a request
    blindly; reconcile with ``client.scheduler.list()`` and the newest items of
    the account's list (match ``reply_ref``, prompt and ``created_at``).

    Attributes:
        endpoint: The path that was posted to.
        payload: The fields that were sent (without secrets), to help matching.
        candidates: The ids of jobs that may be this create's but could not be
            told apart from others (each may be paid); empty when none was found.
        method: The HTTP method of the request (``None`` if no request was involved).
        path: The API path requested, e.g. ``/v2/pixverse/music/create``: no host,
            no query string.
        attempts: How many times the request was sent for this call, retries included.
        elapsed: Seconds from the first attempt to the final answer (or failure),
            back-off pauses included.
    """

    # Set by the session, as on APIError.
    method: str | None = None
    path: str | None = None
    attempts: int | None = None
    elapsed: float | None = None

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        payload: Mapping[str, Any],
        candidates: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.payload = payload
        self.candidates = candidates


class GenerationFailedError(PixverseAudioError):
    """The job ended with status FAILED.

    Attributes:
        track: The final state of the job (a `Track` or `SpeechClip`).
        audio_id: The job's id.
        fail_code: PixVerse's failure code, e.g. ``music_generation_failed``.
        fail_reason: PixVerse's readable explanation.
    """

    def __init__(self, track: Track | SpeechClip) -> None:
        reason = track.fail_reason or "no reason given"
        super().__init__(f"job {track.audio_id} failed: {track.fail_code or 'unknown'}: {reason}")
        self.track = track
        self.audio_id = track.audio_id
        self.fail_code = track.fail_code
        self.fail_reason = track.fail_reason


class WaitTimeoutError(PixverseAudioError, TimeoutError):
    """A wait for a job passed its deadline before the job reached a final status.

    Attributes:
        audio_id: The job that was being waited for, to resume later.
        last_seen: The last state fetched, if any.
    """

    def __init__(
        self, audio_id: str, timeout: float, last_seen: Track | SpeechClip | Job | None = None
    ) -> None:
        super().__init__(f"job {audio_id} was not final after {timeout:g} s")
        self.audio_id = audio_id
        self.timeout = timeout
        self.last_seen = last_seen


_HIDDEN = "<hidden>"


def _without_secrets(error: _E, secrets: Iterable[str | None]) -> _E:
    """A copy of ``error`` with every occurrence of ``secrets`` replaced by ``<hidden>``.

    The copy has ``error``'s type and attributes (its ``__dict__`` and ``args``,
    scrubbed: strings, and the strings inside dicts, lists and tuples), and so
    has every exception of its ``__cause__``/``__context__`` chain.  Raise it
    *outside* the ``except`` block that caught ``error``: raised inside, Python
    would make the original (secrets and all) its ``__context__``::

        try:
            return await send()
        except PixverseAudioError as exc:
            error = exc
        raise _without_secrets(error, (password, token))
    """
    hidden = [secret for secret in secrets if secret]
    if not hidden:
        return error
    copies: dict[int, BaseException] = {}

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for secret in hidden:
                value = value.replace(secret, _HIDDEN)
            return value
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            return type(value)(scrub(v) for v in value)
        if isinstance(value, BaseException):
            return copy(value)
        return value

    def copy(original: BaseException) -> BaseException:
        done = copies.get(id(original))
        if done is not None:  # a chain that loops back
            return done
        clean = _rebuild(type(original), tuple(scrub(arg) for arg in original.args))
        copies[id(original)] = clean
        vars(clean).update({name: scrub(value) for name, value in vars(original).items()})
        clean.__cause__ = None if original.__cause__ is None else copy(original.__cause__)
        clean.__context__ = None if original.__context__ is None else copy(original.__context__)
        clean.__suppress_context__ = original.__suppress_context__
        clean.__traceback__ = original.__traceback__
        return clean

    return copy(error)  # type: ignore[return-value]  # a copy of the same type
