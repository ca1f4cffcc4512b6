"""Your first track: generate it, wait for it, save the MP3."""

from pathlib import Path

import anyio

from pixverse_audio import AsyncClient


async def main(client: AsyncClient, out_dir: Path = Path(".")) -> Path:
    track = await client.music.generate("a calm piano piece for a rainy morning")
    print(f"{track.audio_id}: {track.duration} s at {track.url}")
    return await client.download(track, out_dir)


async def run() -> None:
    async with AsyncClient() as client:  # the token comes from $USEAPI_TOKEN
        print("saved", await main(client))


if __name__ == "__main__":
    anyio.run(run)
