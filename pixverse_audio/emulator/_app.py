"""The emulator's ASGI application: routing, auth, faults, limits and error shapes.

Every answer uses the documented JSON shapes. Bad input (malformed JSON, wrong
content types, huge bodies, unknown routes) gets a documented-style error, never
a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Final, Literal

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from . import _wire
from ._catalogue import SPEECH_MODELS, VOICES, speech_models_body
from ._faults import Fault
from ._media import is_media, media_response
from ._rules import Reject, as_int, as_str, form_fields
from ._state import NOT_CONFIGURED

if TYPE_CHECKING:
    from . import Emulator

__all__ = ["ConnectionDropped", "ConnectionRefused", "EmulatorApp"]

JSON_LIMIT: Final = 1024 * 1024
# The documented upload types (POST files), compared without regard to case.
_SUPPORTED_UPLOADS: Final = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp"}
    | {"video/mp4", "video/quicktime", "video/3gpp", "video/x-matroska", "video/x-flv"}
    | {"video/mpeg", "video/mp2t", "video/x-msvideo", "video/x-motion-jpeg", "video/webm"}
    | {"video/ogg", "audio/wav", "audio/wave", "audio/mpeg"}
)


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection (the in-process transport maps it)."""


class ConnectionRefused(ConnectionDropped):
    """Raised by the app to refuse the connection (in-process: a connect error)."""


class _TooLarge(Exception):
    pass


Handler = Callable[[Request, str], Awaitable[Any]]

_V2: Final = "/v2/pixverse"
_TABLE: Final = (
    ("POST", rf"{_V2}/music/create/?", "music.create"),
    ("GET", rf"{_V2}/music/?", "music.list"),
    ("GET", rf"{_V2}/music/(?P<id>[^/]+)/?", "music.get"),
    ("POST", rf"{_V2}/speech/create/?", "speech.create"),
    ("GET", rf"{_V2}/speech/voices/?", "speech.voices"),
    ("GET", rf"{_V2}/speech/models/?", "speech.models"),
    ("GET", rf"{_V2}/speech/?", "speech.list"),
    ("GET", rf"{_V2}/speech/(?P<id>[^/]+)/?", "speech.get"),
    ("GET", rf"{_V2}/scheduler/?", "scheduler.list"),
    ("GET", rf"{_V2}/scheduler/available/?", "scheduler.available"),
    ("DELETE", rf"{_V2}/scheduler/(?P<id>[^/]+)/?", "scheduler.cancel"),
    ("POST", rf"{_V2}/files/?", "files.upload"),
    ("GET", rf"{_V2}/accounts/?", "accounts.list"),
    ("GET", rf"{_V2}/accounts/(?P<id>[^/]+)/?", "accounts.get"),
    ("POST", rf"{_V2}/accounts/(?P<id>[^/]+)/?", "accounts.create"),
    ("DELETE", rf"{_V2}/accounts/(?P<id>[^/]+)/?", "accounts.delete"),
    ("GET", r"/v1/minimax/music/?", "minimax.music.list"),
    ("GET", r"/v1/minimax/music/(?P<id>[^/]+)/?", "minimax.music.get"),
    ("GET", r"/_emulator/stats/?", "emulator.stats"),
)
_ROUTES: Final = tuple((m, re.compile(p), name) for m, p, name in _TABLE)


def _error(status: int, message: str, *, code: bool = True) -> JSONResponse:
    return JSONResponse(Reject(status, message, code=code).body(), status_code=status)


class EmulatorApp:
    """ASGI app serving one `Emulator`'s state."""

    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator
        self.upload_limit = 64 * 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        route, params = self._match(request)
        counters = self._emu.state.counters
        fault = None
        if route:
            counters.requests[route] += 1
            fault = self._emu.faults.next_for(route)
        early = ("refuse",) if route == "media" else ("drop_before", "refuse")
        if fault is not None and fault.kind in early:  # media drops cut the real file short
            await self._drop(send, fault)
        if fault is not None and fault.kind == "status":
            response = self._fault_status(fault)  # refused before acting: no job is created
        else:
            try:
                response = await self._respond(request, route, params)
            except Reject as reject:
                response = JSONResponse(reject.body(), status_code=reject.status)
            except _TooLarge:
                response = _error(413, "Request body is too large")
            except Exception:
                response = _error(500, "Internal emulator error")
            if fault is not None:
                response = await self._apply(fault, response, send)
        counters.responses[response.status_code] += 1
        # the Date header tells the time by the emulator's own (possibly scaled)
        # clock, as its jobs' timestamps do: a real server's clock is one clock
        state = self._emu.state
        response.headers["date"] = format_datetime(state.wall(state.now()), usegmt=True)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _match(self, request: Request) -> tuple[str, Mapping[str, str]]:
        path = request.url.path
        if is_media(path):
            return "media", {}
        for method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                return name, match.groupdict()
        return "", {}

    async def _drop(self, send: Send, fault: Fault, response: Response | None = None) -> None:
        """Start an answer and break it off, as a dropped connection does.

        With ``response``, its real status, headers and first half of its body
        go out first (a true prefix, as a real server would have sent). A real
        server's client then sees the connection close mid-response; the
        in-process transport maps the exception to the same ``httpx`` error.
        """
        if response is None:
            headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
            status, prefix = 200, b'{"audio'
        else:
            headers, status = response.raw_headers, response.status_code
            prefix = bytes(response.body[: len(response.body) // 2])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": prefix, "more_body": True})
        if fault.kind == "refuse":
            raise ConnectionRefused("emulated connection refused")
        raise ConnectionDropped("emulated dropped connection")

    async def _apply(self, fault: Fault, response: Response, send: Send) -> Response:
        if fault.kind in ("drop_after", "drop_before"):  # before: only media gets here
            await self._drop(send, fault, response)
        if fault.kind == "delay":
            await anyio.sleep(fault.seconds)
        if fault.kind == "malformed":
            return Response(b'{"audio_id": "user:1-pix', 200, media_type="application/json")
        return response

    def _fault_status(self, fault: Fault) -> Response:
        if fault.status == 429:
            message = "All configured accounts are running at maximum capacity."
            return _error(429, message, code=False)
        return _error(fault.status, f"Emulated failure {fault.status}")

    async def _respond(self, request: Request, route: str, params: Mapping[str, str]) -> Response:
        emu = self._emu
        if route == "media":
            return self._media(request)
        if not route:
            allowed = any(p.fullmatch(request.url.path) for _, p, _ in _ROUTES)
            if allowed:
                return _error(405, f"Method {request.method} is not allowed here")
            return _error(404, f"Route {request.method} {request.url.path} not found")
        if not self._authorized(request):
            return _error(401, "Unauthorized", code=not route.endswith(".create"))
        await emu.pump()
        handler: Handler = getattr(self, "_" + route.replace(".", "_"))
        result = await handler(request, params.get("id", ""))
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expected = f"Bearer {self._emu.token}"
        return secrets.compare_digest(header.encode(), expected.encode())

    # ---------------------------------------------------------------- input

    async def _body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks = []
        size = 0
        async with contextlib.aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)

    async def _fields(self, request: Request) -> Mapping[str, Any]:
        content_type = request.headers.get("content-type", "")
        kind = content_type.split(";")[0].strip().lower()
        if kind not in ("application/json", "multipart/form-data", ""):
            raise Reject(400, f"Unsupported content type {kind}; use application/json")
        body = await self._body(request, JSON_LIMIT)
        if kind == "multipart/form-data":
            return form_fields(content_type, body)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise Reject(400, "Malformed JSON body") from None
        if not isinstance(data, dict):
            raise Reject(400, "The JSON body must be an object")
        return data

    def _int(self, request: Request, key: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(key)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise Reject(400, f"Parameter {key} must be an integer between {low} and {high}")
        return int(raw)

    def _email(self, request: Request) -> str | None:
        return request.query_params.get("email") or None

    # ------------------------------------------------------------- handlers

    async def _music_create(self, request: Request, _: str) -> Any:
        job = self._emu.state.create("music", await self._fields(request))
        return _wire.create_body(job)

    async def _speech_create(self, request: Request, _: str) -> Any:
        job = self._emu.state.create("speech", await self._fields(request))
        return _wire.create_body(job)

    async def _music_get(self, _: Request, audio_id: str) -> Any:
        state = self._emu.state
        return _wire.job_body(state, state.job(audio_id, "music"))

    async def _speech_get(self, _: Request, audio_id: str) -> Any:
        state = self._emu.state
        return _wire.job_body(state, state.job(audio_id, "speech"))

    async def _list(self, request: Request, kind: Literal["speech"] | None) -> Any:
        state = self._emu.state
        limit = self._int(request, "limit", 50, 1, 1000)
        offset = self._int(request, "offset", 0, 0, 10**9)
        window, total = state.listing(self._email(request), kind, offset=offset, limit=limit)
        return _wire.page_body(state, window, total=total, limit=limit, offset=offset)

    async def _music_list(self, request: Request, _: str) -> Any:
        return await self._list(request, None)  # every audio asset, speech included

    async def _speech_list(self, request: Request, _: str) -> Any:
        return await self._list(request, "speech")

    async def _speech_voices(self, request: Request, _: str) -> Any:
        model_name = request.query_params.get("model") or "speech-2.8-hd"
        model = SPEECH_MODELS.get(model_name)
        if model is None:
            raise Reject(400, f"Model {model_name} is not supported")
        language = request.query_params.get("language") or "auto"
        voices = [
            v
            for v in VOICES.values()
            if v.provider == model.provider and (language == "auto" or language in v.languages)
        ]
        limit = self._int(request, "limit", 50, 1, 1000)
        offset = self._int(request, "offset", 0, 0, 10**9)
        return {  # the documented envelope, with the paging fields beside it
            "voices": [v.wire() for v in voices[offset : offset + limit]],
            "next_offset": offset + limit,
            "has_more": offset + limit < len(voices),
        }

    async def _speech_models(self, _: Request, __: str) -> Any:
        return speech_models_body()

    async def _scheduler_list(self, _: Request, __: str) -> Any:
        state = self._emu.state
        return [_wire.scheduled_body(state, job) for job in state.scheduled()]

    async def _scheduler_available(self, _: Request, __: str) -> Any:
        return _wire.availability_body(self._emu.state)

    async def _scheduler_cancel(self, _: Request, job_id: str) -> Any:
        self._emu.state.cancel(job_id)
        return Response(status_code=204)

    async def _files_upload(self, request: Request, _: str) -> Any:
        state = self._emu.state
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _SUPPORTED_UPLOADS:
            raise Reject(400, f"Unsupported Content-Type {kind or '(none)'}")
        email = self._email(request)
        if email is None and len(state.accounts) > 1:
            raise Reject(400, "Parameter email is required when multiple accounts are configured")
        body = await self._body(request, self.upload_limit)
        if not body:
            raise Reject(400, "The request body is empty")
        path = state.upload(email, kind, len(body))
        url = f"{state.media_url}/{path}"
        if kind.startswith("image/"):
            item = {
                "id": 5_000_000 + len(state.uploads),
                "url": url,
                "path": path,
                "size": len(body),
                "name": path.rsplit("/", 1)[-1],
                "category": 0,
                "err_msg": "",
            }
            return {"result": [item]}
        return {"path": path, "url": url}

    async def _accounts_list(self, _: Request, __: str) -> Any:
        state = self._emu.state
        if not state.accounts:
            return _not_configured()
        return {email: _wire.account_body(state, email) for email in state.accounts}

    async def _accounts_get(self, _: Request, email: str) -> Any:
        if email not in self._emu.state.accounts:
            return _not_configured()
        return _wire.account_body(self._emu.state, email)

    async def _accounts_create(self, request: Request, email: str) -> Any:
        fields = await self._fields(request)
        body_email = as_str(fields, "email")
        password = as_str(fields, "password")
        token = as_str(fields, "token")
        if not body_email:
            raise Reject(400, "Required param email is missing or empty")
        if body_email != email:
            raise Reject(
                400, f"Required param email ({body_email}) not matching to /accounts/{email}"
            )
        if not password:
            raise Reject(400, "Required param password is missing or empty")
        max_jobs = as_int(fields, "maxJobs", 1, 8)
        if max_jobs is None:
            raise Reject(400, "Required param maxJobs is missing or empty")
        self._emu.state.configure(email, password=password, max_jobs=max_jobs, token=token or None)
        return JSONResponse(_wire.account_body(self._emu.state, email), status_code=201)

    async def _accounts_delete(self, _: Request, email: str) -> Any:
        state = self._emu.state
        if email not in state.accounts:
            return _not_configured()
        state.remove(email)
        return {"account": email, "deleted": True, "remaining": len(state.accounts)}

    async def _minimax_music_list(self, request: Request, _: str) -> Any:
        account = request.query_params.get("account")
        if account not in (None, "", "minimax-account"):
            raise Reject(400, f"Account {account} is not configured")
        limit = self._int(request, "limit", 20, 1, 1000)
        listed = [s for s in self._emu.state.minimax if s["status"] != 4]
        last = request.query_params.get("lastMusicId")
        start = 0
        if last:
            ids = [s["musicId"] for s in listed]
            start = ids.index(last) + 1 if last in ids else len(listed)
        return listed[start : start + limit]

    async def _minimax_music_get(self, _: Request, music_id: str) -> Any:
        for song in self._emu.state.minimax:
            if song["musicId"] == music_id:
                return song
        raise Reject(404, "Not found.")

    async def _emulator_stats(self, _: Request, __: str) -> Any:
        return self._emu.stats().as_json()

    # ----------------------------------------------------------------- media

    def _media(self, request: Request) -> Response:
        self._emu.media_requests.append(dict(request.headers))
        return media_response(self._emu.state, request)


def _not_configured() -> Response:
    """The documented 404 of accounts: plain text, not JSON."""
    return Response(NOT_CONFIGURED, 404, media_type="text/plain")
