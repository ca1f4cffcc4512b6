"""The whole ``pixverse-audio`` command: the group with every command added to it."""

from __future__ import annotations

from ._cli_admin import (
    accounts,
    demo,
    download_command,
    emulator_command,
    files,
    minimax,
    scheduler,
)
from ._cli_base import cli
from ._cli_commands import music, speech
from ._cli_durable import batch

__all__ = ["cli"]

for _command in (
    music,
    speech,
    batch,
    minimax,
    scheduler,
    files,
    accounts,
    download_command,
    emulator_command,
    demo,
):
    cli.add_command(_command)
