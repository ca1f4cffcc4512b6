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
import os
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ._batch import Batch
from ._download import AudioStream
from ._errors import ConfigurationError
from ._jobs import GenerationResult
from ._models import SpeechClip, Track
from ._portal import LoopThread, Running
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
PipedSelf = TypeVar("PipedSelf", bound="_Piped[Any]")


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
        form: Callable[[Any], bool],
    ) -> None:
        if not form(method):
            raise TypeError(f"{method!r} is not the kind of method this adapter is for")
        self._method = method
        self._adapt = adapt
        self._function: Callable[..., Any] = method

    def __set_name__(self, owner: type, name: str) -> None:
        method, adapt = self._method, self._adapt

        def function(self: Bound, *args: Any, **kwargs: Any) -> Any:
            # looked up on the wrapped object, so its class's own override is the one run
            bound = getattr(self._async, name)
            return adapt(self._loop, functools.partial(bound, *args, **kwargs))

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


def _plain(method: Any) -> bool:
    return not (inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method))


def blocking(method: Callable[Concatenate[Any, P], Awaitable[T]]) -> _Blocking[P, T]:
    """The blocking form of an async method: its result, returned."""
    return _Blocking(method, lambda loop, call: loop.call(call), inspect.iscoroutinefunction)


def in_loop(method: Callable[Concatenate[Any, P], T]) -> _Blocking[P, T]:
    """A plain method of the async namespace, run on the loop's thread (its state lives there)."""
    return _Blocking(method, lambda loop, call: loop.run_sync(call), _plain)


def iterating(
    method: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> _Blocking[P, SyncIterator[T]]:
    """The blocking form of an async iterator method: an iterator."""
    return _Blocking(
        method, lambda loop, call: SyncIterator(loop, call()), inspect.isasyncgenfunction
    )


def batching(
    method: Callable[Concatenate[Any, P], Batch[R, O]],
) -> _Blocking[P, SyncBatch[R, O]]:
    """The blocking form of ``generate_many``: a `SyncBatch` (checked when called)."""
    return _Blocking(method, lambda loop, call: SyncBatch(loop, loop.run_sync(call)), _plain)


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
        if close is not None and not self._loop.closed:  # a closed client closed it already
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
        self._running: Running[None] | None = None
        self._receive: MemoryObjectReceiveStream[T] | None = None

    def open(self) -> None:
        """Enter the source on the loop; its errors (a refused request) are raised here.

        Interrupted while it opens (Ctrl-C), the task is cancelled and cleaned up first.
        """
        send, receive = self._loop.run_sync(anyio.create_memory_object_stream[T])
        self._receive = receive
        source = self._source
        entered: Future[None] = Future()

        async def drive() -> None:
            try:
                async with send, source as items:
                    entered.set_result(None)
                    async for item in items:
                        await send.send(item)
            except BaseException as exc:
                if not entered.done():
                    entered.set_exception(exc)
                raise

        self._running = self._loop.start(drive)
        try:
            entered.result()
        except BaseException:
            self.close()
            raise

    def next(self) -> T:
        """The next item; `StopIteration` at the end (the source's error, if it failed)."""
        if self._receive is None or self._running is None:
            raise StopIteration
        try:
            return self._loop.call(self._receive.receive)
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        running, self._running = self._running, None
        self._close_receive()
        running.result()  # the source's own error, if it ended with one
        raise StopIteration

    def close(self) -> None:
        """Cancel the task and wait (bounded) until its cleanup is done."""
        running = self._running
        if running is not None:
            running.cancel()
            self._running = None
        self._close_receive()

    def _close_receive(self) -> None:
        receive, self._receive = self._receive, None
        if receive is None:
            return
        if self._loop.closed:  # no loop left to run it on, nor to race with
            receive.close()
        else:
            self._loop.run_sync(receive.close)


class _Piped(Generic[T]):
    """A context manager that runs an async source on the loop and iterates its items
    (the shared part of `SyncBatch` and `SyncAudioStream`): entered once, iterated
    only inside its block."""

    _AGAIN = "this can be entered only once"
    _OUTSIDE = "use it in a `with` block"

    def __init__(self, pipe: _Pipe[T]) -> None:
        self._pipe = pipe
        self._entered = False

    def __enter__(self: PipedSelf) -> PipedSelf:
        if self._entered:
            raise ConfigurationError(self._AGAIN)
        self._pipe.open()
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pipe.close()

    def __iter__(self: PipedSelf) -> PipedSelf:
        if not self._entered:
            raise TypeError(self._OUTSIDE)
        return self

    def __next__(self) -> T:
        return self._pipe.next()


class SyncBatch(_Piped[GenerationResult[R, O]], Generic[R, O]):
    """A running batch for the blocking `Client`: a context manager giving its results.

    ::

        with client.music.generate_many(requests) as results:
            for result in results:
                print(result.index, result.ok, result.track or result.error)

    Results come in the order they finish. Leaving the block early (``break``,
    an exception, Ctrl-C) stops the batch: no new job is created and running
    jobs are released from the scheduler before the block is left.
    """

    _AGAIN = "a batch can be run only once"
    _OUTSIDE = (
        "run a batch in `with client.music.generate_many(...) as results:` "
        "and iterate over `results`"
    )

    def __init__(self, loop: LoopThread, batch: Batch[R, O]) -> None:
        super().__init__(_Pipe(loop, batch))
        self._loop = loop
        self._batch = batch

    @property
    def busy(self) -> int:
        """429 answers the batch's creates met."""
        return self._batch.busy

    @property
    def status_requests(self) -> int:
        """Status requests the client's engine sent so far."""
        return self._batch.status_requests

    @property
    def stopped_by_budget(self) -> bool:
        """Whether ``max_credits`` kept a request from being created."""
        return self._batch.stopped_by_budget

    @property
    def spent(self) -> float:
        """Credits the batch's finished jobs cost (the journal's earlier runs included)."""
        return self._batch.spent

    def record_file(self, result: GenerationResult[R, O], path: str | os.PathLike[str]) -> None:
        """Write down in the journal that ``result``'s audio was saved at ``path``."""
        self._loop.call(functools.partial(self._batch.record_file, result, path))

    def journaled_file(self, result: GenerationResult[R, O]) -> str | None:
        """The file the journal says ``result``'s audio was saved at, if any."""
        return self._batch.journaled_file(result)


class SyncAudioStream(_Piped[bytes]):
    """A finished track's bytes for the blocking `Client`: a context manager and iterator.

    ::

        with client.stream_audio(track) as audio:
            for chunk in audio:
                sink.write(chunk)
    """

    _AGAIN = "a stream can be read only once: call stream_audio again"
    _OUTSIDE = "use `with client.stream_audio(track) as audio:`"

    def __init__(self, loop: LoopThread, stream: AudioStream) -> None:
        super().__init__(_Pipe(loop, stream))
        self._stream = stream

    @property
    def total(self) -> int | None:
        """The size in bytes, when the server said (``Content-Length``)."""
        return self._stream.total

    @property
    def received(self) -> int:
        """Bytes received so far."""
        return self._stream.received

    @property
    def resumed_at(self) -> int | None:
        """The byte a resumed download went on from (a 206 answer), else ``None``."""
        return self._stream.resumed_at
