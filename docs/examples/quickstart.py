"""The README's first example: one track, then a batch of ten, with a real token."""

import anyio

from pixverse_audio import AsyncClient, MusicRequest


async def main(client: AsyncClient) -> None:
    track = await client.music.generate("upbeat synthwave with a clear female vocal")
    print(track.url, await client.download(track, "."))
    requests = [MusicRequest(prompt=f"lofi beat no. {i}") for i in range(10)]
    async with client.music.generate_many(requests) as results:
        async for result in results:  # in completion order
            print(result.index, result.track.url if result.track else result.error)


async def run() -> None:
    # The token comes from $USEAPI_TOKEN, the URL from $USEAPI_BASE_URL (default
    # https://api.useapi.net): set it to a `pixverse-audio emulator` to run offline.
    async with AsyncClient() as client:
        await main(client)


if __name__ == "__main__":
    anyio.run(run)  # or anyio.run(run, backend="trio")
