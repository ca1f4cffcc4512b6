"""Status polling that scales: one list request refreshes every job of an account.

The jobs a batch is waiting for are the newest items of their account, so one
``GET music/?email=`` (or ``speech/``) page answers for all of them; a job
missing from that page twice is fetched by id. Each account's poller learns
how long jobs take (`DurationEstimate`) and asks when the earliest job is due,
then in short, growing gaps until it is final.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar, cast

import anyio
import attrs

from ._errors import NotFoundError, PixverseAudioError
from ._jobs import PollPolicy, grow
from ._logging import logger
from ._models import Page, SpeechClip, Track

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AccountPoller", "DurationEstimate", "Watch"]

O = TypeVar("O", bound="Track | SpeechClip")  # noqa: E741 - the output type
Kind = Literal["music", "speech"]

MISSING_BEFORE_GET: Final = 2  # polls a job may be absent from the page before a GET by id
EARLY: Final = 0.05  # share of the estimated duration used as the gap after a miss
NARROW: Final = 0.5  # a bracket this share of the duration or less gives a midpoint sample
MARGIN: Final = 0.03  # first check this share after the estimated finish: most checks then hit


@attrs.define(eq=False)
class DurationEstimate:
    """How long jobs take from create to final, learned from what polls saw.

    A job turned final between the last poll that saw it unfinished and the
    first that saw it final; the midpoint is one observation, smoothed over
    jobs (an exponentially weighted mean). A job first seen already final
    gives only an upper bound: it counts slightly below it, so an estimate
    that is too long creeps down until a poll comes early and finds a job
    unfinished, which pins it again.
    """

    value: float | None = None
    weight: float = 0.3
    drift: float = 0.97

    def observe(self, submitted: float, last_unfinished: float, seen_final: float) -> None:
        """Record one job's bounds."""
        upper = seen_final - submitted
        if last_unfinished >= submitted and seen_final - last_unfinished <= NARROW * upper:
            sample = (last_unfinished + seen_final) / 2 - submitted
        else:  # no lower bound, or one too far back to say much
            sample = upper * self.drift
        if sample <= 0 or not math.isfinite(sample):
            return
        self.value = (
            sample if self.value is None else (1 - self.weight) * self.value + self.weight * sample
        )


@attrs.define(eq=False)
class Watch(Generic[O]):
    """One job a poller is following for a waiting task."""

    job_id: str
    submitted: float
    next_check: float
    done: anyio.Event = attrs.field(factory=anyio.Event)
    result: O | None = None
    status: object = None
    last_unfinished: float = -math.inf
    missing: int = 0


class AccountPoller(Generic[O]):
    """Refreshes every watched job of one account with one list request per tick.

    Run `run` in a task group; `watch` a job after its create, then wait on
    the watch's ``done`` event. Errors of a poll are logged and the poll is
    tried again later; only the waiting task's deadline ends a wait.
    """

    def __init__(
        self,
        client: AsyncClient,
        email: str,
        kind: Kind,
        policy: PollPolicy,
        estimate: DurationEstimate,
        on_status: Callable[[Watch[O], O], None] | None = None,
    ) -> None:
        self._client = client
        self.email = email
        self._kind = kind
        self._policy = policy
        self._estimate = estimate
        self._on_status = on_status
        self._watches: dict[str, Watch[O]] = {}
        self._wake = anyio.Event()
        self._rng = random.Random()
        self._misses = 0  # polls in a row that found nothing final
        self.requests = 0

    def watch(self, job_id: str) -> Watch[O]:
        """Start following ``job_id`` (just created); the first check is when it is due."""
        now = anyio.current_time()
        watch: Watch[O] = Watch(job_id, now, now + self._first_gap())
        self._watches[job_id] = watch
        self._wake.set()
        return watch

    def unwatch(self, watch: Watch[O]) -> None:
        """Stop following a job (its waiter gave up)."""
        self._watches.pop(watch.job_id, None)

    def _first_gap(self) -> float:
        estimate = self._estimate.value
        return estimate * (1 + MARGIN) if estimate is not None else self._policy.first

    def _miss_gap(self, misses: int) -> float:
        estimate = self._estimate.value
        if estimate is None:
            return self._policy.gap(misses, self._rng)
        floor = self._policy.first * EARLY
        return grow(max(floor, estimate * EARLY), self._policy.factor, misses, self._policy.cap)

    async def run(self) -> None:
        """Poll whenever the earliest watched job is due; sleep while none is watched."""
        while True:
            if not self._watches:
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            due = min(w.next_check for w in self._watches.values())
            delay = due - anyio.current_time()
            if delay > 0:
                self._wake = anyio.Event()
                with anyio.move_on_after(delay):
                    await self._wake.wait()
                continue  # a new watch may be due earlier: recompute
            await self._poll()

    async def _poll(self) -> None:
        watches = dict(self._watches)
        limit = min(100, max(10, 2 * len(watches) + 5))
        now = anyio.current_time()
        page: Page[Track] | Page[SpeechClip]
        try:
            self.requests += 1
            if self._kind == "music":
                page = await self._client.music.list_page(email=self.email, limit=limit)
            else:
                page = await self._client.speech.list_page(email=self.email, limit=limit)
        except PixverseAudioError as exc:
            logger.info("status poll of %s failed (%s); trying again later", self.email, exc)
            self._misses += 1
            for watch in watches.values():
                self._reschedule(watch, now)
            return
        seen = {item.audio_id: cast(O, item) for item in page.items}
        finished = any(item.final for job_id, item in seen.items() if job_id in watches)
        self._misses = 0 if finished else self._misses + 1
        for job_id, watch in watches.items():
            item = seen.get(job_id)
            if item is None:
                watch.missing += 1
                if watch.missing >= MISSING_BEFORE_GET:
                    item = await self._get(watch, now)
                if item is None:
                    self._reschedule(watch, now)
                    continue
            self._update(watch, item, now)

    def _reschedule(self, watch: Watch[O], now: float) -> None:
        """Plan the next check of a job that is not final yet.

        The account backs off as one: after polls that found nothing final,
        the gap grows. A job due before the next poll would come anyway joins
        it; one due later keeps its planned check.
        """
        gap = self._miss_gap(self._misses)
        if watch.next_check <= now + gap:
            watch.next_check = now + gap

    async def _get(self, watch: Watch[O], now: float) -> O | None:
        self.requests += 1
        try:
            if self._kind == "music":
                return await self._client.music.get(watch.job_id)  # type: ignore[return-value]
            return await self._client.speech.get(watch.job_id)  # type: ignore[return-value]
        except NotFoundError:
            if now - watch.submitted > self._policy.not_found_grace:
                logger.warning("job %s is not found any more", watch.job_id)
            return None
        except PixverseAudioError as exc:
            logger.info("status of %s unavailable (%s); trying again later", watch.job_id, exc)
            return None

    def _update(self, watch: Watch[O], item: O, now: float) -> None:
        if item.status != watch.status and self._on_status is not None:
            self._on_status(watch, item)
        watch.status = item.status
        if item.final:
            self._estimate.observe(watch.submitted, watch.last_unfinished, now)
            watch.result = item
            self._watches.pop(watch.job_id, None)
            watch.done.set()
            return
        watch.last_unfinished = now
        self._reschedule(watch, now)  # after the account's miss count was updated
