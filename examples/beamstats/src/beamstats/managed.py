"""Managed tasks of beamstats: the names ``lute-exec run -t`` accepts.

A managed task is an Executor: which Task it runs, and how (environment, hooks,
tasklets). Each is registered under ``lute.managed_tasks`` in pyproject.toml.
"""

from __future__ import annotations

from typing import Dict

from lute.execution.executor import BaseExecutor, Executor
from lute.execution.ipc import Message

BeamStatsRunner = Executor("BeamStats")
"""Runs ``BeamStats`` in lute-exec's own environment."""


# --8<-- [start:watched]
def announce_mean(executor: BaseExecutor, message: Message) -> None:
    """A hook: lute-exec calls it for every plain message the Task sends."""
    run = executor.current_run  # this run's read-only view
    if run is not None and str(message.contents).startswith("mean "):
        run.log(
            "hook: execution %s of %s said %r" % (run.execution_id, run.task_name, message.contents)
        )


def experiment_and_run(experiment: str, run: int) -> Dict[str, str]:
    """A tasklet: a plain function lute-exec runs after the Task, in its own process."""
    return {"experiment/run": "%s/%s" % (experiment, run)}


WatchedBeamStats = Executor("BeamStats")
"""Runs ``BeamStats`` with a hook, a tasklet and one more environment variable."""
WatchedBeamStats.add_hook("", announce_mean)  # "" = plain messages, after the default hook
WatchedBeamStats.add_tasklet(
    experiment_and_run,
    ["{lute_config.experiment}", "{lute_config.run}"],  # filled from the parameters
    when="after",
    set_summary=True,  # what it returns joins the Task's summary
)
WatchedBeamStats.update_environment({"OMP_NUM_THREADS": "1"})
# --8<-- [end:watched]

# --8<-- [start:sorter]
ShotSorter = Executor("SortShots")
"""Runs the third-party Task ``SortShots`` (GNU sort)."""
# --8<-- [end:sorter]
