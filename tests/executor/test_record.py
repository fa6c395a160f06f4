"""The record of a run stays true: results, plots and reports are each run's own.

Tasks here come from a facility-style package installed for the test; every run goes
through the real ``lute-exec``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict

import pytest

from tests.conftest import install_distribution, lute_exec, popen_lute_exec, write_config
from tests.executor.test_run import executions

TASKS = """
from lute.tasks.dataclasses import ElogSummaryPlots
from lute.tasks.task import Task


class Plotter(Task):
    def _run(self):
        value = self._task_parameters.value
        self._result.summary = [
            {"value": str(value)},
            ElogSummaryPlots("Histogram", "<p>histogram of run with value=%s</p>" % value),
        ]


class BadPlotter(Task):
    def _run(self):
        self._result.summary = [
            ElogSummaryPlots("first", object()),  # no renderer knows it
            ElogSummaryPlots("second", "<p>the second plot</p>"),
        ]
"""
MODELS = """
from lute.io.models.base import TaskParameters


class PlotterParameters(TaskParameters):
    value: int = 1


class BadPlotterParameters(TaskParameters):
    pass
"""
MANAGED = """
from lute.execution.executor import Executor

PlotterRunner = Executor("Plotter")
BadPlotterRunner = Executor("BadPlotter")
"""


@pytest.fixture
def plot_package(short_tmp: Path) -> Dict[str, str]:
    site = install_distribution(
        short_tmp / "site",
        "lute-plot-tests",
        {
            "lute.tasks": {n: "lute_plot_tasks:%s" % n for n in ("Plotter", "BadPlotter")},
            "lute.models": {
                n: "lute_plot_models:%sParameters" % n for n in ("Plotter", "BadPlotter")
            },
            "lute.managed_tasks": {
                "PlotterRunner": "lute_plot_managed:PlotterRunner",
                "BadPlotterRunner": "lute_plot_managed:BadPlotterRunner",
            },
        },
        {"lute_plot_tasks": TASKS, "lute_plot_models": MODELS, "lute_plot_managed": MANAGED},
    )
    return {"PYTHONPATH": str(site)}


def _iframes(page: Path) -> list:  # type: ignore[type-arg]
    return re.findall(r'<iframe[^>]*src="([^"]+)"', page.read_text())


def test_running_again_never_changes_an_older_report(
    short_tmp: Path, plot_package: Dict[str, str]
) -> None:
    config = write_config(short_tmp, "Plotter:\n  value: 4\n")
    work = short_tmp / "work"
    first = lute_exec(["run", "-c", str(config), "-t", "PlotterRunner"], env=plot_package)
    assert first.returncode == 0, first.stderr
    second = lute_exec(
        ["run", "-c", str(config), "-t", "PlotterRunner", "Plotter.value=5"], env=plot_package
    )
    assert second.returncode == 0, second.stderr
    one, two = executions(work)
    page_one = work / "reports" / ("PlotterRunner_%d.html" % one["id"])
    page_two = work / "reports" / ("PlotterRunner_%d.html" % two["id"])
    [frame_one] = _iframes(page_one)
    [frame_two] = _iframes(page_two)
    assert frame_one != frame_two
    plot_one = (page_one.parent / frame_one).resolve()
    plot_two = (page_two.parent / frame_two).resolve()
    assert "value=4" in plot_one.read_text()  # execution 1's plot, after execution 2
    assert "value=5" in plot_two.read_text()


def test_a_plot_that_fails_to_render_takes_no_other_plots_page(
    short_tmp: Path, plot_package: Dict[str, str]
) -> None:
    config = write_config(short_tmp, "BadPlotter: {}\n")
    work = short_tmp / "work"
    done = lute_exec(["run", "-c", str(config), "-t", "BadPlotterRunner"], env=plot_package)
    assert done.returncode == 0, done.stderr
    [row] = executions(work)
    shown = json.loads(lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"]).stdout)
    first, second = [r for r in shown["results"] if r["kind"] == "plots"]
    # Each plot's row holds its own page: the page of "second" never under "first".
    assert (first["position"], second["position"]) == (0, 1)
    assert "second" not in first["summary"]
    assert second["summary"].endswith("/second/report.html"), second
    report = (work / "reports" / ("BadPlotterRunner_%d.html" % row["id"])).read_text()
    assert "could not be rendered" in report


def test_concurrent_writers_of_one_run_never_collide(config: Path) -> None:
    overrides = ["TestWriteOutput.num_values=300000"]
    runs = [
        popen_lute_exec(["run", "-c", str(config), "-t", "WriteTester", *overrides])
        for _ in range(6)
    ]
    outcomes = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in runs]
    assert [code for code, _err in outcomes] == [0] * 6, outcomes
    work = config.parent / "work"
    rows = executions(work)
    assert [row["status"] for row in rows] == ["COMPLETED"] * 6
    shown = json.loads(
        lute_exec(["db", "show", str(rows[0]["id"]), "-w", str(work), "--json"]).stdout
    )
    written = Path(shown["results"][0]["payload"])
    assert len(written.read_text().splitlines()) == 300000
    assert not list(written.parent.glob("*.tmp"))  # no writer left its temporary file


def test_an_after_tasklet_that_raises_keeps_the_tasks_outcome(short_tmp: Path) -> None:
    module = short_tmp / "site" / "lute_raising_tasklet.py"
    module.parent.mkdir()
    module.write_text(
        "from lute.execution.executor import Executor\n\n\n"
        "def explode(run):\n    raise ZeroDivisionError('tasklet broke on run %s' % run)\n\n\n"
        "Exploder = Executor('Test')\n"
        "Exploder.add_tasklet(explode, ('{lute_config.run}',), when='after')\n"
    )
    site = install_distribution(
        short_tmp / "site",
        "lute-raising-tasklet",
        {"lute.managed_tasks": {"Exploder": "lute_raising_tasklet:Exploder"}},
    )
    config = write_config(short_tmp)
    work = short_tmp / "work"
    done = lute_exec(["run", "-c", str(config), "-t", "Exploder"], env={"PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    assert "tasklet broke on run 12" in done.stderr and "Test COMPLETED" in done.stderr
    [row] = executions(work)
    assert (row["status"], row["exit_code"]) == ("COMPLETED", 0)
    shown = json.loads(lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"]).stdout)
    assert any("float_var: 0.01" in r["summary"] for r in shown["results"])  # the result stays
    assert any("ZeroDivisionError: tasklet broke on run 12" in w for w in shown["warnings"])
    text = lute_exec(["db", "show", str(row["id"]), "-w", str(work)]).stdout
    assert "warning:" in text and "tasklet broke" in text
    report = (work / "reports" / ("Exploder_%d.html" % row["id"])).read_text()
    assert "Warnings" in report and "tasklet broke on run 12" in report


def test_a_result_the_executor_cannot_read_is_kept_and_the_run_is_not_completed(
    short_tmp: Path,
) -> None:
    """The Task's environment has a module the Executor's lacks (numpy, in real life)."""
    task_only = short_tmp / "task-only"
    task_only.mkdir()
    (task_only / "lute_task_only_values.py").write_text(
        "class Spectrum:\n    def __init__(self, peak):\n        self.peak = peak\n"
    )
    site = install_distribution(
        short_tmp / "site",
        "lute-foreign-result",
        {
            "lute.tasks": {"Foreign": "lute_foreign:Foreign"},
            "lute.models": {"Foreign": "lute_foreign_models:ForeignParameters"},
            "lute.managed_tasks": {"ForeignRunner": "lute_foreign_managed:ForeignRunner"},
        },
        {
            "lute_foreign": "from lute.tasks.task import Task\n\n\nclass Foreign(Task):\n"
            "    def _run(self):\n        from lute_task_only_values import Spectrum\n\n"
            "        self._result.summary = {'peak': '3.2'}\n"
            "        self._result.payload = Spectrum(3.2)\n",
            "lute_foreign_models": "from lute.io.models.base import TaskParameters\n\n\n"
            "class ForeignParameters(TaskParameters):\n    pass\n",
            "lute_foreign_managed": "from lute.execution.executor import Executor\n\n"
            "ForeignRunner = Executor('Foreign')\n"
            "ForeignRunner.update_environment({'PYTHONPATH': %r})\n" % str(task_only),
        },
    )
    config = write_config(short_tmp, "Foreign: {}\n")
    work = short_tmp / "work"
    done = lute_exec(
        ["run", "-c", str(config), "-t", "ForeignRunner"], env={"PYTHONPATH": str(site)}
    )
    assert done.returncode == 1, done.stderr  # FAILED, never COMPLETED with nothing recorded
    assert "lute_task_only_values" in done.stderr
    [row] = executions(work)
    assert row["status"] == "FAILED"
    assert "could not be read by the Executor" in row["error"]
    assert "lute_task_only_values" in row["error"] and "install it" in row["error"]
    shown = json.loads(lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"]).stdout)
    [kept] = [r for r in shown["results"] if r["kind"] == "undecodable"]
    assert kept["raw_size"] > 0
    # Where the module exists, the stored bytes decode to what the Task sent.
    import sys

    from lute.execution.ipc import UndecodableMessage
    from lute.io.db import Database

    sys.path.insert(0, str(task_only))
    try:
        with Database(str(work / "lute.db"), readonly=True) as db:
            message = UndecodableMessage.from_bytes(db.raw_result(kept["id"])).decode()
    finally:
        sys.path.remove(str(task_only))
    assert message.signal == "TASK_RESULT" and message.contents.payload.peak == 3.2
