"""Pipe a track's bytes into object storage with stream_audio, without a local file."""

import hashlib

import anyio
import anyio.lowlevel

from pixverse_audio import AsyncClient, Track


class FakeBucket:
    """Stands in for an object store's multipart upload (S3, GCS, R2, ...)."""

    PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (but the last)

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def upload(self, key: str, parts: list[bytes]) -> str:
        await anyio.lowlevel.checkpoint()  # a real client would send each part over the network
        self.objects[key] = b"".join(parts)
        return hashlib.md5(self.objects[key]).hexdigest()  # noqa: S324 - an ETag, not security


async def store(client: AsyncClient, track: Track, bucket: FakeBucket) -> str:
    """Copy a finished track into ``bucket`` under ``tracks/<name>.mp3``."""
    # --8<-- [start:stream]
    parts: list[bytes] = []
    buffer = bytearray()
    async with client.stream_audio(track) as audio:  # 64 KiB chunks, no token sent
        async for chunk in audio:
            buffer += chunk
            if len(buffer) >= bucket.PART_SIZE:
                parts.append(bytes(buffer))
                buffer.clear()
        print(f"{audio.received} of {audio.total} bytes")
    parts.append(bytes(buffer))
    key = f"tracks/{track.audio_id.rsplit(':', 1)[-1]}.mp3"
    etag = await bucket.upload(key, parts)
    # --8<-- [end:stream]
    print(f"stored {key} ({etag})")
    return key


async def main(client: AsyncClient, bucket: FakeBucket | None = None) -> FakeBucket:
    bucket = bucket or FakeBucket()
    track = await client.music.generate("a sunny ukulele jingle")
    await store(client, track, bucket)
    return bucket


async def run() -> None:
    async with AsyncClient() as client:
        bucket = await main(client)
        print(sorted(bucket.objects))


if __name__ == "__main__":
    anyio.run(run)
