"""The emulator and testing modules are public API: sorted exports, documented names."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import pixverse_audio.emulator
import pixverse_audio.testing


@pytest.mark.parametrize("module", [pixverse_audio.emulator, pixverse_audio.testing])
def test_exports_are_sorted_and_exist(module: ModuleType) -> None:
    """__all__ is sorted, and every name in it exists in the module."""
    assert module.__all__ == sorted(module.__all__)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("module", [pixverse_audio.emulator, pixverse_audio.testing])
def test_exported_callables_have_docstrings(module: ModuleType) -> None:
    """Every exported class and function, and each public method of those, has a docstring."""
    undocumented = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            undocumented.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member):
                    continue
                if not inspect.getdoc(member):
                    undocumented.append(f"{name}.{attr}")
    assert undocumented == []
