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
from typing import Any, Final, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._errors import ConfigurationError

__all__ = ["BACKENDS", "LoopThread"]

T = TypeVar("T")

BACKENDS: Final = ("asyncio", "trio")
CLEANUP_WAIT: Final = 15.0  # most seconds an interrupted call waits for its cleanup


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
            except BaseException as exc:  # handed to the thread that waits
                if not ready.done():
                    ready.set_exception(exc)

        self._thread = threading.Thread(target=main, name="pixverse-audio-loop", daemon=True)
        self._thread.start()
        try:
            self._portal = ready.result()
        except Exception as exc:
            raise ConfigurationError(f"the {backend} event loop did not start: {exc}") from exc
        self.closed = False

    def _in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, function: Callable[[], Awaitable[T]]) -> T:
        """Run ``function()`` on the loop and return its result (its exception is raised).

        Raises:
            ConfigurationError: The loop was stopped (the client is closed), or
                this is the loop's own thread (a callback calling the client).
        """
        finished = threading.Event()

        async def run() -> T:
            try:
                return await function()
            finally:
                finished.set()

        future = self._start(run)
        try:
            return future.result()
        except CancelledError:
            if self.closed:  # stopped by close() from another thread
                raise ConfigurationError("the client was closed during this call") from None
            raise
        except BaseException:
            if not future.done():  # interrupted while waiting: stop the call, let it clean up
                future.cancel()
                finished.wait(CLEANUP_WAIT)
            raise

    def run_sync(self, function: Callable[[], T]) -> T:
        """Run a plain ``function()`` on the loop's thread and return its result."""

        async def run() -> T:
            return function()

        return self._start(run).result()

    def _start(self, function: Callable[[], Awaitable[T]]) -> Future[T]:
        if self._in_loop_thread():
            raise ConfigurationError(
                "a blocking Client cannot be called from its own event loop "
                "(an on_event or progress callback): use the AsyncClient there"
            )
        if self.closed:
            raise ConfigurationError("this client is closed")
        try:
            return self._portal.start_task_soon(function)
        except RuntimeError as exc:  # the portal stopped in the meantime
            raise ConfigurationError("this client is closed") from exc

    def start_task(self, function: Callable[..., Awaitable[Any]]) -> tuple[Future[Any], Any]:
        """Start ``function(task_status=...)`` on the loop; its future and what it started with."""
        if self.closed:
            raise ConfigurationError("this client is closed")
        return self._portal.start_task(function)

    def stop(self, final: Callable[[], Awaitable[None]] | None = None) -> None:
        """Cancel the calls still running (their cleanup runs), then ``final()``, then
        stop the loop and join its thread. Idempotent."""
        if self.closed:
            return
        if self._in_loop_thread():
            raise ConfigurationError("a blocking Client cannot be closed from its own event loop")
        self.closed = True
        self._final = final
        with contextlib.suppress(RuntimeError):  # already stopped
            self._portal.call(self._portal.stop, True)
        self._thread.join(CLEANUP_WAIT)
