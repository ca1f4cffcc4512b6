"""The emulator's third-party modules are there, or one line says how to install them.

Imported by the package before any module that needs them, so
``from pixverse_audio.emulator import Emulator`` and ``python -m
pixverse_audio.emulator`` without the ``emulator`` extra fail with the install
command, not a traceback into starlette.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from typing import Final

__all__ = ["MODULES", "require"]

MODULES: Final = ("starlette", "uvicorn", "lameenc")


def require() -> None:
    """Raise ImportError naming the missing module and the install command.

    Run as ``python -m pixverse_audio.emulator``, print that one line and exit 2
    instead: a command prints no traceback.
    """
    for module in MODULES:
        if importlib.util.find_spec(module) is None:
            message = (
                f"pixverse_audio.emulator needs the emulator extra ({module} is missing): "
                'python -m pip install "pixverse-audio[emulator]"'
            )
            if _run_as_module():
                print(f"pixverse-audio emulator: {message}", file=sys.stderr)
                raise SystemExit(2)
            raise ImportError(message, name=module)


def _run_as_module() -> bool:
    """Whether this interpreter was started as ``python -m pixverse_audio.emulator``."""
    argv = list(getattr(sys, "orig_argv", ()))
    return any(
        flag == "-m" and target == "pixverse_audio.emulator"
        for flag, target in itertools.pairwise(argv)
    )


require()
