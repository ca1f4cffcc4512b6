"""The settings of `AsyncClient` (and `Client`, and their ``with_options``), checked once.

Each function takes what the caller passed and returns the setting to use, or
raises `ConfigurationError` naming the argument, before anything is opened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from ._cadence import PollPolicy
from ._errors import ConfigurationError
from ._retry import RetryPolicy

__all__ = ["check_callback", "check_max_jobs", "check_poll", "check_retry", "check_timeout"]


def _seconds(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
    )


def check_timeout(value: object) -> float | httpx.Timeout | None:
    """``timeout``: ``None``, positive seconds, or an ``httpx.Timeout``."""
    if value is None or isinstance(value, httpx.Timeout) or _seconds(value):
        return value  # type: ignore[return-value]
    raise ConfigurationError("timeout must be a positive number of seconds or an httpx.Timeout")


def check_retry(retry: object, max_retries: object, base: RetryPolicy | None) -> RetryPolicy | None:
    """``retry`` (a `RetryPolicy`), else ``max_retries`` (an integer of at least 0) over ``base``.

    Neither given: ``base`` (``None`` for a copy means "keep the original's").
    """
    if retry is not None:
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a RetryPolicy")
        return retry
    if max_retries is None:
        return base
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError("max_retries must be an integer of at least 0")
    return attrs.evolve(base or RetryPolicy(), max_retries=max_retries)


def check_poll(value: object) -> PollPolicy | None:
    """``poll``: ``None``, a `PollPolicy`, or positive seconds (a fixed gap)."""
    if value is None or isinstance(value, PollPolicy):
        return value
    if _seconds(value):
        return PollPolicy.fixed(float(value))  # type: ignore[arg-type]
    raise ConfigurationError("poll must be a PollPolicy or a positive number of seconds")


def check_callback(value: object) -> Callable[..., Any] | None:
    """``on_event``: ``None`` or something callable."""
    if value is None or callable(value):
        return value
    raise ConfigurationError("on_event must be callable (or None)")


def check_max_jobs(value: object) -> int | Mapping[str, int] | None:
    """``max_jobs``: ``None``, 1..8, or a mapping of email to 1..8."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        entries = [(f"max_jobs[{key!r}]", cap) for key, cap in value.items()]
    else:
        entries = [("max_jobs", value)]
    for name, cap in entries:
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 8:
            raise ConfigurationError(f"{name} must be an integer within 1..8")
    return value  # type: ignore[return-value]
