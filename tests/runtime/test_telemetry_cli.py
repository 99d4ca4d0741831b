"""`durablec run` and OpenTelemetry: configured from OTEL_* (console spans on stderr, the result
alone on stdout), an application's own provider used as it is, and nothing without either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TASKS = """
import os
import sys

import durablec
from durablec.runtime.observer import observer

if os.environ.get("APP_SPANS"):  # the application configures its own provider
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(
        ConsoleSpanExporter(out=open(os.environ["APP_SPANS"], "w"))))
    trace.set_tracer_provider(provider)

async def fetch(n):
    return n * 2

def untraced():
    return [observer() is None, "opentelemetry" in sys.modules]

@durablec.task(id="demo")
async def demo(n):
    return [await fetch(n), untraced()]
"""


def _run(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp / "demo.py").write_text(TASKS)
    clean = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-m", "durablec", "run", "demo.py:demo", "--args", "[3]", "--no-lint"],
        cwd=tmp, env=dict(clean, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}", **env),
        capture_output=True, text=True, timeout=120)


def _spans(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter printed, among other lines."""
    decoder = json.JSONDecoder()
    found = []
    at = text.find("{")
    while at >= 0:
        span, end = decoder.raw_decode(text, at)
        found.append(span)
        at = text.find("\n{", end)
        at = at + 1 if at >= 0 else -1
    return found


def test_console_exporter_from_the_environment(tmp_path: Path) -> None:
    done = _run(tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="shop")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [6, [False, True]]  # stdout holds the result alone
    spans = _spans(done.stderr[done.stderr.index("\n{") + 1:])
    assert sorted(span["name"] for span in spans) == ["execute demo", "run demo", "step fetch"]
    assert len({span["context"]["trace_id"] for span in spans}) == 1
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"shop"}


def test_the_applications_own_provider_is_used_as_it_is(tmp_path: Path) -> None:
    app = tmp_path / "app-spans.json"
    done = _run(tmp_path, OTEL_TRACES_EXPORTER="console", APP_SPANS=str(app))
    assert done.returncode == 0, done.stderr
    assert "\n{" not in done.stderr  # nothing went to the exporter the variable names
    assert sorted(span["name"] for span in _spans(app.read_text())) == [
        "execute demo", "run demo", "step fetch"]


def test_nothing_is_installed_or_imported_without_configuration(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [6, [True, False]]
