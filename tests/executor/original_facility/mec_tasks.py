"""Tasks of a facility package, written as the original LUTE's Tasks are."""

import os

from lute.execution.ipc import Message
from lute.execution.logging import get_logger
from lute.io.models.base import TaskParameters
from lute.tasks.dataclasses import ElogSummaryPlots, TaskStatus
from lute.tasks.task import Task, ThirdPartyTask

logger = get_logger(__name__)


class MakePeaks(Task):
    """Writes n_peaks numbers, one a line."""

    def __init__(self, *, params: TaskParameters) -> None:
        super().__init__(params=params)

    def _run(self) -> None:
        with open(self._task_parameters.out_file, "w") as handle:
            for index in range(self._task_parameters.n_peaks):
                handle.write("%d\n" % index)
        logger.info("wrote %d peaks", self._task_parameters.n_peaks)
        logger.warning("peak 0 is suspiciously small")
        self._report_to_executor(Message(contents="peaks written"))

    def _post_run(self) -> None:
        self._result.summary = [
            {"n_peaks": self._task_parameters.n_peaks},
            ElogSummaryPlots("Peaks/Overview", "<p>peak overview</p>"),
        ]
        self._result.payload = self._task_parameters.out_file
        self._result.task_status = TaskStatus.COMPLETED


class FitPeaks(Task):
    """Counts the peaks above the threshold, in the mode its environment says."""

    def __init__(self, *, params: TaskParameters) -> None:
        super().__init__(params=params)

    def _run(self) -> None:
        with open(self._task_parameters.in_file) as handle:
            values = [float(line) for line in handle if line.strip()]
        self._kept = len([v for v in values if v > self._task_parameters.threshold])
        logger.error("fitting in %s mode", os.environ.get("MEC_FIT_MODE"))

    def _post_run(self) -> None:
        self._result.summary = {
            "kept": self._kept,
            "mode": os.environ.get("MEC_FIT_MODE", ""),
            "made": self._task_parameters.made,
        }
        self._result.task_status = TaskStatus.COMPLETED


class CatConfig(ThirdPartyTask):
    """Runs its program on the configuration file its template gave."""
