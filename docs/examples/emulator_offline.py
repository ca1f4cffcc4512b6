"""The embedded emulator: the API offline, in-process or over real HTTP, with faults."""

import anyio

from pixverse_audio import AsyncClient, OutcomeUnknownError, PollPolicy, Track
from pixverse_audio.emulator import Emulator, EmulatorStats, serve_emulator


async def main() -> EmulatorStats:
    # --8<-- [start:inprocess]
    emulator = Emulator(accounts=3, max_jobs=4, speed=60)  # 1 real second = 1 API minute
    async with emulator.client() as client:  # in-process, no sockets
        job = await client.music.create("lofi beats to study to")
        emulator.faults.fail("music.get", 503, times=2)  # inject faults per route
        track = await client.music.get(job.audio_id)  # retried past both 503s
        print(track.status_name, emulator.stats().creates)
    # --8<-- [end:inprocess]

    # --8<-- [start:faults]
    async with emulator.client() as client:
        emulator.faults.drop("music.create", after=True)  # job recorded, answer lost
        job = await client.music.create("a lost answer")  # found in the list, adopted
        print("adopted, never resent:", job.audio_id)
        emulator.faults.drop("music.create")  # dropped before any job was made
        try:
            await client.music.create("a lost request")
        except OutcomeUnknownError as exc:  # no job of it found: a paid one may exist
            print("never resent:", exc.payload["prompt"])
    # --8<-- [end:faults]
    return emulator.stats()


async def over_http() -> Track:
    # --8<-- [start:server]
    emulator = Emulator.fast(accounts=2)  # jobs finish in about half a second
    async with serve_emulator(emulator, port=0) as url:  # port 0: any free port
        poll = PollPolicy(first=0.1, cap=0.5)  # its jobs are quick: ask often
        async with AsyncClient(emulator.token, base_url=url, poll=poll) as client:
            track = await client.music.generate("a real HTTP round trip", timeout=60)
            print(url, track.url)
    # --8<-- [end:server]
    return track


if __name__ == "__main__":
    print(anyio.run(main))
    anyio.run(over_http, backend="trio")
