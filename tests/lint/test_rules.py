"""Every rule's own VALID and INVALID examples, and the shape every rule must have."""

from __future__ import annotations

import inspect
import re
import textwrap

import pytest

from durablec.compiler.lint import ALL_RULES, LintConfig, Rule, lint_source

EXAMPLES = [
    pytest.param(rule, kind, index, id=f"{rule.CODE}-{kind}-{index}")
    for rule in ALL_RULES
    for kind in ("valid", "invalid")
    for index in range(len(rule.VALID if kind == "valid" else rule.INVALID))
]


def _config(rule: type[Rule]) -> LintConfig:
    return LintConfig.from_table(rule.EXAMPLE_CONFIG) if rule.EXAMPLE_CONFIG else LintConfig.default()


@pytest.mark.parametrize(("rule", "kind", "index"), EXAMPLES)
def test_examples(rule: type[Rule], kind: str, index: int) -> None:
    if kind == "valid":
        source = textwrap.dedent(rule.VALID[index])
        assert [str(d) for d in lint_source(source, "valid.py", _config(rule))] == []
    else:
        source = textwrap.dedent(rule.INVALID[index])
        marked = {n for n, line in enumerate(source.splitlines(), 1) if line.rstrip().endswith("# <-")}
        assert marked, "an INVALID example marks its finding lines with '# <-'"
        found = lint_source(source, "invalid.py", _config(rule))
        assert {d.line for d in found if d.code == rule.CODE} == marked, [str(d) for d in found]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.CODE)
def test_rule_describes_itself(rule: type[Rule]) -> None:
    assert re.fullmatch(r"DC\d{3}", rule.CODE)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.NAME)
    assert rule.MESSAGE and "\n" not in rule.MESSAGE and not rule.MESSAGE.endswith(".")
    doc = inspect.getdoc(rule) or ""
    for section in ("What it does:", "Why it breaks replay:", "Example:", "Use instead:"):
        assert section in doc, f"{rule.__name__} docstring lacks {section!r}"
    assert rule.VALID and rule.INVALID
    for name, ban in rule.BANNED.items():
        assert ban.replacement, name


def test_codes_fixed_by_the_spec_exist_and_are_unique() -> None:
    codes = [rule.CODE for rule in ALL_RULES]
    assert len(codes) == len(set(codes))
    spec = {"DC101", "DC102", "DC201", "DC202", "DC203", "DC301", "DC302", "DC303", "DC401", "DC402", "DC403"}
    assert spec <= set(codes)


def test_at_least_forty_banned_names() -> None:
    names = {name for rule in ALL_RULES for name in rule.BANNED}
    assert len(names) >= 40
    for expected in ("time.time", "datetime.datetime.now", "uuid.uuid4", "os.urandom", "secrets.token_hex",
                     "asyncio.create_task", "asyncio.wait", "os.environ", "builtins.open", "random.Random"):
        assert expected in names
