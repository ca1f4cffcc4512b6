"""The ``pixverse-audio`` command.

For now it has one subcommand, ``emulator``, which serves the embedded emulator
(the ``emulator`` extra). The full command line (music, speech, downloads, the
demo) builds on this entry point.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_USAGE = """\
usage: pixverse-audio <command> [options]

commands:
  emulator    serve a local emulator of the PixVerse audio API (see --help)
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pixverse-audio`` with ``argv`` (default: the process arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "emulator":
        try:
            from .emulator.__main__ import main as emulator_main
        except ImportError as exc:
            print(
                f"pixverse-audio emulator needs the emulator extra ({exc.name} is missing):\n"
                '    python -m pip install "pixverse-audio[emulator]"',
                file=sys.stderr,
            )
            return 2
        return emulator_main(rest)
    print(f"pixverse-audio: unknown command {command!r}\n\n{_USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
