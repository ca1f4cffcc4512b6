"""`Batch`: many requests run through the client's scheduler, results in completion order.

A feeder pulls requests lazily, one worker per slot takes each through the
scheduler (`pixverse_audio._scheduler`): a slot, a create, the shared polling,
and new paid jobs for FAILED ones up to ``max_attempts``. Results stream
through a bounded memory stream. Failures are returned as values, so a bug is
the only thing that can raise out of the task group. Leaving the block stops
the batch: running jobs are released (shielded) and every slot is given back.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._cadence import PollPolicy
from ._durable import Durable, Start
from ._errors import (
    ConfigurationError,
    GenerationFailedError,
    JournalError,
    NotFoundError,
    PixverseAudioError,
    ValidationError,
)
from ._events import Events
from ._jobs import GenerationResult, JobEvent
from ._journal import Journal
from ._kinds import Kind
from ._logging import logger
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


def _check_durable_arguments(journal: object, max_credits: object, resubmit_after: object) -> None:
    if journal is not None and not isinstance(journal, (str, os.PathLike)):
        raise ValidationError("journal", "must be a path (str or os.PathLike) or None")
    for name, value in (("max_credits", max_credits), ("resubmit_after", resubmit_after)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(name, "must be a number (or None)")
        if not math.isfinite(value) or value < 0:
            raise ValidationError(name, "must be a finite number of at least 0")
    if resubmit_after is not None and journal is None:
        raise ValidationError("resubmit_after", "needs a journal (it is about a crashed run)")


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
        journal: str | os.PathLike[str] | None = None,
        max_credits: float | None = None,
        resubmit_after: float | None = None,
    ) -> None:
        _check_batch_arguments(requests, max_attempts)
        _check_durable_arguments(journal, max_credits, resubmit_after)
        self._durable: Durable[R, O] = Durable(
            scheduler,
            kind,
            None if journal is None else Journal(journal),
            max_credits=max_credits,
            resubmit_after=resubmit_after,
        )
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
        await self._durable.open()  # a journal's lock, and the creates a crash lost
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
        failure: BaseException | None = None
        try:
            await group.__aexit__(None, None, None)
        except BaseException as error:
            failure = error
            raise
        finally:
            try:
                await self._durable.close()
            except JournalError as error:
                if exc is None and failure is None:
                    raise
                # the exception already on its way (a cancellation, say) goes on
                logger.warning("%s", error)
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
    def stopped_by_budget(self) -> bool:
        """Whether ``max_credits`` kept a request from being created (`BudgetError` results)."""
        return self._durable.stopped_by_budget

    @property
    def spent(self) -> float:
        """Credits the batch's finished jobs cost, the journal's earlier runs included."""
        return self._durable.spent

    async def record_file(
        self, result: GenerationResult[R, O], path: str | os.PathLike[str]
    ) -> None:
        """Write down in the journal that ``result``'s audio was saved at ``path``, and its size."""
        if result.key is not None:
            size = (await anyio.Path(path).stat()).st_size
            await self._durable.downloaded(result.key, os.fspath(path), size)

    def journaled_file(self, result: GenerationResult[R, O]) -> str | None:
        """The file the journal says ``result``'s audio was saved at, if any."""
        entry = self._durable.entry(result.key) if result.key is not None else None
        return entry.file if entry is not None else None

    @property
    def status_requests(self) -> int:
        """Status requests (list pages and GETs by id) the client's engine sent so far."""
        return self._scheduler.status_requests

    # --------------------------------------------------------------- runner

    async def _run(self) -> None:
        """Feed the requests: replays to the replayer, the rest to one worker per slot."""
        replay_send, replay_receive = anyio.create_memory_object_stream[tuple[int, R, Start[O]]](
            math.inf
        )
        work_send, work_receive = anyio.create_memory_object_stream[tuple[int, R, Start[O]]](0)
        async with self._results_send, anyio.create_task_group() as group:
            group.start_soon(self._replay, replay_receive, self._results_send.clone())
            requests = self._requests_in_order()
            async with replay_send, work_send, work_receive, contextlib.aclosing(requests):
                workers = 0
                async for index, request in requests:
                    start = self._start(index, request)
                    if start.done:  # read back from the journal, or refused: no API request
                        replay_send.send_nowait((index, request, start))
                        continue
                    if not workers:  # the accounts are read once some request needs them
                        try:
                            await self._scheduler.pool.load()
                        except PixverseAudioError as exc:
                            self._error = exc
                            return
                        workers = max(1, self._scheduler.pool.capacity())
                        for _ in range(workers):
                            group.start_soon(
                                self._worker, work_receive.clone(), self._results_send.clone()
                            )
                    try:
                        await work_send.send((index, request, start))
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return

    async def _requests_in_order(self) -> AsyncGenerator[tuple[int, R], None]:
        index = 0
        try:
            if isinstance(self._requests, AsyncIterable):
                async for request in self._requests:
                    yield index, request
                    index += 1
            else:
                for request in self._requests:
                    yield index, request
                    index += 1
                    if index % 1024 == 0:
                        await anyio.lowlevel.checkpoint()  # a long replay shares the loop
        except Exception as exc:  # the caller's iterator failed: report it at the end
            self._error = exc

    def _start(self, index: int, request: R) -> Start[O]:
        expected = self._kind.request_type
        if not isinstance(request, expected):
            wrong = ValidationError(
                "requests", f"item {index} is a {type(request).__name__}, not a {expected.__name__}"
            )
            return Start(key=None, error=wrong)
        return self._durable.begin(index, request)

    async def _replay(
        self,
        replays: MemoryObjectReceiveStream[tuple[int, R, Start[O]]],
        results: MemoryObjectSendStream[GenerationResult[R, O]],
    ) -> None:
        async with replays, results:
            async for index, request, start in replays:
                track, error = self._durable.replayed(start)
                result = GenerationResult(
                    request=request,
                    index=index,
                    track=track,
                    error=error,
                    attempts=start.attempts,
                    job_ids=start.job_ids,
                    key=start.key,
                    resumed=track is not None,
                )
                try:
                    await results.send(result)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # nobody reads any more

    async def _worker(
        self,
        work: MemoryObjectReceiveStream[tuple[int, R, Start[O]]],
        results: MemoryObjectSendStream[GenerationResult[R, O]],
    ) -> None:
        async with work, results:
            async for index, request, start in work:
                result = await self._process(index, request, start)
                try:
                    await results.send(result)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # nobody reads any more

    async def _process(self, index: int, request: R, start: Start[O]) -> GenerationResult[R, O]:
        durable = self._durable
        key = start.key
        attempt, job_ids = start.attempts, list(start.job_ids)

        def result(**fields: Any) -> GenerationResult[R, O]:
            return GenerationResult(
                request=request,
                index=index,
                attempts=attempt,
                job_ids=tuple(job_ids),
                key=key,
                **fields,
            )

        scheduler, follow = self._scheduler, start.follow
        if follow is not None and follow not in job_ids:
            job_ids.append(follow)
        if follow is not None:
            await durable.adopted(key)
        while True:
            events = self._events.at(index, attempt + 1)
            try:
                if follow is None:
                    refused = durable.allow(key, request)
                    if refused is not None:
                        await durable.stopped(key, index, request, refused)
                        return result(error=refused)
                    mark = functools.partial(
                        durable.sending, key, index, request, attempt + 1, list(job_ids)
                    )
                    try:
                        answered = functools.partial(durable.created, key)
                        tracked = await scheduler.start(
                            self._kind, request, self._poll, events, self._via, mark, answered
                        )
                    except PixverseAudioError as exc:
                        await durable.no_job(key, request, exc)
                        return result(error=exc)
                    attempt += 1
                    job_ids.append(tracked.job_id)
                    final = await scheduler.follow(
                        tracked,
                        timeout=self._timeout,
                        cancel_on_timeout=self._cancel_on_timeout,
                        events=events,
                    )
                else:
                    job_id, follow = follow, None  # followed once; a retry creates anew
                    final = await scheduler.wait(
                        job_id,
                        timeout=self._timeout,
                        policy=self._poll,
                        cancel_on_timeout=self._cancel_on_timeout,
                        events=events,
                    )
            except GenerationFailedError as exc:
                if attempt >= self._max_attempts:
                    await durable.finished(key, request, error=exc)
                    return result(error=exc)
                await durable.failed_attempt(key, request, exc)
                self._events.at(index, attempt + 1).emit("retrying", job_id=exc.audio_id)
                continue
            except PixverseAudioError as exc:
                if isinstance(exc, NotFoundError):  # the job is gone: final
                    await durable.finished(key, request, error=exc)
                # else (a deadline, the network, a 5xx while polling): the job may still
                # finish; the journal keeps following it in a later run
                return result(error=exc)
            await durable.finished(key, request, track=final)  # type: ignore[arg-type]
            return result(track=final)
