"""The one account-selection rule, on the shared table of cases (and a few properties)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixverse_audio._selection import Want, allocate, pick

from .selection_cases import CASES, Case, as_params


@pytest.mark.parametrize("case", as_params())
def test_allocate_follows_the_table(case: Case) -> None:
    """Each case of the shared table gets exactly the grants it lists."""
    free = {email: cap - case.held.get(email, 0) for email, cap in case.caps.items()}
    held = {email: case.held.get(email, 0) for email in case.caps}
    queue = [Want(name, emails, narrow) for name, emails, narrow in case.queue]
    assert allocate(queue, free, held) == case.grants


def test_the_table_covers_every_branch() -> None:
    """The table has cases for ties, pins, narrow limits, draining and shrunk capacity."""
    names = {case.name for case in CASES}
    assert {"tie-fewer-held", "pinned-full", "narrowed-waiter-drains-its-account"} <= names
    assert {"shrunk-below-held", "first-come-first-served", "on-paper-allocation"} <= names


def test_pick_reports_the_account_a_narrow_limit_forbids() -> None:
    """pick() names the closest account only when no account may be taken."""
    want = Want("w", ("a", "b"), narrow=1)
    assert pick(want, {"a": 2, "b": 1}, {"a": 2, "b": 1}) == (None, "b")
    assert pick(want, {"a": 2, "b": 1}, {"a": 0, "b": 1}) == ("a", None)


def test_allocate_does_not_change_its_inputs() -> None:
    """free and held are read, never written."""
    free, held = {"a": 1}, {"a": 0}
    allocate([Want("w", ("a",))], free, held)
    assert (free, held) == ({"a": 1}, {"a": 0})


accounts = st.sampled_from(["a", "b", "c"])


@given(
    caps=st.dictionaries(accounts, st.integers(1, 8), min_size=1),
    held=st.dictionaries(accounts, st.integers(0, 10)),
    queue=st.lists(
        st.tuples(
            st.lists(accounts, min_size=1, max_size=3, unique=True), st.none() | st.integers(1, 8)
        ),
        max_size=12,
    ),
)
def test_allocate_never_overfills_and_serves_in_order(
    caps: dict[str, int], held: dict[str, int], queue: list[tuple[list[str], int | None]]
) -> None:
    """No account gets more than its free slots; a waiter that fits is never passed over
    by a later one for the same single account."""
    free = {email: cap - held.get(email, 0) for email, cap in caps.items()}
    running = {email: held.get(email, 0) for email in caps}
    wants = [Want(i, tuple(emails), narrow) for i, (emails, narrow) in enumerate(queue)]
    grants = allocate(wants, free, running)
    for email in caps:
        given_here = sum(1 for account in grants.values() if account == email)
        assert given_here <= max(0, free[email])
    for ticket, email in grants.items():
        assert email in wants[ticket].emails  # type: ignore[index]
        narrow = wants[ticket].narrow  # type: ignore[index]
        if narrow is not None:
            before = sum(1 for t, e in grants.items() if e == email and t < ticket)  # type: ignore[operator]
            assert running[email] + before < narrow
