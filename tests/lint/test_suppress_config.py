"""Suppression comments and [tool.durablec] configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from durablec.compiler.lint import LintConfig, lint_source, load_config
from durablec.errors import ConfigError

from lint_helpers import codes

TASK = """\
import os
import time


async def task():
    a = time.time()
    b = os.getenv("X")
    return a, b
"""


def test_suppression_on_the_line_with_one_or_more_codes() -> None:
    source = """
        import os
        import time


        async def task():
            a = time.time()  # durablec: allow[DC101]
            b = time.time()  # durablec: allow[DC102, DC401]
            c = (time.time(), os.getenv("X"))  # durablec:allow[DC101,DC401]
            return a, b, c
    """
    assert codes(source) == [(8, "DC101")]


def test_unknown_code_in_a_suppression_is_reported_at_the_comment() -> None:
    found = lint_source("x = 1  # durablec: allow[DC101, DC77]\n", "s.py", LintConfig.default())
    assert [(d.code, d.line, d.column) for d in found] == [("DC001", 1, 8)]
    assert "`DC77`" in found[0].message


def test_suppression_text_inside_strings_is_not_a_comment() -> None:
    source = 'DOC = """use # durablec: allow[CODE] on the line"""\nx = "# durablec: allow[DC7]"\n'
    assert lint_source(source, "s.py", LintConfig.default()) == []


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.durablec]\n{table}\n")
    package = tmp_path / "pkg" / "sub"
    package.mkdir(parents=True)
    (package / "task.py").write_text(TASK)
    return package / "task.py"


def _lint_file(path: Path) -> list[str]:
    return [d.code for d in lint_source(path.read_text(), str(path), load_config(path))]


def test_select_and_ignore_with_prefixes(tmp_path: Path) -> None:
    path = _project(tmp_path, 'select = ["DC1", "DC4"]\nignore = ["DC10"]\n')
    assert _lint_file(path) == ["DC401"]


def test_other_durablec_keys_are_left_to_their_owners(tmp_path: Path) -> None:
    path = _project(tmp_path, 'database = "sqlite:///x.db"\n')
    assert _lint_file(path) == ["DC101", "DC401"]


def test_extend_banned_with_default_and_chosen_code(tmp_path: Path) -> None:
    table = """
[tool.durablec.extend-banned."acme.clock.now"]
message = "reads the wall clock"
replacement = "`await durablec.now()`"
code = "DC101"

[tool.durablec.extend-banned."acme.ids.new_id"]
message = "makes a new id"
"""
    path = _project(tmp_path, table)
    path.write_text(
        "from acme import clock\nfrom acme.ids import new_id as nid\n\n\n"
        "async def task():\n    return clock.now(), nid()\n"
    )
    found = lint_source(path.read_text(), str(path), load_config(path))
    assert [(d.code, d.column) for d in found] == [("DC101", 12), ("DC901", 25)]
    assert found[0].message.startswith("`clock.now()` (`acme.clock.now()`) reads the wall clock. Use")
    ignored = load_config(path)
    assert [d.code for d in lint_source(path.read_text(), str(path), LintConfig(select=ignored.select - {"DC101"}, extend_banned=ignored.extend_banned))] == ["DC901"]


def test_per_file_ignores_resolve_through_for_path(tmp_path: Path) -> None:
    path = _project(tmp_path, '[tool.durablec.per-file-ignores]\n"pkg/sub/*" = ["DC101"]\n"other.py" = ["DC4"]\n')
    config = load_config(path)
    assert "DC101" not in config.for_path(str(path)).select
    assert config.for_path(str(tmp_path / "x" / "other.py")).select == config.select - {"DC401", "DC402", "DC403"}
    assert _lint_file(path) == ["DC401"]


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('select = ["DC999"]', "select: unknown rule code `DC999`"),
        ('ignore = ["XY"]', "ignore: unknown rule code `XY`"),
        ('ignore = "DC101"', "ignore must be a list"),
        ('[tool.durablec.per-file-ignores]\n"a.py" = ["DC8"]', "unknown rule code `DC8`"),
        ('[tool.durablec.extend-banned."a.b"]\nmessage = "m"\ncode = "DC555"', "unknown rule code `DC555`"),
        ('[tool.durablec.extend-banned."a.b"]\nreplacement = "r"', "needs message"),
    ],
)
def test_bad_configuration_names_the_file(tmp_path: Path, table: str, needle: str) -> None:
    path = _project(tmp_path, table)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(tmp_path / "pyproject.toml"))
    assert needle in str(caught.value)


def test_nearest_pyproject_with_a_durablec_table_wins(tmp_path: Path) -> None:
    path = _project(tmp_path, 'ignore = ["DC401"]')
    (path.parent / "pyproject.toml").write_text("[project]\nname = 'inner'\n")
    assert _lint_file(path) == ["DC101"]


def test_no_durablec_table_means_the_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    bare = tmp_path_factory.mktemp("bare")
    (bare / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    assert load_config(bare / "task.py") == LintConfig.default()


def test_fingerprint_is_stable_and_tracks_configuration(tmp_path: Path) -> None:
    default = LintConfig.default()
    assert default.fingerprint() == LintConfig.default().fingerprint()
    assert LintConfig.from_table({"ignore": ["DC403"]}).fingerprint() != default.fingerprint()
    # where the project lives does not matter
    a = LintConfig.from_table({"ignore": ["DC403"]}, source="a/pyproject.toml", root="/a")
    b = LintConfig.from_table({"ignore": ["DC403"]}, source="b/pyproject.toml", root="/b")
    assert a.fingerprint() == b.fingerprint()
