"""The README's quickstart and CI agree: CI installs and tests exactly as a new user would."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "pip install -e '.[dev]' --config-settings editable_mode=strict"
TEST = ".venv/bin/python -m pytest"


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_quickstart_is_two_one_line_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands), commands
    setup, tests = commands
    assert INSTALL in setup
    assert tests == TEST


def test_ci_installs_and_tests_as_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f".venv/bin/{INSTALL}" in ci
    # The command as it stands, with no extra arguments (only its exit status handled).
    assert re.search(rf"^{re.escape(TEST)}(?:\s*\|\|.*)?$", ci, re.MULTILINE), ci
    assert "set -euo pipefail" in ci
