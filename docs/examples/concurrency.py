"""Slots that mirror maxJobs: caps per client, per account and per request."""

from collections import Counter

import anyio

from pixverse_audio import AsyncClient, JobEvent, MusicRequest


async def main(client: AsyncClient, jobs: int = 12) -> dict[str, int]:
    """Run ``jobs`` tracks, at most two at once per account; return the peak per account."""
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()

    def on_event(event: JobEvent) -> None:
        if event.email is None:
            return
        if event.kind == "submitted":
            running[event.email] += 1
            peak[event.email] = max(peak[event.email], running[event.email])
        elif event.kind in ("completed", "failed", "released"):
            running[event.email] -= 1

    # --8<-- [start:narrow]
    available = await client.scheduler.available()  # what useapi.net reports right now
    print(available)
    # max_jobs=2: start each job only on an account running fewer than two
    requests = [MusicRequest(prompt=f"drum loop {i}", max_jobs=2) for i in range(jobs)]
    async with client.music.generate_many(requests, on_event=on_event) as results:
        async for result in results:
            print(result.index, result.track.url if result.track else result.error)
    # --8<-- [end:narrow]
    return dict(peak)


async def run() -> None:
    # --8<-- [start:client]
    # None (the default) reads every account's maxJobs once; an int caps every
    # account; a mapping caps the accounts it names.
    async with AsyncClient(max_jobs={"me@example.com": 3}) as client:
        print(await main(client))
    # --8<-- [end:client]


if __name__ == "__main__":
    anyio.run(run)
