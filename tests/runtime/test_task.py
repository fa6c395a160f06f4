"""Task base behaviour, run in-process (no Executor: reports go to stderr)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, List

import pytest

from lute.execution.ipc import Message
from lute.io.parameters import RowIds, TaskParameters
from lute.tasks import (
    BUILTIN_TASK_CLASSES,
    TaskNotFoundError,
    _context,
    import_task,
    known_tasks,
    locate_task,
)
from lute.tasks.task import *  # noqa: F403 - the documented import style
from lute.tasks.task import Task, TaskStatus, ThirdPartyTask


class Recorder:
    """Stands in for the IPC communicator: keeps what the Task sends."""

    def __init__(self) -> None:
        self.sent: List[Message] = []

    def send(self, msg: Message) -> None:
        self.sent.append(msg)

    def close(self) -> None:
        pass

    @property
    def signals(self) -> List[str]:
        return [m.signal for m in self.sent]


@pytest.fixture
def recorder() -> Any:
    rec = Recorder()
    _context.set_communicator(rec)  # type: ignore[arg-type]
    yield rec
    _context.set_communicator(None)


def params(**values: Any) -> TaskParameters:
    base = {
        "lute_config": {"experiment": "TST", "run": 1},
        "float_var": 0.5,
        "str_var": "s",
        "compound_var": {"int_var": 2, "dict_var": {"a": "b"}},
        "throw_error": False,
    }
    base.update(values)
    return TaskParameters(base)


def test_star_import_gives_task_and_status() -> None:
    namespace: dict = {}  # type: ignore[type-arg]
    exec("from lute.tasks.task import *", namespace)
    assert namespace["Task"] is Task
    assert namespace["TaskStatus"] is TaskStatus


def test_successful_run_reports_start_result_done(recorder: Recorder) -> None:
    task = import_task("Test")(params=params())
    result = task.run()
    assert result.task_status is TaskStatus.COMPLETED
    assert recorder.signals[0] == "TASK_STARTED"
    assert recorder.signals[-2:] == ["TASK_RESULT", "TASK_DONE"]
    assert recorder.sent[-2].contents.summary["float_var"] == "0.5"
    assert "" in recorder.signals  # plain messages echo the parameters


def test_exception_ends_failed_with_traceback(recorder: Recorder) -> None:
    result = import_task("Test")(params=params(throw_error=True)).run()
    assert result.task_status is TaskStatus.FAILED
    assert recorder.signals[-1] == "TASK_FAILED"
    assert "RuntimeError: Testing Error!" in recorder.sent[-1].contents
    assert "Traceback" in recorder.sent[-1].contents
    assert "TASK_RESULT" not in recorder.signals


def test_status_set_by_the_author_is_kept(recorder: Recorder) -> None:
    class Stops(Task):
        def _run(self) -> None:
            self._result.task_status = TaskStatus.STOPPED

    assert Stops(params=params()).run().task_status is TaskStatus.STOPPED
    assert recorder.signals[-1] == "TASK_STOPPED"


def test_sigterm_cancels_a_running_task(recorder: Recorder) -> None:
    class Waits(Task):
        def _run(self) -> None:
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
            threading.Event().wait(30)
            raise AssertionError("not cancelled")

    result = Waits(params=params()).run()
    assert result.task_status is TaskStatus.CANCELLED
    assert recorder.signals[-1] == "TASK_CANCELLED"
    assert "SIGTERM" in recorder.sent[-1].contents
    # the default handler is back once the Task is done
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_task_runs_on_another_thread_without_signal_handlers(recorder: Recorder) -> None:
    results: List[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(import_task("Test")(params=params()).run())
    )
    thread.start()
    thread.join(30)
    assert [r.task_status for r in results] == [TaskStatus.COMPLETED]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the main thread's, untouched


def test_missing_run_is_a_clear_failure(recorder: Recorder) -> None:
    result = Task(params=params()).run()
    assert result.task_status is TaskStatus.FAILED
    assert "must implement _run()" in recorder.sent[-1].contents


def test_row_ids_and_reports_without_an_executor(capsys: pytest.CaptureFixture[str]) -> None:
    task = import_task("Test")(params=params(), row_ids=RowIds(5, 6, "/x.db"))
    assert task.row_ids == RowIds(5, 6, "/x.db")
    task._report_to_executor(Message(contents="hello"))
    assert "hello" in capsys.readouterr().err


def test_third_party_task_runs_the_executable(recorder: Recorder, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    task = ThirdPartyTask(params=params(), argv=["touch", str(marker)], run_directory=str(tmp_path))
    assert task.run().task_status is TaskStatus.COMPLETED
    assert marker.exists()
    assert recorder.signals[1] == "NO_PICKLE_MODE"
    failing = ThirdPartyTask(params=params(), argv=["false"]).run()
    assert failing.task_status is TaskStatus.FAILED
    assert "exited with code 1" in recorder.sent[-1].contents


def test_import_task_builtins_and_unknown_name() -> None:
    assert import_task("TestSocket").__name__ == "TestSocket"
    assert "TestWriteOutput" in known_tasks()
    with pytest.raises(TaskNotFoundError, match="Did you mean Test") as info:
        import_task("Tset")
    assert "Known Tasks:" in str(info.value)


@pytest.mark.parametrize("name", sorted(BUILTIN_TASK_CLASSES))
def test_builtin_locations_match_import_task(name: str) -> None:
    task_class = import_task(name)
    where = "%s:%s" % (task_class.__module__, task_class.__qualname__)
    assert locate_task(name) == BUILTIN_TASK_CLASSES[name] == where


def test_locate_task_refuses_unknown_names_like_import_task() -> None:
    with pytest.raises(TaskNotFoundError, match="Did you mean Test"):
        locate_task("Tset")
