"""Fault injection: scripted or random errors, delays and dropped connections per route.

Routes are named ``music.create``, ``music.get``, ``music.list``,
``speech.create``, ``speech.get``, ``speech.list``, ``speech.voices``,
``speech.models``, ``scheduler.list``, ``scheduler.available``,
``scheduler.cancel``, ``files.upload``, ``accounts.list``, ``accounts.get``,
``accounts.create``, ``accounts.delete``, ``minimax.music.list``,
``minimax.music.get`` and ``media``; ``*`` matches every route.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from typing import Final, Literal

import attrs

__all__ = ["ROUTES", "Fault", "Faults"]

ROUTES: Final = (
    "music.create",
    "music.get",
    "music.list",
    "speech.create",
    "speech.get",
    "speech.list",
    "speech.voices",
    "speech.models",
    "scheduler.list",
    "scheduler.available",
    "scheduler.cancel",
    "files.upload",
    "accounts.list",
    "accounts.get",
    "accounts.create",
    "accounts.delete",
    "minimax.music.list",
    "minimax.music.get",
    "media",
)

Kind = Literal["status", "drop_before", "drop_after", "refuse", "delay", "malformed"]


@attrs.frozen
class Fault:
    """One injected fault.

    Attributes:
        kind: ``status`` answers ``status`` with an error body; ``drop_before``
            drops the connection before the request is acted on;
            ``drop_after`` acts on it (a create is recorded and billed) and then
            drops the connection; ``refuse`` fails to connect (in-process only;
            a real server drops instead); ``delay`` answers normally after
            ``seconds``; ``malformed`` answers 200 with truncated JSON.
        status: The status of a ``status`` fault.
        seconds: The wait of a ``delay`` fault.
    """

    kind: Kind
    status: int = 500
    seconds: float = 0.0


@attrs.define
class _Rule:
    fault: Fault
    probability: float
    remaining: int | None


class Faults:
    """The faults planned for an emulator: ``emulator.faults``.

    Scripted faults are used first, in order, one per request; then random
    rules fire with their probability (seeded, so runs repeat).
    """

    def __init__(self, seed: int = 0) -> None:
        self._scripts: dict[str, deque[Fault | None]] = {}
        self._rules: dict[str, list[_Rule]] = {}
        self._rng = random.Random(f"{seed}:faults")
        self.injected: Counter[str] = Counter()

    def _check(self, route: str) -> None:
        if route != "*" and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")

    def script(self, route: str, *faults: Fault | None) -> Faults:
        """Answer the next requests to ``route`` with ``faults`` in order (``None``: normally)."""
        self._check(route)
        self._scripts.setdefault(route, deque()).extend(faults)
        return self

    def add(
        self, route: str, fault: Fault, *, probability: float = 1.0, times: int | None = None
    ) -> Faults:
        """Inject ``fault`` on ``route`` with ``probability``, at most ``times`` times."""
        self._check(route)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        self._rules.setdefault(route, []).append(_Rule(fault, probability, times))
        return self

    def fail(self, route: str, status: int = 500, *, times: int = 1) -> Faults:
        """Answer the next ``times`` requests to ``route`` with ``status``."""
        return self.script(route, *[Fault("status", status=status)] * times)

    def drop(self, route: str, *, after: bool = False, times: int = 1) -> Faults:
        """Drop the connection on the next ``times`` requests; ``after`` acts on them first."""
        kind: Kind = "drop_after" if after else "drop_before"
        return self.script(route, *[Fault(kind)] * times)

    def refuse(self, route: str, *, times: int = 1) -> Faults:
        """Refuse to connect for the next ``times`` requests (in-process transport only)."""
        return self.script(route, *[Fault("refuse")] * times)

    def slow(self, route: str, seconds: float, *, times: int = 1) -> Faults:
        """Delay the next ``times`` answers on ``route`` by ``seconds`` (real time)."""
        return self.script(route, *[Fault("delay", seconds=seconds)] * times)

    def malformed(self, route: str, *, times: int = 1) -> Faults:
        """Answer the next ``times`` requests with truncated JSON and status 200."""
        return self.script(route, *[Fault("malformed")] * times)

    def clear(self) -> None:
        """Forget every planned fault (the ``injected`` counts stay)."""
        self._scripts.clear()
        self._rules.clear()

    def next_for(self, route: str) -> Fault | None:
        """The fault to apply to this request to ``route``, if any (and count it)."""
        fault = self._pick(route)
        if fault is not None:
            self.injected[fault.kind if fault.kind != "status" else str(fault.status)] += 1
        return fault

    def _pick(self, route: str) -> Fault | None:
        for key in (route, "*"):
            script = self._scripts.get(key)
            if script:
                return script.popleft()
        for key in (route, "*"):
            for rule in self._rules.get(key, ()):
                if rule.remaining == 0:
                    continue
                if self._rng.random() < rule.probability:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.fault
        return None
