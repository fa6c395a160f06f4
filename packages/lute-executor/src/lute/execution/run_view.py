"""The read-only view of a run that hooks and library callers see.

``executor.current_run`` gives it while a hook runs; it reads the live state of the
run (status, result, the message being handled) and changes nothing but the console.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Optional

from lute.execution.run_state import RunState
from lute.tasks.dataclasses import TaskResult, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc import Peer

__all__ = ["RunView"]


class RunView:
    """What one run of a managed task is doing, for hooks.

    Args:
        state: The run's state.
    """

    __slots__ = ("_state",)

    def __init__(self, state: RunState) -> None:
        self._state = state

    @property
    def managed_task(self) -> str:
        """Name of the managed task."""
        return self._state.managed_task

    @property
    def task_name(self) -> str:
        """Name of the Task."""
        return self._state.task_name

    @property
    def execution_id(self) -> Optional[int]:
        """The execution's row in the database (``None`` before it is recorded)."""
        return self._state.execution_id

    @property
    def status(self) -> TaskStatus:
        """The run's current status."""
        return self._state.status

    @property
    def reported_status(self) -> Optional[TaskStatus]:
        """The final status the Task reported so far, if any."""
        return self._state.reported_status

    @property
    def result(self) -> Optional[TaskResult]:
        """The Task's result as received so far."""
        return self._state.result

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The parameters sent to the Task (empty before they are validated)."""
        plan = self._state.plan
        return MappingProxyType(plan.wire_parameters if plan is not None else {})

    @property
    def config_path(self) -> str:
        """The YAML config the run was started with."""
        return self._state.config_path

    @property
    def work_dir(self) -> Optional[str]:
        """Absolute ``work_dir`` of the config (``None`` before it is validated)."""
        plan = self._state.plan
        return plan.work_dir if plan is not None else None

    @property
    def db_path(self) -> Optional[str]:
        """The results database (``None`` before the config is validated)."""
        plan = self._state.plan
        return plan.db_path if plan is not None else None

    @property
    def log_path(self) -> Optional[str]:
        """The run's log file (``None`` before the Task is launched)."""
        return self._state.log_path

    @property
    def timeout(self) -> Optional[float]:
        """Seconds the Task may run (``None``: no limit)."""
        plan = self._state.plan
        return plan.timeout if plan is not None else self._state.timeout

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.time() - self._state.started

    @property
    def message_count(self) -> int:
        """Plain messages received so far."""
        return self._state.message_count

    @property
    def peer(self) -> Optional[Peer]:
        """The Task process (MPI rank) whose message is being handled."""
        return self._state.peer

    @property
    def rank(self) -> Optional[int]:
        """That process's rank when the Task runs as several processes, else ``None``."""
        return self._state.peer_rank()

    def log(self, text: str) -> None:
        """Write one line to the run's console."""
        self._state.console.line(text)

    def __repr__(self) -> str:
        return "<RunView %s (Task %s) execution %s %s>" % (
            self.managed_task,
            self.task_name,
            self.execution_id,
            self.status.value,
        )
