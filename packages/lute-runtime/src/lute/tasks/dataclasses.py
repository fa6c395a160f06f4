"""Plain data types shared by Tasks and Executors.

These travel over IPC (pickled) and therefore live in lute-runtime, which both the
Task's environment and the Executor's environment have installed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

__all__ = ["DescribedAnalysis", "ElogSummaryPlots", "TaskResult", "TaskStatus"]


class TaskStatus(enum.Enum):
    """Lifecycle states of a Task, as recorded by the Executor and the database."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    CANCELLED = "CANCELLED"
    TIMEDOUT = "TIMEDOUT"

    @property
    def is_terminal(self) -> bool:
        """Whether no further transition is expected from this state."""
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.STOPPED)

    def __str__(self) -> str:
        return self.value


@dataclass
class ElogSummaryPlots:
    """Figures to be rendered into an HTML page and attached to the eLog/report.

    Attributes:
        display_name: Name of the report tab; ``/`` separates nested tabs.
        figures: A matplotlib/plotly/bokeh figure, an HTML string, or a list of them.
    """

    display_name: str
    figures: Any


@dataclass
class TaskResult:
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

    task_name: str
    task_status: TaskStatus
    summary: Union[str, Dict[str, Any], ElogSummaryPlots, List[Any], Any] = ""
    payload: Any = ""
    impl_schemas: Optional[str] = None


@dataclass
class DescribedAnalysis:
    """A complete description of one analysis step, as assembled by an Executor.

    Attributes:
        task_result: The Task's result.
        task_parameters: The parameters the Task ran with (model or surrogate).
        task_env: The environment variables the Task ran with.
        poll_interval: Kept for compatibility with the original API; unused.
        communicator_desc: Human-readable descriptions of the IPC channels used.
    """

    task_result: TaskResult
    task_parameters: Any
    task_env: Dict[str, str] = field(default_factory=dict)
    poll_interval: float = 0.0
    communicator_desc: List[str] = field(default_factory=list)
