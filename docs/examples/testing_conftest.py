"""conftest.py for testing your code: the plugin's fixtures, on asyncio and trio."""

import pytest

pytest_plugins = ["pixverse_audio.testing"]  # in the top-level conftest.py


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # run every async test on both backends
