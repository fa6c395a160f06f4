"""A Task's progress end to end: ``Task._report_progress`` through a real ``lute-exec
run`` (bar on a pty, plain lines elsewhere), stored in the database, shown by ``follow``
from a second process, ``top`` and ``db show``."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict

import pytest

from tests.conftest import install_task_package, lute_exec, popen_lute_exec, write_config
from tests.executor.test_console import run_on_a_terminal

if TYPE_CHECKING:
    from lute.execution.run_state import RunState

TASK = """
import time

from lute.tasks.task import Task


class Progressor(Task):
    def _run(self):
        steps = self._task_parameters.steps
        pause = self._task_parameters.pause
        for index in range(steps):
            if pause:
                time.sleep(pause)
            self._report_progress(index + 1, steps)
        self._result.summary = "counted %d" % steps
"""
MODEL = """
from lute.io.models.base import TaskParameters


class ProgressorParameters(TaskParameters):
    steps: int = 10
    pause: float = 0.0
"""


@pytest.fixture
def progress_env(short_tmp: Path) -> Dict[str, str]:
    site = install_task_package(short_tmp / "site", "Progressor", TASK, MODEL)
    return {"PYTHONPATH": str(site)}


def _progress_rows(work: Path) -> list:  # type: ignore[type-arg]
    conn = sqlite3.connect(str(work / "lute.db"))
    try:
        return conn.execute(
            "SELECT execution_id, text, rank FROM messages WHERE level = 'PROGRESS'"
        ).fetchall()
    finally:
        conn.close()


def _started(work: Path) -> bool:
    if not (work / "lute.db").exists():
        return False
    conn = sqlite3.connect(str(work / "lute.db"), timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM executions").fetchone()[0] > 0
    except sqlite3.OperationalError:  # the schema is being created
        return False
    finally:
        conn.close()


def _db_json(work: Path, *args: str, env: Dict[str, str]) -> object:
    done = lute_exec(["db", *args, "--json", "-w", str(work)], env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_tight_loop_finishes_quickly_and_stores_one_progress(
    short_tmp: Path, progress_env: Dict[str, str]
) -> None:
    config = write_config(short_tmp, "Progressor:\n  steps: 100000\n")
    started = time.monotonic()
    done = lute_exec(["run", "-c", str(config), "-t", "ProgressorRunner"], env=progress_env)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 30, took
    work = short_tmp / "work"
    # Off a terminal: plain, timestamped progress lines, few of them, the last at 100%.
    lines = [line for line in done.stderr.splitlines() if "| progress: " in line]
    assert lines and len(lines) <= 2 + took / 5, lines
    assert lines[-1].endswith("| progress: 100% (100000/100000)"), lines
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ ProgressorRunner \| progress", lines[0])
    # The database holds one progress row, the latest, not a message per call.
    assert [(text, rank) for _, text, rank in _progress_rows(work)] == [
        ("100% (100000/100000)", None)
    ]
    [row] = _db_json(work, "list", env=progress_env)  # type: ignore[misc]
    shown = _db_json(work, "show", str(row["id"]), env=progress_env)
    assert shown["progress"]["text"] == "100% (100000/100000)"  # type: ignore[index]
    assert shown["progress"]["fraction"] == 1.0  # type: ignore[index]
    assert all(m.get("level") != "PROGRESS" for m in shown["messages"])  # type: ignore[index]
    text = lute_exec(["db", "show", str(row["id"]), "-w", str(work)], env=progress_env).stdout
    assert re.search(r"progress: +100% \(100000/100000\) at \d{4}-", text), text
    [top] = _top(work, progress_env)
    assert top["progress"]["fraction"] == 1.0 and top["progress"]["done"] == 100000
    table = lute_exec(["top", "--once", "-w", str(work)], env=progress_env).stdout
    assert "PROGRESS" in table and "[##########] 100%" in table, table


def _top(work: Path, env: Dict[str, str]) -> list:  # type: ignore[type-arg]
    done = lute_exec(["top", "--once", "--json", "-w", str(work)], env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_bar_is_drawn_on_a_terminal(short_tmp: Path, progress_env: Dict[str, str]) -> None:
    config = write_config(short_tmp, "Progressor:\n  steps: 20\n  pause: 0.1\n")
    text = run_on_a_terminal(config, [], env=progress_env, managed_task="ProgressorRunner")
    bars = re.findall(r"\[Progressor\S* \S*RUNNING\S* [0-9.]+ s \[([#.]{20})\] (\d+)/20\]", text)
    assert bars, text[-2000:]
    assert bars[-1] == ("#" * 20, "20")
    assert len({count for _, count in bars}) >= 3  # it moved while the Task ran
    assert "| progress: " not in text  # the bar, not plain lines


def test_follow_from_another_process_shows_the_progress(
    short_tmp: Path, progress_env: Dict[str, str]
) -> None:
    config = write_config(short_tmp, "Progressor:\n  steps: 30\n  pause: 0.2\n")
    work = short_tmp / "work"
    run = popen_lute_exec(
        ["run", "-c", str(config), "-t", "ProgressorRunner"], env={**os.environ, **progress_env}
    )
    try:
        deadline = time.monotonic() + 60
        while not _started(work) and time.monotonic() < deadline:
            time.sleep(0.05)
        follow = lute_exec(["follow", "--last", "-w", str(work)], env=progress_env)
        as_json = lute_exec(["follow", "--last", "--json", "-w", str(work)], env=progress_env)
    finally:
        assert run.wait(timeout=60) == 0, run.communicate()
    assert follow.returncode == 0, follow.stderr
    changes = re.findall(r"\| progress: (\d+)% \((\d+)/30\)", follow.stdout)
    # Seen while it ran (stored every 2 s), then the end.
    assert len(changes) >= 3, follow.stdout
    assert changes[-1] == ("100", "30")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["fraction"] == 1.0 and progress[-1]["total"] == 30
    assert [e["event"] for e in events][-1] == "end"


class _Peer:
    def __init__(self, rank: int) -> None:
        self.rank = rank


def _state(multi_rank: bool = True) -> RunState:
    import io

    from lute.execution.console import Console
    from lute.execution.run_state import RunState

    return RunState("M", "T", "c.yaml", Console("M", stream=io.StringIO()), multi_rank=multi_rank)


def test_an_mpi_run_shows_the_rank_furthest_behind() -> None:
    state = _state()
    state.peer = _Peer(0)  # type: ignore[assignment]
    assert state.note_progress(8, 10) == (8, 10)
    state.peer = _Peer(1)  # type: ignore[assignment]
    assert state.note_progress(0.3, None) == (0.3, None)
    state.peer = _Peer(0)  # type: ignore[assignment]
    assert state.note_progress(10, 10) == (0.3, None)  # rank 1 is still at 30%
    assert state.run_progress() == (1, (0.3, None))


def test_malformed_progress_is_ignored_and_told_once() -> None:
    from lute.execution import hooks
    from lute.execution.ipc import Message

    state = _state(multi_rank=False)

    class Run:
        pass

    run = Run()
    run.state = state  # type: ignore[attr-defined]
    executor = object()
    original = hooks.active_run
    hooks.active_run = lambda _executor: run  # type: ignore[assignment]
    try:
        for contents in (
            {"done": 5, "total": 2},
            "half",
            {"done": True},
            {"done": 0.5, "total": 0},
        ):
            hooks.task_progress(executor, Message(contents, "TASK_PROGRESS"))
        hooks.task_progress(executor, Message({"done": 1, "total": 4}, "TASK_PROGRESS"))
    finally:
        hooks.active_run = original  # type: ignore[assignment]
    assert state.malformed_progress == 4
    state.console.flush()  # lines may wait in the buffer for up to FLUSH_AFTER
    shown = state.console.stream.getvalue()  # type: ignore[union-attr]
    assert shown.count("ignored a malformed progress report") == 1
    assert state.progress == {None: (1, 4)} and "| progress: 25% (1/4)" in shown


@pytest.mark.parametrize(
    ("argv", "ranks"),
    [
        (["mpirun", "-n", "4", "python", "-m", "lute.tasks.run"], 4),
        (["srun", "--ntasks=3", "python"], 3),
        (["python", "-m", "lute.tasks.run", "-n", "x"], None),
        (["python"], None),
    ],
)
def test_the_launched_rank_count_is_read_from_the_launch_line(argv: list, ranks: object) -> None:  # type: ignore[type-arg]
    from lute.execution.event_loop import launched_ranks

    assert launched_ranks(argv) == ranks
