"""What the pure core and the I/O layer exchange: a call to make, a reply received."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

__all__ = ["SECRET_FIELDS", "Call", "CallKind", "Reply", "mask_secrets"]

SECRET_FIELDS: Final = frozenset({"password", "token"})
"""Body fields that hold secrets (an account's password, a PixVerse token)."""


def mask_secrets(fields: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``fields`` with every secret value replaced by ``"<hidden>"``."""
    if not fields or SECRET_FIELDS.isdisjoint(fields):
        return fields
    return {k: "<hidden>" if k in SECRET_FIELDS else v for k, v in fields.items()}


class CallKind(enum.Enum):
    """What resending a call could cost; drives the retry policy."""

    READ = "read"  # GET/DELETE: safe to resend
    CREATE = "create"  # may start a paid job: resent only if it provably never arrived
    UPLOAD = "upload"  # a POST that starts no job: like CREATE, but failures are plain


@attrs.frozen(kw_only=True)
class Call:
    """A request description: everything the I/O layer needs, nothing it decides.

    ``path`` is the raw path below the base URL; ids in it are not
    percent-encoded. Exactly one of ``json``, ``form`` and ``content`` may be set.
    Secret body fields (`SECRET_FIELDS`) are hidden from the repr and `payload`.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Mapping[str, Any] | None = attrs.field(default=None, repr=lambda v: repr(mask_secrets(v)))
    form: Mapping[str, str] | None = attrs.field(default=None, repr=lambda v: repr(mask_secrets(v)))
    content: bytes | Path | None = None
    content_type: str | None = None
    kind: CallKind = CallKind.READ
    timeout: float | None = None  # seconds for this call alone (None: the session's)

    @property
    def payload(self) -> Mapping[str, Any]:
        """The fields sent in the body, secrets hidden (for reconciling an unknown outcome)."""
        return mask_secrets(self.json or self.form) or {}


@attrs.frozen(kw_only=True)
class Reply:
    """A received response, reduced to what the parsers need."""

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
