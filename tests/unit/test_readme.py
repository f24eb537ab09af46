"""The README documents every setting and every command: adding one without a line there fails."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from hashcart.cli import app
from hashcart.config import Settings
from hashcart.domain.messages import Reason

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _command_lines() -> list[str]:
    """The lines of the README's command-line block, which lists every command."""
    section = README.split("\n## Command line\n", 1)[1]
    block = re.search(r"```sh\n(.*?)\n```", section, re.DOTALL)
    assert block is not None, "the Command line section starts with a ```sh block"
    return [line.strip() for line in block.group(1).splitlines()]


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `command` (Typer's own click: groups have `commands`)."""
    found: list[tuple[str, ...]] = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            found.append((*path, name))
            found += _command_paths(sub, (*path, name))
    return found


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_walk_finds_the_commands_and_their_groups() -> None:
    assert ("ingest",) in COMMANDS
    assert ("catalog", "import") in COMMANDS
    assert ("tokens", "revoke") in COMMANDS
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_a_line_in_the_readme(path: tuple[str, ...]) -> None:
    written = "hashcart " + " ".join(path)
    lines = _command_lines()
    assert any(line == written or line.startswith(written + " ") for line in lines), (
        f"README.md, Command line: add a line for `{written}`"
    )


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_named_in_the_readme(name: str) -> None:
    assert f"`{name}`" in README, f"README.md: document the setting `{name}`"


@pytest.mark.parametrize("reason", sorted(Reason), ids=str)
def test_every_outbox_reason_code_is_named_in_the_readme(reason: Reason) -> None:
    """Issue 12: the README documents every reason code the outbox JSON can carry."""
    assert f"`{reason.value}`" in README, f"README.md: name the outbox reason `{reason.value}`"
