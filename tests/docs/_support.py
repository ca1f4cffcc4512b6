"""Loading the documentation's example programs and checking what they produce."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import mutagen.mp3

from pixverse_audio import PollPolicy
from pixverse_audio.emulator import Emulator, Timing

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
README = ROOT / "README.md"
FAST = PollPolicy(first=0.02, cap=0.05)
QUICK_MUSIC = Timing(queued=(0, 0.02), generating=(0.05, 0.1), audio=(2, 4))
QUICK_SPEECH = Timing(queued=(0, 0.02), generating=(0.03, 0.06), audio=(1, 3))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def example_files() -> list[Path]:
    """Every program under docs/examples/, sorted."""
    return sorted(EXAMPLES.glob("*.py"))


def load_example(name: str) -> ModuleType:
    """Import ``docs/examples/<name>.py`` as a module (not as ``__main__``)."""
    module_name = f"_docs_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block of a Markdown text."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def assert_mp3(path: Path, duration: float | None = None) -> None:
    """``path`` is a real MP3 (mutagen parses its frames), as long as ``duration``."""
    assert path.is_file(), path
    assert path.suffix == ".mp3"
    info = mutagen.mp3.MP3(path).info
    assert info.length > 0
    if duration is not None:
        assert abs(info.length - duration) < 0.5, (info.length, duration)


def quick_emulator(**kwargs: Any) -> Emulator:
    """An emulator whose jobs finish within about 0.1 s (Emulator.fast takes 0.5 s)."""
    kwargs.setdefault("music_timing", QUICK_MUSIC)
    kwargs.setdefault("speech_timing", QUICK_SPEECH)
    return Emulator.fast(**kwargs)
