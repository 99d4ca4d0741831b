"""Each DC4xx message suggests a replacement that clears the finding: applied to the rule's own
INVALID examples, the linter reports nothing. (DC401 once suggested an awaited async helper,
which the linter reads like the task and flagged again.)"""

from __future__ import annotations

import textwrap

import pytest

from durablec.compiler.lint import RULES_BY_CODE, LintConfig, lint_source

# (code, INVALID index) -> what the message suggests, and the edits that apply it.
SUGGESTED: dict[tuple[str, int], tuple[tuple[str, ...], list[tuple[str, str]]]] = {
    ("DC401", 0): (
        ('await asyncio.to_thread(os.getenv, "NAME")',),
        [
            ("import os\n", "import asyncio\nimport os\n"),
            ('return os.environ.get("DRY_RUN")', 'return await asyncio.to_thread(os.getenv, "DRY_RUN")'),
        ],
    ),
    ("DC401", 1): (
        ("await asyncio.to_thread(",),
        [
            # The read is in a sync function: the call from async code becomes the awaited one.
            ("from os import", "import asyncio\nfrom os import"),
            ("return indirect()", "return await asyncio.to_thread(indirect)"),
        ],
    ),
    ("DC402", 0): (
        ("await asyncio.to_thread(fn, ...)",),
        [
            ("async def task", "import asyncio\nfrom pathlib import Path\n\n\nasync def task"),
            ("with open(path) as f:  # <-\n        return f.read()", "return await asyncio.to_thread(Path(path).read_text)"),
        ],
    ),
    ("DC402", 1): (
        ("await asyncio.to_thread(fn, ...)",),
        [
            ("import subprocess\n", "import asyncio\nimport subprocess\n"),
            ('subprocess.run(["ls"])', 'await asyncio.to_thread(subprocess.run, ["ls"])'),
            ('return (Path(path) / "x").read_text()', 'return await asyncio.to_thread((Path(path) / "x").read_text)'),
        ],
    ),
    ("DC403", 0): (("sorted(...)",), [("for email in emails:", "for email in sorted(emails):")]),
    ("DC403", 1): (
        ("item = min(s)", "sorted(...)"),
        [
            ("first = words.pop()", "first = min(words)\n    words.remove(first)"),
            ('for w in words | {"x"}', 'for w in sorted(words | {"x"})'),
            ('",".join({"a", "b"})', '",".join(sorted({"a", "b"}))'),
        ],
    ),
}


def test_every_dc4xx_invalid_example_has_its_replacement() -> None:
    expected = {
        (code, index)
        for code, rule in RULES_BY_CODE.items()
        if code.startswith("DC4")
        for index in range(len(rule.INVALID))
    }
    assert set(SUGGESTED) == expected


@pytest.mark.parametrize(("code", "index"), sorted(SUGGESTED), ids=str)
def test_the_suggested_replacement_clears_the_finding(code: str, index: int) -> None:
    suggestions, edits = SUGGESTED[(code, index)]
    source = textwrap.dedent(RULES_BY_CODE[code].INVALID[index])
    messages = [d.message for d in lint_source(source, "invalid.py", LintConfig.default()) if d.code == code]
    for suggestion in suggestions:
        assert any(suggestion in m for m in messages), (suggestion, messages)
    for old, new in edits:
        assert old in source, f"the INVALID example changed: {old!r} is gone"
        source = source.replace(old, new)
    assert [str(d) for d in lint_source(source, "fixed.py", LintConfig.default())] == []
