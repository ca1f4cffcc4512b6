"""The click commands of ``pixverse-audio``; see `pixverse_audio._cli`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
import click
from rich.console import Console

from . import AsyncClient, MusicRequest, SpeechClip, Track
from ._cli import read_requests, run_async, token_from
from ._cli_output import print_json, print_table

__all__ = ["cli"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Settings:
    """Options shared by every command."""

    def __init__(self, token: str | None, base_url: str, backend: str) -> None:
        self.token = token
        self.base_url = base_url
        self.backend = backend

    def client(self) -> AsyncClient:
        return AsyncClient(token_from(self.token), base_url=self.base_url)

    def run(self, work: Callable[[AsyncClient], Awaitable[None]]) -> None:
        async def with_client() -> None:
            async with self.client() as client:
                await work(client)

        run_async(with_client, backend=self.backend)


pass_settings = click.make_pass_decorator(Settings)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--token", envvar="USEAPI_TOKEN", show_envvar=True, help="useapi.net API token.")
@click.option("--base-url", default="https://api.useapi.net", show_default=True)
@click.option("--backend", type=click.Choice(["asyncio", "trio"]), default="asyncio", hidden=True)
@click.version_option(package_name="pixverse-audio")
@click.pass_context
def cli(ctx: click.Context, token: str | None, base_url: str, backend: str) -> None:
    """Music and speech from PixVerse through useapi.net, from the shell.

    Exit codes: 0 ok, 1 other error, 2 usage or invalid argument, 3 authentication,
    4 credits or subscription, 5 busy (429), 6 not found, 7 generation failed,
    8 network or download, 130 interrupted.
    """
    ctx.obj = Settings(token, base_url, backend)


def _track_rows(items: Any) -> Any:
    for t in items:
        yield (t.audio_id, t.status_name or t.status, t.model, t.duration, t.url)


def _register_reads(group: click.Group, kind: str) -> None:
    """Add ``get ID`` and ``list`` to ``group``, reading ``client.<kind>``."""

    @group.command("get")
    @click.argument("audio_id")
    @json_option
    @pass_settings
    def get(settings: Settings, audio_id: str, as_json: bool) -> None:
        """Show one job."""

        async def work(client: AsyncClient) -> None:
            _show_one(await getattr(client, kind).get(audio_id), as_json)

        settings.run(work)

    @group.command("list")
    @click.option("--email")
    @click.option("--limit", type=int, default=50, show_default=True)
    @json_option
    @pass_settings
    def list_(settings: Settings, email: str | None, limit: int, as_json: bool) -> None:
        """List the newest jobs of an account."""

        async def work(client: AsyncClient) -> None:
            page = await getattr(client, kind).list_page(email=email, limit=limit)
            columns = ["audio_id", "status", "model", "s", "url"]
            _show_many(page, as_json, kind, columns, _track_rows(page.items))

        settings.run(work)


# ---------------------------------------------------------------- music


@cli.group()
def music() -> None:
    """Generate, inspect and list music tracks."""


_register_reads(music, "music")


@music.command("create")
@click.argument("prompt")
@click.option("--model", default="music-2.6", show_default=True)
@click.option("--lyrics-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instrumental", is_flag=True, default=None, help="No vocals.")
@click.option("--email", help="Account to run on.")
@click.option("--wait", is_flag=True, help="Wait until the track is final.")
@click.option("--download", type=click.Path(file_okay=False, path_type=Path), help="Save here.")
@click.option("--timeout", type=float, default=1200.0, show_default=True)
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
    """Start a music job (and optionally wait for it and download the MP3)."""
    lyrics = lyrics_file.read_text(encoding="utf-8") if lyrics_file else None

    async def work(client: AsyncClient) -> None:
        job = await client.music.create(
            prompt, model=model, lyrics=lyrics, instrumental=instrumental, email=email
        )
        if not (wait or download):
            _show_one(job, as_json)
            return
        err.print(f"waiting for {job.audio_id} …")
        track = await client.music.wait(job, timeout=timeout)
        if download:
            await anyio.Path(download).mkdir(parents=True, exist_ok=True)
            path = await client.download(track, download, overwrite=True)
            err.print(f"saved {path}")
        _show_one(track, as_json)

    settings.run(work)


def _show_one(item: Any, as_json: bool) -> None:
    fields = [(k, v) for k, v in _fields(item) if v not in (None, "", {}, ())]
    _show_many(item, as_json, type(item).__name__, ["field", "value"], fields)


def _show_many(
    value: Any, as_json: bool, title: str, columns: list[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Print ``value`` as JSON, or ``rows`` as a table for people."""
    if as_json:
        print_json(out, value)
    else:
        print_table(out, title, columns, rows)


def _fields(item: Any) -> list[tuple[str, Any]]:
    import attrs

    return [(f.name, getattr(item, f.name)) for f in attrs.fields(type(item)) if f.repr]


@music.command("generate")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="prompts.txt (one per line) or prompts.jsonl (MusicRequest fields).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", default="music-2.6", show_default=True)
@click.option("--max-attempts", type=int, default=2, show_default=True)
@click.option("--timeout", type=float, default=1200.0, show_default=True)
@json_option
@pass_settings
def music_generate(
    settings: Settings,
    source: Path,
    out_dir: Path,
    model: str,
    max_attempts: int,
    timeout: float,
    as_json: bool,
) -> None:
    """Generate many tracks concurrently and download them into OUT."""
    from ._cli_generate import generate_and_download

    failed = 0

    async def work(client: AsyncClient) -> None:
        nonlocal failed
        allowed = frozenset(attrs.fields_dict(MusicRequest))
        rows = read_requests(source, {"model": model}, allowed=allowed)  # bad input: exit 2
        requests = [MusicRequest(**row) for row in rows]
        summary = await generate_and_download(
            client,
            requests,
            out_dir,
            max_attempts=max_attempts,
            timeout=timeout,
            as_json=as_json,
            console=out,
        )
        failed = summary.failed

    settings.run(work)
    if failed:
        raise SystemExit(7)  # the summary above lists the failures


# ---------------------------------------------------------------- speech


@cli.group()
def speech() -> None:
    """Text to speech: create, inspect, list; voices and models."""


_register_reads(speech, "speech")


@speech.command("create")
@click.argument("text")
@click.option("--voice", "voice_id", required=True, help="A voice_id from `speech voices`.")
@click.option("--model", default="speech-2.8-hd", show_default=True)
@click.option("--language", "language_code")
@click.option("--email")
@click.option("--wait", is_flag=True)
@click.option("--download", type=click.Path(file_okay=False, path_type=Path))
@click.option("--timeout", type=float, default=600.0, show_default=True)
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
    """Start a speech job (and optionally wait and download)."""

    async def work(client: AsyncClient) -> None:
        job = await client.speech.create(
            text, voice_id, model=model, language_code=language_code, email=email
        )
        if not (wait or download):
            _show_one(job, as_json)
            return
        clip = await client.speech.wait(job, timeout=timeout)
        if download:
            await anyio.Path(download).mkdir(parents=True, exist_ok=True)
            err.print(f"saved {await client.download(clip, download, overwrite=True)}")
        _show_one(clip, as_json)

    settings.run(work)


@speech.command("voices")
@click.option("--model")
@click.option("--language")
@json_option
@pass_settings
def speech_voices(
    settings: Settings, model: str | None, language: str | None, as_json: bool
) -> None:
    """List the voices of a model's provider."""

    async def work(client: AsyncClient) -> None:
        voices = [v async for v in client.speech.voices(model=model, language=language)]
        rows = ((v.voice_id, v.display_name, v.gender, v.accent) for v in voices)
        _show_many(voices, as_json, "voices", ["voice_id", "name", "gender", "accent"], rows)

    settings.run(work)


@speech.command("models")
@json_option
@pass_settings
def speech_models(settings: Settings, as_json: bool) -> None:
    """Show the live speech model catalogue."""

    async def work(client: AsyncClient) -> None:
        models = await client.speech.models()
        rows = (
            (m.model, m.provider, m.max_characters, " ".join(m.supported_language_codes))
            for m in models.models
        )
        _show_many(
            models, as_json, "speech models", ["model", "provider", "max chars", "languages"], rows
        )

    settings.run(work)


# ------------------------------------------------------ other namespaces


@cli.group()
def minimax() -> None:
    """Legacy MiniMax v1 music."""


@minimax.command("list")
@click.option("--account")
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
@pass_settings
def minimax_list(settings: Settings, account: str | None, limit: int, as_json: bool) -> None:
    """List legacy MiniMax songs (every page)."""

    async def work(client: AsyncClient) -> None:
        songs = [s async for s in client.minimax.music.list(account=account, page_size=limit)]
        rows = ((s.music_id, s.title, s.status_label, s.duration) for s in songs)
        _show_many(songs, as_json, "minimax songs", ["music_id", "title", "status", "s"], rows)

    settings.run(work)


@cli.group()
def scheduler() -> None:
    """Jobs useapi.net is running."""


@scheduler.command("list")
@json_option
@pass_settings
def scheduler_list(settings: Settings, as_json: bool) -> None:
    """List running jobs."""

    async def work(client: AsyncClient) -> None:
        jobs = await client.scheduler.list()
        _show_many(
            jobs,
            as_json,
            "running",
            ["id", "type", "elapsed"],
            ((j.id, j.type, j.elapsed) for j in jobs),
        )

    settings.run(work)


@scheduler.command("available")
@json_option
@pass_settings
def scheduler_available(settings: Settings, as_json: bool) -> None:
    """Show free slots per account."""

    async def work(client: AsyncClient) -> None:
        availability = await client.scheduler.available()
        rows = ((a.email, a.max_jobs, a.executing, a.available) for a in availability.accounts)
        _show_many(
            availability, as_json, "accounts", ["email", "maxJobs", "executing", "available"], rows
        )

    settings.run(work)


@scheduler.command("cancel")
@click.argument("job_id")
@pass_settings
def scheduler_cancel(settings: Settings, job_id: str) -> None:
    """Release a running job's slot (the job may still finish and bill)."""

    async def work(client: AsyncClient) -> None:
        removed = await client.scheduler.cancel(job_id)
        out.print("released" if removed else "not running")

    settings.run(work)


@cli.group()
def files() -> None:
    """Uploads."""


@files.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--content-type")
@click.option("--email")
@json_option
@pass_settings
def files_upload(
    settings: Settings, path: Path, content_type: str | None, email: str | None, as_json: bool
) -> None:
    """Upload a file; prints the path to pass as an image path."""

    async def work(client: AsyncClient) -> None:
        _show_one(await client.files.upload(path, content_type=content_type, email=email), as_json)

    settings.run(work)


@cli.group()
def accounts() -> None:
    """Configured PixVerse accounts."""


@accounts.command("list")
@json_option
@pass_settings
def accounts_list(settings: Settings, as_json: bool) -> None:
    """List accounts and their maxJobs."""

    async def work(client: AsyncClient) -> None:
        items = await client.accounts.list()
        _show_many(
            items, as_json, "accounts", ["email", "maxJobs"], ((a.email, a.max_jobs) for a in items)
        )

    settings.run(work)


@cli.command("download")
@click.argument("audio_id")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True)
@pass_settings
def download_command(settings: Settings, audio_id: str, directory: Path, overwrite: bool) -> None:
    """Download a finished music or speech job's MP3 into DIRECTORY."""

    async def work(client: AsyncClient) -> None:
        item: Track | SpeechClip
        if "-speech:" in audio_id:
            item = await client.speech.get(audio_id)
        else:
            item = await client.music.get(audio_id)
        await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
        out.print(str(await client.download(item, directory, overwrite=overwrite)))

    settings.run(work)


@cli.command("emulator", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def emulator_command(args: tuple[str, ...]) -> None:
    """Serve a local emulator of the API (see `pixverse-audio emulator --help`)."""
    from .emulator.__main__ import main as emulator_main

    raise SystemExit(emulator_main(list(args)))


@cli.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pixverse-demo"),
    show_default=True,
)
@click.option("--tracks", type=int, default=24, show_default=True)
@pass_settings
def demo(settings: Settings, out_dir: Path, tracks: int) -> None:
    """Generate 24 tracks on the embedded emulator: offline, no token needed."""
    from ._cli_generate import run_demo

    run_async(lambda: run_demo(out_dir, tracks, out), backend=settings.backend)
