"""Managed tasks of a facility package, written as the original LUTE's managed_tasks.py."""

from typing import Dict

from mec_tasklets import count_lines

from lute.execution.executor import Executor


def fit_environment() -> Dict[str, str]:
    """Computed when the Task is launched, as the original's callables are."""
    return {"MEC_FIT_MODE": "fast"}


PeakMaker: Executor = Executor("MakePeaks")
"""Makes the peaks."""

PeakFitter: Executor = Executor("FitPeaks")
"""Fits the peaks MakePeaks made."""
PeakFitter.update_environment(fit_environment)
PeakFitter.add_tasklet(
    count_lines,
    ["{{ in_file }}", "{{ lute_config.run }}"],
    when="after",
    set_result=False,
    set_summary=True,
)

ConfigPrinter: Executor = Executor("CatConfig")
"""Prints the configuration file rendered for a third-party program."""
