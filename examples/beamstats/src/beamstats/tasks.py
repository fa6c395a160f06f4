"""BeamStats: shot-to-shot statistics of a (simulated) beam, with a histogram.

Only lute-runtime (standard library only) is imported here at module level, so the Task
also runs in an environment without pydantic; matplotlib is imported where the plot is
made.
"""

from __future__ import annotations

import random
import statistics
from typing import TYPE_CHECKING, List

# --8<-- [start:imports]
from lute.execution.ipc import Message
from lute.tasks.dataclasses import ElogSummaryPlots
from lute.tasks.task import Task

if TYPE_CHECKING:  # type checkers see the model; at run time a read-only stand-in of it
    from beamstats.models import BeamStatsParameters
# --8<-- [end:imports]

__all__ = ["BeamStats"]


class BeamStats(Task):
    """Simulate shot intensities; report their mean, spread and a histogram."""

    # --8<-- [start:pre_run]
    def _pre_run(self) -> None:
        params: BeamStatsParameters = self._task_parameters
        rng = random.Random(params.seed)
        sigma = params.mean_intensity * params.jitter
        self.intensities: List[float] = []
        # --8<-- [start:progress]
        for shot in range(params.shots):
            self.intensities.append(rng.gauss(params.mean_intensity, sigma))
            self._report_progress(shot + 1, params.shots)  # n of m: a bar on a terminal
        # --8<-- [end:progress]
        self._report_to_executor(Message(contents="simulated %d shots" % params.shots))

    # --8<-- [end:pre_run]
    # --8<-- [start:run]
    def _run(self) -> None:
        self.mean = statistics.fmean(self.intensities)
        self.std = statistics.pstdev(self.intensities, self.mean)
        self._report_to_executor(Message(contents="mean %.2f, std %.2f" % (self.mean, self.std)))

    # --8<-- [end:run]
    # --8<-- [start:post_run]
    def _post_run(self) -> None:
        from matplotlib.figure import Figure  # only here: matplotlib is slow to import

        params: BeamStatsParameters = self._task_parameters
        figure = Figure(figsize=(6, 3.5), layout="constrained")
        axes = figure.subplots()
        axes.hist(self.intensities, bins=params.bins, color="tab:blue")
        axes.axvline(self.mean, color="tab:red", label="mean %.2f" % self.mean)
        axes.set_xlabel("pulse intensity")
        axes.set_ylabel("shots")
        axes.legend()
        self._result.summary = [
            {"shots": str(params.shots), "mean": "%.2f" % self.mean, "std": "%.2f" % self.std},
            ElogSummaryPlots("BeamStats/Histogram", figure),
        ]
        # Plain Python values: lute-exec unpickles the result, and may lack numpy.
        self._result.payload = {"mean": self.mean, "std": self.std, "shots": params.shots}

    # --8<-- [end:post_run]
