"""The click group of ``pixverse-audio`` and its music and speech commands; see `_cli`.

Every command checks all of its options and arguments before its first
request (`pixverse_audio._cli.checked`): a bad value exits 2 with one line and
nothing is created, billed or written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import click

from . import _sansio as sansio
from . import _validate as v
from ._cli_base import (
    Settings,
    email_option,
    err,
    json_option,
    pass_settings,
    show_many,
    show_one,
    timeout_option,
)
from ._cli_batch import register_generate
from ._cli_run import check_output_dir, checked
from ._client import AsyncClient
from ._errors import NotFoundError, ValidationError
from ._models import Page, SpeechClip, Track
from ._requests import MusicRequest, SpeechRequest

__all__ = ["music", "speech"]

MUSIC_MODEL_HELP = f"One of {', '.join(v.MUSIC_PROMPT_LIMITS)}; other names are sent as given."
SPEECH_MODEL_HELP = f"One of {', '.join(v.SPEECH_TEXT_LIMITS)}; other names are sent as given."


def _track_rows(items: Iterable[Track | SpeechClip]) -> Iterable[Sequence[Any]]:
    for t in items:
        yield (t.audio_id, t.status_name or t.status, t.model, t.duration, t.url)


async def _newest(api: Any, email: str | None, limit: int, client: AsyncClient) -> Page[Any]:
    """The newest ``limit`` jobs: of ``email``, or of every account, merged newest first."""
    if email is None:
        try:
            accounts = [a.email for a in await client.accounts.list()]
        except NotFoundError:
            accounts = []
        if len(accounts) > 1:
            pages = [await api.list_page(email=a, limit=limit) for a in accounts]
            items = sorted(
                (item for page in pages for item in page.items),
                key=lambda item: (item.created_at is not None, item.created_at),
                reverse=True,
            )
            more = len(items) > limit or any(page.has_more for page in pages)
            return Page(items=tuple(items[:limit]), has_more=more)
    page: Page[Any] = await api.list_page(email=email, limit=limit)
    return page


def _register_reads(group: click.Group, kind: str) -> None:
    """Add ``get ID`` and ``list`` to ``group``, reading ``client.<kind>``."""

    @group.command("get")
    @click.argument("audio_id")
    @json_option
    @pass_settings
    def get(settings: Settings, audio_id: str, as_json: bool) -> None:
        """Show one job by its AUDIO_ID."""
        with checked():
            v.check_id("audio_id", audio_id)

        async def work(client: AsyncClient) -> None:
            show_one(await getattr(client, kind).get(audio_id), as_json)

        settings.run(work)

    @group.command("list")
    @click.option(
        "--email",
        help="The account (an email) whose jobs to list; without it, every account is "
        "listed (newest first, merged).",
    )
    @click.option(
        "--limit",
        type=int,
        default=50,
        show_default=True,
        help="How many jobs, newest first (1 to 1000).",
    )
    @json_option
    @pass_settings
    def list_(settings: Settings, email: str | None, limit: int, as_json: bool) -> None:
        """List the newest jobs: of --email, or of every configured account, merged."""
        with checked():
            sansio.music_list(email=email, limit=limit)

        async def work(client: AsyncClient) -> None:
            page = await _newest(getattr(client, kind), email, limit, client)
            columns = ["audio_id", "status", "model", "s", "url"]
            show_many(page, as_json, kind, columns, _track_rows(page.items))

        settings.run(work)


def _wait_and_save(
    settings: Settings,
    create: Callable[[AsyncClient], Awaitable[Any]],
    api_of: Callable[[AsyncClient], Any],
    *,
    wait: bool,
    download: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Create a job, then (with ``--wait``/``--download``) wait for it and save its MP3."""

    async def work(client: AsyncClient) -> None:
        job = await create(client)
        if not (wait or download):
            show_one(job, as_json)
            return
        err.print(f"waiting for {job.audio_id} …")
        final = await api_of(client).wait(job, timeout=timeout)
        if download:
            await anyio.Path(download).mkdir(parents=True, exist_ok=True)
            err.print(f"saved {await client.download(final, download, overwrite=True)}")
        show_one(final, as_json)

    settings.run(work)


download_option = click.option(
    "--download",
    type=click.Path(path_type=Path),
    metavar="DIRECTORY",
    help="Save the MP3 into this directory (created; implies --wait).",
)
wait_option = click.option("--wait", is_flag=True, help="Wait until the job is final.")


# ---------------------------------------------------------------- music


@click.group()
def music() -> None:
    """Generate, inspect and list music tracks."""


_register_reads(music, "music")


@music.command("create")
@click.argument("prompt")
@click.option("--model", default="music-2.6", show_default=True, help=MUSIC_MODEL_HELP)
@click.option(
    "--lyrics-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Words to sing, from a UTF-8 file (music-2.6 and music-v1).",
)
@click.option("--instrumental", is_flag=True, default=None, help="No vocals.")
@email_option
@wait_option
@download_option
@timeout_option(1200.0)
@json_option
@pass_settings
def music_create(
    settings: Settings,
    prompt: str,
    model: str,
    lyrics_file: Path | None,
    instrumental: bool | None,
    email: str | None,
    wait: bool,
    download: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a music job from PROMPT (and optionally wait for it and download the MP3)."""
    with checked():
        lyrics = _read_text("lyrics", lyrics_file)
        request = MusicRequest(
            prompt=prompt, model=model, lyrics=lyrics, instrumental=instrumental, email=email
        )
        wait_seconds = v.check_timeout(timeout)
        if download is not None:
            check_output_dir("--download", download)
    _wait_and_save(
        settings,
        lambda client: client.music.create(
            prompt, model=model, lyrics=request.lyrics, instrumental=instrumental, email=email
        ),
        lambda client: client.music,
        wait=wait,
        download=download,
        timeout=wait_seconds,
        as_json=as_json,
    )


def _read_text(field: str, path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ValidationError(field, f"cannot read {str(path)!r}: {why}") from None


# ---------------------------------------------------------------- speech


@click.group()
def speech() -> None:
    """Text to speech: create, generate, inspect, list; voices and models."""


_register_reads(speech, "speech")


@speech.command("create")
@click.argument("text")
@click.option("--voice", "voice_id", required=True, help="A voice_id from `speech voices`.")
@click.option("--model", default="speech-2.8-hd", show_default=True, help=SPEECH_MODEL_HELP)
@click.option(
    "--language",
    "language_code",
    help="A language code from `speech models` (en, es, auto, ...); not on eleven-v3.",
)
@email_option
@wait_option
@download_option
@timeout_option(600.0)
@json_option
@pass_settings
def speech_create(
    settings: Settings,
    text: str,
    voice_id: str,
    model: str,
    language_code: str | None,
    email: str | None,
    wait: bool,
    download: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a speech job speaking TEXT (and optionally wait and download)."""
    with checked():
        SpeechRequest(
            text=text, voice_id=voice_id, model=model, language_code=language_code, email=email
        )
        wait_seconds = v.check_timeout(timeout)
        if download is not None:
            check_output_dir("--download", download)
    _wait_and_save(
        settings,
        lambda client: client.speech.create(
            text, voice_id, model=model, language_code=language_code, email=email
        ),
        lambda client: client.speech,
        wait=wait,
        download=download,
        timeout=wait_seconds,
        as_json=as_json,
    )


@speech.command("voices")
@click.option("--model", help="List the voices of this model's provider (default speech-2.8-hd).")
@click.option("--language", help="Only voices recommended for this language code (en, es, ...).")
@email_option
@json_option
@pass_settings
def speech_voices(
    settings: Settings, model: str | None, language: str | None, email: str | None, as_json: bool
) -> None:
    """List the voices of a model's provider (every page)."""
    with checked():
        sansio.speech_voices(model=model, language=language, email=email)

    async def work(client: AsyncClient) -> None:
        voices = [
            voice
            async for voice in client.speech.voices(model=model, language=language, email=email)
        ]
        rows = (
            (v.voice_id, v.display_name, v.gender, v.accent, " ".join(v.style_tags)) for v in voices
        )
        show_many(
            voices, as_json, "voices", ["voice_id", "name", "gender", "accent", "style"], rows
        )

    settings.run(work)


@speech.command("models")
@email_option
@json_option
@pass_settings
def speech_models(settings: Settings, email: str | None, as_json: bool) -> None:
    """Show the live speech model catalogue."""
    with checked():
        sansio.speech_models(email=email)

    async def work(client: AsyncClient) -> None:
        models = await client.speech.models(email=email)
        rows = (
            (m.model, m.provider, m.max_characters, " ".join(m.supported_language_codes))
            for m in models.models
        )
        show_many(
            models, as_json, "speech models", ["model", "provider", "max chars", "languages"], rows
        )

    settings.run(work)


register_generate(
    music, MusicRequest, text_field="prompt", default_model="music-2.6", default_timeout=1200.0
)
register_generate(
    speech,
    SpeechRequest,
    text_field="text",
    default_model="speech-2.8-hd",
    default_timeout=600.0,
    extra_options=[
        click.option(
            "--voice", "voice_id", help="The voice_id of every line (from `speech voices`)."
        ),
        click.option("--language", "language_code", help="The language code of every line."),
    ],
)
