"""What every ``pixverse-audio`` command shares: the click group, settings, options, output.

The commands live in `pixverse_audio._cli_commands` (music and speech, with `generate` in
`pixverse_audio._cli_batch`) and
`pixverse_audio._cli_admin` (everything else); `pixverse_audio._cli_app` adds
them all to `cli`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import attrs
import click
from rich.console import Console

from ._cli_output import EXIT_MEANINGS, print_json, print_table
from ._cli_run import run_async, token_from
from ._client import AsyncClient

__all__ = [
    "Settings",
    "cli",
    "email_option",
    "err",
    "json_option",
    "out",
    "pass_settings",
    "show_many",
    "show_one",
    "timeout_option",
]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Settings:
    """Options shared by every command."""

    def __init__(self, token: str | None, base_url: str | None, backend: str) -> None:
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
EXIT_HELP = "Exit codes: " + ", ".join(f"{code} {meaning}" for code, meaning in EXIT_MEANINGS) + "."


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_HELP,
)
@click.option(
    "--token",
    envvar="USEAPI_TOKEN",
    show_envvar=True,
    help="useapi.net API token (never printed).",
)
@click.option(
    "--base-url",
    envvar="USEAPI_BASE_URL",
    show_envvar=True,
    help="Where the API lives: an http(s) origin, e.g. a `pixverse-audio emulator` "
    "(default https://api.useapi.net).",
)
@click.option("--backend", type=click.Choice(["asyncio", "trio"]), default="asyncio", hidden=True)
@click.version_option(package_name="pixverse-audio")
@click.pass_context
def cli(ctx: click.Context, token: str | None, base_url: str | None, backend: str) -> None:
    """Music and speech from PixVerse through useapi.net, from the shell."""
    ctx.obj = Settings(token, base_url or None, backend)


# ---------------------------------------------------------------- shared


def show_one(item: Any, as_json: bool) -> None:
    """Print one model: JSON, or a field/value table."""
    fields = [(k, v) for k, v in _fields(item) if v not in (None, "", {}, ())]
    show_many(item, as_json, type(item).__name__, ["field", "value"], fields)


def show_many(
    value: Any, as_json: bool, title: str, columns: list[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Print ``value`` as JSON, or ``rows`` as a table for people."""
    if as_json:
        print_json(out, value)
    else:
        print_table(out, title, columns, rows)


def _fields(item: Any) -> list[tuple[str, Any]]:
    return [(f.name, getattr(item, f.name)) for f in attrs.fields(type(item)) if f.repr]


email_option = click.option(
    "--email", help="The account (an email); needed by the API when several are configured."
)


def timeout_option(default: float) -> Callable[[Any], Any]:
    """``--timeout``: seconds to wait for each job, a positive number."""
    return click.option(
        "--timeout",
        type=float,
        default=default,
        show_default=True,
        help="Seconds to wait for each job to become final (a positive number).",
    )
