"""Closing httpx's streamed bodies properly (no generator left for the garbage collector)."""

from __future__ import annotations

from typing import Any

__all__ = ["finish_chunks"]


async def finish_chunks(chunks: Any) -> None:
    """Run httpx's (nested) chunk generators to their end after the response closed.

    Closing only the outermost generator would leave the inner ones suspended
    for the garbage collector to finalise, which trio reports. With the
    connection closed, the next read fails at the bottom and every generator
    ends properly on the way up.
    """
    for _ in range(8):  # at most a few buffered chunks before the closed stream is hit
        try:
            await chunks.__anext__()
        except Exception:  # StopAsyncIteration, or the closed stream: done
            return
    await chunks.aclose()
