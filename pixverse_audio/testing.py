"""Test helpers: an `AsyncClient` wired to a fresh emulator, in one line.

As a pytest plugin (needs the ``emulator`` extra and anyio's pytest plugin,
which anyio installs), add to your ``conftest.py``::

    pytest_plugins = ["pixverse_audio.testing"]

and use the fixtures in tests marked for anyio, on asyncio or trio::

    @pytest.mark.anyio
    async def test_my_service(pixverse_client, pixverse_emulator):
        job = await pixverse_client.music.create("lofi")
        assert pixverse_emulator.stats().creates == {"account1@emulator.test": 1}

Configure the emulator per test with a marker (arguments go to `Emulator.fast`)::

    @pytest.mark.pixverse_emulator(accounts=3, max_jobs=2, failure_rate=0.5)

Outside pytest, `emulated_client` does the same as an async context manager;
it needs only the ``emulator`` extra (pytest is not imported unless installed).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator
from typing import Any

from . import AsyncClient
from .emulator import Emulator  # one line naming the install command without the extra

__all__ = ["emulated_client", "pixverse_client", "pixverse_emulator"]


@contextlib.asynccontextmanager
async def emulated_client(
    emulator: Emulator | None = None, **client_kwargs: Any
) -> AsyncIterator[AsyncClient]:
    """Yield an `AsyncClient` talking to ``emulator`` (a fast one by default) in-process."""
    emulator = emulator or Emulator.fast()
    async with emulator.client(**client_kwargs) as client:
        yield client


if importlib.util.find_spec("pytest") is not None:  # the fixtures need pytest; the rest not
    import pytest

    def pytest_configure(config: pytest.Config) -> None:
        """Register the ``pixverse_emulator`` marker."""
        config.addinivalue_line(
            "markers",
            "pixverse_emulator(**kwargs): arguments for the emulator of the pixverse fixtures",
        )

    @pytest.fixture
    def pixverse_emulator(request: pytest.FixtureRequest) -> Emulator:
        """A fresh, fast `Emulator` (configured by a ``pixverse_emulator`` marker, if any)."""
        marker = request.node.get_closest_marker("pixverse_emulator")
        kwargs = dict(marker.kwargs) if marker else {}
        return Emulator.fast(**kwargs)

    @pytest.fixture
    async def pixverse_client(pixverse_emulator: Emulator) -> AsyncIterator[AsyncClient]:
        """An `AsyncClient` wired in-process to ``pixverse_emulator``; closed afterwards."""
        async with pixverse_emulator.client() as client:
            yield client
