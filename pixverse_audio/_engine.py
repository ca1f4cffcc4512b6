"""The engine: wait for one job, and run batches of jobs as fast as the accounts allow.

`wait_for` polls one job by id with a growing gap and a deadline. `Batch`
runs many requests in one task group: a feeder pulls requests lazily, one
worker per account slot creates and follows jobs, each account's poller
refreshes all of that account's jobs with one list request, and results are
streamed through a bounded memory stream in completion order. Cancellation
and deadlines release jobs from the scheduler in shielded cleanup; failures
are returned as values, so a bug is the only thing that can raise out of the
task group.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, Callable, Iterable
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import _sansio as sansio
from ._errors import (
    AccountError,
    BusyError,
    ConfigurationError,
    GenerationFailedError,
    InsufficientCreditsError,
    NotFoundError,
    OutcomeUnknownError,
    PixverseAudioError,
    ValidationError,
    WaitTimeoutError,
)
from ._jobs import EventKind, GenerationResult, JobEvent, MusicRequest, PollPolicy, SpeechRequest
from ._logging import logger
from ._models import AudioStatus, Job, SpeechClip, Track
from ._poller import AccountPoller, DurationEstimate, Watch
from ._slots import Lease
from ._validate import check_timeout

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["Batch", "EventCallback", "release_slot", "wait_for"]

R = TypeVar("R", bound="MusicRequest | SpeechRequest")
O = TypeVar("O", bound="Track | SpeechClip")  # noqa: E741 - the output type
Kind = Literal["music", "speech"]
EventCallback = Callable[[JobEvent], None]

CLEANUP_SECONDS: Final = 10.0  # bound on shielded cleanup (releasing a job)
MAX_BUSY: Final = 100  # 429s in a row for one request before it is reported
RECONCILE_TRIES: Final = 3
RECONCILE_SECONDS: Final = 60.0  # bound on the shielded search for a lost create


def _check_batch_arguments(requests: object, max_attempts: object) -> None:
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValidationError("max_attempts", "must be an integer of at least 1")
    if not isinstance(requests, (Iterable, AsyncIterable)) or isinstance(requests, (str, bytes)):
        raise ValidationError("requests", "must be an iterable (or async iterable) of requests")


async def release_slot(client: AsyncClient, job_id: str) -> bool:
    """DELETE scheduler/{job_id} in a shielded scope with a deadline; never raises.

    Returns whether the job was running. Used when a wait ends before the job
    (deadline, cancellation): it frees the account's slot; the job itself may
    still finish and bill.
    """
    with anyio.CancelScope(shield=True) as scope:
        scope.deadline = anyio.current_time() + CLEANUP_SECONDS
        try:
            return await client.scheduler.cancel(job_id)
        except PixverseAudioError as exc:
            logger.warning("could not release job %s from the scheduler: %s", job_id, exc)
    return False


def _emit(callbacks: Iterable[EventCallback | None], event: JobEvent) -> None:
    for callback in callbacks:
        if callback is None:
            continue
        try:
            callback(event)
        except Exception:  # a progress display must never break the jobs it shows
            logger.exception("on_event callback failed for %s", event)


async def wait_for(
    client: AsyncClient,
    kind: Kind,
    job: str | Job | Track | SpeechClip,
    *,
    timeout: float,
    poll: PollPolicy,
    cancel_on_timeout: bool,
) -> Track | SpeechClip:
    """Poll one job by id until it is final; see `MusicAPI.wait`."""
    job_id = job if isinstance(job, str) else job.audio_id
    get = client.music.get if kind == "music" else client.speech.get
    sansio.music_get(job_id)  # validates the id before anything is sent
    deadline = check_timeout(timeout)
    rng = random.Random()
    started = anyio.current_time()
    last: Track | SpeechClip | Job | None = job if not isinstance(job, str) else None
    final: Track | SpeechClip | None = None
    checks = 0
    try:
        with anyio.move_on_after(deadline):
            while final is None:
                await anyio.sleep(poll.gap(checks, rng))
                checks += 1
                try:
                    item = await get(job_id)
                except NotFoundError:
                    if anyio.current_time() - started < poll.not_found_grace:
                        continue  # a new job can take a moment to become visible
                    raise
                last = item
                final = item if item.final else None
    except anyio.get_cancelled_exc_class():  # nobody follows the job any more
        if cancel_on_timeout and final is None:
            await release_slot(client, job_id)
        raise
    if final is None:
        if cancel_on_timeout:
            await release_slot(client, job_id)
        raise WaitTimeoutError(job_id, deadline, last)
    if not final.completed:
        raise GenerationFailedError(final)
    return final


class Batch(Generic[R, O]):
    """A running batch of requests: an async context manager giving its results.

    ::

        async with client.music.generate_many(requests) as results:
            async for result in results:
                print(result.index, result.ok, result.track or result.error)

    Leaving the block early (``break``, an exception, a cancellation) stops the
    batch: no new job is created, running jobs are released from the scheduler
    (shielded cleanup), and every slot is given back.
    """

    def __init__(
        self,
        client: AsyncClient,
        kind: Kind,
        requests: Iterable[R] | AsyncIterable[R],
        *,
        timeout: float,
        max_attempts: int,
        raise_on_error: bool,
        poll: PollPolicy,
        cancel_on_timeout: bool,
        on_event: EventCallback | None,
    ) -> None:
        _check_batch_arguments(requests, max_attempts)
        self._client = client
        self._kind: Kind = kind
        self._requests = requests
        self._timeout = check_timeout(timeout)
        self._max_attempts = max_attempts
        self._raise_on_error = raise_on_error
        self._poll = poll
        self._cancel_on_timeout = cancel_on_timeout
        self._callbacks = (client._on_event, on_event)
        self._slots = client._slot_pool()
        self._estimate = DurationEstimate()
        self._pollers: dict[str, AccountPoller[O]] = {}
        self._services: anyio.abc.TaskGroup | None = None
        self._known: set[str] = set()
        self._watching: dict[str, tuple[int, int]] = {}  # job id -> (request index, attempt)
        self._started_wall = datetime.now(timezone.utc)
        self._rng = random.Random()
        self._error: BaseException | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self.busy = 0  # 429 answers met

    # ------------------------------------------------------------ interface

    async def __aenter__(self) -> Batch[R, O]:
        if self._group is not None:
            raise ConfigurationError("a batch can be run only once")
        # Created here, not in __init__: a batch never entered holds nothing to close.
        self._results_send, self._results = anyio.create_memory_object_stream[
            GenerationResult[R, O]
        ](max_buffer_size=64)
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
        """Status requests (list pages and GETs by id) the pollers sent."""
        return sum(p.requests for p in self._pollers.values())

    # --------------------------------------------------------------- runner

    async def _run(self) -> None:
        async with self._results_send:
            try:
                await self._slots.load()
            except PixverseAudioError as exc:
                self._error = exc
                return
            workers = self._slots.workers()
            requests_send, requests_receive = anyio.create_memory_object_stream[tuple[int, R]](0)
            async with anyio.create_task_group() as services:
                self._services = services
                services.start_soon(self._slots.keep_alive)
                async with anyio.create_task_group() as work:
                    async with requests_receive:
                        for _ in range(workers):
                            work.start_soon(
                                self._worker, requests_receive.clone(), self._results_send.clone()
                            )
                    work.start_soon(self._feed, requests_send)
                services.cancel_scope.cancel()  # every worker is done: stop the pollers

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

    def _event(self, kind: EventKind, index: int, **fields: Any) -> None:
        event = JobEvent(kind=kind, at=anyio.current_time(), index=index, **fields)
        _emit(self._callbacks, event)

    def _poller(self, email: str) -> AccountPoller[O]:
        poller = self._pollers.get(email)
        if poller is None:
            poller = AccountPoller(
                self._client, email, self._kind, self._poll, self._estimate, self._on_status
            )
            self._pollers[email] = poller
            if self._services is not None:
                self._services.start_soon(poller.run)
        return poller

    def _on_status(self, watch: Watch[O], item: O) -> None:
        index, attempt = self._watching.get(watch.job_id, (-1, 1))
        kind: EventKind = "status"
        if item.final:
            kind = "completed" if item.completed else "failed"
        self._event(
            kind, index, job_id=watch.job_id, status=item.status, attempt=attempt, email=item.email
        )

    async def _process(self, index: int, request: R) -> GenerationResult[R, O]:
        job_ids: list[str] = []
        attempt = 0
        busy = 0

        def result(**fields: Any) -> GenerationResult[R, O]:
            return GenerationResult(
                request=request, index=index, attempts=attempt, job_ids=tuple(job_ids), **fields
            )

        expected = MusicRequest if self._kind == "music" else SpeechRequest
        if not isinstance(request, expected):
            wrong = ValidationError(
                "requests", f"item {index} is a {type(request).__name__}, not a {expected.__name__}"
            )
            return result(error=wrong)
        try:
            request.call(request.email)  # every rule is checked before anything is sent
        except ValidationError as exc:
            return result(error=exc)
        while True:
            try:
                lease = await self._slots.acquire(request.email, request.max_jobs)
            except PixverseAudioError as exc:  # no healthy account is left
                return result(error=exc)
            released = False
            try:
                try:
                    job_id = await self._create(index, request, lease, attempt + 1)
                except BusyError as exc:
                    released = True
                    await self._release(lease)
                    busy += 1
                    self.busy += 1
                    self._event("busy", index, attempt=attempt + 1, email=lease.email)
                    if busy >= MAX_BUSY:
                        return result(error=exc)
                    await self._on_busy(lease.email, busy)
                    continue
                if isinstance(job_id, OutcomeUnknownError):  # not found on the server either
                    return result(error=job_id)
                attempt += 1
                job_ids.append(job_id)
                self._watching[job_id] = (index, attempt)
                final = await self._follow(index, lease.email, job_id, attempt)
            except (AccountError, InsufficientCreditsError) as exc:
                if request.email is not None or not self._slots.disable(lease.email, exc):
                    return result(error=exc)  # pinned there, or no healthy account left
                logger.warning(
                    "account %s taken out of this client's rotation: %s", lease.email, exc
                )
                continue  # the create was refused: no job, no attempt; try another account
            except PixverseAudioError as exc:
                return result(error=exc)
            finally:
                if not released:
                    await self._release(lease)
            if final.completed:
                return result(track=final)
            if attempt >= self._max_attempts:
                return result(error=GenerationFailedError(final))
            self._event("retrying", index, job_id=job_id, attempt=attempt + 1, email=lease.email)

    async def _release(self, lease: Lease) -> None:
        with anyio.CancelScope(shield=True):  # a cancelled job still gives its slot back
            await self._slots.release(lease)

    async def _on_busy(self, email: str, streak: int) -> None:
        """A 429: our view of the account is stale. Shrink it to what is really free."""
        delay = self._poll.gap(min(streak, 8), self._rng)
        self._slots.busy(email, delay)
        await self._slots.refresh()

    async def _create(
        self, index: int, request: R, lease: Lease, attempt: int
    ) -> str | OutcomeUnknownError:
        """Create one job on the lease's account; its id, or the error if the outcome stays unknown.

        The create is shielded: once it may have reached the server, a
        cancellation waits for its answer, so the job can be released rather
        than orphaned.
        """
        call = request.call(lease.email)
        parse = sansio.parse_job
        try:
            with anyio.CancelScope(shield=True):
                job = await self._client._call(call, parse, retry_busy=False)
        except OutcomeUnknownError as exc:
            self._event("unknown", index, attempt=attempt, email=lease.email)
            # Shielded too: a cancellation now must not leave a found job orphaned.
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + RECONCILE_SECONDS
                adopted = await self._reconcile(request, lease.email)
            if adopted is None:
                return exc
            self._event("adopted", index, job_id=adopted, attempt=attempt, email=lease.email)
            return adopted
        self._slots.succeeded(lease.email)
        self._known.add(job.audio_id)
        self._event(
            "submitted",
            index,
            job_id=job.audio_id,
            status=job.status or AudioStatus.QUEUED,
            attempt=attempt,
            email=lease.email,
        )
        return job.audio_id

    async def _reconcile(self, request: R, email: str) -> str | None:
        """Look for a lost create among the account's newest jobs; adopt it if found.

        A match has the same prompt (or text) and model, was created after the
        batch started, and is not a job this batch already knows.
        """
        text = request.prompt if isinstance(request, MusicRequest) else request.text
        since = self._started_wall - timedelta(minutes=2)
        for attempt in range(RECONCILE_TRIES):
            if attempt:
                await anyio.sleep(self._poll.first)
            try:
                if self._kind == "music":
                    items: tuple[Track | SpeechClip, ...] = (
                        await self._client.music.list_page(email=email, limit=20)
                    ).items
                else:
                    items = (await self._client.speech.list_page(email=email, limit=20)).items
            except PixverseAudioError:
                continue
            for item in items:
                body = item.prompt if isinstance(item, Track) else item.text
                if (
                    item.audio_id not in self._known
                    and body == text
                    and (item.model is None or item.model == request.model)
                    and (item.created_at is None or item.created_at >= since)
                ):
                    self._known.add(item.audio_id)
                    return item.audio_id
        return None

    async def _follow(self, index: int, email: str, job_id: str, attempt: int) -> O:
        """Wait for a job through its account's poller, within the batch's deadline."""
        poller = self._poller(email)
        watch = poller.watch(job_id)
        try:
            with anyio.move_on_after(self._timeout) as scope:
                await watch.done.wait()
        except BaseException:
            poller.unwatch(watch)
            if not watch.done.is_set() and await release_slot(self._client, job_id):
                self._event("released", index, job_id=job_id, attempt=attempt, email=email)
            raise
        if scope.cancelled_caught or watch.result is None:
            poller.unwatch(watch)
            if self._cancel_on_timeout and await release_slot(self._client, job_id):
                self._event("released", index, job_id=job_id, attempt=attempt, email=email)
            raise WaitTimeoutError(job_id, self._timeout)
        return watch.result
