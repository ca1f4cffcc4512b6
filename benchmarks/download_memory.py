"""Download memory: a 200 MB media file through client.download vs httpx.stream to a file.

The emulator serves the file from its own process (a streamed blob with range
support); each side runs in a fresh process, so its peak RSS increase over the
baseline is its own. Goal: at most 16 MB for client.download.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx

from benchmarks._common import emit, emulator_process, timed
from pixverse_audio import AsyncClient, AudioStatus, Track
from pixverse_audio.emulator import DEFAULT_TOKEN

MB = 1024 * 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def ours(url: str, size: int, dest: Path) -> float:
    track = Track(
        audio_id="user:1-pixverse:bench@emulator.test-music:1",
        status=AudioStatus.COMPLETED,
        final=True,
        url=f"{url}/_emulator/blob/{size}.bin",
        file_size=size,
    )
    async with AsyncClient(DEFAULT_TOKEN, base_url=url) as client:
        path = await client.download(track, dest / "ours.bin")
    return path.stat().st_size


async def plain(url: str, size: int, dest: Path) -> float:
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", f"{url}/_emulator/blob/{size}.bin") as response,
    ):
        file = await anyio.open_file(dest / "plain.bin", "wb")
        async with file:
            async for chunk in response.aiter_bytes(64 * 1024):
                await file.write(chunk)
    return (dest / "plain.bin").stat().st_size


def single(which: str, size: int) -> None:
    with emulator_process() as url, tempfile.TemporaryDirectory() as folder:
        baseline = peak_mb()
        with timed() as clock:
            written = anyio.run(ours if which == "ours" else plain, url, size, Path(folder))
        result: dict[str, Any] = {
            "which": which,
            "bytes": written,
            "seconds": round(clock.wall, 3),
            "mb_per_second": round(written / MB / clock.wall, 1),
            "peak_rss_increase_mb": round(peak_mb() - baseline, 2),
        }
        print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 MB instead of 200 MB")
    parser.add_argument("--backend", help="ignored: runs on asyncio")
    parser.add_argument("--single", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size or (20 if args.quick else 200) * MB
    if args.single:
        single(args.single, size)
        return
    runs = {}
    for which in ("ours", "plain"):
        command = [sys.executable, "-m", "benchmarks.download_memory", "--single", which]
        out = subprocess.run(  # noqa: S603 - this very module
            [*command, "--size", str(size)], capture_output=True, text=True, check=True
        )
        runs[which] = json.loads(out.stdout.strip().splitlines()[-1])
    emit(
        "download_memory",
        {"bytes": size, "client_download": runs["ours"], "httpx_stream": runs["plain"]},
        [
            (
                "client.download",
                f"+{runs['ours']['peak_rss_increase_mb']:.1f} MB peak RSS (goal <= 16), "
                f"{runs['ours']['mb_per_second']:.0f} MB/s",
            ),
            (
                "httpx.stream to a file",
                f"+{runs['plain']['peak_rss_increase_mb']:.1f} MB peak RSS, "
                f"{runs['plain']['mb_per_second']:.0f} MB/s",
            ),
        ],
    )


if __name__ == "__main__":
    main()
