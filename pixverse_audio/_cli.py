"""The ``pixverse-audio`` command (the ``cli`` extra: click and rich).

Only this module and its ``_cli_*`` siblings import click and rich. The token
comes from ``--token`` or ``$USEAPI_TOKEN``; ``--base-url`` points the command
at the emulator. Read commands take ``--json``. Errors print one line and exit
with a documented code (see `pixverse_audio._cli_output.EXIT_CODES`); Ctrl-C
cancels cleanly (running jobs are released, partial files removed) and exits 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli_run import INTERRUPTED, fail, missing_extra

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pixverse-audio`` with ``argv`` (default: the process arguments)."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling began (imports)
        print("pixverse-audio: interrupted", file=sys.stderr)
        return INTERRUPTED


def _main(args: list[str]) -> int:
    if args[:1] == ["emulator"]:  # needs only the emulator extra
        try:
            from .emulator.__main__ import main as emulator_main
        except ImportError as exc:
            return missing_extra("emulator", exc)
        return emulator_main(args[1:])
    try:
        from ._cli_app import cli
    except ImportError as exc:
        return missing_extra("cli", exc)
    try:
        cli.main(args=args, prog_name="pixverse-audio", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as exc:  # click's usage errors and aborts, an OSError
        return _click_error(exc)
    return 0


def _click_error(exc: Exception) -> int:
    import click

    if isinstance(exc, click.exceptions.Abort):
        print("pixverse-audio: interrupted", file=sys.stderr)
        return INTERRUPTED
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, OSError):  # one line, exit 1: never a traceback
        try:
            fail(exc)
        except SystemExit as exit_:
            return int(exit_.code or 1)
    raise exc


if __name__ == "__main__":
    sys.exit(main())
