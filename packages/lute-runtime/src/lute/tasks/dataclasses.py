"""Plain data types shared by Tasks and Executors.

These travel over IPC (pickled) and therefore live in lute-runtime, which both the
Task's environment and the Executor's environment have installed. They are
:class:`lute._records.Record` classes rather than ``@dataclass``es: the ``dataclasses``
module (and the ``inspect`` module it loads) would cost more to import than the rest of
a Task's start-up.
"""

from __future__ import annotations

import enum

from lute._records import Record

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional

__all__ = ["DescribedAnalysis", "ElogSummaryPlots", "TaskResult", "TaskStatus"]


class TaskStatus(enum.Enum):
    """Lifecycle states of a Task, as recorded by the Executor and the database.

    ``QUEUED`` (submitted to SLURM, not started) and ``LOST`` (its Executor is gone, so
    nobody will record how it ended) are statuses of an execution rather than of a Task:
    a Task never reports them.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    CANCELLED = "CANCELLED"
    TIMEDOUT = "TIMEDOUT"
    QUEUED = "QUEUED"
    LOST = "LOST"

    @property
    def is_terminal(self) -> bool:
        """Whether no further transition is expected from this state."""
        return self not in _NOT_TERMINAL

    def __str__(self) -> str:
        return self.value


# STOPPED may resume; QUEUED has not started yet.
_NOT_TERMINAL = frozenset(
    (TaskStatus.QUEUED, TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.STOPPED)
)


class ElogSummaryPlots(Record):
    """Figures to be rendered into an HTML page and attached to the eLog/report.

    Attributes:
        display_name: Name of the report tab; ``/`` separates nested tabs.
        figures: A matplotlib/plotly/bokeh figure, an HTML string, or a list of them.
    """

    _FIELDS = ("display_name", "figures")

    def __init__(self, display_name: str, figures: Any) -> None:
        self.display_name = display_name
        self.figures = figures


class TaskResult(Record):
    """What a Task produced.

    Attributes:
        task_name: Name of the Task class.
        task_status: Final (or current) status.
        summary: Short human-readable outcome. A ``Dict[str, str]`` becomes report
            key/values, an :class:`ElogSummaryPlots` an HTML page, a list/tuple is
            processed item by item.
        payload: The full result (a path, an array, a dict ...).
        impl_schemas: Optional description of the payload's format.
    """

    _FIELDS = ("task_name", "task_status", "summary", "payload", "impl_schemas")

    def __init__(
        self,
        task_name: str,
        task_status: TaskStatus,
        summary: Any = "",
        payload: Any = "",
        impl_schemas: Optional[str] = None,
    ) -> None:
        self.task_name = task_name
        self.task_status = task_status
        self.summary = summary
        self.payload = payload
        self.impl_schemas = impl_schemas


class DescribedAnalysis(Record):
    """A complete description of one analysis step, as assembled by an Executor.

    Attributes:
        task_result: The Task's result.
        task_parameters: The parameters the Task ran with (model or surrogate).
        task_env: The environment variables the Task ran with.
        poll_interval: Kept for compatibility with the original API; unused.
        communicator_desc: Human-readable descriptions of the IPC channels used.
    """

    _FIELDS = ("task_result", "task_parameters", "task_env", "poll_interval", "communicator_desc")

    def __init__(
        self,
        task_result: TaskResult,
        task_parameters: Any,
        task_env: Optional[Dict[str, str]] = None,
        poll_interval: float = 0.0,
        communicator_desc: Optional[List[str]] = None,
    ) -> None:
        self.task_result = task_result
        self.task_parameters = task_parameters
        self.task_env = {} if task_env is None else task_env
        self.poll_interval = poll_interval
        self.communicator_desc = [] if communicator_desc is None else communicator_desc
