"""BeamStats: a LUTE Task. Replace what ``_run`` does with your analysis.

Only lute-runtime (standard library only) is imported here, so the Task also runs in an
environment without pydantic: an older Python, a facility's software stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lute.execution.ipc import Message
from lute.tasks.task import Task

if TYPE_CHECKING:  # type checkers see the model; at run time a read-only stand-in of it
    from beamstats.models import BeamStatsParameters

__all__ = ["BeamStats"]


class BeamStats(Task):
    """Say the configured greeting; the summary records what was said."""

    def _run(self) -> None:
        params: BeamStatsParameters = self._task_parameters
        for _ in range(params.repeat):
            self._report_to_executor(Message(contents=params.greeting))
        self._result.summary = {"greeting": params.greeting, "repeat": str(params.repeat)}
        self._result.payload = params.greeting
