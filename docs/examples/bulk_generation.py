"""Generate a batch of tracks with generate_many and save each one as it finishes."""

from collections import Counter
from pathlib import Path

import anyio

from pixverse_audio import AsyncClient, JobEvent, MusicRequest

PROMPTS = [f"lofi hip hop beat, mood {mood}" for mood in ("calm", "warm", "dusty", "late")]


async def main(client: AsyncClient, out_dir: Path = Path("out")) -> list[Path]:
    await anyio.Path(out_dir).mkdir(parents=True, exist_ok=True)
    events: Counter[str] = Counter()

    def on_event(event: JobEvent) -> None:
        events[event.kind] += 1  # submitted, status, completed, failed, retrying, ...

    # --8<-- [start:batch]
    requests = [MusicRequest(prompt=p, model="music-2.6") for p in PROMPTS]
    saved = []
    async with client.music.generate_many(
        requests, timeout=1200, max_attempts=3, on_event=on_event
    ) as results:
        async for result in results:  # in completion order, not input order
            if result.track is not None:
                saved.append(await client.download(result.track, out_dir))
            else:
                print(f"#{result.index} failed after {result.attempts} jobs: {result.error}")
    # --8<-- [end:batch]
    print(f"{len(saved)} saved; events: {dict(events)}")
    return saved


async def run() -> None:
    async with AsyncClient() as client:
        await main(client)


if __name__ == "__main__":
    anyio.run(run)
