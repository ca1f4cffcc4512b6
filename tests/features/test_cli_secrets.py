"""Account secrets (the PixVerse password and token) never ride along in an error.

An error from ``client.accounts.create`` is a scrubbed copy: same type and
attributes, every echo of a secret replaced by ``<hidden>``, in its message,
body, ``__cause__`` chain and ``__context__`` (it is raised outside the
``except`` block, so the original does not come along as context).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import Recorder, json_response

from pixverse_audio import (
    APIConnectionError,
    AsyncClient,
    BadRequestError,
    BusyError,
    PixverseAudioError,
    ResponseFormatError,
)
from pixverse_audio._errors import _without_secrets

EMAIL = "me@example.com"
PASSWORD = "s3cret-pw-491"
PIXVERSE_TOKEN = "pv-tok-77812"
SECRETS = (PASSWORD, PIXVERSE_TOKEN)


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [e for e in (item.__cause__, item.__context__) if e is not None]


def shows_a_secret(error: BaseException) -> list[str]:
    """Where in ``error``'s chain a secret shows: str, repr, args or an attribute."""
    found = []
    for item in chain(error):
        texts = {
            "str": str(item),
            "repr": repr(item),
            "args": repr(item.args),
            **{name: repr(value) for name, value in vars(item).items()},
        }
        found += [
            f"{type(item).__name__}.{where}"
            for where, text in texts.items()
            if any(secret in text for secret in SECRETS)
        ]
    return found


async def create(client: AsyncClient) -> PixverseAudioError:
    with pytest.raises(PixverseAudioError) as caught:
        await client.accounts.create(EMAIL, password=PASSWORD, max_jobs=2, token=PIXVERSE_TOKEN)
    return caught.value


@pytest.mark.anyio
async def test_a_400_echoing_the_secrets_is_scrubbed_everywhere(
    client: AsyncClient, recorder: Recorder
) -> None:
    """A 400 quoting both secrets: BadRequestError, same fields, secrets <hidden>, no context."""
    body = {"error": f"Login failed for {PASSWORD} / {PIXVERSE_TOKEN}", "code": 400}
    recorder.then(json_response(400, body))
    error = await create(client)
    assert type(error) is BadRequestError
    assert error.status_code == 400
    assert error.message == "Login failed for <hidden> / <hidden>"
    assert error.body == {"error": "Login failed for <hidden> / <hidden>", "code": 400}
    assert str(error) == "HTTP 400: Login failed for <hidden> / <hidden>"
    assert error.__context__ is None
    assert error.__cause__ is None
    assert shows_a_secret(error) == []


@pytest.mark.anyio
async def test_an_unreadable_answer_keeps_no_secret_in_its_cause(
    client: AsyncClient, recorder: Recorder
) -> None:
    """A 200 that is not JSON but echoes the password: the cause chain is scrubbed too."""
    recorder.then(httpx.Response(200, content=f"<html>welcome {PASSWORD}</html>".encode()))
    error = await create(client)
    assert type(error) is ResponseFormatError
    assert error.status_code == 200
    assert error.body == "<html>welcome <hidden></html>"
    causes = list(chain(error))
    assert len(causes) > 1  # the JSON decoder's error is still there, scrubbed
    assert any(isinstance(e, json.JSONDecodeError) for e in causes)
    assert shows_a_secret(error) == []


@pytest.mark.anyio
async def test_a_network_error_keeps_its_type_and_cause(make_client: Any) -> None:
    """A refused connection stays an APIConnectionError with its httpx cause (no secret there)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {PASSWORD}", request=request)

    client = make_client(refuse)
    error = await create(client)
    assert isinstance(error, APIConnectionError)
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert shows_a_secret(error) == []


def _busy_from_a_value_error() -> None:
    try:
        int(f"inner {PASSWORD}")
    except ValueError as inner:
        raise BusyError(
            429, f"busy {PIXVERSE_TOKEN}", {"seen": [PASSWORD, 3]}, retry_after=2.5
        ) from inner


def test_the_copy_keeps_type_and_attributes() -> None:
    """_without_secrets copies __dict__ (retry_after, notes) and scrubs nested values."""
    with pytest.raises(BusyError) as caught:
        _busy_from_a_value_error()
    original = caught.value
    vars(original)["__notes__"] = [f"note {PASSWORD}"]  # add_note() on 3.11+
    clean = _without_secrets(original, SECRETS)
    assert type(clean) is BusyError
    assert clean is not original
    assert clean.retry_after == 2.5
    assert clean.status_code == 429
    assert clean.message == "busy <hidden>"
    assert clean.body == {"seen": ["<hidden>", 3]}
    assert vars(clean)["__notes__"] == ["note <hidden>"]
    assert type(clean.__cause__) is ValueError
    assert "<hidden>" in str(clean.__cause__)
    assert clean.__suppress_context__ is True
    assert shows_a_secret(clean) == []
    assert PASSWORD in str(original.__cause__)  # the original is left as it was


def test_nothing_to_hide_returns_the_error_itself() -> None:
    """No secret given (no token): the error is returned unchanged."""
    error = BadRequestError(400, "bad")
    assert _without_secrets(error, (None, "")) is error


def test_emulator_account_record_hides_password_and_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`accounts create` on the emulator: its account record's repr shows neither secret."""
    import pixverse_audio._cli_base as cli_base
    from pixverse_audio._cli import main
    from pixverse_audio.emulator import Emulator

    emulator = Emulator.fast()
    monkeypatch.setattr(
        cli_base, "AsyncClient", lambda token=None, *, base_url=None: emulator.client()
    )
    monkeypatch.setenv("USEAPI_TOKEN", "unused-by-the-emulator-token")
    monkeypatch.setenv("PIXVERSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("PIXVERSE_TOKEN", PIXVERSE_TOKEN)
    code = main(["accounts", "create", "new@example.com", "--max-jobs", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    account = emulator.accounts["new@example.com"]
    assert (account.password, account.token) == SECRETS  # stored, as the emulator needs
    for text in (repr(account), repr(emulator.accounts), captured.out, captured.err):
        assert PASSWORD not in text
        assert PIXVERSE_TOKEN not in text
    assert "new@example.com" in repr(account)
