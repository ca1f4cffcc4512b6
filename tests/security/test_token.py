"""The token reaches the API host only, and never shows up in what the suite prints.

tests/test_security.py checks reprs, errors, logs, the API host of each call
and redirects to another host; tests/features/test_download.py checks media
hosts. Here: a caller's ``http_client`` with its own base URL, headers, auth
and query parameters; redirects that downgrade to http or change the port;
media URLs on the API host itself; two clients sharing one ``http_client``;
and the suite-wide scan in tests/conftest.py, checked with pytester.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from xml.etree import ElementTree

import anyio
import httpx
import pytest
from conftest import NO_WAIT, TOKEN, TOKEN_HEAD, Recorder, json_response, sample

from pixverse_audio import APIError, AsyncClient, Track, parse_callback

pytest_plugins = ["pytester"]

API = "https://api.useapi.net"
MUSIC_ID = "user:123-pixverse:me@example.com-music:11223344"
MP3 = b"\xff\xf3" + b"\x00" * 998


# Three accounts (24 slots): the clients below learn them before their first
# create, and their concurrent creates never wait for a slot.
AVAILABLE = {
    "executing": [],
    "available": [
        {"email": email, "maxJobs": 8, "executing": 0, "available": 8}
        for email in ("me@example.com", "two@example.com", "three@example.com")
    ],
}


def ok(request: httpx.Request) -> httpx.Response:
    """A plausible answer for every call used here."""
    path = request.url.path
    if request.method == "DELETE":
        return httpx.Response(204)
    if path.endswith("/scheduler/available"):
        return json_response(200, AVAILABLE)
    if path.endswith("/files/"):
        return json_response(200, {"path": "upload/x.png", "url": "https://media.pixverse.ai/x"})
    if path.endswith("/create"):
        return json_response(200, sample("music_create_200"))
    if path.endswith("/music/"):
        return json_response(200, sample("music_list_200"))
    if path.endswith(".mp3"):
        return httpx.Response(200, content=MP3, headers={"Content-Length": str(len(MP3))})
    return json_response(200, sample("music_get_200"))


CALLS: dict[str, Callable[[AsyncClient], Awaitable[object]]] = {
    "get": lambda c: c.music.get(MUSIC_ID),
    "create": lambda c: c.music.create("rain"),
    "list_page": lambda c: c.music.list_page(email="me@example.com"),
    "cancel": lambda c: c.scheduler.cancel(MUSIC_ID),
    "upload": lambda c: c.files.upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16),
    "speech": lambda c: c.speech.create("Hello", "voice-1"),
}


@pytest.mark.anyio
async def test_a_callers_http_client_settings_cannot_redirect_the_token() -> None:
    """A caller's http_client with base_url evil.example, headers, auth and params: calls go to API.

    Its base URL, auth and default query parameters are never used, and the
    Authorization sent is the client's own token, not the caller's header;
    the client's own read of its accounts (before its first create) too.
    """
    recorder = Recorder(default=ok)
    http = httpx.AsyncClient(
        base_url="https://evil.example/steal/",
        headers={"Authorization": "Bearer the-callers-other-secret", "X-Trace": "1"},
        auth=("user", "password"),
        params={"forward_to": "evil.example"},
        transport=httpx.MockTransport(recorder),
        follow_redirects=True,
    )
    async with http, AsyncClient(TOKEN, http_client=http, retry=NO_WAIT) as client:
        for call in CALLS.values():
            await call(client)
    assert len(recorder.requests) == len(CALLS) + 1  # + GET scheduler/available, once
    assert [r.url.path for r in recorder.requests].count("/v2/pixverse/scheduler/available") == 1
    for request in recorder.requests:
        assert (request.url.scheme, request.url.host) == ("https", "api.useapi.net")
        assert request.url.path.startswith("/v2/pixverse/")
        assert "forward_to" not in request.url.params
        assert request.headers.get_list("authorization") == [f"Bearer {TOKEN}"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "location",
    [
        "http://api.useapi.net/v2/pixverse/music/x",  # a downgrade: the token in clear text
        "https://api.useapi.net:8443/v2/pixverse/music/x",  # another port: another server
        "https://api.useapi.net.evil.example/v2/pixverse/music/x",
        "//evil.example/v2/pixverse/music/x",  # scheme-relative
    ],
)
async def test_api_redirects_are_never_followed(location: str) -> None:
    """An API redirect (even to the same host over http, or another port) is an APIError."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": location})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    async with http, AsyncClient(TOKEN, http_client=http, retry=NO_WAIT) as client:
        with pytest.raises(APIError) as caught:
            await client.music.get(MUSIC_ID)
    assert caught.value.status_code == 307
    assert [str(r.url) for r in seen] == [f"{API}/v2/pixverse/music/{MUSIC_ID}"]
    assert TOKEN_HEAD not in str(caught.value)


def track_at(url: str) -> Track:
    """A COMPLETED track whose audio is at ``url``."""
    body = dict(sample("music_get_200"))
    body.update(url=url, audio_status=1, audio_status_final=True, file_size=len(MP3), name="t")
    track = parse_callback(body)
    assert isinstance(track, Track)
    return track


MEDIA_URLS = {
    "media host": "https://media.pixverse.ai/pixverse/audio/music/1.mp3",
    "the API host itself": f"{API}/pixverse/audio/music/1.mp3",
    "redirect to the API host": "https://media.pixverse.ai/moved/1.mp3",
}


@pytest.mark.anyio
@pytest.mark.parametrize("where", list(MEDIA_URLS))
async def test_media_requests_never_carry_the_token(where: str, tmp_path: Path) -> None:
    """Downloads and streams send no Authorization, even when the audio is on the API host."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/moved/1.mp3":
            return httpx.Response(302, headers={"Location": f"{API}/pixverse/audio/music/1.mp3"})
        return ok(request)

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(handler), headers={"X-Trace": "1"}, auth=("u", "p")
    )
    track = track_at(MEDIA_URLS[where])
    async with http, AsyncClient(TOKEN, http_client=http, retry=NO_WAIT) as client:
        path = await client.download(track, tmp_path)
        async with client.stream_audio(track) as audio:
            streamed = b"".join([chunk async for chunk in audio])
    assert path.read_bytes() == streamed == MP3
    assert seen
    for request in seen:
        assert "authorization" not in request.headers, request.url
        assert TOKEN_HEAD not in str(request.url)


@pytest.mark.anyio
async def test_two_clients_sharing_one_http_client_keep_their_own_tokens() -> None:
    """Two clients (other tokens, other base URLs) on one http_client, interleaved: no mix-up."""
    other_token = "second-token-0a1b2c3d4e5f"
    recorder = Recorder(default=ok)
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    first = AsyncClient(TOKEN, base_url="https://first.example", http_client=http, retry=NO_WAIT)
    second = AsyncClient(
        other_token, base_url="https://second.example/api", http_client=http, retry=NO_WAIT
    )
    async with http, first, second, anyio.create_task_group() as group:
        for _ in range(10):
            for client in (first, second):
                for call in CALLS.values():
                    group.start_soon(call, client)
    # + one GET scheduler/available per client, before its first create
    assert len(recorder.requests) == 2 * 10 * len(CALLS) + 2
    available = [r for r in recorder.requests if r.url.path.endswith("/scheduler/available")]
    assert sorted(r.url.host for r in available) == ["first.example", "second.example"]
    tokens = {"first.example": TOKEN, "second.example": other_token}
    for request in recorder.requests:
        assert request.headers.get_list("authorization") == [f"Bearer {tokens[request.url.host]}"]
    second_paths = [r.url.path for r in recorder.requests if r.url.host == "second.example"]
    assert all(p.startswith("/api/v2/pixverse/") for p in second_paths)


# ---------------------------------------------------------------- the scan

LEAKY_TESTS = f"""
import logging
import sys

import pytest

TOKEN = {TOKEN!r}


def test_prints_the_token():
    print("Authorization: Bearer " + TOKEN)


def test_writes_the_token_to_stderr():
    sys.stderr.write(TOKEN)


def test_logs_the_token():
    logging.getLogger("pixverse_audio").warning("sending %s", TOKEN)


def test_fails_with_the_token_in_the_message():
    assert TOKEN == "something else"


def test_prints_only_the_last_four():
    print("token ..." + TOKEN[-4:])
"""


def test_the_suite_wide_token_scan_fails_leaky_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conftest hook fails tests whose stdout, stderr, logs or failure text hold the token.

    The inner run is a separate process that loads tests/conftest.py as a
    plugin. Its printed output is kept short (no tracebacks, no captured
    output), so the token does not reach this test's own output, which the
    same hook scans; the verdicts are read from its JUnit XML.
    """
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    tests_dir = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    result = pytester.runpytest_subprocess(
        "-p", "conftest", "-p", "no:cacheprovider",
        "--tb=no", "--show-capture=no", "-q", "--junitxml=leaky.xml",
    )  # fmt: skip
    result.assert_outcomes(failed=4, passed=1)  # no errors: teardown is not blamed as well
    assert TOKEN_HEAD not in result.stdout.str() + result.stderr.str()
    xml = (pytester.path / "leaky.xml").read_text(encoding="utf-8")
    assert TOKEN_HEAD not in xml
    verdicts = {
        case.get("name"): case.find("failure")
        for case in ElementTree.fromstring(xml).iter("testcase")  # noqa: S314 - pytest's own file
    }
    assert verdicts.pop("test_prints_only_the_last_four") is None
    where = {
        "test_prints_the_token": "Captured stdout call",
        "test_writes_the_token_to_stderr": "Captured stderr call",
        "test_logs_the_token": "Captured log call",
        "test_fails_with_the_token_in_the_message": "the failure text",
    }
    assert set(verdicts) == set(where)
    for name, failure in verdicts.items():
        assert failure is not None, name
        text = f"{failure.get('message')}\n{failure.text}"
        assert f"the API token appeared in {where[name]}" in text, text
