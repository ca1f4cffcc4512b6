"""conftest.py for testing your code: the plugin's fixtures, on asyncio and trio."""

from collections.abc import AsyncIterator

import pytest

from pixverse_audio import AsyncClient, PollPolicy
from pixverse_audio.emulator import Emulator

pytest_plugins = ["pixverse_audio.testing"]  # in the top-level conftest.py


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # run every async test on both backends


@pytest.fixture
async def pixverse_client(pixverse_emulator: Emulator) -> AsyncIterator[AsyncClient]:
    """The plugin's client, polling as often as the fast emulator deserves."""
    async with pixverse_emulator.client(poll=PollPolicy(first=0.05, cap=0.2)) as client:
        yield client
