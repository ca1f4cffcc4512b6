"""The blocking forms of the async surface, derived from it rather than written twice.

Each blocking namespace lists the async methods it offers, one line each
(``get = blocking(MusicAPI.get)``); the descriptor takes the async method's
parameters as they are (``ParamSpec``), so a change to an async signature is
the blocking one too, for ``mypy --strict``, ``inspect.signature`` and
``help()`` alike. What changes is only the result:

- an awaited result is returned (`blocking`);
- an async iterator becomes an iterator (`iterating`), each item fetched on demand;
- a `Batch` becomes a `SyncBatch` (`batching`) and an `AudioStream` a
  `SyncAudioStream`: one task on the loop holds the async context manager
  and hands items over one at a time (`_Pipe`), so leaving the ``with`` block,
  early or by an exception (Ctrl-C included), cancels it and waits for its
  cleanup (running jobs released) before going on.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

import anyio
from anyio.abc import TaskStatus

from ._batch import Batch
from ._download import AudioStream
from ._jobs import GenerationResult
from ._models import SpeechClip, Track
from ._portal import CLEANUP_WAIT, LoopThread
from ._requests import MusicRequest, SpeechRequest

__all__ = [
    "Bound",
    "SyncAudioStream",
    "SyncBatch",
    "SyncIterator",
    "batching",
    "blocking",
    "in_loop",
    "iterating",
]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound=MusicRequest | SpeechRequest)
O = TypeVar("O", bound=Track | SpeechClip)  # noqa: E741 - the output type


class Bound(Protocol):
    """A blocking namespace: the async one it wraps, and the loop it runs on."""

    _async: Any
    _loop: LoopThread


class _Blocking(Generic[P, T]):
    """A method of a blocking namespace made from an async method (see the module)."""

    def __init__(
        self,
        method: Callable[..., Any],
        adapt: Callable[[LoopThread, Callable[[], Any]], Any],
    ) -> None:
        self._method = method
        self._adapt = adapt
        self._function: Callable[..., Any] = method

    def __set_name__(self, owner: type, name: str) -> None:
        method, adapt = self._method, self._adapt

        def function(self: Bound, *args: Any, **kwargs: Any) -> Any:
            return adapt(self._loop, functools.partial(method, self._async, *args, **kwargs))

        function.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
        function.__name__ = name
        function.__qualname__ = f"{owner.__qualname__}.{name}"
        origin = getattr(method, "__qualname__", name)
        function.__doc__ = f"The blocking form of ``{origin}``.\n\n{inspect.getdoc(method) or ''}"
        self._function = function
        self.__doc__ = function.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Callable[Concatenate[Any, P], T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, T]: ...

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self._function
        return types.MethodType(self._function, obj)


def blocking(method: Callable[Concatenate[Any, P], Awaitable[T]]) -> _Blocking[P, T]:
    """The blocking form of an async method: its result, returned."""
    return _Blocking(method, lambda loop, call: loop.call(call))


def in_loop(method: Callable[Concatenate[Any, P], T]) -> _Blocking[P, T]:
    """A plain method of the async namespace, run on the loop's thread (its state lives there)."""
    return _Blocking(method, lambda loop, call: loop.run_sync(call))


def iterating(
    method: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> _Blocking[P, SyncIterator[T]]:
    """The blocking form of an async iterator method: an iterator."""
    return _Blocking(method, lambda loop, call: SyncIterator(loop, call()))


def batching(
    method: Callable[Concatenate[Any, P], Batch[R, O]],
) -> _Blocking[P, SyncBatch[R, O]]:
    """The blocking form of ``generate_many``: a `SyncBatch` (checked when called)."""
    return _Blocking(method, lambda loop, call: SyncBatch(loop, loop.run_sync(call)))


class SyncIterator(Iterator[T]):
    """An async iterator of the client's, one item per ``next()``.

    Use it in a ``for`` loop; `close` (or ``with``) ends it early.
    """

    def __init__(self, loop: LoopThread, source: AsyncIterator[T]) -> None:
        self._loop = loop
        self._source = source
        self._done = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return self._loop.call(self._source.__anext__)
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None

    def close(self) -> None:
        """Stop iterating (the async generator is closed on the loop)."""
        if self._done:
            return
        self._done = True
        close = getattr(self._source, "aclose", None)
        if close is not None and not self._loop.closed:
            self._loop.call(close)

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Pipe(Generic[T]):
    """One task on the loop runs ``async with source as items: async for item in items``
    and hands each item to the calling thread when it asks for the next."""

    def __init__(self, loop: LoopThread, source: AbstractAsyncContextManager[Any]) -> None:
        self._loop = loop
        self._source = source
        self._future: Future[Any] | None = None
        self._scope: anyio.CancelScope | None = None
        self._finished = False

    def open(self) -> None:
        """Enter the source on the loop; its errors (a refused request) are raised here."""
        send, receive = self._loop.run_sync(anyio.create_memory_object_stream[T])
        self._receive = receive
        source = self._source

        async def drive(*, task_status: TaskStatus[anyio.CancelScope]) -> None:
            with anyio.CancelScope() as scope:
                async with send, source as items:
                    task_status.started(scope)
                    async for item in items:
                        await send.send(item)

        self._future, self._scope = self._loop.start_task(drive)

    def next(self) -> T:
        """The next item; `StopIteration` at the end (the source's error, if it failed)."""
        try:
            return self._loop.call(self._receive.receive)
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        self._finished = True
        self._loop.run_sync(self._receive.close)
        if self._future is not None:
            self._future.result()  # the source's own error, if it ended with one
        raise StopIteration

    def close(self) -> None:
        """Cancel the task and wait (bounded) until its cleanup is done."""
        future, scope = self._future, self._scope
        if future is None or scope is None or self._finished:
            return
        self._finished = True
        if not future.done():
            self._loop.run_sync(scope.cancel)
            wait_for([future], timeout=CLEANUP_WAIT)
        self._loop.run_sync(self._receive.close)


class SyncBatch(Generic[R, O]):
    """A running batch for the blocking `Client`: a context manager giving its results.

    ::

        with client.music.generate_many(requests) as results:
            for result in results:
                print(result.index, result.ok, result.track or result.error)

    Results come in the order they finish. Leaving the block early (``break``,
    an exception, Ctrl-C) stops the batch: no new job is created and running
    jobs are released from the scheduler before the block is left.
    """

    def __init__(self, loop: LoopThread, batch: Batch[R, O]) -> None:
        self._batch = batch
        self._pipe: _Pipe[GenerationResult[R, O]] = _Pipe(loop, batch)
        self._entered = False

    @property
    def busy(self) -> int:
        """429 answers the batch's creates met."""
        return self._batch.busy

    @property
    def status_requests(self) -> int:
        """Status requests the client's engine sent so far."""
        return self._batch.status_requests

    def __enter__(self) -> SyncBatch[R, O]:
        if self._entered:
            raise RuntimeError("a batch can be run only once")
        self._entered = True
        self._pipe.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pipe.close()

    def __iter__(self) -> SyncBatch[R, O]:
        if not self._entered:
            raise TypeError(
                "run a batch in `with client.music.generate_many(...) as results:` "
                "and iterate over `results`"
            )
        return self

    def __next__(self) -> GenerationResult[R, O]:
        return self._pipe.next()


class SyncAudioStream:
    """A finished track's bytes for the blocking `Client`: a context manager and iterator.

    ::

        with client.stream_audio(track) as audio:
            for chunk in audio:
                sink.write(chunk)
    """

    def __init__(self, loop: LoopThread, stream: AudioStream) -> None:
        self._stream = stream
        self._pipe: _Pipe[bytes] = _Pipe(loop, stream)
        self._entered = False

    @property
    def total(self) -> int | None:
        """The size in bytes, when the server said (``Content-Length``)."""
        return self._stream.total

    @property
    def received(self) -> int:
        """Bytes received so far."""
        return self._stream.received

    def __enter__(self) -> SyncAudioStream:
        self._entered = True
        self._pipe.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pipe.close()

    def __iter__(self) -> SyncAudioStream:
        if not self._entered:
            raise TypeError("use `with client.stream_audio(track) as audio:`")
        return self

    def __next__(self) -> bytes:
        return self._pipe.next()
