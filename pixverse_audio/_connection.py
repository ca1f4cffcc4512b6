"""What every session of one client shares: the HTTP client, the token, the base URL.

The token is kept in one place, the request headers, and shown nowhere else.
The base URL and token come from the arguments or ``$USEAPI_BASE_URL`` and
``$USEAPI_TOKEN``.
"""

from __future__ import annotations

import functools
import os
import random
from typing import Final

import anyio
import httpx

from ._errors import ConfigurationError

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "MAX_RESPONSE_BYTES",
    "TOKEN_ENV",
    "Connection",
    "user_agent",
]

DEFAULT_BASE_URL: Final = "https://api.useapi.net"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
TOKEN_ENV: Final = "USEAPI_TOKEN"  # noqa: S105 - the variable's name, not a secret
BASE_URL_ENV: Final = "USEAPI_BASE_URL"
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024  # far above any real page (a 1,000-item list)


@functools.cache
def user_agent() -> str:
    """``pixverse-audio/<version> httpx/<version>``."""
    from ._version import __version__

    return f"pixverse-audio/{__version__} httpx/{httpx.__version__}"


def _token(token: str | None) -> str:
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    if not token or not token.strip():
        raise ConfigurationError(f"no API token: pass token= or set ${TOKEN_ENV}")
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ConfigurationError(
            "the API token must be printable ASCII without whitespace or control characters"
        )
    return token


def _base_url(base_url: str | None) -> httpx.URL:
    name = "base_url"
    if base_url is None:
        from_env = os.environ.get(BASE_URL_ENV, "").strip()
        base_url = from_env or DEFAULT_BASE_URL
        name = f"${BASE_URL_ENV}" if from_env else name
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"{name} is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"{name} must be an absolute http:// or https:// URL")
    if url.query or url.fragment or url.userinfo:
        raise ConfigurationError(f"{name} must not carry a query, fragment or user info")
    path = url.path.rstrip("/")
    for api_prefix in ("/v2/pixverse", "/v1/minimax"):
        if path.endswith(api_prefix):
            origin = str(url.copy_with(path=path[: -len(api_prefix)] or "/")).rstrip("/")
            raise ConfigurationError(
                f"{name} is the API origin, without {api_prefix}: use {origin!r}"
            )
    return url


class Connection:
    """What every session of one client shares: the HTTP client, the token, the base URL.

    The token lives only here, in the headers sent to the API host.
    """

    def __init__(
        self,
        token: str | None,
        *,
        base_url: str | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        max_response_bytes: int,
    ) -> None:
        self.headers = {  # the only place the token is kept
            "Authorization": f"Bearer {_token(token)}",
            "Accept": "application/json",
            "User-Agent": user_agent(),
        }
        self.base_url = _base_url(base_url)
        self.root = str(self.base_url).rstrip("/")  # origin and path prefix
        size: object = max_response_bytes  # checked at run time too: callers may pass anything
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ConfigurationError("max_response_bytes must be an integer of at least 1024")
        self.max_body = max_response_bytes
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        self.owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=transport)
        self.rng = random.Random()
        self.closed = False

    def __repr__(self) -> str:
        return f"<Connection {self.root!r} token=<hidden>>"

    def check_open(self) -> None:
        """Raise `ConfigurationError` once the client was closed."""
        if self.closed:
            raise ConfigurationError("this client is closed")

    async def aclose(self) -> None:
        """Close the HTTP client if it was made here (a caller's is left open)."""
        if self.closed:
            return
        self.closed = True
        if self.owns_http:
            with anyio.CancelScope(shield=True):
                await self.http.aclose()
