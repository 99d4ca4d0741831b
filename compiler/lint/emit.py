"""Output formats for findings: one function per format, each over Diagnostic data only.

``text``: ``path:line:col: CODE message``. ``json``: ruff's JSON schema, so tools that read
ruff's output read ours. ``github``: workflow commands that annotate a pull request. ``sarif``:
SARIF 2.1.0 for code-scanning dashboards.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from durablec import __version__
from durablec.compiler.diagnostics import Diagnostic
from durablec.compiler.lint.rules import RULES_BY_CODE

__all__ = ["FORMATS", "Format", "emit", "github", "json_", "sarif", "statistics", "text"]

Format = Literal["text", "json", "github", "sarif"]
FORMATS: tuple[Format, ...] = ("text", "json", "github", "sarif")

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def emit(fmt: Format, diagnostics: Sequence[Diagnostic]) -> str:
    """All findings in one format, ready to write to stdout."""
    emitters: dict[Format, Callable[[Sequence[Diagnostic]], str]] = {
        "text": text,
        "json": json_,
        "github": github,
        "sarif": sarif,
    }
    return emitters[fmt](diagnostics)


def text(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(f"{d}\n" for d in diagnostics)


def json_(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([_ruff_json(d) for d in diagnostics], indent=2) + "\n"


def _ruff_json(d: Diagnostic) -> dict[str, Any]:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": "safe" if d.fix.safe else "unsafe",
            "message": d.fix.message,
            "edits": [
                {
                    "content": e.content,
                    "location": {"row": e.line, "column": e.column},
                    "end_location": {"row": e.end_line, "column": e.end_column},
                }
                for e in d.fix.edits
            ],
        }
    return {
        "cell": None,
        "code": d.code,
        "end_location": {"row": d.end_line, "column": d.end_column},
        "filename": os.path.abspath(d.path),
        "fix": fix,
        "location": {"row": d.line, "column": d.column},
        "message": d.message,
        "noqa_row": d.line,
        "url": None,
    }


def github(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        props = (
            f"file={_gh_property(d.path)},line={d.line},col={d.column},"
            f"endLine={d.end_line},endColumn={d.end_column},"
            f"title={_gh_property(f'durablec {d.code} ({_rule_name(d.code)})')}"
        )
        lines.append(f"::error {props}::{_gh_data(f'{d.code} {d.message}')}\n")
    return "".join(lines)


def _gh_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(value: str) -> str:
    return _gh_data(value).replace(":", "%3A").replace(",", "%2C")


def sarif(diagnostics: Sequence[Diagnostic]) -> str:
    codes = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": _rule_name(code),
            "shortDescription": {"text": RULES_BY_CODE[code].MESSAGE if code in RULES_BY_CODE else code},
            "fullDescription": {"text": _doc(code)},
            "help": {"text": _doc(code)},
        }
        for code in codes
    ]
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": "error",
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.path)},
                        "region": {
                            "startLine": d.line,
                            "startColumn": d.column,
                            "endLine": d.end_line,
                            "endColumn": d.end_column,
                        },
                    }
                }
            ],
        }
        for d in diagnostics
    ]
    log = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "durablec", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def statistics(diagnostics: Sequence[Diagnostic]) -> str:
    """Counts per code, most frequent first; ``[*]`` marks codes with fixable findings."""
    counts = Counter(d.code for d in diagnostics)
    fixable = {d.code for d in diagnostics if d.fix is not None and d.fix.safe}
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{n:>{width}}  {code}  {'[*] ' if code in fixable else ''}{_rule_name(code)}\n"
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def _rule_name(code: str) -> str:
    rule = RULES_BY_CODE.get(code)
    return rule.NAME if rule is not None else code


def _doc(code: str) -> str:
    rule = RULES_BY_CODE.get(code)
    return " ".join((rule.__doc__ or "").split()) if rule is not None else code


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_uri() if p.is_absolute() else p.as_posix()
