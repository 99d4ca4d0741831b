"""``durablec ui`` end to end: a real server subprocess on a loopback port over a real SQLite
journal, driven by headless Chromium through Playwright.

Without /usr/bin/chromium or playwright these tests skip with the reason; under CI=true they fail
instead (.ci/run installs Chromium)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = os.environ.get("DURABLEC_UI_SCREENSHOTS")
"""A directory (relative to the repository) to write ui-runs.png and ui-run.png into, e.g. ``docs``;
unset, they go to a temporary directory, so a test run leaves the tree alone."""

TASKS = """
import asyncio
import logging
import os
import durablec

log = logging.getLogger("tasks")

async def step(x):
    return x * 2

async def echo(text):
    return text

@durablec.task(id="double", queue="fast")
async def double(x):
    return await step(x)

async def check(name="fixed"):
    if not os.path.exists(name):  # durablec: allow[DC402]
        raise ValueError("broken on purpose")
    return "fixed now"

async def read_stamp():
    with open("stamp") as f:  # durablec: allow[DC402]
        return f.read()

@durablec.task(id="stamp")
async def stamp():
    a = await step(1)
    b = await read_stamp()
    return [a, b]

@durablec.task(id="lost", retry=durablec.Retry.none(), dead_letter="dlq")
async def lost():
    await step(3)
    return await check("fixed-dlq")

async def helper(x):
    a = await step(x)
    return await step(a)

async def child(n):
    v = await step(n)
    return await helper(v)

@durablec.task(id="fan")
async def fan():
    first = await step(1)
    both = await asyncio.gather(child(1), child(2))
    return await helper(sum(both) + first)

@durablec.task(id="flaky", retry=durablec.Retry.none())
async def flaky():
    await step(1)
    return await check()

@durablec.task(id="gate")
async def gate(order):
    first = await step(order)
    decision = await durablec.wait_for_event("approval")
    return {"order": first, "approved_by": decision["by"]}

@durablec.task(id="twice")
async def twice():
    first = await durablec.wait_for_event("a")
    second = await step(first)
    return await durablec.wait_for_event("b")

@durablec.task(id="evil")
async def evil():
    log.warning("<script>window.pwned = 2</script><b>bold</b>")
    return await echo("<script>window.pwned = 1</script><b>bold</b>")

@durablec.task(id="noisy", retry=durablec.Retry.none())
async def noisy(order):
    log.info("charging order %s", order)
    await step(order)
    log.error("card declined for order %s", order)
    raise RuntimeError(f"order {order} declined")
"""


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def _need_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the browser tests cannot run: {reason}")
    pytest.skip(reason)


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
                PYTHONDONTWRITEBYTECODE="1", **extra)


def durablec(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durablec", *args], cwd=tmp, env=_env(tmp),
                          capture_output=True, text=True, check=False, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ui")
    (tmp / "tasks.py").write_text(TASKS)
    for n in range(3):
        assert durablec(tmp, "run", "tasks.py:double", "--args", f"[{n}]",
                        "--run-id", f"double-{n}").returncode == 0
    assert durablec(tmp, "run", "tasks.py:flaky", "--run-id", "flaky-1").returncode == 1
    gate = durablec(tmp, "run", "tasks.py:gate", "--args", "[5]", "--run-id", "gate-1")
    assert gate.returncode == 3
    assert durablec(tmp, "run", "tasks.py:evil", "--run-id", "evil-1").returncode == 0
    assert durablec(tmp, "run", "tasks.py:twice", "--run-id", "twice-1").returncode == 3
    (tmp / "stamp").write_text("first")
    assert durablec(tmp, "run", "tasks.py:stamp", "--run-id", "stamp-1").returncode == 0
    assert durablec(tmp, "run", "tasks.py:lost", "--run-id", "lost-1").returncode == 1
    assert durablec(tmp, "run", "tasks.py:fan", "--run-id", "fan-1").returncode == 0
    assert durablec(tmp, "run", "tasks.py:noisy", "--args", "[7]",
                    "--run-id", "noisy-1").returncode == 1
    return tmp


def _wait_for(url: str, proc: subprocess.Popen[str]) -> None:
    """Until the dashboard at ``url`` answers (its process must not have exited meanwhile)."""
    while True:
        try:
            urllib.request.urlopen(url + "/api/counts", timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server(journal: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "durablec", "ui", "--port", str(port)],
                            cwd=journal, env=_env(journal), stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    opened = context.new_page()
    opened.on("dialog", lambda dialog: dialog.accept())
    try:
        yield opened
    finally:
        context.close()


def test_list_counts_and_filters(page: Any, server: str) -> None:
    page.goto(server + "/runs")
    assert page.locator("tr.run").count() == 11
    assert "failed 2" in page.locator(".counts").inner_text()
    page.select_option("select[name=status]", "failed")
    page.click("form.filters button")
    rows = page.locator("tr.run")
    assert rows.count() == 2 and "flaky" in rows.nth(1).inner_text()
    assert "noisy" in rows.nth(0).inner_text()
    page.goto(server + "/runs?q=double-")
    assert page.locator("tr.run").count() == 3
    page.goto(server + "/runs?queue=fast&task=double")
    assert page.locator("tr.run").count() == 3


def test_failed_run_shows_its_exception_and_retry_changes_status(
        page: Any, server: str, journal: Path) -> None:
    page.goto(server + "/runs?status=failed")
    page.click("text=flaky-1")
    assert "ValueError: broken on purpose" in page.locator("#run-error").inner_text()
    body = page.locator(".waterfall .row.attempt").first
    assert "attempt 1" in body.inner_text() and "failed" in body.inner_text()
    body.click()
    assert "broken on purpose" in page.locator(".detail:not([hidden])").inner_text()
    (journal / "fixed").write_text("")
    page.click("button[data-action=retry]")
    page.wait_for_function("document.getElementById('status').textContent === 'pending'")
    assert "retry: done" in page.locator("#action-result").inner_text()
    assert durablec(journal, "worker", "tasks.py:flaky", "--until-idle").returncode == 0
    page.wait_for_function(
        "document.getElementById('status').textContent === 'completed'", timeout=15000)


def test_open_a_failed_run_read_its_exception_and_its_logs(page: Any, server: str) -> None:
    page.goto(server + "/runs?status=failed")
    page.click("text=noisy-1")
    assert "RuntimeError: order 7 declined" in page.locator("#run-error").inner_text()
    rows = page.locator("#logs tr.log")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "INFO" in first and "tasks" in first and "charging order 7" in first
    assert "ERROR" in second and "card declined for order 7" in second
    assert "lvl-error" in (rows.nth(1).get_attribute("class") or "")
    # The step the first record led to shows it; the second led to no step (the body raised
    # first), so the failed body attempt shows it, beside the exception.
    page.click('.waterfall .row.step[data-key="0"]')
    assert "charging order 7" in page.locator(".detail:not([hidden]) table.logs").inner_text()
    page.click('.waterfall .row.step[data-key="0"]')
    page.locator(".waterfall .row.attempt").first.click()
    detail = page.locator(".detail:not([hidden])").inner_text()
    assert "order 7 declined" in detail and "card declined for order 7" in detail
    assert "charging order 7" not in detail


def test_send_event_to_a_waiting_run(page: Any, server: str, journal: Path) -> None:
    page.goto(server + "/runs/gate-1")
    assert page.locator("#status").inner_text() == "waiting"
    page.fill("#event-form input[name=name]", "approval")
    page.fill("#event-form input[name=payload]", '{"by": "ana"}')
    page.click("#event-form button")
    page.wait_for_function("document.getElementById('action-result').textContent.includes('done')")
    assert durablec(journal, "worker", "tasks.py:gate", "--until-idle").returncode == 0
    page.wait_for_function(
        "document.getElementById('status').textContent === 'completed'", timeout=15000)
    assert "ana" in page.locator("#run-result").inner_text()


def test_a_waiting_runs_waterfall_grows_live(page: Any, server: str, journal: Path) -> None:
    page.goto(server + "/runs/twice-1")
    before = page.locator(".waterfall .row").count()
    assert durablec(journal, "send-event", "twice-1", "a", "21").returncode == 0
    assert durablec(journal, "worker", "tasks.py:twice", "--until-idle").returncode == 0
    page.wait_for_function(
        f"document.querySelectorAll('.waterfall .row').length > {before}", timeout=15000)
    assert page.locator("#status").inner_text() == "waiting"


def test_script_payload_is_text(page: Any, server: str) -> None:
    page.goto(server + "/runs/evil-1")
    assert "<script>" in page.locator("#run-result").inner_text()
    page.locator('.waterfall .row.step[data-key="0"]').click()
    assert "<script>" in page.locator(".detail:not([hidden]) .result").inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main b").count() == 0


def test_script_in_a_log_message_is_text(page: Any, server: str) -> None:
    page.goto(server + "/runs/evil-1")
    message = page.locator("#logs tr.log .msg")
    assert message.inner_text() == "<script>window.pwned = 2</script><b>bold</b>"
    page.locator('.waterfall .row.step[data-key="0"]').click()
    assert "<script>" in page.locator(".detail:not([hidden]) table.logs").inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main b").count() == 0


def test_post_without_csrf_is_refused(server: str) -> None:
    request = urllib.request.Request(server + "/api/runs/gate-1/cancel", data=b"{}",
                                     method="POST", headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403


def test_foreign_host_name_is_refused(server: str) -> None:
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 is not answered."""
    request = urllib.request.Request(server + "/api/counts", headers={"host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
    localhost = urllib.request.Request(server + "/api/counts",
                                       headers={"host": "localhost:8233"})
    assert urllib.request.urlopen(localhost).status == 200


def test_api_is_json(server: str) -> None:
    listed = json.loads(urllib.request.urlopen(server + "/api/runs?task=double").read())
    assert sorted(r["id"] for r in listed["runs"]) == ["double-0", "double-1", "double-2"]
    timeline = json.loads(urllib.request.urlopen(server + "/api/runs/double-1/timeline").read())
    assert timeline["steps"][0]["result"] == "2"
    noisy = json.loads(urllib.request.urlopen(server + "/api/runs/noisy-1/timeline").read())
    assert [(log["position"], log["level_name"], log["message"]) for log in noisy["logs"]] == [
        ("0", "INFO", "charging order 7"), ("1", "ERROR", "card declined for order 7")]
    [execution] = noisy["executions"]
    assert (execution["epoch"], execution["resumed"], execution["status"]) == (1, False, "failed")


def test_non_loopback_bind_needs_a_token(journal: Path) -> None:
    refused = durablec(journal, "ui", "--host", "0.0.0.0", "--port", str(_free_port()))
    assert refused.returncode == 2
    assert "without a token" in refused.stderr


def test_token_required_on_every_request(journal: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "durablec", "ui", "--port", str(port), "--token", "s3cret"],
        cwd=journal, env=_env(journal), stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/counts"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "?token=s3cret", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url)
        assert refused.value.code == 401
        bearer = urllib.request.Request(url, headers={"authorization": "Bearer s3cret"})
        assert json.loads(urllib.request.urlopen(bearer).read())["completed"] >= 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_fork_from_a_step_starts_a_new_run(page: Any, server: str, journal: Path) -> None:
    """As `durablec fork --from-step 1`: the new run replays step 0 and runs step 1 live."""
    page.goto(server + "/runs/stamp-1")
    assert "'first'" in page.locator("#run-result").inner_text()
    page.click('.waterfall .row.step[data-key="1"]')
    (journal / "stamp").write_text("second")
    page.click('.detail:not([hidden]) button.fork[data-key="1"]')
    link = page.locator("#forked-run")
    link.wait_for()
    assert "forked from step 1" in page.locator("#action-result").inner_text()
    forked = link.inner_text()
    assert forked != "stamp-1"
    assert durablec(journal, "worker", "tasks.py:stamp", "--until-idle").returncode == 0
    link.click()
    page.wait_for_url(f"**/runs/{forked}")
    assert page.locator("#status").inner_text() == "completed"
    assert "'second'" in page.locator("#run-result").inner_text()
    # Step 0 came from the journal copied from stamp-1; only step 1 ran in the fork.
    assert page.locator(".waterfall .row.step").count() == 2


def test_redrive_a_dead_letter_queue(page: Any, server: str, journal: Path) -> None:
    page.goto(server + "/queues")
    row = page.locator('tr.dlq[data-queue="dlq"]')
    assert "lost (1)" in row.inner_text()
    (journal / "fixed-dlq").write_text("")
    row.locator("button.redrive").click()
    page.wait_for_function(
        "document.querySelector('tr.dlq .redrive-result').textContent.length > 0")
    assert row.locator(".redrive-result").inner_text() == "1 runs re-queued"
    page.goto(server + "/runs/lost-1")
    assert page.locator("#status").inner_text() == "pending"
    assert durablec(journal, "worker", "tasks.py:lost", "--until-idle").returncode == 0
    page.wait_for_function(
        "document.getElementById('status').textContent === 'completed'", timeout=15000)
    # In another tab: the run's page reloads itself now that the run finished.
    queues = page.context.new_page()
    queues.goto(server + "/queues")
    assert "No dead-lettered runs." in queues.locator("table.dead-letters").inner_text()


def test_gather_children_and_helper_scopes_are_grouped(page: Any, server: str) -> None:
    page.goto(server + "/runs/fan-1")
    gather = page.locator('.group[data-key="1"]')
    assert "gather" in gather.locator(".group-head").first.inner_text()
    for child in ("1:0", "1:1"):
        group = gather.locator(f'.group[data-key="{child}"]')
        assert "gather/TaskGroup child" in group.locator(".group-head").first.inner_text()
        assert group.locator(f'.group[data-key="{child}.1"] .row.step').count() == 3
    inner = page.locator('.row.step[data-key="1:0.1.0"]')
    assert inner.is_visible()
    gather.locator(".group-head").first.click()
    assert not inner.is_visible()
    gather.locator(".group-head").first.click()
    assert inner.is_visible()
    top = page.locator('.waterfall > .group[data-key="2"]')
    assert "helper scope" in top.locator(".group-head").inner_text()


def test_screenshots_of_the_readme_demo(browser: Any, tmp_path: Path) -> None:
    """The README demo's run (examples/demo.py: two 503s retried, a SIGKILL while the charge's
    response is on its way, a resume), seen in the dashboard; the screenshots go to
    DURABLEC_UI_SCREENSHOTS (e.g. docs) when it is set."""
    demo = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300,
                          check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    shots = ROOT / SHOTS if SHOTS else tmp_path
    (tmp_path / "j.db").unlink(missing_ok=True)
    (tmp_path / "durablec-demo.db").rename(tmp_path / "j.db")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "durablec", "ui", "--port", str(port)],
                            cwd=tmp_path, env=_env(tmp_path), stderr=subprocess.DEVNULL,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1200, "height": 240},
                                  device_scale_factor=1)
    try:
        _wait_for(url, proc)
        page = context.new_page()
        page.goto(url + "/runs")
        assert "process-order" in page.locator("tr.run").inner_text()
        page.screenshot(path=str(shots / "ui-runs.png"))
        page.set_viewport_size({"width": 1200, "height": 800})
        page.goto(url + "/runs/demo")
        assert page.locator("#status").inner_text() == "completed"
        assert "2 executions: 1 ended unrecorded" in page.locator("#executions").inner_text()
        # Execution 1 was SIGKILLed: no row, a marker where execution 2 took the run over.
        lost = page.locator('.row.execution.lost[data-epoch="1"]')
        assert "execution 1 killed / lease lost" in lost.inner_text()
        resumed = page.locator('.row.execution[data-epoch="2"]')
        assert "resumed (1 step replayed)" in resumed.inner_text()
        assert "completed" in resumed.inner_text()
        assert resumed.locator(".bar").inner_text().startswith(socket.gethostname())
        mark = lost.locator(".lost-mark").bounding_box()
        bar = resumed.locator(".bar").bounding_box()
        assert abs(mark["x"] + mark["width"] - bar["x"]) < 2  # the marker ends where it starts
        logs = page.locator("#logs tr.log")
        assert logs.count() >= 4 and "charged: ch_1" in logs.last.inner_text()
        attempts = page.locator(".waterfall .row.attempt")
        assert attempts.count() == 3  # two 503s raised out of the body, then the last attempt
        assert "replayed 0" in attempts.nth(1).inner_text()
        assert "0.0" not in attempts.nth(1).inner_text()  # inside the helper that replayed whole
        posts = page.locator('.waterfall .row.step[data-key="2"]')
        assert posts.count() == 3 and "try 3" in posts.nth(2).inner_text()
        posts.nth(0).click()
        assert "503" in page.locator(".detail:not([hidden])").inner_text()
        page.screenshot(path=str(shots / "ui-run.png"), full_page=True)
    finally:
        context.close()
        proc.terminate()
        proc.wait(timeout=10)
