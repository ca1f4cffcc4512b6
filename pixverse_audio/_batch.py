"""`Batch`: many requests run through the client's scheduler, results in completion order.

A feeder pulls requests lazily, one worker per slot takes each through the
scheduler (`pixverse_audio._scheduler`): a slot, a create, the shared polling,
and new paid jobs for FAILED ones up to ``max_attempts``. Results stream
through a bounded memory stream. Failures are returned as values, so a bug is
the only thing that can raise out of the task group. Leaving the block stops
the batch: running jobs are released (shielded) and every slot is given back.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._cadence import PollPolicy
from ._errors import (
    ConfigurationError,
    GenerationFailedError,
    PixverseAudioError,
    ValidationError,
)
from ._events import Events
from ._jobs import GenerationResult, JobEvent
from ._kinds import Kind
from ._models import SpeechClip, Track
from ._ports import Gateway
from ._requests import MusicRequest, SpeechRequest
from ._scheduler import Scheduler
from ._validate import check_timeout

__all__ = ["Batch"]

R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


def _check_batch_arguments(requests: object, max_attempts: object) -> None:
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValidationError("max_attempts", "must be an integer of at least 1")
    if not isinstance(requests, (Iterable, AsyncIterable)) or isinstance(requests, (str, bytes)):
        raise ValidationError("requests", "must be an iterable (or async iterable) of requests")


class Batch(Generic[R, O]):
    """A running batch of requests: an async context manager giving its results.

    ::

        async with client.music.generate_many(requests) as results:
            async for result in results:
                print(result.index, result.ok, result.track or result.error)

    Leaving the block early (``break``, an exception, a cancellation) stops the
    batch: no new job is created, running jobs are released from the scheduler
    (shielded cleanup), and every slot is given back.

    Attributes:
        busy: 429 answers its creates met.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        kind: Kind[R, O],
        requests: Iterable[R] | AsyncIterable[R],
        *,
        timeout: float,
        max_attempts: int,
        raise_on_error: bool,
        poll: PollPolicy,
        cancel_on_timeout: bool,
        events: Events,
        via: Gateway | None = None,
    ) -> None:
        _check_batch_arguments(requests, max_attempts)
        self._via = via
        self._scheduler = scheduler
        self._kind: Kind[R, O] = kind
        self._requests: Iterable[R] | AsyncIterable[R] = requests
        self._timeout = check_timeout(timeout)
        self._max_attempts = max_attempts
        self._raise_on_error = raise_on_error
        self._poll = poll
        self._cancel_on_timeout = cancel_on_timeout
        self._events = events.also(self._count)
        self._error: BaseException | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self.busy = 0

    def _count(self, event: JobEvent) -> None:
        if event.kind == "busy":
            self.busy += 1

    # ------------------------------------------------------------ interface

    async def __aenter__(self) -> Batch[R, O]:
        if self._group is not None:
            raise ConfigurationError("a batch can be run only once")
        # Created here, not in __init__: a batch never entered holds nothing to close.
        send, receive = anyio.create_memory_object_stream[GenerationResult[R, O]](64)
        self._results_send: MemoryObjectSendStream[GenerationResult[R, O]] = send
        self._results: MemoryObjectReceiveStream[GenerationResult[R, O]] = receive
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group = self._group
        if group is None:
            return None
        group.cancel_scope.cancel()  # the batch ends with the block
        self._results.close()
        # The block's own exception (a raise_on_error error, the caller's bug,
        # a cancellation from outside) is not the task group's business: the
        # group is closed as if the block ended normally, its tasks clean up
        # (shielded), and the exception propagates unchanged, not wrapped.
        await group.__aexit__(None, None, None)
        return None

    def __aiter__(self) -> Batch[R, O]:
        if self._group is None:
            raise TypeError(
                "run a batch in `async with client.music.generate_many(...) as results:` "
                "and iterate over `results`"
            )
        return self

    async def __anext__(self) -> GenerationResult[R, O]:
        try:
            result = await self._results.receive()
        except anyio.EndOfStream:
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None
        if self._raise_on_error and result.error is not None:
            raise result.error
        return result

    @property
    def status_requests(self) -> int:
        """Status requests (list pages and GETs by id) the client's engine sent so far."""
        return self._scheduler.status_requests

    # --------------------------------------------------------------- runner

    async def _run(self) -> None:
        async with self._results_send:
            try:
                await self._scheduler.pool.load()
            except PixverseAudioError as exc:
                self._error = exc
                return
            workers = max(1, self._scheduler.pool.capacity())
            requests_send, requests_receive = anyio.create_memory_object_stream[tuple[int, R]](0)
            async with anyio.create_task_group() as work:
                async with requests_receive:
                    for _ in range(workers):
                        work.start_soon(
                            self._worker, requests_receive.clone(), self._results_send.clone()
                        )
                work.start_soon(self._feed, requests_send)

    async def _feed(self, send: MemoryObjectSendStream[tuple[int, R]]) -> None:
        async with send:
            index = 0
            try:
                if isinstance(self._requests, AsyncIterable):
                    async for request in self._requests:
                        await send.send((index, request))
                        index += 1
                else:
                    for request in self._requests:
                        await send.send((index, request))
                        index += 1
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            except Exception as exc:  # the caller's iterator failed: report it at the end
                self._error = exc

    async def _worker(
        self,
        requests: MemoryObjectReceiveStream[tuple[int, R]],
        results: MemoryObjectSendStream[GenerationResult[R, O]],
    ) -> None:
        async with requests, results:
            async for index, request in requests:
                result = await self._process(index, request)
                try:
                    await results.send(result)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # nobody reads any more

    async def _process(self, index: int, request: R) -> GenerationResult[R, O]:
        job_ids: list[str] = []
        attempt = 0

        def result(**fields: Any) -> GenerationResult[R, O]:
            return GenerationResult(
                request=request, index=index, attempts=attempt, job_ids=tuple(job_ids), **fields
            )

        expected = self._kind.request_type
        if not isinstance(request, expected):
            wrong = ValidationError(
                "requests", f"item {index} is a {type(request).__name__}, not a {expected.__name__}"
            )
            return result(error=wrong)
        scheduler = self._scheduler
        while True:
            events = self._events.at(index, attempt + 1)
            try:
                tracked = await scheduler.start(self._kind, request, self._poll, events, self._via)
            except PixverseAudioError as exc:
                return result(error=exc)
            attempt += 1
            job_ids.append(tracked.job_id)
            try:
                final = await scheduler.follow(
                    tracked,
                    timeout=self._timeout,
                    cancel_on_timeout=self._cancel_on_timeout,
                    events=events,
                )
            except GenerationFailedError as exc:
                if attempt >= self._max_attempts:
                    return result(error=exc)
                retry = self._events.at(index, attempt + 1)
                retry.emit("retrying", job_id=tracked.job_id, email=tracked.email)
                continue
            except PixverseAudioError as exc:
                return result(error=exc)
            return result(track=final)
