"""pixverse-audio on trio: the same client, inside a nursery."""

import trio

from pixverse_audio import AsyncClient, SpeechClip, Track


async def main(client: AsyncClient) -> list[Track | SpeechClip]:
    done: list[Track | SpeechClip] = []

    async def music(prompt: str) -> None:
        done.append(await client.music.generate(prompt))

    async def speech(text: str) -> None:
        done.append(await client.speech.generate(text, "minimax_english_radiant_girl"))

    with trio.fail_after(1800):  # trio's own deadlines work: the jobs are released
        async with trio.open_nursery() as nursery:
            nursery.start_soon(music, "a chiptune boss battle")
            nursery.start_soon(music, "a chiptune victory fanfare")
            nursery.start_soon(speech, "Level complete!")
    for item in done:
        print(type(item).__name__, item.audio_id, item.url)
    return done


async def run() -> None:
    async with AsyncClient() as client:  # made inside trio.run: it belongs to trio's loop
        await main(client)


if __name__ == "__main__":
    trio.run(run)
