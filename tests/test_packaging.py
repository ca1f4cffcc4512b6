"""The distributions: what the wheel and sdist carry, their metadata, and a bare import.

The wheel and sdist are built in-process with hatchling (the build backend
``pyproject.toml`` names), from this checkout, into a temporary directory: the
same files ``python -m build`` produces, without a network or an isolated env.
``nox -s build`` adds the real frontend, ``twine check --strict`` and an install
into a fresh virtualenv.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from hatchling.builders.sdist import SdistBuilder
from hatchling.builders.wheel import WheelBuilder
from packaging.requirements import Requirement

import pixverse_audio

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pixverse_audio"
RUNTIME_DEPENDENCIES = {"anyio", "attrs", "cattrs", "httpx"}
OPTIONAL_MODULES = ("click", "rich", "starlette", "uvicorn", "lameenc", "redis", "trio")
MAX_FILE_BYTES = 64 * 1024  # source files only: no audio or other blobs


@pytest.fixture(name="dist", scope="module")
def _dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    (sdist,) = SdistBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    return {"wheel": Path(wheel), "sdist": Path(sdist)}


def _package_sources() -> set[str]:
    """Every file of the package in the checkout, as wheel paths (caches left out)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _metadata(dist: dict[str, Path]) -> Message:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(wheel.read(name).decode())


def test_wheel_holds_exactly_the_package(dist: dict[str, Path]) -> None:
    """The package's sources, py.typed and the dist-info: no tests, docs, caches or blobs."""
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        infos = wheel.infolist()
    names = {info.filename for info in infos}
    dist_info = {n for n in names if ".dist-info/" in n}
    assert names - dist_info == _package_sources()
    assert "pixverse_audio/py.typed" in names
    assert "pixverse_audio/emulator/__init__.py" in names  # the emulator ships (extra deps)
    assert not any(n.startswith(("tests/", "benchmarks/", "docs/", "examples/")) for n in names)
    too_big = {i.filename: i.file_size for i in infos if i.file_size > MAX_FILE_BYTES}
    assert not too_big, f"unexpected large files in the wheel: {too_big}"
    entry_points = next(n for n in dist_info if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        assert "pixverse-audio = pixverse_audio._cli:main" in wheel.read(entry_points).decode()


def test_wheel_metadata(dist: dict[str, Path]) -> None:
    """Version from the one source, four runtime dependencies, classifiers and URLs."""
    meta = _metadata(dist)
    assert meta["Name"] == "pixverse-audio"
    assert meta["Version"] == pixverse_audio.__version__
    assert meta["Requires-Python"] == ">=3.10"
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    assert {r.name for r in requires if r.marker is None} == RUNTIME_DEPENDENCIES
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"cli", "emulator", "test", "docs"} <= extras
    classifiers = set(meta.get_all("Classifier") or [])
    assert {"Framework :: AnyIO", "Framework :: Trio", "Typing :: Typed"} <= classifiers
    versions = {c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language")}
    assert {"3.10", "3.11", "3.12", "3.13"} <= versions
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    assert meta["License-Expression"] == "MIT"
    assert meta.get_payload().startswith("# pixverse-audio")  # the README, for the index page


def test_sdist_holds_sources_tests_and_docs_but_no_local_state(dist: dict[str, Path]) -> None:
    """The sdist rebuilds and tests the package: sources, tests, docs; no venvs or caches."""
    with tarfile.open(dist["sdist"]) as sdist:
        members = [m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name]
    present = set(members)
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "pixverse_audio/py.typed",
        "tests/conftest.py",
        "mkdocs.yml",
    ):
        assert needed in present, needed
    assert {p for p in present if p.startswith("pixverse_audio/")} >= _package_sources()
    banned = (".ci/", ".git/", "site/", ".nox/", ".venv/")
    assert not [p for p in present if p.startswith(banned) or "__pycache__" in p]
    assert not [p for p in present if p.endswith((".pyc", ".whl", ".tar.gz"))]


def test_import_needs_only_the_runtime_dependencies() -> None:
    """``import pixverse_audio`` and every public name work with no extra installed."""
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {OPTIONAL_MODULES!r}:
                    raise ImportError(f"blocked optional module {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        import pixverse_audio
        for name in pixverse_audio.__all__:
            getattr(pixverse_audio, name)
        print(pixverse_audio.__version__)
        """
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == pixverse_audio.__version__
