"""The package logger and redaction helpers.

Logs go to ``logging.getLogger("pixverse_audio")`` and are silent unless the
application configures logging: DEBUG per request (method, path, status,
time), INFO per retry. Headers and bodies are never logged, so the token is not
either.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

__all__ = ["logger", "redact_url"]

logger = logging.getLogger("pixverse_audio")
logger.addHandler(logging.NullHandler())


def redact_url(url: str) -> str:
    """Drop the query, fragment and user info of ``url`` (they may carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<unparseable url>"
    masked = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + masked
