"""Each output format, parsed back."""

from __future__ import annotations

import json
import re

from durablec.compiler.diagnostics import Diagnostic
from durablec.compiler.lint import emit
from lint_helpers import lint

SOURCE = """
    import os
    import time


    async def task():
        return time.time(), os.getenv("A")
"""


def _findings() -> list[Diagnostic]:
    return lint(SOURCE, path="pkg/task.py")


def test_text_is_path_line_col_code_message() -> None:
    lines = emit.text(_findings()).splitlines()
    assert lines[0].startswith("pkg/task.py:7:12: DC101 `time.time()` reads the wall clock")
    assert all(re.fullmatch(r"pkg/task\.py:\d+:\d+: DC\d{3} .+", line) for line in lines)


def test_json_is_ruffs_schema_and_round_trips() -> None:
    findings = _findings()
    data = json.loads(emit.json_(findings))
    assert [set(item) for item in data] == [
        {"cell", "code", "end_location", "filename", "fix", "location", "message", "noqa_row", "url"}
    ] * 2
    first = data[0]
    assert first["filename"].endswith("pkg/task.py") and first["code"] == "DC101"
    assert first["location"] == {"row": 7, "column": 12} and first["end_location"] == {"row": 7, "column": 23}
    assert first["noqa_row"] == 7
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"][-1] == {
        "content": "(await durablec.now()).timestamp()",
        "location": {"row": 7, "column": 12},
        "end_location": {"row": 7, "column": 23},
    }
    assert data[1]["fix"] is None
    rebuilt = [
        (d["code"], d["location"]["row"], d["location"]["column"], d["end_location"]["row"],
         d["end_location"]["column"], d["message"])
        for d in data
    ]
    assert rebuilt == [(f.code, f.line, f.column, f.end_line, f.end_column, f.message) for f in findings]


def test_github_lines_are_workflow_annotations() -> None:
    pattern = re.compile(
        r"::error file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
        r"endLine=\d+,endColumn=\d+,title=(?P<title>[^:]+)::(?P<message>.+)"
    )
    lines = emit.github(_findings()).splitlines()
    matches = [pattern.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [(m["file"], m["line"], m["col"]) for m in matches if m] == [("pkg/task.py", "7", "12"), ("pkg/task.py", "7", "25")]
    assert matches[0] and matches[0]["title"] == "durablec DC101 (wall-clock-call)"
    # values are escaped per the workflow-command rules
    odd = Diagnostic("DC101", "a,b:c.py", 1, 1, 1, 2, "100% wrong\nsecond line")
    (line,) = emit.github([odd]).splitlines()
    assert line.startswith("::error file=a%2Cb%3Ac.py,line=1,")
    assert line.endswith("::DC101 100%25 wrong%0Asecond line")


def test_sarif_has_the_required_fields() -> None:
    log = json.loads(emit.sarif(_findings()))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "durablec"
    assert [r["id"] for r in driver["rules"]] == ["DC101", "DC401"]
    for result in run["results"]:
        assert result["ruleId"] in {"DC101", "DC401"}
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "pkg/task.py"
        assert physical["region"]["startLine"] == 7 and physical["region"]["startColumn"] >= 1
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_empty_outputs_are_valid() -> None:
    assert emit.text([]) == "" and emit.github([]) == ""
    assert json.loads(emit.json_([])) == []
    assert json.loads(emit.sarif([]))["runs"][0]["results"] == []


def test_statistics_count_per_code() -> None:
    findings = lint(
        """
        import time


        async def task():
            return time.time(), time.time(), time.monotonic()
        """
    )
    assert emit.statistics(findings).splitlines() == ["2  DC101  [*] wall-clock-call", "1  DC102  monotonic-clock-call"]
