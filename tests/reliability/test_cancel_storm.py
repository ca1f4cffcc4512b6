"""Cancel storm: a batch that downloads each finished track, cancelled at seeded random points.

Each point runs ``generate_many`` with ``client.download`` of every finished
track inside the loop, then cancels it: either at a random moment (a deadline
that may land while creating, polling, reconciling or downloading) or from a
download's progress callback after a random number of bytes (always mid-file).
After every point nothing may be left: no job in the scheduler, no slot held,
no request in flight, no ``.part`` file, and every file that was kept is a
complete MP3 of its track.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import anyio
import pytest

from pixverse_audio import Track
from pixverse_audio.emulator import Emulator, Fault, Timing
from reliability._support import assert_clean, prompts, settle, wired

pytestmark = pytest.mark.anyio

TIMING = Timing(queued=(0, 0.03), generating=(0.05, 0.15), audio=(20, 40))  # 80-160 kB MP3s


async def cancel_at_a_random_point(seed: int, root: Path) -> str:
    """Run one seeded point; check the aftermath; return where the cancel came from."""
    rng = random.Random(seed)
    emulator = Emulator(accounts=3, max_jobs=2, seed=seed, music_timing=TIMING)
    emulator.faults.add("media", Fault("delay", seconds=0.02), probability=0.5)
    emulator.faults.add("music.list", Fault("delay", seconds=0.02), probability=0.2)
    client, transport = wired(emulator)
    dest = root / f"point-{seed}"
    dest.mkdir()
    kept: dict[Path, Track] = {}
    mid_download = seed % 2 == 1
    nth = rng.randint(1, 3)  # which download gets cancelled (mid-download points)
    after_bytes = rng.randint(1, 79_000)  # within the smallest file (20 s: 79,920 bytes)
    downloads = 0
    downloading = False
    part_at_cancel: list[str] = []

    async with client:
        with anyio.CancelScope() as scope:
            if not mid_download:
                scope.deadline = anyio.current_time() + rng.uniform(0.0, 0.45)

            def progress(received: int, _total: int | None) -> None:
                if mid_download and downloads >= nth and received >= after_bytes:
                    part_at_cancel.extend(n for n in os.listdir(dest) if n.endswith(".part"))
                    scope.cancel()

            async with client.music.generate_many(
                prompts(24, f"storm {seed}"), timeout=10
            ) as results:
                async for result in results:
                    if result.track is None:
                        continue
                    downloads += 1
                    downloading = True
                    path = await client.download(result.track, dest, progress=progress)
                    downloading = False
                    kept[path] = result.track
        assert scope.cancel_called
        if mid_download:
            assert len(part_at_cancel) == 1  # the cancel hit while a file was half written
        assert_clean(emulator, client, transport)
        await settle()
        assert_clean(emulator, client, transport)

    names = os.listdir(dest)
    assert [n for n in names if n.endswith(".part")] == [], names
    assert sorted(names) == sorted(p.name for p in kept)
    for path, track in kept.items():
        assert path.stat().st_size == track.file_size, path.name
        assert path.read_bytes()[:2] in (b"\xff\xf3", b"\xff\xfb", b"\xff\xf2", b"ID")
    if mid_download:
        return "mid-download"
    return "deadline in a download" if downloading else "deadline elsewhere"


@pytest.mark.soak
@pytest.mark.timeout(600)
async def test_cancel_storm_100_points(tmp_path: Path, anyio_backend: str) -> None:
    """100 seeded cancels (deadlines and mid-download) each leave no job, slot, request or .part."""
    kinds = [await cancel_at_a_random_point(seed, tmp_path) for seed in range(100)]
    print(f"\ncancel storm[{anyio_backend}]: {len(kinds)} points: {dict(Counter(kinds))}")


async def test_cancel_storm_quick_10_points(tmp_path: Path) -> None:
    """10 seeded cancels (the default-run version) each leave nothing behind."""
    for seed in range(1000, 1010):
        await cancel_at_a_random_point(seed, tmp_path)
