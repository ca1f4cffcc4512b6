"""The public surface: __all__, __module__, docstrings, __version__, the error tree, hygiene."""

from __future__ import annotations

import ast
import builtins
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

import pixverse_audio
from pixverse_audio import _errors

PACKAGE_DIR = Path(pixverse_audio.__file__).parent
RESOURCE_CLASSES = [
    pixverse_audio.AsyncClient,
    pixverse_audio.MusicAPI,
    pixverse_audio.SpeechAPI,
    pixverse_audio.MinimaxAPI,
    pixverse_audio.MinimaxMusicAPI,
    pixverse_audio.SchedulerAPI,
    pixverse_audio.FilesAPI,
    pixverse_audio.AccountsAPI,
]


# --------------------------------------------------------------------- __all__


def test_all_is_sorted() -> None:
    """__all__ is sorted and has no duplicates."""
    assert pixverse_audio.__all__ == sorted(pixverse_audio.__all__)
    assert len(pixverse_audio.__all__) == len(set(pixverse_audio.__all__))


def test_all_matches_public_names() -> None:
    """__all__ lists exactly the public, non-module names of the package namespace."""
    public = [
        name
        for name, obj in vars(pixverse_audio).items()
        if not name.startswith("_") and not inspect.ismodule(obj)
    ]
    assert set(public) - set(pixverse_audio.__all__) == set()  # public but not exported
    assert set(pixverse_audio.__all__) - set(public) == set()  # exported but missing
    assert sorted(public) == pixverse_audio.__all__


def test_every_export_resolves() -> None:
    """Every name in __all__ is an attribute of the package, and star-import gives exactly them."""
    namespace: dict[str, object] = {}
    exec("from pixverse_audio import *", namespace)  # noqa: S102 - a fixed, trusted statement
    namespace.pop("__builtins__")
    assert sorted(namespace) == pixverse_audio.__all__
    for name in pixverse_audio.__all__:
        assert getattr(pixverse_audio, name) is namespace[name]


@pytest.mark.parametrize("name", pixverse_audio.__all__)
def test_exported_class_is_public_and_documented(name: str) -> None:
    """Every exported class or function says it lives in pixverse_audio and is documented."""
    obj = getattr(pixverse_audio, name)
    assert isinstance(obj, type) or inspect.isfunction(obj)
    assert obj.__module__ == "pixverse_audio"
    assert f"{obj.__module__}.{obj.__qualname__}" == f"pixverse_audio.{name}"
    assert obj.__doc__
    assert obj.__doc__.strip()


def _public_methods(cls: type) -> list[tuple[str, object]]:
    members: list[tuple[str, object]] = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(member, property):
            members.append((name, member))
    return members


@pytest.mark.parametrize("cls", RESOURCE_CLASSES, ids=lambda cls: cls.__name__)
def test_public_methods_have_docstrings(cls: type) -> None:
    """Every public method and property of AsyncClient and the *API classes has a docstring."""
    members = _public_methods(cls)
    assert members or cls is pixverse_audio.MinimaxAPI
    undocumented = [name for name, member in members if not (member.__doc__ or "").strip()]
    assert undocumented == []


def test_resource_classes_expose_the_expected_methods() -> None:
    """The documented methods exist (so the docstring check above is not vacuous)."""
    names = {cls.__name__: {n for n, _ in _public_methods(cls)} for cls in RESOURCE_CLASSES}
    assert {"aclose", "base_url", "retry"} <= names["AsyncClient"]
    assert {"create", "get", "list", "list_page"} <= names["MusicAPI"]
    assert {"create", "get", "list", "list_page", "voices", "voices_page", "models"} <= names[
        "SpeechAPI"
    ]
    assert {"get", "list", "list_page"} <= names["MinimaxMusicAPI"]
    assert {"list", "available", "cancel"} <= names["SchedulerAPI"]
    assert {"upload"} <= names["FilesAPI"]
    assert {"list", "get"} <= names["AccountsAPI"]


# --------------------------------------------------------------------- version


def test_version_matches_installed_metadata() -> None:
    """__version__ is a version string equal to the installed distribution's version."""
    version = pixverse_audio.__version__
    assert isinstance(version, str)
    assert version == importlib.metadata.version("pixverse-audio")
    assert re.fullmatch(r"\d+(\.\d+)+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", version)
    assert "__version__" not in pixverse_audio.__all__


def test_unknown_attribute_raises_attribute_error() -> None:
    """Other missing attributes still raise AttributeError (the lazy __getattr__ is narrow)."""
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = pixverse_audio.no_such_name


# ----------------------------------------------------------------- error tree

_TREE_LINE = re.compile(r"^(?P<indent>[│ ]*)(?:[├└]── )?(?P<name>[A-Za-z]+)(?:\((?P<base>\w+)\))?")


def _drawn_tree() -> dict[str, tuple[str | None, str | None]]:
    """Class name -> (drawn parent, drawn builtin mixin), parsed from _errors' docstring."""
    doc = _errors.__doc__
    assert doc is not None
    lines = [line[4:] for line in doc.splitlines() if line.startswith("    ")]
    lines = [line for line in lines if line.strip()]
    assert lines[0].strip() == "PixverseAudioError"
    tree: dict[str, tuple[str | None, str | None]] = {"PixverseAudioError": (None, None)}
    stack = ["PixverseAudioError"]
    for line in lines[1:]:
        match = _TREE_LINE.match(line)
        assert match is not None, line
        depth = len(match["indent"]) // 4 + 1
        del stack[depth:]
        tree[match["name"]] = (stack[depth - 1], match["base"])
        stack.append(match["name"])
    return tree


DRAWN = _drawn_tree()


def test_drawn_tree_lists_every_exported_exception() -> None:
    """The docstring tree names exactly the exception classes exported by the package."""
    exported = {
        name
        for name in pixverse_audio.__all__
        if isinstance(getattr(pixverse_audio, name), type)
        and issubclass(getattr(pixverse_audio, name), BaseException)
    }
    assert set(DRAWN) == exported


@pytest.mark.parametrize("name", sorted(DRAWN))
def test_exception_matches_drawn_tree(name: str) -> None:
    """Each exception's library base and builtin mixin are the ones drawn in _errors."""
    cls = getattr(pixverse_audio, name)
    parent, builtin = DRAWN[name]
    library_bases = [b for b in cls.__bases__ if b.__module__ == "pixverse_audio"]
    other_bases = [b for b in cls.__bases__ if b.__module__ != "pixverse_audio"]
    if parent is None:
        assert cls.__bases__ == (Exception,)
        return
    assert library_bases == [getattr(pixverse_audio, parent)]
    assert other_bases == ([getattr(builtins, builtin)] if builtin else [])


def test_exception_hierarchy_spot_checks() -> None:
    """The relations callers rely on hold (independently of the docstring)."""
    p = pixverse_audio
    assert issubclass(p.ValidationError, ValueError)
    assert issubclass(p.ValidationError, p.PixverseAudioError)
    assert issubclass(p.WaitTimeoutError, TimeoutError)
    assert issubclass(p.APITimeoutError, TimeoutError)
    assert issubclass(p.APITimeoutError, p.APIConnectionError)
    assert issubclass(p.InsufficientCreditsError, p.PaymentRequiredError)
    assert issubclass(p.SubscriptionExpiredError, p.PaymentRequiredError)
    assert issubclass(p.PaymentRequiredError, p.APIError)
    assert issubclass(p.APIError, p.PixverseAudioError)
    assert issubclass(p.ResponseFormatError, p.APIError)
    assert issubclass(p.BusyError, p.APIError)
    assert issubclass(p.OutcomeUnknownError, p.PixverseAudioError)
    assert not issubclass(p.OutcomeUnknownError, p.APIError)
    assert not issubclass(p.OutcomeUnknownError, p.APIConnectionError)
    assert not issubclass(p.ConfigurationError, ValueError)
    assert not issubclass(p.APIConnectionError, TimeoutError)
    assert not issubclass(p.ServerError, p.BusyError)
    assert not issubclass(p.GenerationFailedError, p.APIError)
    assert issubclass(p.PixverseAudioError, Exception)


# ------------------------------------------------------------------ hygiene


def _package_sources() -> list[Path]:
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(files) >= 11
    return files


@pytest.mark.parametrize("path", _package_sources(), ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_no_asyncio_import_and_no_del(path: Path) -> None:
    """No library module imports asyncio (trio must work) or defines __del__."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "asyncio", f"{path}:{node.lineno}"
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] != "asyncio", f"{path}:{node.lineno}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.name != "__del__", f"{path}:{node.lineno}"
        elif isinstance(node, ast.Call):
            # importlib.import_module("asyncio") or __import__("asyncio")
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                module = first.value if isinstance(first, ast.Constant) else ""
                assert str(module).split(".")[0] != "asyncio", f"{path}:{node.lineno}"
