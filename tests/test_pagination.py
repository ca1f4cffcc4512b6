"""Pagination: the pure scan state, and the client's iterators over scripted pages.

A scan never trusts the server alone: it stops on ``has_more == false``, an
empty page, or an offset/cursor that does not advance, and it yields each id
once even when items shift between pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from conftest import Recorder, json_response, sample

from pixverse_audio import AsyncClient, Page
from pixverse_audio._pagination import STALL_LIMIT, CursorScan, OffsetScan, RecentIds

EMAIL = "me@example.com"
ACCOUNT = "acc@example.com"


def music_item(n: int | str) -> dict[str, Any]:
    """A music list item whose audio_id ends in ``n``."""
    return {
        "audio_id": f"user:1-pixverse:{EMAIL}-music:{n}",
        "create_mode": "music",
        "audio_status": 1,
        "audio_status_final": True,
    }


def voice_item(n: int | str) -> dict[str, Any]:
    """A speech item as the music list also returns it."""
    return {"audio_id": f"user:1-pixverse:{EMAIL}-speech:{n}", "create_mode": "voice"}


def song(n: int) -> dict[str, Any]:
    """A v1 MiniMax song with musicId ending in ``n``."""
    return {"musicId": f"user:1-minimax:{ACCOUNT}-music:{n}", "status": 2, "statusFinal": True}


def tail(audio_id: str) -> str:
    return audio_id.rsplit(":", 1)[1]


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


def offsets(recorder: Recorder) -> list[int]:
    return [int(r.url.params["offset"]) for r in recorder.requests]


async def collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def by_offset(items: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """A handler serving ``items`` (read at request time) by the request's offset and limit."""

    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        chunk = items[offset : offset + limit]
        more = offset + limit < len(items)
        return json_response(200, {"data": chunk, "next_offset": offset + limit, "has_more": more})

    return handle


def page_of(keys: list[str], *, next_offset: int | None, has_more: bool) -> Page[str]:
    return Page(items=tuple(keys), next_offset=next_offset, has_more=has_more)


# ------------------------------------------------------------------ RecentIds


def test_recent_ids_reports_repeats() -> None:
    """add() is True for a new id and False for one still remembered."""
    seen = RecentIds(4)
    assert seen.add("a") is True
    assert seen.add("b") is True
    assert seen.add("a") is False
    assert len(seen) == 2


def test_recent_ids_forgets_the_oldest_beyond_capacity() -> None:
    """Past its capacity, the oldest id is forgotten first and memory stays bounded."""
    seen = RecentIds(3)
    for key in "abcd":
        seen.add(key)
    assert len(seen) == 3
    assert seen.add("b") is False  # still remembered
    assert seen.add("a") is True  # forgotten, so new again


def test_recent_ids_capacity_is_at_least_one() -> None:
    """A zero or negative capacity still remembers the last id."""
    seen = RecentIds(0)
    assert seen.add("x") is True
    assert seen.add("x") is False
    assert len(seen) == 1


def test_recent_ids_fresh_filters_and_remembers() -> None:
    """fresh() yields unseen items in order, drops repeats within the batch, and remembers them."""
    seen = RecentIds(10)
    seen.add(2)
    assert list(seen.fresh([1, 2, 3, 1, 4], key=lambda n: n)) == [1, 3, 4]
    assert list(seen.fresh([4, 5], key=lambda n: n)) == [5]


# ----------------------------------------------------------------- OffsetScan


def test_offset_scan_follows_next_offset_while_has_more() -> None:
    """A page with has_more moves the offset to next_offset and keeps the scan going."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str)
    assert scan.take(page_of(["a", "b"], next_offset=2, has_more=True), 2) == ["a", "b"]
    assert (scan.offset, scan.done) == (2, False)
    assert scan.take(page_of(["c"], next_offset=4, has_more=False), 1) == ["c"]
    assert scan.done is True
    assert scan.offset == 2


def test_offset_scan_stops_on_has_more_false_despite_next_offset() -> None:
    """has_more false ends the scan even when next_offset points further (the doc sample)."""
    scan: OffsetScan[str] = OffsetScan(page_size=50, key=str)
    scan.take(page_of(["a"], next_offset=50, has_more=False), 1)
    assert scan.done is True
    assert scan.offset == 0


def test_offset_scan_stops_on_an_empty_page() -> None:
    """A page with no items ends the scan even when has_more says otherwise."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str)
    assert scan.take(page_of([], next_offset=2, has_more=True), 0) == []
    assert scan.done is True


@pytest.mark.parametrize("next_offset", [4, 3, 0, -5])
def test_offset_scan_stops_when_the_offset_does_not_advance(next_offset: int) -> None:
    """A next_offset equal to or behind the current offset ends the scan."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str, offset=4)
    scan.take(page_of(["a", "b"], next_offset=next_offset, has_more=True), 2)
    assert scan.done is True
    assert scan.offset == 4


def test_offset_scan_falls_back_to_offset_plus_received() -> None:
    """Without next_offset, the next offset is this offset plus the items received."""
    scan: OffsetScan[str] = OffsetScan(page_size=5, key=str, offset=10)
    scan.take(page_of(["a", "b"], next_offset=None, has_more=True), 3)
    assert (scan.offset, scan.done) == (13, False)


def test_offset_scan_drops_items_seen_on_an_earlier_page() -> None:
    """An item shifted onto the next page is yielded only once."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str)
    scan.take(page_of(["a", "b"], next_offset=2, has_more=True), 2)
    assert scan.take(page_of(["b", "c"], next_offset=4, has_more=True), 2) == ["c"]
    assert scan.done is False


def test_offset_scan_stops_after_stall_limit_pages_of_repeats() -> None:
    """STALL_LIMIT pages in a row made only of already-yielded items end the scan."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str)
    scan.take(page_of(["a", "b"], next_offset=2, has_more=True), 2)
    for step in range(1, STALL_LIMIT + 1):
        assert scan.take(page_of(["a", "b"], next_offset=2 + 2 * step, has_more=True), 2) == []
        assert scan.done is (step == STALL_LIMIT)


def test_offset_scan_survives_one_page_of_repeats() -> None:
    """One all-repeat page (a page's worth of new jobs pushed the list down) is not the end."""
    scan: OffsetScan[str] = OffsetScan(page_size=2, key=str)
    scan.take(page_of(["a", "b"], next_offset=2, has_more=True), 2)
    assert scan.take(page_of(["a", "b"], next_offset=4, has_more=True), 2) == []
    assert scan.done is False
    assert scan.take(page_of(["c", "d"], next_offset=6, has_more=False), 2) == ["c", "d"]
    assert scan.done is True


def test_offset_scan_continues_past_a_fully_filtered_page() -> None:
    """A page whose items were all filtered out (received > 0) is not the end."""
    scan: OffsetScan[str] = OffsetScan(page_size=3, key=str)
    assert scan.take(page_of([], next_offset=3, has_more=True), 3) == []
    assert (scan.offset, scan.done) == (3, False)


# ----------------------------------------------------------------- CursorScan


def test_cursor_scan_moves_to_the_last_key_of_a_full_page() -> None:
    """After a full page, the cursor is the last item's key and the scan goes on."""
    scan: CursorScan[str] = CursorScan(page_size=3, key=str)
    assert scan.cursor is None
    assert scan.take(["a", "b", "c"]) == ["a", "b", "c"]
    assert (scan.cursor, scan.done) == ("c", False)


def test_cursor_scan_drops_a_repeated_first_item() -> None:
    """An inclusive cursor (the last item repeated first) is not yielded twice."""
    scan: CursorScan[str] = CursorScan(page_size=3, key=str)
    scan.take(["a", "b", "c"])
    assert scan.take(["c", "d", "e"]) == ["d", "e"]
    assert (scan.cursor, scan.done) == ("e", False)


def test_cursor_scan_stops_on_empty_page() -> None:
    """An empty page ends the scan."""
    scan: CursorScan[str] = CursorScan(page_size=3, key=str)
    assert scan.take([]) == []
    assert scan.done is True


def test_cursor_scan_stops_on_short_page() -> None:
    """A page shorter than page_size is the last one."""
    scan: CursorScan[str] = CursorScan(page_size=3, key=str)
    assert scan.take(["a", "b"]) == ["a", "b"]
    assert scan.done is True


def test_cursor_scan_stops_on_a_repeated_cursor() -> None:
    """A page ending on the current cursor, or on any earlier cursor, ends the scan."""
    same: CursorScan[str] = CursorScan(page_size=2, key=str)
    same.take(["a", "b"])
    same.take(["a", "b"])
    assert same.done is True
    cycle: CursorScan[str] = CursorScan(page_size=2, key=str)
    cycle.take(["a", "b"])
    cycle.take(["c", "d"])
    assert cycle.take(["e", "b"]) == ["e"]
    assert cycle.done is True


# ------------------------------------------------------- v2 offset iterators


@pytest.mark.anyio
async def test_music_list_walks_three_pages(make_client: Callable[..., AsyncClient]) -> None:
    """Seven items at page_size 3 take three requests at offsets 0, 3, 6, then has_more ends it."""
    items = [music_item(n) for n in range(7)]
    recorder = Recorder(default=by_offset(items))
    client = make_client(recorder)
    tracks = await collect(client.music.list(email=EMAIL, page_size=3))
    assert [tail(t.audio_id) for t in tracks] == [str(n) for n in range(7)]
    assert offsets(recorder) == [0, 3, 6]
    assert [query(r) for r in recorder.requests] == [
        [("email", EMAIL), ("limit", "3"), ("offset", str(o))] for o in (0, 3, 6)
    ]
    assert all(r.url.path == "/v2/pixverse/music/" for r in recorder.requests)


@pytest.mark.anyio
async def test_empty_page_with_has_more_ends_the_scan(
    client: AsyncClient, recorder: Recorder
) -> None:
    """An empty data list ends iteration even though has_more is true."""
    recorder.then(
        json_response(200, {"data": [music_item(0)], "next_offset": 1, "has_more": True}),
        json_response(200, {"data": [], "next_offset": 2, "has_more": True}),
    )
    tracks = await collect(client.music.list(page_size=1))
    assert [tail(t.audio_id) for t in tracks] == ["0"]
    assert offsets(recorder) == [0, 1]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("second_next", "expected_requests"), [(2, 2), (1, 2), (0, 2)], ids=["same", "back", "zero"]
)
async def test_non_advancing_next_offset_ends_the_scan(
    client: AsyncClient, recorder: Recorder, second_next: int, expected_requests: int
) -> None:
    """A next_offset that repeats or goes backwards stops the scan instead of looping."""
    recorder.then(
        json_response(
            200, {"data": [music_item(0), music_item(1)], "next_offset": 2, "has_more": True}
        ),
        json_response(
            200,
            {"data": [music_item(2), music_item(3)], "next_offset": second_next, "has_more": True},
        ),
    )
    tracks = await collect(client.music.list(page_size=2))
    assert [tail(t.audio_id) for t in tracks] == ["0", "1", "2", "3"]
    assert len(recorder.requests) == expected_requests


@pytest.mark.anyio
async def test_first_page_pointing_at_itself_makes_one_request(
    client: AsyncClient, recorder: Recorder
) -> None:
    """next_offset 0 on the first page (offset 0) ends the scan after one request."""
    recorder.then(json_response(200, {"data": [music_item(0)], "next_offset": 0, "has_more": True}))
    tracks = await collect(client.music.list(page_size=1))
    assert len(tracks) == 1
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_items_shifted_between_pages_are_yielded_once(
    make_client: Callable[..., AsyncClient],
) -> None:
    """A job created between page fetches shifts items back; each audio_id is still yielded once."""
    items = [music_item(n) for n in range(6)]
    serve = by_offset(items)

    def handle(request: httpx.Request) -> httpx.Response:
        response = serve(request)
        if request.url.params["offset"] == "0":
            items.insert(0, music_item("new"))  # a new job lands at the front
        return response

    recorder = Recorder(default=handle)
    client = make_client(recorder)
    ids = [tail(t.audio_id) for t in await collect(client.music.list(page_size=3))]
    assert ids == ["0", "1", "2", "3", "4", "5"]
    assert len(ids) == len(set(ids))
    assert offsets(recorder) == [0, 3, 6]


@pytest.mark.anyio
async def test_doc_sample_makes_exactly_one_request(
    client: AsyncClient, recorder: Recorder
) -> None:
    """The doc's ``"next_offset": 50, "has_more": false`` page is the only one fetched."""
    recorder.default = json_response(200, sample("music_list_200"))
    tracks = await collect(client.music.list())
    assert len(tracks) == 1
    assert len(recorder.requests) == 1
    assert query(recorder.requests[0]) == [("limit", "50"), ("offset", "0")]


@pytest.mark.anyio
async def test_speech_doc_sample_makes_exactly_one_request(
    client: AsyncClient, recorder: Recorder
) -> None:
    """The speech list sample also ends after one request, yielding its one clip."""
    recorder.default = json_response(200, sample("speech_list_200"))
    clips = await collect(client.speech.list())
    assert [c.text for c in clips] == ["Use API dot net."]
    assert len(recorder.requests) == 1
    assert recorder.requests[0].url.path == "/v2/pixverse/speech/"


@pytest.mark.anyio
async def test_music_list_skips_speech_but_follows_next_offset(
    client: AsyncClient, recorder: Recorder
) -> None:
    """Voice items are filtered out, yet a page of only voice items does not end the scan."""
    no_mode = {"audio_id": f"user:1-pixverse:{EMAIL}-speech:9"}  # no create_mode: id decides
    recorder.then(
        json_response(
            200,
            {"data": [music_item(0), voice_item(1), no_mode], "next_offset": 3, "has_more": True},
        ),
        json_response(
            200,
            {
                "data": [voice_item(2), voice_item(3), voice_item(4)],
                "next_offset": 6,
                "has_more": True,
            },
        ),
        json_response(200, {"data": [music_item(5)], "next_offset": 9, "has_more": False}),
    )
    tracks = await collect(client.music.list(page_size=3))
    assert [tail(t.audio_id) for t in tracks] == ["0", "5"]
    assert all(t.create_mode == "music" for t in tracks)
    assert offsets(recorder) == [0, 3, 6]


@pytest.mark.anyio
async def test_missing_next_offset_falls_back_to_offset_plus_received(
    client: AsyncClient, recorder: Recorder
) -> None:
    """Without next_offset, the next request starts after every item received (filtered too)."""
    recorder.then(
        json_response(
            200, {"data": [music_item(0), voice_item(1), music_item(2)], "has_more": True}
        ),
        json_response(200, {"data": [music_item(3)], "has_more": False}),
    )
    tracks = await collect(client.music.list(page_size=3))
    assert [tail(t.audio_id) for t in tracks] == ["0", "2", "3"]
    assert offsets(recorder) == [0, 3]


@pytest.mark.anyio
async def test_list_page_returns_one_page_with_its_offset(
    client: AsyncClient, recorder: Recorder
) -> None:
    """list_page fetches exactly the requested page and reports its offset and has_more."""
    recorder.then(
        json_response(
            200, {"data": [music_item(4), voice_item(5)], "next_offset": 6, "has_more": True}
        )
    )
    page = await client.music.list_page(email=EMAIL, limit=2, offset=4)
    assert [tail(t.audio_id) for t in page.items] == ["4"]
    assert (page.offset, page.next_offset, page.has_more) == (4, 6, True)
    assert query(recorder.requests[0]) == [("email", EMAIL), ("limit", "2"), ("offset", "4")]


@pytest.mark.anyio
async def test_email_query_value_is_encoded(client: AsyncClient, recorder: Recorder) -> None:
    """A '+' in the email is sent as %2B, so the server does not read it as a space."""
    recorder.then(json_response(200, {"data": [], "has_more": False}))
    await client.music.list_page(email="me+tag@example.com")
    (request,) = recorder.requests
    assert b"email=me%2Btag%40example.com" in request.url.raw_path
    assert request.url.params["email"] == "me+tag@example.com"


# ------------------------------------------------------------------- voices


@pytest.mark.anyio
async def test_voices_accept_a_bare_list(client: AsyncClient, recorder: Recorder) -> None:
    """A bare JSON array of voices shorter than the page size is the last page."""
    recorder.then(json_response(200, [{"voice_id": "v1"}, {"voice_id": "v2", "gender": "f"}]))
    voices = await collect(client.speech.voices(model="eleven-v3", page_size=3))
    assert [v.voice_id for v in voices] == ["v1", "v2"]
    assert voices[1].gender == "f"
    assert len(recorder.requests) == 1
    assert query(recorder.requests[0]) == [("model", "eleven-v3"), ("limit", "3"), ("offset", "0")]


@pytest.mark.anyio
async def test_full_bare_list_of_voices_asks_for_more(
    client: AsyncClient, recorder: Recorder
) -> None:
    """A bare array as long as the page size may have a successor: the next offset is read."""
    recorder.then(
        json_response(200, [{"voice_id": "v1"}, {"voice_id": "v2"}]),
        json_response(200, [{"voice_id": "v3"}]),
    )
    voices = await collect(client.speech.voices(page_size=2))
    assert [v.voice_id for v in voices] == ["v1", "v2", "v3"]
    assert [query(r)[-1] for r in recorder.requests] == [("offset", "0"), ("offset", "2")]


@pytest.mark.anyio
async def test_voices_accept_a_data_envelope_and_page(
    client: AsyncClient, recorder: Recorder
) -> None:
    """A ``{"data": [...]}`` envelope pages by next_offset like the other lists."""
    recorder.then(
        json_response(
            200,
            {"data": [{"voice_id": "v1"}, {"voice_id": "v2"}], "next_offset": 2, "has_more": True},
        ),
        json_response(200, {"data": [{"voice_id": "v3"}], "next_offset": 4, "has_more": False}),
    )
    voices = await collect(client.speech.voices(language="en", page_size=2))
    assert [v.voice_id for v in voices] == ["v1", "v2", "v3"]
    assert [query(r) for r in recorder.requests] == [
        [("language", "en"), ("limit", "2"), ("offset", "0")],
        [("language", "en"), ("limit", "2"), ("offset", "2")],
    ]
    assert all(r.url.path == "/v2/pixverse/speech/voices" for r in recorder.requests)


# ----------------------------------------------------------- v1 MiniMax cursor


def minimax_server(
    songs: list[dict[str, Any]], *, inclusive: bool
) -> Callable[[httpx.Request], httpx.Response]:
    """Serve ``songs`` after ``lastMusicId`` (including it when ``inclusive``)."""

    def handle(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        cursor = request.url.params.get("lastMusicId")
        start = 0
        if cursor is not None:
            index = next(i for i, s in enumerate(songs) if s["musicId"] == cursor)
            start = index if inclusive else index + 1
        return json_response(200, songs[start : start + limit])

    return handle


@pytest.mark.anyio
async def test_minimax_cursor_is_the_last_music_id(
    make_client: Callable[..., AsyncClient],
) -> None:
    """Each next request sends lastMusicId = the previous page's last musicId; a short page ends."""
    songs = [song(n) for n in range(7)]
    recorder = Recorder(default=minimax_server(songs, inclusive=False))
    client = make_client(recorder)
    found = await collect(client.minimax.music.list(account=ACCOUNT, page_size=3))
    assert [s.music_id for s in found] == [s["musicId"] for s in songs]
    assert [query(r) for r in recorder.requests] == [
        [("account", ACCOUNT), ("limit", "3")],
        [("account", ACCOUNT), ("limit", "3"), ("lastMusicId", songs[2]["musicId"])],
        [("account", ACCOUNT), ("limit", "3"), ("lastMusicId", songs[5]["musicId"])],
    ]
    assert all(r.url.path == "/v1/minimax/music/" for r in recorder.requests)


@pytest.mark.anyio
async def test_minimax_inclusive_cursor_drops_the_repeated_first_item(
    make_client: Callable[..., AsyncClient],
) -> None:
    """A server that repeats the cursor item first still yields every song exactly once."""
    songs = [song(n) for n in range(6)]
    recorder = Recorder(default=minimax_server(songs, inclusive=True))
    client = make_client(recorder)
    found = [s.music_id for s in await collect(client.minimax.music.list(page_size=3))]
    assert found == [s["musicId"] for s in songs]
    assert len(found) == len(set(found))
    assert [r.url.params.get("lastMusicId") for r in recorder.requests] == [
        None,
        songs[2]["musicId"],
        songs[4]["musicId"],
    ]


@pytest.mark.anyio
async def test_minimax_stops_on_empty_page(client: AsyncClient, recorder: Recorder) -> None:
    """A full page followed by an empty one ends the scan after two requests."""
    recorder.then(json_response(200, [song(0), song(1)]), json_response(200, []))
    found = await collect(client.minimax.music.list(page_size=2))
    assert len(found) == 2
    assert len(recorder.requests) == 2
    assert query(recorder.requests[1]) == [("limit", "2"), ("lastMusicId", song(1)["musicId"])]


@pytest.mark.anyio
async def test_minimax_stops_on_short_page(client: AsyncClient, recorder: Recorder) -> None:
    """A page shorter than page_size is the last; no further request is made."""
    recorder.then(json_response(200, [song(0), song(1)]))
    found = await collect(client.minimax.music.list(account=ACCOUNT, page_size=3))
    assert len(found) == 2
    assert [query(r) for r in recorder.requests] == [[("account", ACCOUNT), ("limit", "3")]]


@pytest.mark.anyio
async def test_minimax_stops_on_repeated_cursor(client: AsyncClient, recorder: Recorder) -> None:
    """A server that ignores lastMusicId (same page again) ends the scan, yielding no duplicates."""
    recorder.default = json_response(200, [song(0), song(1)])
    found = await collect(client.minimax.music.list(page_size=2))
    assert [s.music_id for s in found] == [song(0)["musicId"], song(1)["musicId"]]
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_minimax_list_page_sends_the_cursor(client: AsyncClient, recorder: Recorder) -> None:
    """list_page passes account, limit and lastMusicId in that order and parses the bare array."""
    recorder.then(json_response(200, sample("minimax_music_list_200")))
    cursor = song(9)["musicId"]
    found = await client.minimax.music.list_page(account=ACCOUNT, limit=5, last_music_id=cursor)
    assert [s.style for s in found] == ["Urban", "Popular"]
    assert query(recorder.requests[0]) == [
        ("account", ACCOUNT),
        ("limit", "5"),
        ("lastMusicId", cursor),
    ]
