"""One table of account-selection cases, held against the Python rule and the Redis scripts.

Each case: accounts with their capacity and slots held, a queue of waiters in
arrival order (the accounts each may use, and its narrow limit), and which
waiters get which account now. `tests/engine/test_selection.py` runs the table
through `pixverse_audio._selection.allocate`; `tests/shared_limiter/test_selection.py`
through the Lua scripts on a real redis-server (each waiter asks in turn).
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Case:
    """``caps`` and ``held`` per account; ``queue`` of (name, accounts, narrow); ``grants``.

    ``asks``, when given, replays the case in Redis as woken waiters do: every
    waiter joins the queue while all accounts are full, slots free up to
    ``held``, and the waiters ask again in this order (not the queue's).
    """

    name: str
    caps: dict[str, int]
    held: dict[str, int]
    queue: list[tuple[str, tuple[str, ...], int | None]]
    grants: dict[str, str]
    asks: tuple[str, ...] | None = None


CASES: list[Case] = [
    Case(
        "most-free-wins",
        {"a": 4, "b": 4},
        {"a": 3, "b": 1},
        [("w1", ("a", "b"), None)],
        {"w1": "b"},
    ),
    Case(
        "tie-fewer-held",
        {"a": 3, "b": 2},
        {"a": 1, "b": 0},
        [("w1", ("a", "b"), None)],
        {"w1": "b"},
    ),
    Case(
        "tie-first-listed",
        {"a": 2, "b": 2},
        {"a": 0, "b": 0},
        [("w1", ("a", "b"), None)],
        {"w1": "a"},
    ),
    Case("listed-order-breaks-ties", {"a": 2, "b": 2}, {}, [("w1", ("b", "a"), None)], {"w1": "b"}),
    Case("pinned-full", {"a": 1, "b": 4}, {"a": 1}, [("w1", ("a",), None)], {}),
    Case(
        "first-come-first-served",
        {"a": 1},
        {},
        [("w1", ("a",), None), ("w2", ("a",), None)],
        {"w1": "a"},
    ),
    Case(
        "on-paper-allocation",
        {"a": 1, "b": 1},
        {},
        [("w1", ("a", "b"), None), ("w2", ("a", "b"), None), ("w3", ("a", "b"), None)],
        {"w1": "a", "w2": "b"},
    ),
    Case(
        "full-waiter-does-not-block-others",
        {"a": 1, "b": 1},
        {"a": 1},
        [("w1", ("a",), None), ("w2", ("b",), None)],
        {"w2": "b"},
    ),
    Case("narrow-allows", {"a": 4}, {"a": 1}, [("w1", ("a",), 2)], {"w1": "a"}),
    Case("narrow-refuses", {"a": 4}, {"a": 2}, [("w1", ("a",), 2)], {}),
    Case(
        "narrow-picks-the-account-under-it",
        {"a": 8, "b": 2},
        {"a": 3, "b": 0},
        [("w1", ("a", "b"), 2)],
        {"w1": "b"},
    ),
    Case(
        "narrowed-waiter-drains-its-account",
        {"a": 4, "b": 4},
        {"a": 2, "b": 3},
        [("w1", ("a", "b"), 2), ("w2", ("a",), None), ("w3", ("b",), None)],
        {"w3": "b"},
    ),
    Case(
        "drain-takes-the-closest",
        {"a": 4, "b": 4},
        {"a": 3, "b": 2},
        [("w1", ("a", "b"), 1), ("w2", ("b",), None), ("w3", ("a",), None)],
        {"w3": "a"},
    ),
    Case(
        "narrowed-grant-keeps-its-headroom",
        {"a": 5, "b": 2},
        {"a": 1},
        [("n", ("a",), 2), ("w", ("a", "b"), None)],
        {"n": "a", "w": "b"},
        asks=("w", "n"),
    ),
    Case("shrunk-below-held", {"a": 1, "b": 2}, {"a": 3}, [("w1", ("a", "b"), None)], {"w1": "b"}),
    Case("unknown-account", {"a": 1}, {}, [("w1", ("z",), None)], {}),
    Case(
        "last-slot-then-stop",
        {"a": 2},
        {"a": 1},
        [("w1", ("a",), None), ("w2", ("a",), None)],
        {"w1": "a"},
    ),
]


def as_params() -> list[Any]:
    import pytest

    return [pytest.param(case, id=case.name) for case in CASES]
