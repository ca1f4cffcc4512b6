"""``client.music`` and ``client.speech``: one implementation for both kinds.

`AudioAPI` adds to the raw reads (`pixverse_audio._endpoints`) what goes
through the client's scheduler: ``create``, ``wait``, ``generate``,
``generate_many`` and ``confirm``. The arguments of ``create`` and
``generate`` are declared once, in `MusicRequest` and `SpeechRequest`: the
methods take exactly those (typed, so ``generate("x", modle=...)`` is an error
under ``mypy --strict``), ``generate`` plus the three of a wait.
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import attrs

from ._batch import Batch
from ._cadence import PollPolicy, poll_policy
from ._endpoints import AudioEndpoints, SpeechEndpoints
from ._errors import ValidationError
from ._events import EventCallback, Events
from ._kinds import Kind
from ._models import Job, SpeechClip, SpeechModels, Track
from ._ports import Gateway
from ._requests import MusicRequest, SpeechRequest
from ._resources import SchedulerAPI, audio_id_of
from ._scheduler import Scheduler
from ._session import Session
from ._validate import check_id, check_timeout

__all__ = ["AudioAPI", "EngineSchedulerAPI", "MusicAPI", "SpeechAPI"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type

_WAIT_FIELDS = ("timeout", "poll_interval", "cancel_on_timeout")


@attrs.frozen(kw_only=True, slots=False)  # a mixin: two slotted bases cannot be combined
class _Wait:
    """The arguments of a wait, beside a request's in ``generate``."""

    timeout: float | None = None
    poll_interval: PollPolicy | float | None = None
    cancel_on_timeout: bool = True

    def check(self) -> None:
        if self.timeout is not None:
            check_timeout(self.timeout)
        poll_policy(self.poll_interval, PollPolicy())


@attrs.frozen(slots=False)
class _MusicGenerate(MusicRequest, _Wait):
    def __attrs_post_init__(self) -> None:
        self.check()
        super().__attrs_post_init__()


@attrs.frozen(slots=False)
class _SpeechGenerate(SpeechRequest, _Wait):
    def __attrs_post_init__(self) -> None:
        self.check()
        super().__attrs_post_init__()


class _Method(Generic[P, T]):
    """A method whose parameters are a class's constructor's (declared once, there).

    Read from the class it is a plain function (``self`` first, then the
    constructor's parameters), so ``help()``, ``inspect.signature`` and the
    documentation show the real arguments; read from an instance it is bound.
    """

    def __init__(self, build: Callable[P, Any], run: str, doc: str) -> None:
        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return await getattr(self, run)(build(*args, **kwargs))

        parameters = list(inspect.signature(build).parameters.values())
        self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        method.__signature__ = inspect.Signature([self_parameter, *parameters])  # type: ignore[attr-defined]
        method.__doc__ = doc
        self._function = method
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._function.__name__ = name
        self._function.__qualname__ = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(
        self, obj: None, owner: type | None = None
    ) -> Callable[Concatenate[Any, P], Awaitable[T]]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self._function
        return types.MethodType(self._function, obj)


def _creates(build: Callable[P, Any]) -> _Method[P, Job]:
    return _Method(build, "_create", _CREATE_DOC)


def _generates(build: Callable[P, Any], result: type[T]) -> _Method[P, T]:
    return _Method(build, "_generate", _GENERATE_DOC)


_CREATE_DOC = """Start a job and return it at once (the create's answer).

Takes the arguments of the kind's request (`MusicRequest`, `SpeechRequest`).
The create waits in line for a free slot on its account (least busy first,
or ``email``), so this client never runs more than an account's ``maxJobs``:
the job holds that slot until it is seen final, by `wait`, by the client's
polling while anyone waits, by `confirm`, or by ``client.scheduler.cancel``.
Bound the wait for a slot with ``anyio.fail_after`` if you need to.

Raises:
    ValidationError: An argument breaks a documented rule; nothing was sent.
    OutcomeUnknownError: The create may have reached the server and no job of
        it could be found; it is never resent, as that could pay twice.
    InsufficientCreditsError: The account has no credits left.
"""

_GENERATE_DOC = """Create a job and wait for its result: `create`, then `wait`.

Takes the arguments of the kind's request, and ``timeout`` (seconds from the
create to final; the kind's default when ``None``), ``poll_interval`` (a
`PollPolicy` or a number of seconds) and ``cancel_on_timeout`` as `wait` does.

Raises:
    GenerationFailedError: The job ended FAILED.
    WaitTimeoutError: The deadline passed first (the job was released).
"""


class AudioAPI(AudioEndpoints[R, O]):
    """The namespace of one kind of job: reads, creates, waits and batches."""

    def __init__(
        self,
        session: Session,
        kind: Kind[R, O],
        scheduler: Scheduler,
        events: Events,
        *,
        poll: PollPolicy | None = None,
        via: Gateway | None = None,
    ) -> None:
        super().__init__(session, kind)
        self._scheduler = scheduler
        self._events = events
        self._poll = poll  # None: the scheduler's
        self._via = via  # None: creates go through the scheduler's own gateway

    def _wait_settings(self, timeout: object, poll_interval: object) -> tuple[float, PollPolicy]:
        seconds = self._kind.default_timeout if timeout is None else check_timeout(timeout)
        return seconds, poll_policy(poll_interval, self._poll or self._scheduler.poll)

    async def _create(self, request: R) -> Job:
        policy = self._poll or self._scheduler.poll
        tracked = await self._scheduler.start(self._kind, request, policy, self._events, self._via)
        return tracked.job or Job(audio_id=tracked.job_id)

    async def _generate(self, arguments: Any) -> O:
        fields = attrs.asdict(arguments, recurse=False)
        wait = {name: fields.pop(name) for name in _WAIT_FIELDS}
        timeout, policy = self._wait_settings(wait["timeout"], wait["poll_interval"])
        request = self._kind.request_type(**fields)
        scheduler = self._scheduler
        tracked = await scheduler.start(self._kind, request, policy, self._events, self._via)
        result = await scheduler.follow(
            tracked,
            timeout=timeout,
            cancel_on_timeout=wait["cancel_on_timeout"],
            events=self._events,
        )
        return result  # type: ignore[return-value]

    async def wait(
        self,
        job: str | Job | O,
        *,
        timeout: float | None = None,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
    ) -> O:
        """Wait until a job is final and return its COMPLETED result.

        The job is followed by the client's shared polling (one list request
        per account per tick, aimed at when jobs of its kind usually end). A
        job this client did not create takes a slot on its account while it
        is waited for. A 404 just after the create means "not visible yet",
        for ``poll.not_found_grace`` seconds; after that it is `NotFoundError`.

        Args:
            job: The job, result or ``audio_id``.
            timeout: Seconds to wait in all (the kind's default when ``None``:
                1200 for music, 600 for speech; ``math.inf``: no deadline).
            poll_interval: A `PollPolicy` instead of the client's, or a number
                of seconds between checks (a fixed gap).
            cancel_on_timeout: On the deadline (or a cancellation), release
                the job from the scheduler so its slot is free; it may still
                finish and bill.

        Raises:
            GenerationFailedError: The job ended FAILED (``.track`` has the details).
            WaitTimeoutError: The deadline passed first (``.audio_id`` to resume).
            NotFoundError: The job does not exist (or vanished).
        """
        job_id = check_id("audio_id", audio_id_of(job))
        seconds, policy = self._wait_settings(timeout, poll_interval)
        result = await self._scheduler.wait(
            job_id,
            timeout=seconds,
            policy=None if poll_interval is None and self._poll is None else policy,
            cancel_on_timeout=cancel_on_timeout,
            events=self._events,
        )
        return result  # type: ignore[return-value]

    def generate_many(
        self,
        requests: Iterable[R] | AsyncIterable[R],
        *,
        timeout: float | None = None,
        max_attempts: int = 2,
        raise_on_error: bool = False,
        poll_interval: PollPolicy | float | None = None,
        cancel_on_timeout: bool = True,
        on_event: EventCallback | None = None,
        journal: str | os.PathLike[str] | None = None,
        max_credits: float | None = None,
        resubmit_after: float | None = None,
    ) -> Batch[R, O]:
        """Run many jobs as fast as the accounts allow; stream results as they finish.

        ::

            requests = [MusicRequest(prompt=p) for p in prompts]
            async with client.music.generate_many(requests) as results:
                async for result in results:
                    ...  # result.request, result.track, result.error, result.attempts

        Requests (a list, any iterable, or an async iterable) are read lazily,
        a few at a time, so any number runs in constant memory. They share the
        client's slots with every other call: each account runs at most its
        ``maxJobs`` jobs at once, requests without an ``email`` go to the least
        busy account, and a 429 (someone else uses the account) makes the
        client re-read the free slots and send the create again (a 429 never
        creates a job).

        Args:
            requests: `MusicRequest` or `SpeechRequest` values.
            timeout: Seconds each job may take from create to final.
            max_attempts: Jobs to create per request when they end FAILED (each
                one is paid; FAILED is usually transient).
            raise_on_error: Raise the first failed result's error instead of
                yielding it (the rest of the batch is stopped).
            poll_interval: A `PollPolicy` instead of the client's, or seconds.
            cancel_on_timeout: Release a job from the scheduler at its deadline.
            on_event: Called with a `JobEvent` for every step of every job.
            journal: A file (SQLite) that records each request's life, so the
                same call after a crash picks up where it stopped without
                paying twice: finished requests are read back, running jobs
                followed, a create the crash cut off is looked for on the
                server (never resent). One process at a time. See the
                "Durable batches" guide.
            max_credits: Create no job once the finished, the running and the
                next job's estimated credits would pass this; those requests
                end with `BudgetError` (a later run with a higher budget
                continues them).
            resubmit_after: With a journal: seconds after which a create the
                crash cut off, whose job cannot be found, is sent again
                (``None``: never; it is reported as `OutcomeUnknownError`).

        Returns:
            A `Batch`: enter it with ``async with`` to run it and iterate the results.
        """
        seconds, policy = self._wait_settings(timeout, poll_interval)
        return Batch(
            self._scheduler,
            self._kind,
            requests,
            timeout=seconds,
            max_attempts=max_attempts,
            raise_on_error=raise_on_error,
            poll=policy,
            cancel_on_timeout=cancel_on_timeout,
            events=self._events.also(on_event),
            via=self._via,
            journal=journal,
            max_credits=max_credits,
            resubmit_after=resubmit_after,
        )

    async def confirm(self, callback: O) -> O:
        """Check an (unsigned) callback against the API: GET the job it names.

        Returns the job as the API reports it now, which is what to act on. A
        job this client waits for ends its wait at once when it is final.

        Raises:
            ValidationError: ``callback`` is not of this kind.
            NotFoundError: No such job: the callback was not genuine.
        """
        expected = self._kind.result_type
        if not isinstance(callback, expected):
            raise ValidationError(
                "callback", f"must be a {expected.__name__}, not {type(callback).__name__}"
            )
        current = await self.get(callback.audio_id)
        await self._scheduler.observe(current)
        return current


class MusicAPI(AudioAPI[MusicRequest, Track]):
    """Music tracks: ``client.music``."""

    create = _creates(MusicRequest)
    generate = _generates(_MusicGenerate, Track)


class SpeechAPI(AudioAPI[SpeechRequest, SpeechClip], SpeechEndpoints):
    """Text to speech: ``client.speech``, with its voices and model catalogue."""

    def __init__(
        self,
        session: Session,
        kind: Kind[SpeechRequest, SpeechClip],
        scheduler: Scheduler,
        events: Events,
        *,
        poll: PollPolicy | None = None,
        via: Gateway | None = None,
        catalogues: dict[str | None, SpeechModels] | None = None,
    ) -> None:
        super().__init__(session, kind, scheduler, events, poll=poll, via=via)
        if catalogues is not None:  # a client's copies share what its original fetched
            self._catalogues = catalogues

    create = _creates(SpeechRequest)
    generate = _generates(_SpeechGenerate, SpeechClip)


class EngineSchedulerAPI(SchedulerAPI):
    """``client.scheduler``: releasing a job also frees the slot this client gave it."""

    def __init__(self, session: Session, scheduler: Scheduler) -> None:
        super().__init__(session)
        self._engine = scheduler

    async def cancel(self, job_id: str | Job | Track | SpeechClip) -> bool:
        """Stop tracking a job and free its slot (DELETE scheduler/{id}).

        The job is not stopped at PixVerse: it may still finish and bill. A job
        this client follows gives its slot back too, and whoever waits for it
        gets a `PixverseAudioError` saying so at once.

        Returns:
            ``True`` if the job was running, ``False`` if it was not (404).
        """
        released = await super().cancel(job_id)
        await self._engine.forget(str(audio_id_of(job_id)))
        return released
