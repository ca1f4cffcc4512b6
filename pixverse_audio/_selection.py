"""Which account a waiting job gets a slot on: one pure rule, written once.

The in-memory slot pool (`pixverse_audio._slots`) calls `allocate`; the Redis
scripts (`pixverse_audio._redis_scripts`) implement the same walk in Lua, and
the tests hold both to one table of cases.

The rule: waiters are served first come, first served. Walking the queue in
order, each waiter is given, on paper, the account among those it may use that
has the most free slots (ties: the one running fewer jobs, then the earlier in
its list). A waiter is served only once every earlier waiter that fits
somewhere has been given a slot, but a waiter whose accounts are all full does
not hold back later waiters for other accounts. A waiter held back only by its
own ``narrow`` limit (a request's ``max_jobs``) reserves the account nearest to
fitting: later waiters skip it until it has drained enough, so it cannot starve.
A narrowed waiter given an account keeps its headroom there: later waiters take
that account only while it runs fewer jobs than the narrow limit, so a waiter
that asks again after being woken (the Redis limiter's waiters do) still fits.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import attrs

__all__ = ["Want", "allocate", "pick"]


@attrs.frozen
class Want:
    """A waiter in the queue: the accounts it may use now, and its own limit.

    Attributes:
        ticket: Names the waiter.
        emails: The accounts it may use (pinned: one; otherwise every healthy
            account not backing off), in the order ties are broken.
        narrow: Take a slot only on an account running fewer jobs than this.
    """

    ticket: Hashable
    emails: tuple[str, ...]
    narrow: int | None = None


def pick(
    want: Want,
    free: Mapping[str, int],
    held: Mapping[str, int],
    draining: frozenset[str] | set[str] = frozenset(),
) -> tuple[str | None, str | None]:
    """The account ``want`` gets now, and the one its narrow limit keeps it from.

    Returns ``(best, closest)``: ``best`` is the account with the most free
    slots (then the fewest held, then the earliest listed) that it may take;
    ``closest`` is, when ``best`` is ``None``, the account with free slots that
    only its ``narrow`` limit forbids, the one running the fewest jobs.
    """
    best: str | None = None
    closest: str | None = None
    for email in want.emails:
        room = free.get(email, 0)
        if room <= 0 or email in draining:
            continue
        running = held.get(email, 0)
        if want.narrow is not None and running >= want.narrow:
            if closest is None or running < held.get(closest, 0):
                closest = email
        elif (
            best is None
            or room > free[best]
            or (room == free[best] and running < held.get(best, 0))
        ):
            best = email
    return best, (closest if best is None else None)


def allocate(
    queue: Sequence[Want], free: Mapping[str, int], held: Mapping[str, int]
) -> dict[Hashable, str]:
    """Walk ``queue`` in order; every waiter that can be served now, and its account.

    ``free`` is each account's capacity minus the slots held (it may be
    negative after a capacity shrank); ``held`` is the slots held. Neither
    mapping is changed.
    """
    room = dict(free)
    running = {email: held.get(email, 0) for email in room}
    left = sum(slots for slots in room.values() if slots > 0)
    grants: dict[Hashable, str] = {}
    draining: set[str] = set()
    limit: dict[str, int] = {}  # account -> the narrow limit of a waiter given it
    if left <= 0:
        return grants
    for want in queue:
        kept = {email for email, most in limit.items() if running[email] >= most}
        best, closest = pick(want, room, running, draining | kept)
        if best is not None:
            if want.narrow is not None and want.narrow < limit.get(best, want.narrow + 1):
                limit[best] = want.narrow
            grants[want.ticket] = best
            room[best] -= 1
            running[best] = running.get(best, 0) + 1
            left -= 1
            if left == 0:
                break
        elif closest is not None:
            draining.add(closest)
    return grants
