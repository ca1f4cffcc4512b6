"""Pure pagination state: when to fetch another page, and which items are new.

The list endpoints give no guarantees about order or stability, so a scan
never trusts the server alone: it stops on ``has_more == false``, on an empty
page, and on an offset (or cursor) that does not advance or repeats, and it
drops an id it has already yielded. Remembering ids is bounded (the most recent
few pages), so a scan over millions of items runs in constant memory; items only
shift by the number of jobs created while the scan runs, which the window covers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from ._models import Page

__all__ = ["STALL_LIMIT", "CursorScan", "OffsetScan", "RecentIds"]

T = TypeVar("T")


class RecentIds:
    """A set of the last ``capacity`` ids seen (oldest forgotten first)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._order: deque[Hashable] = deque()
        self._ids: set[Hashable] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; return ``False`` if it was already remembered."""
        if key in self._ids:
            return False
        self._ids.add(key)
        self._order.append(key)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True

    def fresh(self, items: Iterable[T], key: Callable[[T], Hashable]) -> Iterator[T]:
        """Yield the items whose key has not been seen, remembering them."""
        return (item for item in items if self.add(key(item)))


STALL_LIMIT = 3


def _window(page_size: int) -> int:
    # Covers STALL_LIMIT pages of repeats plus the page being read.
    return max((STALL_LIMIT + 1) * page_size, 256)


@attrs.define
class OffsetScan(Generic[T]):
    """Offset pagination over ``limit``/``offset``/``next_offset``/``has_more``.

    Call `take` with each page; read `offset` for the next request until `done`.
    """

    page_size: int
    key: Callable[[T], Hashable]
    offset: int = 0
    done: bool = False
    _recent: RecentIds = attrs.field(init=False)
    _stalled: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self._recent = RecentIds(_window(self.page_size))

    def take(self, page: Page[T], received: int) -> list[T]:
        """Record a page (``received`` items before any filtering); return the new items.

        Offsets must strictly increase, so a repeated or backward offset ends the
        scan, as do `STALL_LIMIT` pages in a row whose items were all yielded
        before (one such page happens when a page's worth of new jobs pushed the
        list down; several in a row mean the server is not advancing).
        """
        items = list(self._recent.fresh(page.items, self.key))
        following = page.next_offset if page.next_offset is not None else self.offset + received
        self._stalled = self._stalled + 1 if page.items and not items else 0
        stalled = self._stalled >= STALL_LIMIT
        if received == 0 or not page.has_more or following <= self.offset or stalled:
            self.done = True
        else:
            self.offset = following
        return items


@attrs.define
class CursorScan(Generic[T]):
    """Keyset pagination by ``lastMusicId`` (legacy MiniMax v1 list).

    The cursor is the last item's id. Whether the server repeats that item at
    the top of the next page is undocumented, so a repeated first item is
    dropped. Stops on an empty page, a short page, or a cursor seen before.
    """

    page_size: int
    key: Callable[[T], Any]
    cursor: Any = None
    done: bool = False
    _cursors: RecentIds = attrs.field(init=False)
    _recent: RecentIds = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._cursors = RecentIds(1024)
        self._recent = RecentIds(_window(self.page_size))

    def take(self, items: list[T]) -> list[T]:
        """Record a page as received; return the items not yielded before."""
        if not items:
            self.done = True
            return []
        fresh = list(self._recent.fresh(items, self.key))
        following = self.key(items[-1])
        short = len(items) < self.page_size
        if short or following == self.cursor or not self._cursors.add(following):
            self.done = True
        else:
            self.cursor = following
        return fresh
