"""Case 4 of issue 11: a value entered by `async with` that is neither data nor a known resource
gets an error that names the fix for an `async with` (declare the class a resource), and that
fix works; the context manager is exited all the same."""

from __future__ import annotations

import types

import pytest

import durablec
from durablec.errors import DurablecError
from durablec.runtime import resources

import thirdparty
from librun import Load


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("errors_tasks")


def test_the_error_names_the_fix_for_async_with(tasks: types.ModuleType, sqlite_url: str) -> None:
    """Before a74e027 the error told the user to put `# durablec: skip` on "that await", which
    is an `async with` line here, and following it led to cases 2 and 3."""
    with pytest.raises(DurablecError) as caught:
        durablec.run(tasks.send, "hi", db=sqlite_url, run_id="e1")
    message = str(caught.value)
    assert "the value entered by `thirdparty.open_channel()`" in message
    assert "thirdparty.Channel" in message and "`durablec.resource`" in message
    assert "durablec: skip" not in message
    assert thirdparty.EXITS[-1].closed  # exited although recording the entry failed


def test_declaring_the_class_a_resource_enters_it_live(
    tasks: types.ModuleType, sqlite_url: str
) -> None:
    durablec.resource(thirdparty.Channel)
    try:
        assert durablec.run(tasks.send, "hi", db=sqlite_url, run_id="e2") == "sent hi"
        assert thirdparty.EXITS[-1].closed
    finally:  # the registry is process-wide: leave it as the other tests expect it
        resources._REGISTERED.discard(thirdparty.Channel)
        resources._CACHE.clear()
