"""The public pytest plugin ``pixverse_audio.testing`` and `emulated_client`."""

from __future__ import annotations

import pytest

from pixverse_audio import AsyncClient, Job
from pixverse_audio.emulator import Emulator
from pixverse_audio.testing import emulated_client

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

USER_TESTS = """
import pytest

from pixverse_audio import AsyncClient
from pixverse_audio.emulator import Emulator

pytest_plugins = ["pixverse_audio.testing"]


@pytest.mark.anyio
async def test_default_fixtures(pixverse_client, pixverse_emulator, anyio_backend):
    assert isinstance(pixverse_client, AsyncClient)
    assert isinstance(pixverse_emulator, Emulator)
    job = await pixverse_client.music.create("lofi")
    assert pixverse_emulator.stats().creates == {"account1@emulator.test": 1}
    assert (await pixverse_client.music.get(job.audio_id)).audio_id == job.audio_id


@pytest.mark.anyio
@pytest.mark.pixverse_emulator(accounts=2, max_jobs=1)
async def test_marker_configures_the_emulator(pixverse_client, pixverse_emulator):
    assert len(pixverse_emulator.accounts) == 2
    assert {a.max_jobs for a in pixverse_emulator.accounts.values()} == {1}
    first = await pixverse_client.music.create("one")
    second = await pixverse_client.music.create("two")
    assert {first.email, second.email} == set(pixverse_emulator.accounts)


@pytest.mark.anyio
async def test_each_test_gets_a_fresh_emulator(pixverse_emulator):
    assert pixverse_emulator.stats().jobs == 0
    assert len(pixverse_emulator.accounts) == 1
"""

WRONG_TEST = """
import pytest


@pytest.mark.anyio
@pytest.mark.pixverse_emulator(credits=10)
async def test_out_of_credits(pixverse_client):
    await pixverse_client.music.create("lofi")
"""


def test_plugin_fixtures_and_marker(pytester: pytest.Pytester) -> None:
    """A user test module declaring the plugin gets working fixtures and marker on both backends."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=USER_TESTS)
    # Declared in a test module, the plugin loads after the module's decorators ran, so
    # pytest warns about the marker once at import (register it in conftest.py to avoid that).
    result = pytester.runpytest_inprocess(
        "--assert=plain",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        "-W",
        "ignore::pytest.PytestUnknownMarkWarning",
    )
    result.assert_outcomes(passed=6)


def test_plugin_from_conftest_registers_the_marker(pytester: pytest.Pytester) -> None:
    """Declared in conftest.py, the plugin registers its marker and user failures are reported."""
    pytester.makeconftest(CONFTEST + '\npytest_plugins = ["pixverse_audio.testing"]\n')
    pytester.makepyfile(
        test_user=USER_TESTS.replace('pytest_plugins = ["pixverse_audio.testing"]', ""),
        test_wrong=WRONG_TEST,
    )
    result = pytester.runpytest_inprocess(
        "--assert=plain", "-p", "no:cacheprovider", "-W", "error", "--strict-markers"
    )
    result.assert_outcomes(passed=6, failed=2)
    result.stdout.fnmatch_lines(["*InsufficientCreditsError*"])


@pytest.mark.anyio
async def test_emulated_client_default() -> None:
    """emulated_client() yields a working client on a fresh fast emulator, closed afterwards."""
    async with emulated_client() as client:
        assert isinstance(client, AsyncClient)
        job = await client.music.create("lofi beats")
        assert isinstance(job, Job)
        assert job.email == "account1@emulator.test"
    with pytest.raises(Exception, match="closed"):
        await client.music.get(job.audio_id)


@pytest.mark.anyio
async def test_emulated_client_with_an_emulator() -> None:
    """emulated_client(emulator, **kwargs) talks to that emulator with those client settings."""
    emulator = Emulator.fast(accounts=2)
    async with emulated_client(emulator, timeout=3.5) as client:
        job = await client.music.create("lofi beats", email="account2@emulator.test")
        assert client._session.timeout.read == 3.5
    assert list(emulator.jobs) == [job.audio_id]
    assert emulator.stats().creates == {"account2@emulator.test": 1}
