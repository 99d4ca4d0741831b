"""assert_replays, durablec export and replay_history / replay --check --history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import durablec
from durablec.cli import main
from durablec.errors import TamperedPayloadError, UsageError
from durablec.testing import assert_replays, crash, replay_history
from shop import changed, constructs, orders


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def finished(durablec_db: str) -> str:
    durablec.run(orders.process_order, "A1")
    [info] = durablec.Client().runs()
    return info.id


@pytest.fixture
def history(finished: str, tmp_path: Path) -> Path:
    path = tmp_path / "process_order.json"
    result = cli("export", finished, "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_a_run_replays_on_the_code_it_ran_with(finished: str) -> None:
    assert_replays(orders.process_order, finished)


def test_a_crashed_run_replays_up_to_where_it_stopped(durablec_db: str) -> None:
    assert_replays(orders.process_order, crash(orders.process_order, "B2", at="2"))


def test_an_added_step_is_the_first_divergence(finished: str) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_replays(changed.with_a_step_added, finished)
    message = str(caught.value)
    assert f"run {finished}, step 1: the journal recorded call `payments.charge` at " in message
    assert "orders.py:" in message and "but the code now reaches call `send_email` at " in message
    assert "changed.py:" in message


def test_a_changed_argument_is_named(finished: str) -> None:
    with pytest.raises(AssertionError, match=r"step 1: `payments.charge` at .* is called with "
                                             r"other arguments than the journal recorded"):
        assert_replays(changed.with_another_total, finished)


def test_a_removed_step_is_named(finished: str) -> None:
    with pytest.raises(AssertionError, match=r"completed after step 2 `send_email` at .*orders.py:"
                                             r"\d+, but the current code ends after step 1"):
        assert_replays(changed.without_the_email, finished)


def test_a_run_of_another_task_is_refused(finished: str) -> None:
    with pytest.raises(UsageError, match="is a run of task 'process-order', not 'follow-up'"):
        assert_replays(orders.follow_up, finished)


def test_export_is_a_versioned_json_document(finished: str, history: Path) -> None:
    document = json.loads(history.read_text())
    assert (document["format"], document["version"], document["task_id"], document["run_id"]) == (
        "durablec-history", 1, "process-order", finished)
    assert document["run"]["status"] == "completed"
    assert document["run"]["result"]["json"]["order_id"] == "A1"  # JSON data stays readable
    assert "base64" in document["steps"][0]["result"]  # an Order is a pickle
    assert document["signature"].startswith("sha256:")
    printed = cli("export", finished)
    assert json.loads(printed.output)["steps"] == document["steps"]


def test_a_history_replays_without_its_journal(history: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLEC_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    replay_history(history, orders.process_order)
    with pytest.raises(AssertionError, match=rf"history {history}: run \w+, step 1: the journal "
                                             "recorded call `payments.charge`"):
        replay_history(history, changed.with_a_step_added)


def test_replay_check_history_on_the_command_line(history: Path) -> None:
    ok = cli("replay", "--check", "--no-lint", "--history", str(history), "shop.orders:process_order")
    assert ok.exit_code == 0, ok.output
    assert "1 histories, 0 diverged" in ok.output
    bad = cli("replay", "--check", "--no-lint", "--history", str(history),
              "shop.changed:with_a_step_added")
    assert bad.exit_code == 1
    assert f"{history} (process-order): run " in bad.output and "1 diverged" in bad.output


def test_a_history_of_another_task_is_refused(history: Path) -> None:
    with pytest.raises(UsageError, match="records a run of task 'process-order', not 'follow-up'; "
                                         "replay it with the task 'process-order'"):
        replay_history(history, orders.follow_up)
    refused = cli("replay", "--check", "--no-lint", "--history", str(history),
                  "shop.orders:follow_up")
    assert refused.exit_code == 2
    assert "which none of the targets is ('follow-up'); name that task's TARGET" in refused.output


def test_a_tampered_history_is_refused(history: Path) -> None:
    document = json.loads(history.read_text())
    document["run"]["result"]["json"]["charge_id"] = "ch_forged"
    history.write_text(json.dumps(document))
    with pytest.raises(TamperedPayloadError, match="fails its signature check: it was edited "
                                                   "after `durablec export`"):
        replay_history(history, orders.process_order)


def test_a_history_from_a_newer_format_is_refused(history: Path) -> None:
    document = json.loads(history.read_text())
    document["version"] = 2
    history.write_text(json.dumps(document))
    with pytest.raises(UsageError, match="is in history format 2, .* reads formats up to 1: "
                                         "upgrade durablec"):
        replay_history(history, orders.process_order)


def test_a_history_exported_with_a_secret_needs_it(durablec_db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLEC_SECRET", "s3cret")
    durablec.run(orders.process_order, "S1")
    [info] = durablec.Client().runs()
    path = tmp_path / "signed.json"
    assert cli("export", info.id, "-o", str(path)).exit_code == 0
    assert json.loads(path.read_text())["signature"].startswith("hmac-sha256:")
    replay_history(path, orders.process_order)
    monkeypatch.setenv("DURABLEC_SECRET", "another")
    with pytest.raises(TamperedPayloadError, match="fails its signature check"):
        replay_history(path, orders.process_order)
    monkeypatch.delenv("DURABLEC_SECRET")
    with pytest.raises(TamperedPayloadError, match="is signed but DURABLEC_SECRET is not set"):
        replay_history(path, orders.process_order)


def test_not_a_history(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(UsageError, match="is not a durablec history"):
        replay_history(path, orders.process_order)


def test_finished_runs_of_every_construct_replay_without_false_alarms(
    durablec_db: str, durablec_time: object, tmp_path: Path,
) -> None:
    durablec.run(constructs.constructs, "t1")
    with pytest.raises(ValueError):
        durablec.run(constructs.fails)
    runs = {info.task_id: info for info in durablec.Client().runs()}
    assert (runs["constructs"].status, runs["fails"].status) == ("completed", "failed")
    assert_replays(constructs.constructs, runs["constructs"].id)
    assert_replays(constructs.fails, runs["fails"].id)
    for task in (constructs.constructs, constructs.fails):
        path = tmp_path / f"{task.id}.json"
        assert cli("export", runs[task.id].id, "-o", str(path)).exit_code == 0
        replay_history(path, task)
