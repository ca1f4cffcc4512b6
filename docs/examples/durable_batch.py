"""A batch that survives its process: a journal, a credit budget, and resumes that pay once.

The same function runs three times over one journal: first with a budget that
covers three tracks, then stopped after two more results (as a deploy or
Ctrl-C would stop it), then to the end. Each run only creates what no earlier
run paid for, and the saved files are recorded in the journal too.
"""

from collections import Counter
from pathlib import Path

import anyio

from pixverse_audio import AsyncClient, BudgetError, MusicRequest

PROMPTS = [f"a four-bar jingle for product {n}, upbeat ukulele" for n in range(8)]


async def run_batch(
    client: AsyncClient,
    out_dir: Path,
    *,
    max_credits: float | None = None,
    stop_after: int | None = None,
) -> Counter[str]:
    """Run the batch over ``out_dir``'s journal; count what each result was."""
    counts: Counter[str] = Counter()
    # --8<-- [start:batch]
    requests = [
        MusicRequest(prompt=prompt, model="music-2.6", key=f"jingle-{n:03d}")
        for n, prompt in enumerate(PROMPTS)
    ]
    async with client.music.generate_many(
        requests, journal=out_dir / "journal.sqlite", max_credits=max_credits
    ) as batch:
        async for result in batch:
            if result.track is not None:
                path = out_dir / f"{result.key}.mp3"
                if batch.journaled_file(result) != str(path) or not path.exists():
                    await client.download(result.track, path, overwrite=True)
                    await batch.record_file(result, path)  # the journal knows it is saved
                counts["read back" if result.resumed else "generated"] += 1
            elif isinstance(result.error, BudgetError):
                counts["over budget"] += 1  # not created: a later run continues it
            else:
                counts["failed"] += 1
            if stop_after is not None and counts.total() == stop_after:
                break  # leaving early: running jobs stay in the journal, followed next time
    print(f"spent {batch.spent:g} credits; budget stopped it: {batch.stopped_by_budget}")
    # --8<-- [end:batch]
    return counts


async def main(client: AsyncClient, out_dir: Path = Path("jingles")) -> list[Counter[str]]:
    await anyio.Path(out_dir).mkdir(parents=True, exist_ok=True)
    runs = [
        await run_batch(client, out_dir, max_credits=120),  # three music-2.6 tracks
        await run_batch(client, out_dir, stop_after=5),  # three read back, two more
        await run_batch(client, out_dir),  # the rest
    ]
    for number, counts in enumerate(runs, start=1):
        print(f"run {number}: {dict(sorted(counts.items()))}")
    return runs


async def run() -> None:
    async with AsyncClient() as client:
        await main(client)


if __name__ == "__main__":
    anyio.run(run)
