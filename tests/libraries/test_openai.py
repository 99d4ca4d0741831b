"""The official openai client against a local OpenAI-compatible endpoint (servers.ChatModel):
plain completions, a tool-call loop with ``asyncio.gather``, and streamed completions."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import durablec

from helpers import finals_per_attempt_scope, step_rows
from librun import Load, Run
from servers import ChatModel

AGENT = {"answer": "paris: sunny rome: sunny", "summary": "SUMMARY OF PARIS ROME "}


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("openai_tasks")


def test_plain_and_tool_calls(tasks: types.ModuleType, sqlite_url: str) -> None:
    with ChatModel() as model:
        url = model.url + "/v1"
        assert durablec.run(tasks.plain, url, "hi", db=sqlite_url, run_id="p1") == "echo: hi"
        assert durablec.run(tasks.agent, url, ["paris", "rome"], db=sqlite_url, run_id="a1") \
            == AGENT
        # Replayed whole: the model is not called again.
        assert durablec.run(tasks.agent, url, ["paris", "rome"], db=sqlite_url, run_id="a1") \
            == AGENT
        assert model.calls == {"hi": 1, "paris rome": 1, "rome: sunny": 1,
                               "summary of paris rome": 1}
    keys = [key for key, *_ in step_rows(sqlite_url, "a1")]
    assert "1:0" in keys and "1:1" in keys  # each tool call of the gather is a step
    finals_per_attempt_scope(sqlite_url, "a1")


def test_a_streamed_completion_is_journaled_chunk_by_chunk(
    tasks: types.ModuleType, sqlite_url: str
) -> None:
    """Case 5. Before a74e027 `await client.chat.completions.create(..., stream=True)` failed
    with "the result of `...create` (a openai.AsyncStream) cannot be journaled" after the model
    had been called, and every retry called it again."""
    with ChatModel() as model:
        url = model.url + "/v1"
        for _ in range(2):  # run, then replay the finished run
            assert durablec.run(tasks.streamed, url, "hello big world", db=sqlite_url,
                                run_id="s1") == "HELLO BIG WORLD "
        assert model.calls == {"hello big world": 1}
    items = [key for key, *_ in step_rows(sqlite_url, "s1") if "#" in key]
    assert items == ["1#0", "1#1", "1#2", "1#3", "1#4"]  # 3 words, the finish chunk, the end


KILLS = {
    # name: (requests the server holds {ordinal: streamed chunks first}, kill conditions)
    "after-the-answer-before-its-response": ({2: 0}, [("held", 1)]),
    "in-the-middle-of-the-stream": ({3: 2}, [("item", 1)]),
    "both": ({2: 0, 4: 2}, [("held", 1), ("item", 2)]),
}


@pytest.mark.parametrize("kill", list(KILLS))
def test_sigkill_and_resume(tmp_path: Path, kill: str) -> None:
    """SIGKILL the agent at each point and resume it: the same result; the completions before
    the kill are not requested again, the one in flight is (once per kill)."""
    hold, conditions = KILLS[kill]
    with ChatModel() as model:
        run = Run(tmp_path, "openai_tasks", "agent", [model.url + "/v1", ["paris", "rome"]])
        model.hold_at = dict(hold)
        for what, count in conditions:
            if what == "held":
                run.kill_when(lambda: model.holding >= count, "a held completion")
            else:  # two chunks of the summary read and journaled, the rest held back
                run.kill_when(lambda: model.holding >= count and run.rows("key = '4#1'") > 0,
                              "two streamed chunks")
            model.release()
        assert run.finish() == AGENT
        again = {"after-the-answer-before-its-response": (2, 1),
                 "in-the-middle-of-the-stream": (1, 2), "both": (2, 2)}[kill]
        assert model.calls == {"paris rome": 1, "rome: sunny": again[0],
                               "summary of paris rome": again[1]}
