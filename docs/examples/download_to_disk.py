"""Save finished tracks to disk: atomic, resumable, size-checked downloads."""

from pathlib import Path

import anyio

from pixverse_audio import AsyncClient


def progress(received: int, total: int | None) -> None:
    print(f"\r{received} of {total or '?'} bytes", end="", flush=True)


async def main(client: AsyncClient, out_dir: Path = Path("music")) -> list[Path]:
    await anyio.Path(out_dir).mkdir(parents=True, exist_ok=True)
    track = await client.music.generate("a bossa nova guitar loop")

    # --8<-- [start:download]
    path = await client.download(track, out_dir)  # a directory: a safe name from the track
    named = await client.download(track, out_dir / "bossa.mp3", progress=progress)
    again = await client.download(track, named, overwrite=True)  # otherwise ValidationError
    # --8<-- [end:download]
    print()
    return [path, named, again]


async def run() -> None:
    async with AsyncClient() as client:
        print(await main(client))


if __name__ == "__main__":
    anyio.run(run)
