"""The default hooks: what a managed task does with each signal its Task sends.

Each hook is called as ``hook(executor, message)`` on the thread running the run, and
changes the state of the run being executed (``executor.current_run`` shows it).
``Executor`` installs :data:`DEFAULT_HOOKS`; a ``BaseExecutor`` starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from lute.execution.run_state import RunState
from lute.execution.task_run import active_run
from lute.tasks.dataclasses import TaskResult, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc import Message

__all__ = ["DEFAULT_HOOKS"]


def _state(executor: Any) -> RunState:
    run = active_run(executor)
    if run is None:
        raise RuntimeError(
            "a default hook of %r was called outside one of its runs" % (executor.name,)
        )
    return run.state


def plain_message(executor: Any, msg: Message) -> None:
    """Show a free-form message and keep it for the record."""
    state = _state(executor)
    text = msg.contents if isinstance(msg.contents, str) else repr(msg.contents)
    shown = state.add_message(text)
    console = state.console
    console.line(shown)
    console.last_message(shown)


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def task_log(executor: Any, msg: Message) -> None:
    """A record the Task logged (``lute.execution.logging``): shown, logged and kept with
    its level."""
    state = _state(executor)
    contents = msg.contents
    if isinstance(contents, dict):
        level = str(contents.get("level") or "INFO")
        name = contents.get("name")
        text = str(contents.get("message", ""))
    else:  # the original's text records: "TASK_LOG -- LEVEL:name: message"
        text = str(contents)
        if text.startswith("TASK_LOG -- "):
            text = text[len("TASK_LOG -- ") :]
        level, sep, rest = text.partition(":")
        if sep and level in _LEVELS:
            name, _, text = rest.partition(": ")
        else:
            level, name = "INFO", None
    # The database keeps the level in a column of its own; the console and the log
    # file show it in front.
    shown = "%s %s" % (level, state.add_message("%s: %s" % (name, text) if name else text, level))
    state.console.line(shown)
    state.console.last_message(shown)


def task_progress(executor: Any, msg: Message) -> None:
    """How far the Task has got (``Task._report_progress``): the status line's bar, and
    the run's progress in the database (see :meth:`RunState.note_progress`)."""
    state = _state(executor)
    report = _progress_report(msg.contents)
    if report is None:
        state.malformed_progress += 1
        if state.malformed_progress == 1:  # told once: a Task may send thousands
            state.console.line("ignored a malformed progress report: %.200r" % (msg.contents,))
        return
    done, total = state.note_progress(*report)
    state.console.progress(done, total)


def _progress_report(contents: Any) -> Optional[Tuple[float, Optional[float]]]:
    """``(done, total)`` of a TASK_PROGRESS message, or ``None`` when it is not one."""
    if not isinstance(contents, dict):
        return None
    done, total = contents.get("done"), contents.get("total")
    numbers = (int, float)
    if isinstance(done, bool) or not isinstance(done, numbers):
        return None
    if total is None:
        return (done, None) if 0 <= done <= 1 else None
    if isinstance(total, bool) or not isinstance(total, numbers) or not 0 <= done <= total:
        return None
    return (done, total) if 0 < total < float("inf") else None


def no_pickle_mode(executor: Any, msg: Message) -> None:
    """Say which third-party executable the Task runs."""
    state = _state(executor)
    argv = msg.contents if isinstance(msg.contents, list) else [str(msg.contents)]
    state.console.line("running third-party executable: %s" % " ".join(map(str, argv)))


def task_started(executor: Any, msg: Message) -> None:
    """Mark the execution RUNNING, with the pid of the process that said so."""
    state = _state(executor)
    assert state.db is not None and state.execution_id is not None
    state.status = TaskStatus.RUNNING
    pid = state.peer.pid if state.peer is not None else None
    state.db.set_status(state.execution_id, "RUNNING", pid=pid)
    state.console.status("RUNNING")


def task_result(executor: Any, msg: Message) -> None:
    """Keep the Task's result (recorded when the run ends)."""
    state = _state(executor)
    if isinstance(msg.contents, TaskResult):
        state.result = msg.contents
    else:
        state.result = TaskResult(state.task_name, TaskStatus.RUNNING, "", msg.contents)
    state.result_recorded = False


def task_done(executor: Any, msg: Message) -> None:
    """The Task reported success."""
    _state(executor).set_reported(TaskStatus.COMPLETED)


def task_failed(executor: Any, msg: Message) -> None:
    """The Task (or one rank) failed: keep the first failure's traceback and show it."""
    state = _state(executor)
    detail = msg.contents if isinstance(msg.contents, str) else repr(msg.contents)
    rank = state.peer_rank()
    if rank is not None:
        detail = "rank %d: %s" % (rank, detail)
    if state.reported_status != TaskStatus.FAILED:
        state.error = detail
    for line in detail.rstrip().splitlines():
        state.console.line(line)
    state.set_reported(TaskStatus.FAILED)


def task_stopped(executor: Any, msg: Message) -> None:
    """The Task stopped itself (it may still report a final status)."""
    _state(executor).set_reported(TaskStatus.STOPPED)


def task_cancelled(executor: Any, msg: Message) -> None:
    """The Task was cancelled (it caught SIGTERM/SIGINT)."""
    state = _state(executor)
    state.error = state.error or str(msg.contents)
    state.set_reported(TaskStatus.CANCELLED)


#: The hook ``Executor`` installs for each signal (``""``: plain messages).
DEFAULT_HOOKS: Dict[str, Callable[[Any, Message], Optional[bool]]] = {
    "": plain_message,
    "NO_PICKLE_MODE": no_pickle_mode,
    "TASK_STARTED": task_started,
    "TASK_RESULT": task_result,
    "TASK_DONE": task_done,
    "TASK_FAILED": task_failed,
    "TASK_STOPPED": task_stopped,
    "TASK_CANCELLED": task_cancelled,
    "TASK_LOG": task_log,
    "TASK_PROGRESS": task_progress,
}
