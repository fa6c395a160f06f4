"""Garbage collection paused during lute-exec's start-up, resumed once the Task runs.

``lute-exec run`` pauses it and hands ``_gc_pause.resume`` to ``execute_task`` as its
``on_launched`` callback; the Executor itself knows nothing of the pause.
"""

from __future__ import annotations

import gc
import io
from pathlib import Path
from typing import Iterator, List

import pytest

from lute.execution import _gc_pause
from lute.execution.console import Console
from lute.execution.executor import Executor
from lute.tasks.dataclasses import TaskStatus


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    _gc_pause.resume()
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_pause_and_resume() -> None:
    gc.enable()
    _gc_pause.pause()
    assert not gc.isenabled()
    _gc_pause.resume()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    _gc_pause.resume()  # idempotent
    assert gc.isenabled()


def test_resume_leaves_a_collector_it_did_not_pause_alone() -> None:
    gc.disable()  # the application's own choice
    frozen = gc.get_freeze_count()
    _gc_pause.pause()
    _gc_pause.resume()
    assert not gc.isenabled() and gc.get_freeze_count() == frozen


def test_collection_is_back_on_while_the_task_runs(config: Path) -> None:
    gc.enable()
    _gc_pause.pause()  # as lute-exec run does before validating
    seen: List[bool] = []
    executor = Executor("Test")
    executor.add_hook("TASK_STARTED", lambda _executor, _msg: seen.append(gc.isenabled()))
    console = Console("test", stream=io.StringIO(), live=False)
    status = executor.execute_task(str(config), console=console, on_launched=_gc_pause.resume)
    assert status is TaskStatus.COMPLETED
    assert seen == [True]
