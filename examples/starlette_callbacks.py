"""Receiving ``replyUrl`` callbacks in a Starlette app (FastAPI works the same way).

useapi.net POSTs the job's JSON to your ``replyUrl`` on every status change,
sometimes more than once. Callbacks are not signed, so the app answers fast,
and acts on a final one only after confirming it with a GET.

The app makes its `AsyncClient` in its lifespan: a client belongs to the event
loop that created it, which is the server's.

Run it next to the emulator::

    pixverse-audio emulator --port 8800 &
    USEAPI_TOKEN=pixverse-emulator-token PIXVERSE_BASE_URL=http://127.0.0.1:8800 \\
        uvicorn examples.starlette_callbacks:app --port 8000
    # then create jobs with reply_url="http://127.0.0.1:8000/hook"
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pixverse_audio import AsyncClient, SpeechClip, Track, ValidationError, parse_callback


def create_app(on_final: Callable[[Track | SpeechClip], None], **client_kwargs: Any) -> Starlette:
    """An app with ``POST /hook``: parse, confirm final callbacks, hand them to ``on_final``.

    ``client_kwargs`` go to `AsyncClient` (token, base_url, ...).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncClient(**client_kwargs) as client:
            app.state.client = client
            yield

    async def hook(request: Request) -> Response:
        try:
            item = parse_callback(await request.body())
        except ValidationError as exc:
            return PlainTextResponse(str(exc), status_code=400)  # not a PixVerse callback
        if not item.final:
            return PlainTextResponse("progress noted")  # QUEUED or GENERATING: nothing to do
        client: AsyncClient = request.app.state.client
        # Unsigned: trust the API, not the POST. The GET also returns the current url.
        if isinstance(item, Track):
            confirmed: Track | SpeechClip = await client.music.confirm(item)
        else:
            confirmed = await client.speech.confirm(item)
        on_final(confirmed)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])], lifespan=lifespan)


def _print_final(item: Track | SpeechClip) -> None:
    print(f"{item.audio_id}: {item.status_name} {item.url}")


app = create_app(
    _print_final, base_url=os.environ.get("PIXVERSE_BASE_URL", "https://api.useapi.net")
)
"""``uvicorn examples.starlette_callbacks:app``: prints every confirmed final job."""
