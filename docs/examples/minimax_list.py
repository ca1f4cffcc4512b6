"""The legacy MiniMax v1 music list: a bare array paged by a lastMusicId cursor."""

from collections import Counter

import anyio

from pixverse_audio import AsyncClient, MinimaxSong


async def main(client: AsyncClient, account: str | None = None) -> list[MinimaxSong]:
    # --8<-- [start:list]
    songs = [song async for song in client.minimax.music.list(account=account, page_size=20)]
    by_status = Counter(song.status_label for song in songs)
    print(f"{len(songs)} songs: {dict(by_status)}")
    first = await client.minimax.music.list_page(account=account, limit=5)  # one page
    if first:
        newest = await client.minimax.music.get(first[0].music_id)  # moderated ones too
        print(newest.title, newest.audio_url if newest.final else "(not final)")
    # --8<-- [end:list]
    return songs


async def run() -> None:
    async with AsyncClient() as client:
        await main(client)


if __name__ == "__main__":
    anyio.run(run)
