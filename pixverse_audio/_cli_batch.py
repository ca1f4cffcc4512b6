"""``music generate`` and ``speech generate``: many requests from a file, one batch.

Registered on the groups by `pixverse_audio._cli_commands`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import click

from . import _validate as v
from ._cli_base import (
    Settings,
    json_option,
    out,
    pass_settings,
    timeout_option,
)
from ._cli_run import check_output_dir, checked, read_requests
from ._client import AsyncClient
from ._errors import ValidationError
from ._requests import MusicRequest, SpeechRequest

__all__ = ["register_generate"]


def register_generate(
    group: click.Group,
    request_type: type[MusicRequest] | type[SpeechRequest],
    *,
    text_field: str,
    default_model: str,
    default_timeout: float,
    extra_options: Sequence[Callable[[Any], Any]] = (),
) -> None:
    """Add ``generate`` to ``group``: many requests from a file, downloaded into --out."""
    noun = "prompt" if text_field == "prompt" else "line of text"

    def command(
        settings: Settings,
        source: Path,
        out_dir: Path,
        model: str,
        max_attempts: int,
        timeout: float,
        as_json: bool,
        **defaults: Any,
    ) -> None:
        from ._cli_generate import generate_and_download

        with checked():
            v.check_count("max_attempts", max_attempts, low=1, high=100)
            wait_seconds = v.check_timeout(timeout)
            given = {k: value for k, value in defaults.items() if value is not None}
            rows = read_requests(
                source,
                {"model": model, **given},
                text_field=text_field,
                allowed=frozenset(attrs.fields_dict(request_type)),
            )
            requests = [_build(request_type, number, fields) for number, fields in rows]
            check_output_dir("--out", out_dir)
        failed = 0

        async def work(client: AsyncClient) -> None:
            nonlocal failed
            api = client.music if request_type is MusicRequest else client.speech
            summary = await generate_and_download(
                api,
                client,
                requests,
                out_dir,
                max_attempts=max_attempts,
                timeout=wait_seconds,
                as_json=as_json,
                console=out,
            )
            failed = summary.failed

        settings.run(work)
        if failed:
            raise SystemExit(7)  # the summary above lists the failures

    command.__doc__ = (
        f"Generate many jobs concurrently from --from (one {noun} each) and save the MP3s "
        "into --out.\n\nEach file is named NNNN-<name>.mp3, where NNNN is its request's "
        "index: the 0-based position among the prompts (comments and blank lines are not "
        "counted). --json lists index, prompt, status, job id and file for every request."
    )
    decorators = [
        group.command("generate"),
        click.option(
            "--from",
            "source",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=f"A text file (one {noun} per line, # comments) or .jsonl "
            f"({request_type.__name__} fields per line).",
        ),
        click.option(
            "--out",
            "out_dir",
            required=True,
            type=click.Path(path_type=Path),
            metavar="DIRECTORY",
            help="The directory the MP3s go into (created).",
        ),
        click.option(
            "--model", default=default_model, show_default=True, help="The model of every request."
        ),
        *extra_options,
        click.option(
            "--max-attempts",
            type=int,
            default=2,
            show_default=True,
            help="Jobs per request when they end FAILED (each is paid; 1 to 100).",
        ),
        timeout_option(default_timeout),
        json_option,
        pass_settings,
    ]
    for decorate in reversed(decorators):
        command = decorate(command)


def _build(
    request_type: type[MusicRequest] | type[SpeechRequest], number: int, fields: dict[str, Any]
) -> MusicRequest | SpeechRequest:
    required = [a.name for a in attrs.fields(request_type) if a.default is attrs.NOTHING]
    missing = [name for name in required if fields.get(name) is None]
    if missing:  # voice_id: the --voice option gives every line one
        raise ValidationError(missing[0], f"is missing on line {number} of --from")
    try:
        return request_type(**fields)
    except ValidationError as exc:
        raise ValidationError("--from", f"line {number}: {exc.field}: {exc.reason}") from None
