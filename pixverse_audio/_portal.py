"""One private event-loop thread for a blocking client, and calls into it from any thread.

`LoopThread` runs an anyio event loop (asyncio or trio) in a daemon thread with
a blocking portal, so a `Client` works from plain scripts, from threads, and
from a thread whose own event loop is running (Jupyter). A call that is
interrupted while it waits (``KeyboardInterrupt`` in the main thread) cancels
its task on the loop and waits for that task's cleanup, bounded, before the
interruption goes on: a generating call releases its job first.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import CancelledError, Future
from typing import Any, Final, Generic, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._errors import ConfigurationError
from ._logging import logger

__all__ = ["BACKENDS", "LoopThread", "Running"]

T = TypeVar("T")

BACKENDS: Final = ("asyncio", "trio")
CLEANUP_WAIT: Final = 15.0  # most seconds an interrupted call waits for its cleanup


class _Escaped(Exception):
    """A ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``) raised on the loop, carried
    to the calling thread as an ordinary exception so the loop itself survives it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class Running(Generic[T]):
    """A task started on the loop: its future, and an event set once it has ended."""

    def __init__(self, loop: LoopThread, future: Future[T], finished: threading.Event) -> None:
        self._loop = loop
        self.future = future
        self.finished = finished

    def result(self) -> T:
        """Wait for its result; interrupted (Ctrl-C), cancel it and wait for its cleanup first.

        Raises:
            ConfigurationError: The client was closed while it ran.
        """
        try:
            return self.future.result()
        except CancelledError:
            if self._loop.closed:  # stopped by close() from another thread
                raise ConfigurationError("the client was closed during this call") from None
            raise
        except _Escaped as escaped:
            raise escaped.error from None
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Cancel it (if it still runs) and wait, bounded, until its cleanup is done."""
        if not self.future.done():
            self.future.cancel()
        if not self._loop.closed:
            self.finished.wait(CLEANUP_WAIT)


class LoopThread:
    """An event loop in a daemon thread (it never keeps the interpreter from exiting).

    Raises:
        ConfigurationError: ``backend`` is unknown or cannot start (trio missing).
    """

    def __init__(self, backend: str, backend_options: Mapping[str, Any] | None = None) -> None:
        if backend not in BACKENDS:
            raise ConfigurationError(f"backend must be one of {', '.join(BACKENDS)}")
        ready: Future[BlockingPortal] = Future()
        self._final: Callable[[], Awaitable[None]] | None = None
        self.closed = False

        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()
            if self._final is not None:  # every call has ended (and cleaned up) by now
                with anyio.CancelScope(shield=True):
                    await self._final()

        def main() -> None:
            try:
                anyio.run(serve, backend=backend, backend_options=dict(backend_options or {}))
            except BaseException as exc:  # handed to the thread that waits, or logged
                if not ready.done():
                    ready.set_exception(exc)
                else:
                    logger.error("the blocking client's event loop stopped: %r", exc)
            finally:
                self.closed = True

        self._thread = threading.Thread(target=main, name="pixverse-audio-loop", daemon=True)
        self._thread.start()
        try:
            self._portal = ready.result()
        except Exception as exc:
            raise ConfigurationError(f"the {backend} event loop did not start: {exc}") from exc

    def _in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def start(self, function: Callable[[], Awaitable[T]]) -> Running[T]:
        """Start ``function()`` as a task on the loop.

        Raises:
            ConfigurationError: The loop was stopped (the client is closed), or
                this is the loop's own thread (a callback calling the client).
        """
        if self._in_loop_thread():
            raise ConfigurationError(
                "a blocking Client cannot be called from its own event loop "
                "(an on_event or progress callback): use the AsyncClient there"
            )
        if self.closed:
            raise ConfigurationError("this client is closed")
        finished = threading.Event()

        async def run() -> T:
            try:
                return await function()
            except (anyio.get_cancelled_exc_class(), Exception):
                raise
            except BaseException as exc:  # SystemExit in a callback: not the loop's end
                raise _Escaped(exc) from exc
            finally:
                finished.set()

        try:
            future = self._portal.start_task_soon(run)
        except RuntimeError as exc:  # the portal stopped in the meantime
            raise ConfigurationError("this client is closed") from exc
        return Running(self, future, finished)

    def call(self, function: Callable[[], Awaitable[T]]) -> T:
        """Run ``function()`` on the loop and return its result (its exception is raised)."""
        return self.start(function).result()

    def run_sync(self, function: Callable[[], T]) -> T:
        """Run a plain ``function()`` on the loop's thread and return its result."""

        async def run() -> T:
            return function()

        return self.start(run).result()

    def stop(self, final: Callable[[], Awaitable[None]] | None = None) -> None:
        """Cancel the calls still running (their cleanup runs), then ``final()``, then
        stop the loop and join its thread. Idempotent."""
        if self.closed:
            return
        if self._in_loop_thread():
            raise ConfigurationError("a blocking Client cannot be closed from its own event loop")
        self._final = final
        self.closed = True
        with contextlib.suppress(RuntimeError):  # already stopped
            self._portal.call(self._portal.stop, True)
        self._thread.join(CLEANUP_WAIT)
