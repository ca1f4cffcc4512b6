"""Jobs over time on a manual clock: statuses, seeds, the scheduler, lists, v1 list, callbacks."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import anyio
import httpx
import pytest

from pixverse_audio import AudioStatus, PollPolicy, Track
from pixverse_audio.emulator import Emulator, ManualClock, Timing

V2 = "/v2/pixverse"
START = datetime(2026, 6, 23, 12, 34, 56, tzinfo=timezone.utc)
MUSIC_TIMING = Timing(queued=(5, 5), generating=(10, 10), audio=(30, 30))
SPEECH_TIMING = Timing(queued=(1, 1), generating=(3, 3), audio=(2, 30))
VOICE = "minimax_english_radiant_girl"
EMAIL = "account1@emulator.test"
PROMPT = "An upbeat synthwave track with a clear female vocal"


def manual(**kwargs: Any) -> tuple[Emulator, ManualClock]:
    """An emulator on a manual clock: music QUEUED 5 s then GENERATING 10 s; speech 1 s + 3 s."""
    clock = ManualClock()
    kwargs.setdefault("music_timing", MUSIC_TIMING)
    kwargs.setdefault("speech_timing", SPEECH_TIMING)
    return Emulator(clock=clock, speed=1, start_time=START, **kwargs), clock


def http(emulator: Emulator) -> httpx.AsyncClient:
    return emulator.http_client(
        base_url=emulator.base_url, headers={"Authorization": f"Bearer {emulator.token}"}
    )


async def create(raw: httpx.AsyncClient, kind: str = "music", **fields: Any) -> dict[str, Any]:
    if kind == "music":
        fields.setdefault("prompt", PROMPT)
    else:
        fields.setdefault("text", "Use API dot net.")
        fields.setdefault("voice_id", VOICE)
    response = await raw.post(f"{V2}/{kind}/create", json=fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def get(raw: httpx.AsyncClient, audio_id: str, kind: str = "music") -> dict[str, Any]:
    response = await raw.get(f"{V2}/{kind}/{audio_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---------------------------------------------------------------- statuses


@pytest.mark.anyio
async def test_statuses_follow_the_configured_times() -> None:
    """A job is QUEUED(5) for 5 s, GENERATING(10) for 10 s, then COMPLETED(1), final only then."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        audio_id = (await create(raw))["audio_id"]
        timeline = []
        for at in (0, 4.99, 5, 14.99, 15, 600):
            clock.advance(at - clock())
            body = await get(raw, audio_id)
            timeline.append(
                (at, body["audio_status"], body["audio_status_name"], body["audio_status_final"])
            )
    assert timeline == [
        (0, 5, "QUEUED", False),
        (4.99, 5, "QUEUED", False),
        (5, 10, "GENERATING", False),
        (14.99, 10, "GENERATING", False),
        (15, 1, "COMPLETED", True),
        (600, 1, "COMPLETED", True),
    ]


@pytest.mark.anyio
async def test_timestamps_follow_the_clock() -> None:
    """created_at is the create time; updated_at is when the current status began."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        audio_id = (await create(raw))["audio_id"]
        queued = await get(raw, audio_id)
        clock.advance(7)
        generating = await get(raw, audio_id)
        clock.advance(100)
        done = await get(raw, audio_id)
    assert queued["created_at"] == queued["updated_at"] == "2026-06-23T12:34:56Z"
    assert generating["updated_at"] == "2026-06-23T12:35:01Z"
    assert done["created_at"] == "2026-06-23T12:34:56Z"
    assert done["updated_at"] == "2026-06-23T12:35:11Z"
    assert done["duration"] == 30


@pytest.mark.anyio
async def test_speed_scales_the_clock() -> None:
    """With speed 10, one real second is ten API seconds."""
    clock = ManualClock()
    emulator = Emulator(clock=clock, speed=10, music_timing=MUSIC_TIMING)
    async with http(emulator) as raw:
        audio_id = (await create(raw))["audio_id"]
        clock.advance(0.49)
        assert (await get(raw, audio_id))["audio_status"] == 5
        clock.advance(0.02)
        assert (await get(raw, audio_id))["audio_status"] == 10
        clock.advance(1.0)
        assert (await get(raw, audio_id))["audio_status"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["music", "speech"])
async def test_failure_rate_one_fails_every_job(kind: str) -> None:
    """failure_rate=1.0 ends every job FAILED(8) with fail_code and fail_reason."""
    emulator, clock = manual(failure_rate=1.0)
    async with http(emulator) as raw:
        ids = [(await create(raw, kind))["audio_id"] for _ in range(3)]
        clock.advance(6 if kind == "music" else 2)
        assert {(await get(raw, i, kind))["audio_status"] for i in ids} == {10}
        clock.advance(20)
        bodies = [await get(raw, i, kind) for i in ids]
    for body in bodies:
        assert (body["audio_status"], body["audio_status_name"]) == (8, "FAILED")
        assert body["audio_status_final"] is True
        assert body["status"] != "finish"
        assert body["fail_code"] == f"{kind}_generation_failed"
        assert isinstance(body["fail_reason"], str)
        assert body["fail_reason"]
        assert "url" not in body


@pytest.mark.anyio
async def test_failure_rate_zero_never_fails() -> None:
    """failure_rate=0 (the default) completes every job."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        ids = [(await create(raw, maxJobs=8))["audio_id"] for _ in range(8)]
        clock.advance(20)
        assert {(await get(raw, i))["audio_status"] for i in ids} == {1}


def _timeline(seed: int) -> list[tuple[str, float, float, float, bool]]:
    """Account, start, finish, duration and failure of 12 jobs created without email."""
    clock = ManualClock()
    emulator = Emulator(clock=clock, speed=1, seed=seed, accounts=3, max_jobs=8, failure_rate=0.5)
    for i in range(12):
        emulator.state.create("music", {"prompt": f"track {i}"})
        clock.advance(1)
    return [(j.email, j.started, j.finished, j.duration, j.fails) for j in emulator.jobs.values()]


def test_same_seed_same_timeline() -> None:
    """Two emulators with the same seed give identical timings, accounts and failures."""
    assert _timeline(7) == _timeline(7)


def test_different_seeds_differ() -> None:
    """Different seeds give different timelines."""
    first, second = _timeline(1), _timeline(2)
    assert first != second
    assert [t[1:3] for t in first] != [t[1:3] for t in second]


@pytest.mark.anyio
async def test_same_seed_same_api_answers() -> None:
    """The same seed and clock steps give identical GET bodies over HTTP."""

    async def run() -> list[dict[str, Any]]:
        clock = ManualClock()
        emulator = Emulator(clock=clock, speed=1, seed=3, failure_rate=0.5, start_time=START)
        bodies = []
        async with http(emulator) as raw:
            ids = [(await create(raw))["audio_id"] for _ in range(4)]
            for _ in range(5):
                clock.advance(40)
                bodies.extend([await get(raw, i) for i in ids])
        return bodies

    assert await run() == await run()


# --------------------------------------------------------------- scheduler


@pytest.mark.anyio
async def test_scheduler_lists_running_jobs_with_elapsed() -> None:
    """GET scheduler/ lists running jobs with type, started and elapsed as mm:ss."""
    emulator, clock = manual(music_timing=Timing(queued=(0, 0), generating=(200, 200)))
    async with http(emulator) as raw:
        music = await create(raw, replyUrl="https://hooks.example.test/cb", replyRef="r-1")
        clock.advance(15)
        speech = await create(raw, "speech")
        clock.advance(1)
        speech_done_later = await raw.get(f"{V2}/scheduler/")
        clock.advance(59)
        listed = (await raw.get(f"{V2}/scheduler/")).json()
    assert speech_done_later.status_code == 200
    items = {item["id"]: item for item in speech_done_later.json()}
    assert set(items) == {music["audio_id"], speech["audio_id"]}
    assert items[speech["audio_id"]]["type"] == "speech"
    assert items[speech["audio_id"]]["elapsed"] == "00:01"
    assert items[music["audio_id"]]["elapsed"] == "00:16"
    assert [item["id"] for item in listed] == [music["audio_id"]]  # the speech job ended
    item = listed[0]
    assert item["type"] == "music"
    assert item["started"] == "2026-06-23T12:34:56Z"
    assert item["elapsed"] == "01:15"
    assert item["replyUrl"] == "https://hooks.example.test/cb"
    assert item["replyRef"] == "r-1"


@pytest.mark.anyio
async def test_scheduler_available_counts() -> None:
    """GET scheduler/available/ counts executing and free slots per account."""
    emulator, clock = manual(accounts=2, max_jobs={EMAIL: 3, "account2@emulator.test": 2})
    async with http(emulator) as raw:
        for _ in range(2):
            await create(raw, email=EMAIL)
        await create(raw, "speech", email="account2@emulator.test")
        body = (await raw.get(f"{V2}/scheduler/available/")).json()
        clock.advance(5)  # the speech job is done
        later = (await raw.get(f"{V2}/scheduler/available/")).json()
    assert len(body["executing"]) == 3
    assert body["available"] == [
        {"email": EMAIL, "maxJobs": 3, "executing": 2, "available": 1},
        {"email": "account2@emulator.test", "maxJobs": 2, "executing": 1, "available": 1},
    ]
    assert len(later["executing"]) == 2
    assert later["available"][1] == {
        "email": "account2@emulator.test",
        "maxJobs": 2,
        "executing": 0,
        "available": 2,
    }


@pytest.mark.anyio
async def test_finished_jobs_free_their_slot() -> None:
    """A job holds its slot until final; then a create that was 429 succeeds."""
    emulator, clock = manual(max_jobs=1)
    async with http(emulator) as raw:
        await create(raw)
        clock.advance(14.9)
        assert (await raw.post(f"{V2}/music/create", json={"prompt": PROMPT})).status_code == 429
        clock.advance(0.1)
        await create(raw)


@pytest.mark.anyio
async def test_scheduler_delete_frees_the_slot_but_the_job_goes_on() -> None:
    """DELETE scheduler/{id} answers 204 and frees the slot; the job still completes and bills."""
    emulator, clock = manual(max_jobs=1, credits=1000)
    async with http(emulator) as raw:
        first = await create(raw)
        assert (await raw.post(f"{V2}/music/create", json={"prompt": PROMPT})).status_code == 429
        response = await raw.delete(f"{V2}/scheduler/{first['audio_id']}")
        assert response.status_code == 204
        assert response.content == b""
        assert (await raw.get(f"{V2}/scheduler/")).json() == []
        second = await create(raw)
        clock.advance(20)
        done = await get(raw, first["audio_id"])
        media = await raw.get(done["url"])
    assert done["audio_status_name"] == "COMPLETED"
    assert media.status_code == 200
    assert second["audio_id"] != first["audio_id"]
    assert emulator.accounts[EMAIL].credits == 1000 - 2 * 40
    assert emulator.stats().creates == {EMAIL: 2}


@pytest.mark.anyio
async def test_scheduler_delete_of_a_non_running_id_is_404() -> None:
    """DELETE scheduler/{id} of a finished, released or unknown job is 404; cancel says False."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        finished = await create(raw)
        released = await create(raw)
        assert (await raw.delete(f"{V2}/scheduler/{released['audio_id']}")).status_code == 204
        clock.advance(20)
        for job_id in (
            finished["audio_id"],
            released["audio_id"],
            "user:1000-pixverse:account1@emulator.test-music:1",
        ):
            response = await raw.delete(f"{V2}/scheduler/{job_id}")
            assert response.status_code == 404
            assert isinstance(response.json()["error"], str)
        running = await create(raw)
    async with emulator.client() as client:
        assert await client.scheduler.cancel(finished["audio_id"]) is False
        assert await client.scheduler.cancel(running["audio_id"]) is True
        assert await client.scheduler.cancel(running["audio_id"]) is False
        assert await client.scheduler.list() == []


# ------------------------------------------------------------------- lists


@pytest.mark.anyio
async def test_list_is_newest_first_with_offset_paging() -> None:
    """GET music/ is newest first; limit/offset page it; next_offset = offset + limit."""
    emulator, clock = manual(max_jobs=8)
    async with http(emulator) as raw:
        ids = []
        for _ in range(5):
            ids.append((await create(raw))["audio_id"])
            clock.advance(1)
        pages = []
        for offset in (0, 2, 4, 6):
            pages.append(
                (await raw.get(f"{V2}/music/", params={"limit": 2, "offset": offset})).json()
            )
        default = (await raw.get(f"{V2}/music/")).json()
    newest_first = ids[::-1]
    assert [[i["audio_id"] for i in p["data"]] for p in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
        [],
    ]
    assert [p["next_offset"] for p in pages] == [2, 4, 6, 8]
    assert [p["has_more"] for p in pages] == [True, True, False, False]
    assert [i["audio_id"] for i in default["data"]] == newest_first
    assert default["next_offset"] == 50
    assert default["has_more"] is False


@pytest.mark.anyio
async def test_lists_show_queued_and_generating_jobs() -> None:
    """Lists include jobs still QUEUED or GENERATING, with their current status."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        await create(raw)
        clock.advance(6)
        await create(raw)
        await create(raw, "speech")
        music = (await raw.get(f"{V2}/music/")).json()["data"]
        speech = (await raw.get(f"{V2}/speech/")).json()["data"]
    assert [(i["create_mode"], i["audio_status_name"]) for i in music] == [
        ("voice", "QUEUED"),
        ("music", "QUEUED"),
        ("music", "GENERATING"),
    ]
    assert [(i["create_mode"], i["audio_status_name"]) for i in speech] == [("voice", "QUEUED")]


@pytest.mark.anyio
async def test_music_list_mixes_speech_and_the_client_filters_it() -> None:
    """GET music/ returns speech items too; the client's music.list leaves them out."""
    emulator, clock = manual(max_jobs=8)
    async with http(emulator) as raw:
        music_ids = [(await create(raw))["audio_id"] for _ in range(3)]
        speech_ids = [(await create(raw, "speech"))["audio_id"] for _ in range(2)]
        clock.advance(20)
        raw_items = (await raw.get(f"{V2}/music/")).json()["data"]
        speech_items = (await raw.get(f"{V2}/speech/")).json()["data"]
    assert {i["create_mode"] for i in raw_items} == {"music", "voice"}
    assert len(raw_items) == 5
    assert [i["audio_id"] for i in speech_items] == speech_ids[::-1]
    async with emulator.client() as client:
        tracks = [t async for t in client.music.list(page_size=2)]
        page = await client.music.list_page(limit=3)
        clips = [c async for c in client.speech.list()]
    assert [t.audio_id for t in tracks] == music_ids[::-1]
    assert all(isinstance(t, Track) and t.create_mode == "music" for t in tracks)
    assert all(t.status == AudioStatus.COMPLETED for t in tracks)
    assert [t.audio_id for t in page.items] == [music_ids[-1]]  # 2 speech, then 1 music
    assert page.next_offset == 3
    assert page.has_more is True
    assert [c.audio_id for c in clips] == speech_ids[::-1]


@pytest.mark.anyio
async def test_list_is_per_account() -> None:
    """A list with email shows only that account's jobs."""
    emulator, _ = manual(accounts=2)
    async with http(emulator) as raw:
        a = await create(raw, email=EMAIL)
        b = await create(raw, email="account2@emulator.test")
        first = (await raw.get(f"{V2}/music/", params={"email": EMAIL})).json()["data"]
        second = (await raw.get(f"{V2}/music/", params={"email": "account2@emulator.test"})).json()[
            "data"
        ]
    assert [i["audio_id"] for i in first] == [a["audio_id"]]
    assert [i["audio_id"] for i in second] == [b["audio_id"]]


# ---------------------------------------------------------- legacy MiniMax


@pytest.mark.anyio
async def test_minimax_list_pages_by_last_music_id_and_hides_moderated() -> None:
    """The v1 list is a bare array paged by lastMusicId that leaves out status-4 songs."""
    emulator, _ = manual(minimax_songs=45)
    async with http(emulator) as raw:
        seen: list[dict[str, Any]] = []
        last = None
        for _ in range(20):
            params: dict[str, Any] = {"account": "minimax-account", "limit": 10}
            if last:
                params["lastMusicId"] = last
            response = await raw.get("/v1/minimax/music/", params=params)
            assert response.status_code == 200
            page = response.json()
            assert isinstance(page, list)
            if not page:
                break
            assert len(page) <= 10
            seen.extend(page)
            last = page[-1]["musicId"]
    ids = [s["musicId"] for s in seen]
    assert len(ids) == len(set(ids))
    assert len(ids) == 45 - 45 // 7
    assert all(s["status"] != 4 for s in seen)
    assert {s["status"] for s in seen} == {0, 1, 2}
    times = [s["createTime"] for s in seen]
    assert times == sorted(times, reverse=True)
    assert all(s["statusFinal"] is (s["status"] == 2) for s in seen)


@pytest.mark.anyio
async def test_minimax_get_returns_a_moderated_song() -> None:
    """GET /v1/minimax/music/{id} returns a moderated song the list leaves out; 404 otherwise."""
    emulator, _ = manual(minimax_songs=45)
    moderated = next(s for s in emulator.state.minimax if s["status"] == 4)
    async with http(emulator) as raw:
        listed = []
        last = None
        while True:
            params = {"limit": 50, **({"lastMusicId": last} if last else {})}
            page = (await raw.get("/v1/minimax/music/", params=params)).json()
            if not page:
                break
            listed.extend(page)
            last = page[-1]["musicId"]
        response = await raw.get(f"/v1/minimax/music/{moderated['musicId']}")
        missing = await raw.get("/v1/minimax/music/user:1000-minimax:minimax-account-music:1")
    assert moderated["musicId"] not in {s["musicId"] for s in listed}
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["statusLabel"], body["statusFinal"]) == (4, "moderated", True)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found.", "code": 404}
    async with emulator.client() as client:
        songs = [s async for s in client.minimax.music.list(page_size=7)]
        song = await client.minimax.music.get(moderated["musicId"])
    assert [s.music_id for s in songs] == [s["musicId"] for s in listed]
    assert song.status == 4
    assert song.final is True


@pytest.mark.anyio
async def test_minimax_list_default_limit_and_unknown_account() -> None:
    """The v1 list defaults to 20 songs; an unknown account is 400 {error, code}."""
    emulator, _ = manual()
    async with http(emulator) as raw:
        default = (await raw.get("/v1/minimax/music/")).json()
        bad = await raw.get("/v1/minimax/music/", params={"account": "nobody"})
    assert len(default) == 20
    assert bad.status_code == 400
    assert set(bad.json()) == {"error", "code"}


# --------------------------------------------------------------- callbacks


@pytest.mark.anyio
async def test_callbacks_on_every_status_change() -> None:
    """A job with replyUrl records one callback per status change; the last is GET + replyRef."""
    emulator, clock = manual()
    hook = "https://hooks.example.test/pixverse?id=42"
    async with http(emulator) as raw:
        await create(raw)  # no replyUrl: never called back
        job = await create(raw, replyUrl=hook, replyRef="order-42")
        steps = []
        for step in (0, 2, 3, 5, 5, 100):
            clock.advance(step)
            steps.append(await emulator.pump())
        final_get = await get(raw, job["audio_id"])
    statuses = [[r.body["audio_status"] for r in records] for records in steps]
    assert statuses == [[5], [], [10], [], [1], []]
    records = [r for records in steps for r in records]
    assert all(r.url == hook for r in records)
    assert all(r.body["audio_id"] == job["audio_id"] for r in records)
    assert all(r.body["replyRef"] == "order-42" for r in records)
    assert all(r.delivered is None for r in records)  # in-process: recorded only
    assert records[-1].body == {**final_get, "replyRef": "order-42"}
    assert emulator.callbacks == records
    assert emulator.stats().callbacks == 3


@pytest.mark.anyio
async def test_callbacks_for_failed_speech() -> None:
    """A failing speech job's last callback is the FAILED GET body plus replyRef."""
    emulator, clock = manual(failure_rate=1.0)
    async with http(emulator) as raw:
        job = await create(raw, "speech", replyUrl="https://hooks.example.test/s")
        clock.advance(10)
        records = await emulator.pump()
        final_get = await get(raw, job["audio_id"], "speech")
    assert len(records) == 1  # QUEUED was never observed: the first pump sees FAILED
    assert records[0].body == final_get  # no replyRef given: none added
    assert final_get["audio_status_name"] == "FAILED"


@pytest.mark.anyio
async def test_requests_pump_callbacks() -> None:
    """Any API request records the callbacks due, without an explicit pump."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        await create(raw, replyUrl="https://hooks.example.test/x", replyRef="r")
        clock.advance(20)
        await raw.get(f"{V2}/scheduler/")
    assert [r.body["audio_status"] for r in emulator.callbacks] == [1]
    assert await emulator.pump() == []


@pytest.mark.anyio
async def test_released_job_is_not_called_back() -> None:
    """After DELETE scheduler/{id} the job is untracked: no further callbacks (API.md §6)."""
    emulator, clock = manual()
    async with http(emulator) as raw:
        job = await create(raw, replyUrl="https://hooks.example.test/x", replyRef="r")
        assert [r.body["audio_status"] for r in await emulator.pump()] == [5]
        assert (await raw.delete(f"{V2}/scheduler/{job['audio_id']}")).status_code == 204
        clock.advance(6)
        generating = await emulator.pump()
        clock.advance(20)
        completed = await emulator.pump()
        assert (await get(raw, job["audio_id"]))["audio_status_name"] == "COMPLETED"
    assert generating == []
    assert completed == []


@pytest.mark.anyio
async def test_clients_poll_at_the_emulators_pace() -> None:
    """A fast emulator's client checks status within 50 ms; a scaled one scales the default."""
    fast = Emulator.fast()
    async with fast.client() as client:
        assert client.poll == fast.client_poll
        assert client.poll.first <= 0.05
        job = await client.music.create("lofi")
        with anyio.fail_after(10):
            track = await client.music.wait(job)
        assert track.completed
        # status comes from the account's list (GETs by id only after misses)
        requests = fast.stats().requests
        checks = requests["music.list"] + requests.get("music.get", 0)
        assert checks == client._scheduler.status_requests
        assert checks >= 2  # it checked before the job was done, then again
    scaled = Emulator(speed=60)
    async with scaled.client() as client:
        assert client.poll == PollPolicy().scaled(60)
    async with scaled.client(poll=PollPolicy(first=3.0)) as client:
        assert client.poll.first == 3.0  # an explicit policy wins
