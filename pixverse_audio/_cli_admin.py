"""The other ``pixverse-audio`` commands: scheduler, files, accounts, MiniMax, download, demo.

As with music and speech, every option is checked before the first request.
The PixVerse password and token are read from a prompt or the environment,
never echoed, and never printed back.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Final

import anyio
import click

from . import _sansio as sansio
from . import _validate as v
from ._cli_base import (
    Settings,
    email_option,
    json_option,
    out,
    pass_settings,
    show_many,
    show_one,
)
from ._cli_run import check_output_dir, checked, missing_extra, run_async
from ._client import AsyncClient
from ._errors import ValidationError
from ._models import SpeechClip, Track

__all__ = ["accounts", "demo", "download_command", "emulator_command", "files", "minimax"]
__all__ += ["scheduler"]


# ------------------------------------------------------------------ minimax


@click.group()
def minimax() -> None:
    """Legacy MiniMax v1 music."""


@minimax.command("list")
@click.option("--account", help="The MiniMax account; needed when several are configured.")
@click.option(
    "--limit",
    type=int,
    default=20,
    show_default=True,
    help="Songs per page request (1 to 1000); every page is listed.",
)
@json_option
@pass_settings
def minimax_list(settings: Settings, account: str | None, limit: int, as_json: bool) -> None:
    """List legacy MiniMax songs (every page)."""
    with checked():
        sansio.minimax_music_list(account=account, limit=limit)

    async def work(client: AsyncClient) -> None:
        songs = [s async for s in client.minimax.music.list(account=account, page_size=limit)]
        rows = ((s.music_id, s.title, s.status_label, s.duration) for s in songs)
        show_many(songs, as_json, "minimax songs", ["music_id", "title", "status", "s"], rows)

    settings.run(work)


# ---------------------------------------------------------------- scheduler


@click.group()
def scheduler() -> None:
    """Jobs useapi.net is running."""


@scheduler.command("list")
@json_option
@pass_settings
def scheduler_list(settings: Settings, as_json: bool) -> None:
    """List running jobs."""

    async def work(client: AsyncClient) -> None:
        jobs = await client.scheduler.list()
        rows = ((j.id, j.type, j.elapsed) for j in jobs)
        show_many(jobs, as_json, "running", ["id", "type", "elapsed"], rows)

    settings.run(work)


@scheduler.command("available")
@json_option
@pass_settings
def scheduler_available(settings: Settings, as_json: bool) -> None:
    """Show free slots per account."""

    async def work(client: AsyncClient) -> None:
        availability = await client.scheduler.available()
        rows = ((a.email, a.max_jobs, a.executing, a.available) for a in availability.accounts)
        columns = ["email", "maxJobs", "executing", "available"]
        show_many(availability, as_json, "accounts", columns, rows)

    settings.run(work)


@scheduler.command("cancel")
@click.argument("job_id")
@pass_settings
def scheduler_cancel(settings: Settings, job_id: str) -> None:
    """Release the slot of running job JOB_ID (the job may still finish and bill)."""
    with checked():
        sansio.scheduler_cancel(job_id)

    async def work(client: AsyncClient) -> None:
        removed = await client.scheduler.cancel(job_id)
        out.print("released" if removed else "not running")

    settings.run(work)


# ------------------------------------------------------------------- files


@click.group()
def files() -> None:
    """Uploads."""


@files.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--content-type",
    help="The media type, e.g. image/png or video/mp4 (guessed from the suffix or bytes).",
)
@email_option
@json_option
@pass_settings
def files_upload(
    settings: Settings, path: Path, content_type: str | None, email: str | None, as_json: bool
) -> None:
    """Upload the file at PATH (up to 5 GB); prints the path to pass as an image path."""
    with checked():
        with path.open("rb") as handle:
            head = handle.read(16)
        size = path.stat().st_size
        sansio.files_upload(path, size=size, head=head, content_type=content_type, email=email)

    async def work(client: AsyncClient) -> None:
        show_one(await client.files.upload(path, content_type=content_type, email=email), as_json)

    settings.run(work)


# ---------------------------------------------------------------- accounts


EMAIL_ARGUMENT: Final = {"email": "EMAIL"}  # the accounts commands take it as an argument


@click.group()
def accounts() -> None:
    """Configured PixVerse accounts: list, show, add or update, remove."""


@accounts.command("list")
@json_option
@pass_settings
def accounts_list(settings: Settings, as_json: bool) -> None:
    """List accounts and their maxJobs."""

    async def work(client: AsyncClient) -> None:
        items = await client.accounts.list()
        rows = ((a.email, a.max_jobs) for a in items)
        show_many(items, as_json, "accounts", ["email", "maxJobs"], rows)

    settings.run(work)


@accounts.command("get")
@click.argument("email")
@json_option
@pass_settings
def accounts_get(settings: Settings, email: str, as_json: bool) -> None:
    """Show the account EMAIL and its maxJobs."""
    with checked(EMAIL_ARGUMENT):
        sansio.accounts_get(email)

    async def work(client: AsyncClient) -> None:
        show_one(await client.accounts.get(email), as_json)

    settings.run(work)


PASSWORD_ENV = "PIXVERSE_PASSWORD"  # noqa: S105 - the variable's name
PIXVERSE_TOKEN_ENV = "PIXVERSE_TOKEN"  # noqa: S105 - the variable's name


@click.argument("email")
@click.option(
    "--max-jobs",
    type=int,
    required=True,
    help="Jobs useapi.net runs at once on the account (1 to 8; within your plan's limit).",
)
@click.option(
    "--password",
    envvar=PASSWORD_ENV,
    show_envvar=True,
    help="The PixVerse password; asked for (hidden) when neither given nor in the environment.",
)
@click.option(
    "--pixverse-token",
    envvar=PIXVERSE_TOKEN_ENV,
    show_envvar=True,
    help="A PixVerse session token (development only).",
)
@json_option
@pass_settings
def accounts_create(
    settings: Settings,
    email: str,
    max_jobs: int,
    password: str | None,
    pixverse_token: str | None,
    as_json: bool,
) -> None:
    """Add the account EMAIL or update it (its maxJobs; or recover it after a 596)."""
    with checked(EMAIL_ARGUMENT):  # everything but the password, before asking for it
        if "@" not in email:
            raise ValidationError("email", "must be an email address, like name@example.com")
        sansio.accounts_create(
            email=email, password=password or "-", max_jobs=max_jobs, token=pixverse_token
        )
    if password is None:
        password = _ask_password(email)
    with checked(EMAIL_ARGUMENT):
        sansio.accounts_create(
            email=email, password=password, max_jobs=max_jobs, token=pixverse_token
        )

    async def work(client: AsyncClient) -> None:
        account = await client.accounts.create(
            email, password=str(password), max_jobs=max_jobs, token=pixverse_token
        )
        show_one(account, as_json)

    settings.run(work)


def _ask_password(email: str) -> str:
    """The password from a hidden prompt; no terminal and no input is a usage error."""
    try:
        answer = click.prompt(f"PixVerse password for {email}", hide_input=True, err=True)
    except click.exceptions.Abort:
        with checked():
            raise ValidationError(
                "password", f"none given: set ${PASSWORD_ENV} or type it at the prompt"
            ) from None
        raise  # not reached: checked() exits
    return str(answer)


_create = accounts.command("create")(accounts_create)
_add = copy.copy(_create)  # "add" is the spelling many try first: the same command, unlisted
_add.name, _add.hidden = "add", True
accounts.add_command(_add)


@accounts.command("delete")
@click.argument("email")
@pass_settings
def accounts_delete(settings: Settings, email: str) -> None:
    """Remove the account EMAIL from useapi.net's configuration."""
    with checked(EMAIL_ARGUMENT):
        sansio.accounts_delete(email)

    async def work(client: AsyncClient) -> None:
        removed = await client.accounts.delete(email)
        out.print("deleted" if removed else "not configured")

    settings.run(work)


# ------------------------------------------------------------- downloading


@click.command("download")
@click.argument("audio_id")
@click.argument("directory", type=click.Path(path_type=Path), metavar="DIRECTORY")
@click.option("--overwrite", is_flag=True, help="Replace a file of the same name.")
@pass_settings
def download_command(settings: Settings, audio_id: str, directory: Path, overwrite: bool) -> None:
    """Download a finished music or speech job's MP3 into DIRECTORY (created)."""
    with checked():
        v.check_id("audio_id", audio_id)
        check_output_dir("DIRECTORY", directory)

    async def work(client: AsyncClient) -> None:
        item: Track | SpeechClip
        if "-speech:" in audio_id:
            item = await client.speech.get(audio_id)
        else:
            item = await client.music.get(audio_id)
        await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
        out.print(str(await client.download(item, directory, overwrite=overwrite)))

    settings.run(work)


@click.command(
    "emulator", context_settings={"ignore_unknown_options": True, "help_option_names": []}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def emulator_command(args: tuple[str, ...]) -> None:
    """Serve a local emulator of the API (see `pixverse-audio emulator --help`)."""
    from .emulator.__main__ import main as emulator_main

    raise SystemExit(emulator_main(list(args)))


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    metavar="DIRECTORY",
    default=Path("pixverse-demo"),
    show_default=True,
    help="The directory the MP3s go into (created).",
)
@click.option(
    "--tracks", type=int, default=24, show_default=True, help="How many tracks (1 to 1000)."
)
@pass_settings
def demo(settings: Settings, out_dir: Path, tracks: int) -> None:
    """Generate tracks on the embedded emulator: offline, no token needed."""
    from ._cli_generate import run_demo

    with checked():
        v.check_count("tracks", tracks, low=1, high=1000)
    try:
        from .emulator import Emulator  # noqa: F401 - the demo runs on it
    except ImportError as exc:
        raise SystemExit(missing_extra("emulator", exc)) from None
    with checked():
        check_output_dir("--out", out_dir)
    run_async(lambda: run_demo(out_dir, tracks, out), backend=settings.backend)
