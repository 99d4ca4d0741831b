"""docs/rules.md is generated from the rule classes and must be regenerated when they change."""

from __future__ import annotations

from pathlib import Path

from durablec.compiler.lint import ALL_RULES
from durablec.compiler.lint.docs import render

RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_page_is_up_to_date() -> None:
    assert RULES_MD.read_text() == render(), (
        "docs/rules.md is stale: run `python -m durablec.compiler.lint.docs > docs/rules.md`"
    )


def test_rules_page_documents_every_rule() -> None:
    page = render()
    for rule in ALL_RULES:
        assert f"## {rule.CODE} {rule.NAME}" in page
        assert rule.MESSAGE in page
    assert "`time.time()` → `(await durablec.now()).timestamp()`" in page
