"""Shared fixtures: both async backends, a recording mock transport, sample payloads."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixverse_audio import AsyncClient, RetryPolicy

SAMPLES = Path(__file__).parent / "samples"
TOKEN = "test-token-7f3a9c1e5b2d4680"
ACCOUNT = "me@example.com"  # the one account of mock clients (max_jobs given: nothing to read)
NO_WAIT = RetryPolicy(backoff_base=0.0, backoff_cap=0.0, retry_after_cap=0.0, busy_delay=(0, 0))


def sample(name: str) -> Any:
    """The decoded JSON of ``tests/samples/<name>.json``."""
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def sample_bytes(name: str) -> bytes:
    """The raw bytes of ``tests/samples/<name>.json``."""
    return (SAMPLES / f"{name}.json").read_bytes()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on asyncio and on trio."""
    return str(request.param)


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records every request and plays a script.

    Scripted answers (responses, exceptions to raise, or callables) are used in
    order; when the script is empty, ``default`` answers.
    """

    def __init__(self, default: Answer | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.script: deque[Answer] = deque()
        self.default: Answer = default if default is not None else httpx.Response(500)

    def then(self, *answers: Answer) -> Recorder:
        """Queue ``answers`` to be played in order."""
        self.script.extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.script.popleft() if self.script else self.default
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def paths(self) -> list[str]:
        """The raw path (with query) of every request, in order."""
        return [r.url.raw_path.decode() for r in self.requests]


def json_response(
    status: int, body: Any, headers: Iterable[tuple[str, str]] = ()
) -> httpx.Response:
    """A response with a JSON body."""
    return httpx.Response(status, json=body, headers=list(headers))


@pytest.fixture(name="recorder")
def _recorder() -> Recorder:
    return Recorder()


@pytest.fixture(name="make_client")
async def _make_client() -> AsyncIterator[Callable[..., AsyncClient]]:
    """A factory of clients sending through a `Recorder`; all are closed afterwards."""
    made: list[tuple[AsyncClient, httpx.AsyncClient]] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        kwargs.setdefault("retry", NO_WAIT)
        kwargs.setdefault("max_jobs", {ACCOUNT: 8})
        client = AsyncClient(kwargs.pop("token", TOKEN), http_client=http, **kwargs)
        made.append((client, http))
        return client

    yield make
    for client, http in made:
        await client.aclose()
        await http.aclose()


@pytest.fixture(name="client")
def _client(make_client: Callable[..., AsyncClient], recorder: Recorder) -> AsyncClient:
    """A client whose requests go to the ``recorder`` fixture."""
    return make_client(recorder)


# ------------------------------------------------------------------ token scan
# Every test of the suite is also a check that the API token never shows up in
# what a run prints: captured stdout and stderr, captured logs and failure text.

TOKEN_HEAD = TOKEN[:-4]  # showing at most the last four characters is allowed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fail a test whose output, logs or failure text contain the test token (then redacted).

    Each phase (setup, call, teardown) is blamed only for its own captured
    sections; every report shows the token masked.
    """
    report = yield
    masked = f"<token …{TOKEN[-4:]}>"
    places = [
        name
        for name, content in report.sections
        if name.endswith(f" {report.when}") and TOKEN_HEAD in content
    ]
    if TOKEN_HEAD in report.longreprtext:
        places.append("the failure text")
    if any(TOKEN_HEAD in content for _, content in report.sections):
        report.sections = [(n, c.replace(TOKEN_HEAD, masked)) for n, c in report.sections]
    if places:
        original = report.longreprtext.replace(TOKEN_HEAD, masked)
        report.outcome = "failed"
        report.longrepr = (
            f"the API token appeared in {', '.join(places)} (shown here as {masked})\n{original}"
        )
        if hasattr(report, "wasxfail"):
            del report.wasxfail
    return report
