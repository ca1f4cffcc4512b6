"""The documentation cannot rot: its code comes from executed files, its references are complete."""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

import click
import pytest

import pixverse_audio
from pixverse_audio._cli_app import cli
from pixverse_audio.emulator.__main__ import parser as emulator_parser

from ._support import DOCS, EXAMPLES, README, ROOT, example_files, fenced_blocks

PAGES = sorted(DOCS.rglob("*.md"))
SNIPPET = re.compile(r'^\s*--8<-- "([^"]+)"\s*$', re.MULTILINE)
# Files whose code README blocks may quote: the examples run by tests/docs, the
# Starlette receiver run by tests/features/test_callbacks.py and the shared-limiter
# worker run by tests/shared_limiter/test_processes.py.
EXECUTED = [
    *example_files(),
    ROOT / "examples" / "starlette_callbacks.py",
    ROOT / "examples" / "shared_worker.py",
]


def snippets() -> list[tuple[Path, str]]:
    return [(page, m.group(1)) for page in PAGES for m in SNIPPET.finditer(page.read_text())]


def appears_in(block: str, path: Path) -> bool:
    """``block`` is a run of consecutive lines of ``path``, up to common indentation."""
    wanted = textwrap.dedent(block).strip("\n")
    lines = path.read_text().splitlines()
    size = len(wanted.splitlines())
    return any(
        textwrap.dedent("\n".join(lines[i : i + size])) == wanted
        for i in range(len(lines) - size + 1)
    )


@pytest.mark.parametrize(
    "block",
    [body for lang, body in fenced_blocks(README.read_text()) if lang == "python"],
    ids=lambda body: body.splitlines()[0][:40],
)
def test_readme_python_blocks_come_from_executed_examples(block: str) -> None:
    """Every ```python block of README.md is verbatim part of an example the tests run."""
    assert [p.name for p in EXECUTED if appears_in(block, p)], block


def test_readme_has_python_blocks_and_tagged_fences() -> None:
    """README keeps its examples, and every fence says its language."""
    blocks = fenced_blocks(README.read_text())
    assert sum(lang == "python" for lang, _ in blocks) >= 4
    assert all(lang for lang, _ in blocks)


def test_readme_keeps_its_two_commands() -> None:
    text = README.read_text()
    assert 'python -m pip install -e ".[cli,emulator]" && pixverse-audio demo' in text
    assert 'python -m pip install -e ".[test]" && python -m pytest' in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_python_comes_only_from_snippets(page: Path) -> None:
    """No inline Python in a page: each ```python block is one --8<-- include of a file."""
    for lang, body in fenced_blocks(page.read_text()):
        assert lang, f"an untagged fence in {page.name}"
        if lang == "python":
            assert SNIPPET.fullmatch(body.strip("\n") + "\n") or SNIPPET.match(body), body
            assert len(body.strip().splitlines()) == 1, body


def test_snippets_exist_and_are_executed() -> None:
    """Every include names an existing file (and section); code comes from executed files."""
    for page, target in snippets():
        path, _, section = target.partition(":")
        file = ROOT / path
        assert file.is_file(), (page, target)
        if section:
            text = file.read_text()
            assert f"--8<-- [start:{section}]" in text, (page, target)
            assert f"--8<-- [end:{section}]" in text, (page, target)
        if file.suffix == ".py":
            assert file in EXECUTED, (page, target)


def test_every_example_is_shown() -> None:
    """Each file in docs/examples/ appears in at least one page."""
    shown = {target.partition(":")[0] for _, target in snippets()}
    missing = [p.name for p in example_files() if f"docs/examples/{p.name}" not in shown]
    assert not missing


def test_every_page_is_in_the_nav() -> None:
    """mkdocs.yml's nav lists every page (mkdocs only logs the ones left out)."""
    nav = (ROOT / "mkdocs.yml").read_text()
    assert [p for p in PAGES if f": {p.relative_to(DOCS).as_posix()}\n" not in nav] == []


def test_changelog_page_includes_the_changelog() -> None:
    assert (DOCS / "changelog.md").read_text().strip() == '--8<-- "CHANGELOG.md"'


def test_api_reference_lists_every_public_name() -> None:
    """Every name in pixverse_audio.__all__ has a ::: block in docs/api.md."""
    lines = set((DOCS / "api.md").read_text().splitlines())
    missing = [n for n in pixverse_audio.__all__ if f"::: pixverse_audio.{n}" not in lines]
    assert missing == []


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    """Every leaf command of ``group`` as ``("pixverse-audio music create", command)``."""
    found = []
    for name, command in group.commands.items():
        if command.hidden:  # an alias (accounts add): documented with its command
            continue
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
        else:
            found.append((" ".join(("pixverse-audio", *path, name)), command))
    return found


def cli_sections() -> dict[str, str]:
    text = (DOCS / "cli.md").read_text()
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_cli_walk_finds_the_commands() -> None:
    names = [name for name, _ in commands(cli)]
    assert "pixverse-audio music create" in names
    assert "pixverse-audio demo" in names
    assert len(names) >= 17


@pytest.mark.parametrize(("name", "command"), commands(cli), ids=lambda v: str(v))
def test_cli_reference_documents_command(name: str, command: click.Command) -> None:
    """Each command has a section in docs/cli.md naming each of its options and arguments."""
    sections = cli_sections()
    assert name in sections, f"{name} is missing from docs/cli.md"
    body = sections[name]
    for param in command.params:
        if isinstance(param, click.Option):
            if param.hidden:
                continue
            assert any(f"`{opt}" in body for opt in param.opts if opt.startswith("--")), (
                name,
                param.opts,
            )
        elif name != "pixverse-audio emulator":  # its arguments are the emulator's options
            assert str(param.name).upper() in body, (name, param.name)


def test_cli_reference_documents_emulator_options() -> None:
    body = cli_sections()["pixverse-audio emulator"]
    for action in emulator_parser()._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert f"`{action.option_strings[-1]}" in body, action.option_strings


def test_cli_reference_documents_global_options() -> None:
    text = (DOCS / "cli.md").read_text()
    for param in cli.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert f"`{param.opts[-1]}" in text, param.opts


def test_examples_directory_is_the_one_pages_use() -> None:
    assert EXAMPLES == DOCS / "examples"
    assert (ROOT / "mkdocs.yml").read_text().count('base_path: ["."]') == 1


def test_readme_relative_links_point_to_files() -> None:
    """Every relative link of README.md names a file of the repository."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    relative = [t for t in targets if "://" not in t]
    assert len(relative) >= 10
    assert [t for t in relative if not (ROOT / t).is_file()] == []


def _exit_table(text: str) -> list[tuple[int, str]]:
    block = text.split("<!-- exit-codes -->", 1)[1].split("<!-- /exit-codes -->", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", block, flags=re.MULTILINE)
    return [(int(code), meaning) for code, meaning in rows]


@pytest.mark.parametrize("page", [README, DOCS / "cli.md"], ids=["README", "cli.md"])
def test_exit_codes_are_one_list(page: Path) -> None:
    """The README and the CLI reference list exactly the exit codes the command uses."""
    from pixverse_audio._cli_output import EXIT_CODES, EXIT_MEANINGS

    assert _exit_table(page.read_text()) == list(EXIT_MEANINGS)
    used = {code for _, code in EXIT_CODES} | {0, 1, 130}
    assert used == {code for code, _ in EXIT_MEANINGS}


def test_cli_help_lists_the_exit_codes() -> None:
    """`pixverse-audio --help` ends with every exit code and its meaning."""
    from pixverse_audio._cli_output import EXIT_MEANINGS

    text = " ".join(cli.get_help(click.Context(cli)).split())
    for code, meaning in EXIT_MEANINGS:
        assert f"{code} {' '.join(meaning.split())}" in text
