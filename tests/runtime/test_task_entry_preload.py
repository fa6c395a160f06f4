"""The Task-side entry point imports the Task named by LUTE_TASK_NAME before its hand-off.

A real ``python -m lute.tasks.run`` process, a Listener whose hand-off is deferred (as
the Executor's is while it validates), and a Task package installed on the path with a
``lute.tasks`` entry point whose import leaves a marker file.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from lute.execution.ipc import Listener
from tests.conftest import install_distribution

WAIT = 60.0
ENTRY = "import sys; from lute.tasks.run import main; sys.exit(main())"

TASK_MODULE = """
import os
from lute.tasks.task import Task

with open(os.environ["MARKER"], "w") as handle:
    handle.write(os.getcwd())  # where module-level code runs


class Marker(Task):
    def _run(self):
        self._result.summary = os.getcwd()  # where _run runs
"""


@pytest.fixture
def task_package(tmp_path: Path) -> Path:
    """A distribution on the path: ``Marker`` imports fine, ``Broken`` raises on import."""
    return install_distribution(
        tmp_path / "site",
        "lute-marker-tasks",
        {
            "lute.tasks": {
                "Marker": "lute_marker_tasks:Marker",
                "Broken": "lute_broken_tasks:Broken",
            }
        },
        {
            "lute_marker_tasks": TASK_MODULE,
            "lute_broken_tasks": "raise ImportError('needs libfoo.so.3')\n",
        },
    )


def handoff(task_name: str, **extra: Any) -> Dict[str, Any]:
    document: Dict[str, Any] = {
        "task_name": task_name,
        "parameters": {"lute_config": {"experiment": "TST", "run": 1}},
        "row_ids": None,
        "model": "",
    }
    document.update(extra)
    return document


def start(
    tasks: types.SimpleNamespace, listener: Listener, site: Path, marker: Path, name: str
) -> Any:
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = tasks.env(listener, LUTE_TASK_NAME=name, MARKER=str(marker), PYTHONPATH=path)
    return tasks.spawn(ENTRY, env)


def hand_off_and_finish(
    listener: Listener, process: Any, handoff: Dict[str, Any], code: int
) -> None:
    """Send the deferred hand-off; the Task process must end with ``code``, all delivered."""
    listener.set_hello_reply(handoff)
    _out, err = process.communicate(timeout=WAIT)
    assert process.returncode == code, err
    assert listener.wait_idle(WAIT)


def test_task_module_is_imported_while_the_handoff_is_pending(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    task_package: Path,
    tmp_path: Path,
) -> None:
    listener = make_listener(hello_reply=None)
    marker = tmp_path / "imported"
    process = start(tasks, listener, task_package, marker, "Marker")
    # Imported before anything was handed over: the process still waits for it.
    assert tasks.wait_until(marker.exists), process.communicate(timeout=WAIT)
    assert process.poll() is None
    run_directory = tmp_path / "run-here"
    run_directory.mkdir()
    hand_off_and_finish(listener, process, handoff("Marker", run_directory=str(run_directory)), 0)
    results = [m.contents for _, m in inbox.messages if m.signal == "TASK_RESULT"]
    assert [r.summary for r in results] == [str(run_directory)]
    assert marker.read_text() != str(run_directory)  # module level ran before the chdir


def test_a_task_that_fails_to_import_is_reported_after_the_handoff(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    task_package: Path,
    tmp_path: Path,
) -> None:
    listener = make_listener(hello_reply=None)
    process = start(tasks, listener, task_package, tmp_path / "unused", "Broken")
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
    assert process.poll() is None  # the error waits for a channel to report through
    hand_off_and_finish(listener, process, handoff("Broken"), 2)
    failed = [m.contents for _, m in inbox.messages if m.signal == "TASK_FAILED"]
    assert len(failed) == 1
    assert "Task 'Broken' could not be set up" in failed[0]
    assert "needs libfoo.so.3" in failed[0] and "Traceback" in failed[0]


def test_the_handoffs_task_name_wins_over_the_preloaded_one(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    task_package: Path,
    tmp_path: Path,
) -> None:
    listener = make_listener(hello_reply=None)
    marker = tmp_path / "imported"
    process = start(tasks, listener, task_package, marker, "Broken")
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
    hand_off_and_finish(listener, process, handoff("Marker"), 0)
    assert [m.signal for _, m in inbox.messages if m.signal.startswith("TASK_")] == [
        "TASK_STARTED",
        "TASK_RESULT",
        "TASK_DONE",
    ]
    assert marker.exists()
