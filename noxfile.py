"""Developer sessions: ``nox`` runs tests on every supported Python, lint and mypy.

Opt-in sessions (not run by a bare ``nox``): ``soak`` (slow reliability and load
tests behind the ``soak`` marker), ``bench`` (benchmarks, JSON on stdout),
``docs`` (``mkdocs build --strict``) and ``build`` (sdist and wheel, checked and
installed into a fresh virtualenv).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "mypy"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# pyenv puts every interpreter on PATH as python3.X; nox finds them there.
os.environ.setdefault("PYENV_VERSION", ":".join(["3.11.7", "3.10.13", "3.12.1", "3.13.0"]))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The default test run (soak tests deselected) on one Python."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def soak(session: nox.Session) -> None:
    """The slow soak and load tests (marker ``soak``)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-m", "soak", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Every benchmark (JSON lines on stdout, tables on stderr); pass --quick to shrink."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs, strict: any warning fails)."""
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check (with the ASYNC rules) and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def mypy(session: nox.Session) -> None:
    """mypy --strict over the package and the typing smoke file."""
    session.install("-e", ".[lint]")
    session.run("mypy", "--strict", "pixverse_audio", "tests/typing")


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Build the sdist and wheel, ``twine check --strict`` them, install the wheel bare.

    The wheel goes into a fresh virtualenv with nothing but its four runtime
    dependencies; ``import pixverse_audio`` and every public name must load there.
    """
    session.install("build>=1.2", "twine>=5")
    dist = Path("dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    (wheel,) = dist.glob("*.whl")
    bare = Path(session.create_tmp()) / "bare"
    shutil.rmtree(bare, ignore_errors=True)
    session.run("python", "-m", "venv", str(bare))
    python = str(bare / "bin" / "python")
    session.run(python, "-m", "pip", "install", "--quiet", str(wheel), external=True)
    session.run(
        python,
        "-c",
        "import importlib.metadata as m, pixverse_audio as p;"
        "[getattr(p, n) for n in p.__all__];"
        "installed = sorted(d.metadata['Name'].lower() for d in m.distributions());"
        "print(p.__version__, installed);"
        "assert not {'click', 'rich', 'starlette', 'uvicorn', 'redis'} & set(installed)",
        external=True,
    )
