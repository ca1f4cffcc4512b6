"""Deadlines and cancellation: a wait that times out, a batch that is cancelled."""

import anyio

from pixverse_audio import AsyncClient, MusicRequest, WaitTimeoutError


async def main(client: AsyncClient, timeout: float = 1200, budget: float = 3600) -> dict[str, int]:
    """Wait ``timeout`` s for one job, then give a batch ``budget`` s in all."""
    outcome = {"timed_out": 0, "finished": 0, "cancelled": 0}
    # --8<-- [start:wait]
    job = await client.music.create("an epic orchestral trailer cue")
    try:
        track = await client.music.wait(job, timeout=timeout)  # cancel_on_timeout=True
    except WaitTimeoutError as exc:
        # The job was released from the scheduler (its slot is free again); it may
        # still finish and bill upstream: look for exc.audio_id later.
        print(f"not final after {timeout} s: {exc.audio_id} (last seen {exc.last_seen})")
        outcome["timed_out"] += 1
    else:
        print("done:", track.url)
    # --8<-- [end:wait]

    # --8<-- [start:cancel]
    requests = [MusicRequest(prompt=f"ambient drone {i}") for i in range(6)]
    with anyio.move_on_after(budget) as scope:  # or fail_after, or any cancel scope
        async with client.music.generate_many(requests) as results:
            async for _result in results:
                outcome["finished"] += 1
    if scope.cancelled_caught:
        # Leaving the block stopped the batch: no new creates, every running job
        # released from the scheduler in shielded cleanup, every slot given back.
        outcome["cancelled"] = len(requests) - outcome["finished"]
    # --8<-- [end:cancel]
    return outcome


async def run() -> None:
    async with AsyncClient() as client:
        print(await main(client))


if __name__ == "__main__":
    anyio.run(run)
