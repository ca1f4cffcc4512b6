"""Testing your own code against the emulator with the pixverse_audio.testing plugin.

With testing_conftest.py saved as your conftest.py, run ``python -m pytest``
(needs the ``emulator`` extra, and trio for the trio half).
"""
# ruff: noqa: S101 - pytest tests assert

from pathlib import Path

import pytest

from pixverse_audio import AsyncClient, MusicRequest, PollPolicy
from pixverse_audio.emulator import Emulator
from pixverse_audio.testing import emulated_client


# --8<-- [start:service]
async def render_jingles(client: AsyncClient, names: list[str], out_dir: Path) -> list[Path]:
    """The code under test: one jingle per name, saved to ``out_dir``."""
    requests = [MusicRequest(prompt=f"a short jingle for {name}") for name in names]
    paths = []
    async with client.music.generate_many(requests, max_attempts=3) as results:
        async for result in results:
            if result.track is not None:
                paths.append(await client.download(result.track, out_dir))
    return paths


# --8<-- [end:service]


# --8<-- [start:tests]
@pytest.mark.anyio
async def test_every_jingle_is_saved(
    pixverse_client: AsyncClient, pixverse_emulator: Emulator, tmp_path: Path
) -> None:
    paths = await render_jingles(pixverse_client, ["Ada", "Grace", "Linus"], tmp_path)
    assert len(paths) == 3
    assert all(path.stat().st_size > 0 for path in paths)
    assert sum(pixverse_emulator.stats().creates.values()) == 3


@pytest.mark.anyio
@pytest.mark.pixverse_emulator(accounts=2, max_jobs=2, failure_rate=0.3, seed=7)
async def test_failed_jobs_are_retried(
    pixverse_client: AsyncClient, pixverse_emulator: Emulator, tmp_path: Path
) -> None:
    paths = await render_jingles(pixverse_client, [f"shop {i}" for i in range(4)], tmp_path)
    assert len(paths) == 4  # FAILED jobs were submitted again
    jobs = list(pixverse_emulator.jobs.values())
    assert sum(job.fails for job in jobs) == len(jobs) - 4
    assert max(pixverse_emulator.stats().peak_running.values()) <= 2


@pytest.mark.anyio
async def test_without_the_fixtures(tmp_path: Path) -> None:
    async with emulated_client(Emulator.fast(), poll=PollPolicy(first=0.05)) as client:
        assert len(await render_jingles(client, ["one"], tmp_path)) == 1


# --8<-- [end:tests]
