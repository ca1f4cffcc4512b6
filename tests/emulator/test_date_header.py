"""The emulator's Date header tells the time by its own clock, as its jobs' timestamps do."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest

from pixverse_audio.emulator import Emulator, ManualClock, serve_emulator

pytestmark = pytest.mark.anyio


async def test_date_moves_with_the_emulators_clock_and_matches_job_stamps() -> None:
    """An hour on a manual clock moves Date by an hour; a job's created_at is that Date."""
    clock = ManualClock()
    emulator = Emulator(clock=clock)
    headers = {"Authorization": f"Bearer {emulator.token}"}
    async with emulator.http_client() as http:
        first = await http.get(f"{emulator.base_url}/v2/pixverse/accounts", headers=headers)
        clock.advance(3600)
        created = await http.post(
            f"{emulator.base_url}/v2/pixverse/music/create", headers=headers, json={"prompt": "x"}
        )
        job = await http.get(
            f"{emulator.base_url}/v2/pixverse/music/{created.json()['audio_id']}", headers=headers
        )
    before = parsedate_to_datetime(first.headers["date"])
    after = parsedate_to_datetime(created.headers["date"])
    assert (after - before).total_seconds() == 3600
    stamp = job.json()["created_at"]
    assert parsedate_to_datetime(job.headers["date"]).isoformat().startswith(stamp[:19])


async def test_a_served_emulator_sends_one_date_header_by_its_clock() -> None:
    """Over real HTTP the server adds no Date of its own: exactly one, by the emulator's clock."""
    clock = ManualClock()
    emulator = Emulator(clock=clock)
    clock.advance(10 * 86400)  # ten days ahead of the machine's clock
    async with serve_emulator(emulator) as url, emulator.http_client() as local:
        async with httpx.AsyncClient() as http:
            served = await http.get(
                f"{url}/v2/pixverse/accounts",
                headers={"Authorization": f"Bearer {emulator.token}"},
            )
        in_process = await local.get(
            f"{emulator.base_url}/v2/pixverse/accounts",
            headers={"Authorization": f"Bearer {emulator.token}"},
        )
    assert len(served.headers.get_list("date")) == 1
    assert served.headers["date"] == in_process.headers["date"]
