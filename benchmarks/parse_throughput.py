"""Parse throughput: a 500-item music list page into models.

Ours (`parse_music_page`: json.loads, filtering, structuring into frozen attrs
models with unknown keys kept) against pydantic v2 (`TypeAdapter.validate_json`
of an equivalent model: same fields, aliases, aware datetimes, extra keys
allowed) and plain `json.loads`. Best of several rounds.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from benchmarks._common import emit
from pixverse_audio._sansio import Reply, parse_music_page


class PydTrack(BaseModel):
    """The pydantic twin of `Track`."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    audio_id: str
    asset_id: int | None = None
    status: int | None = Field(default=None, alias="audio_status")
    status_name: str | None = Field(default=None, alias="audio_status_name")
    final: bool = Field(default=False, alias="audio_status_final")
    pixverse_status: str | None = Field(default=None, alias="status")
    create_mode: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    auto_lyrics: bool | None = None
    url: str | None = None
    path: str | None = None
    name: str | None = None
    duration: float | None = None
    file_size: int | None = None
    format: str | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    channel: int | None = None
    credits: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fail_code: str | None = None
    fail_reason: str | None = None
    error: str | None = None


class PydPage(BaseModel):
    """The pydantic twin of a list page."""

    data: list[PydTrack]
    next_offset: int | None = None
    has_more: bool = False


def page(items: int) -> bytes:
    """A list page shaped like the documentation's sample, ``items`` long."""
    data = []
    for i in range(items):
        data.append(
            {
                "audio_id": f"user:1000-pixverse:me@example.com-music:{11223344 + i}",
                "asset_id": 11223344 + i,
                "audio_status": 1,
                "status": "finish",
                "create_mode": "music",
                "provider": "minimax",
                "model": "music-2.6",
                "prompt": f"prompt number {i}",
                "auto_lyrics": True,
                "url": f"https://media.pixverse.ai/pixverse/audio/music/{11223344 + i}.mp3",
                "name": f"PixVerse_Music_{11223344 + i}.mp3",
                "duration": 202,
                "credits": 40,
                "created_at": "2026-06-23T12:34:56Z",
                "updated_at": "2026-06-23T12:38:18Z",
                "audio_status_name": "COMPLETED",
                "audio_status_final": True,
            }
        )
    return json.dumps({"data": data, "next_offset": items, "has_more": True}).encode()


def best_of(rounds: int, repeat: int, fn: Any) -> float:
    """The best seconds per call over ``rounds`` rounds of ``repeat`` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--backend", help="ignored: parsing involves no event loop")
    args = parser.parse_args(argv)
    items = 500
    body = page(items)
    reply = Reply(status_code=200, headers={}, body=body)
    adapter = TypeAdapter(PydPage)
    ours_page, _ = parse_music_page(reply, offset=0)
    theirs = adapter.validate_json(body)
    assert len(ours_page.items) == len(theirs.data) == items
    rounds, repeat = (2, 5) if args.quick else (7, 20)
    timings = {
        "pixverse_audio": best_of(rounds, repeat, lambda: parse_music_page(reply, offset=0)),
        "pydantic_v2": best_of(rounds, repeat, lambda: adapter.validate_json(body)),
        "json_loads": best_of(rounds, repeat, lambda: json.loads(body)),
    }
    per_second = {name: round(items / seconds) for name, seconds in timings.items()}
    result = {
        "items": items,
        "items_per_second": per_second,
        "ms_per_page": {name: round(1000 * s, 3) for name, s in timings.items()},
        "ours_over_pydantic": round(timings["pixverse_audio"] / timings["pydantic_v2"], 3),
        "ours_over_json_loads": round(timings["pixverse_audio"] / timings["json_loads"], 3),
    }
    emit(
        "parse_throughput",
        result,
        [
            *((name, f"{rate:,} items/s") for name, rate in per_second.items()),
            ("ours / pydantic (goal <= 1)", f"{result['ours_over_pydantic']:.2f}"),
            ("ours / json.loads (ideal <= 2)", f"{result['ours_over_json_loads']:.2f}"),
        ],
    )


if __name__ == "__main__":
    main()
