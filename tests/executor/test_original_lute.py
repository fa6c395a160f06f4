"""Code written for the original LUTE runs here: a facility package, end to end.

``original_facility/`` holds a facility package written the original way (models whose
validators call ``read_latest_db_entry``, ``class Config(TaskParameters.Config)`` with
``set_result``, ``Field(..., is_result=True)``, ``{{ }}`` tasklet arguments, a callable
``update_environment``, ``get_logger`` in the Tasks, a third-party model whose
undeclared keys fill its template). It is installed by hand (entry points only), kept in
a git repository with an uncommitted change, and run through the real ``lute-exec``
with the eLog's environment pointing at the local test server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from lute.io.db import Database, default_db_path, read_latest_db_entry
from tests.conftest import install_distribution, lute_exec
from tests.executor.elog_server import ElogTestServer

FACILITY = Path(__file__).with_name("original_facility")

# The header sets neither experiment nor run: the eLog's job launcher gives them.
CONFIG = """\
%YAML 1.3
---
title: "MEC beamtime"
date: "2026/12/01"
lute_version: 0.1
task_timeout: 120
work_dir: "{work_dir}"
...
---
MakePeaks:
  n_peaks: 6
FitPeaks:
  threshold: 1.5
CatConfig:
  settings:
    mode: "dark"
    detector: {{gain: 3}}
...
"""


def _git(repository: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def facility(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """The package in a git repository with an uncommitted change, installed by hand."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(FACILITY, site, dirs_exist_ok=True)
    _git(site, "init", "-q")
    _git(site, "add", ".")
    _git(site, "commit", "-q", "-m", "facility package")
    commit = _git(site, "rev-parse", "HEAD")
    with (site / "mec_tasks.py").open("a") as handle:
        handle.write("# a change nobody committed\n")
    install_distribution(
        site,
        "mec-analysis",
        {
            "lute.tasks": {
                "MakePeaks": "mec_tasks:MakePeaks",
                "FitPeaks": "mec_tasks:FitPeaks",
                "CatConfig": "mec_tasks:CatConfig",
            },
            "lute.models": {
                "MakePeaks": "mec_models:MakePeaksParameters",
                "FitPeaks": "mec_models:FitPeaksParameters",
                "CatConfig": "mec_models:CatConfigParameters",
            },
            "lute.managed_tasks": {
                "PeakMaker": "mec_managed:PeakMaker",
                "PeakFitter": "mec_managed:PeakFitter",
                "ConfigPrinter": "mec_managed:ConfigPrinter",
            },
        },
    )
    work = tmp_path_factory.mktemp("lute-mec")
    config = work / "config.yaml"
    config.write_text(CONFIG.format(work_dir=work / "work"))
    summaries = work / "summaries"
    with ElogTestServer() as server:
        env = server.environ(
            PYTHONPATH=str(site),
            EXPERIMENT="mecl1234",
            RUN_NUM="7_2026-12-01T12:00:00",
            LUTE_SUMMARIES_ROOT=str(summaries / "{hutch}" / "{experiment}"),
        )
        runs = {
            name: lute_exec(["run", "-c", str(config), "-t", name], env=env)
            for name in ("PeakMaker", "PeakFitter", "ConfigPrinter")
        }
        server.wait_for_requests(9, path_prefix="/")  # 3 runs x (RUNNING, end, entry)
        yield {
            "site": site,
            "commit": commit,
            "config": config,
            "work": work / "work",
            "summaries": summaries,
            "runs": runs,
            "requests": server.requests,
            "env": env,
        }


def _execution(facility: Dict[str, Any], task: str) -> Any:
    with Database(default_db_path(str(facility["work"])), readonly=True) as db:
        [record] = db.executions(task_name=task)
        return record


def test_every_managed_task_completes(facility: Dict[str, Any]) -> None:
    for name, done in facility["runs"].items():
        assert done.returncode == 0, (name, done.stderr)
    made = _execution(facility, "MakePeaks")
    assert (made.experiment, made.run) == ("mecl1234", "7")  # EXPERIMENT, RUN_NUM


def test_validators_read_the_database_the_original_way(facility: Dict[str, Any]) -> None:
    work = str(facility["work"])
    out_file = read_latest_db_entry(work, "MakePeaks", "out_file")
    assert out_file == "%s/peaks_r0007.txt" % work
    assert read_latest_db_entry(work, "MakePeaks", "result.payload") == out_file
    assert read_latest_db_entry(work, "MakePeaks", "lute_config.run") == 7
    assert read_latest_db_entry(work, "MakePeaks", "n_peaks", for_run=7) == 6
    assert read_latest_db_entry(work, "MakePeaks", "n_peaks", for_run="0007") == 6
    assert read_latest_db_entry(work, "MakePeaks", "n_peaks", for_run=8) is None
    assert read_latest_db_entry(work, "MakePeaks", "result.task_status") == "COMPLETED"
    assert read_latest_db_entry(work, "NoSuchTask", "x") is None
    assert read_latest_db_entry(str(facility["work"] / "missing"), "MakePeaks", "x") is None
    with Database(default_db_path(work), readonly=True) as db:
        fit = db.parameters(_execution(facility, "FitPeaks").id)
    assert (fit["in_file"], fit["made"]) == (out_file, 6)


def test_the_callable_environment_and_the_tasklet_reach_the_result(
    facility: Dict[str, Any],
) -> None:
    with Database(default_db_path(str(facility["work"])), readonly=True) as db:
        fit = _execution(facility, "FitPeaks")
        [summary] = [r.summary for r in db.results(fit.id)]
    # 6 values 0..5 above 1.5: 2, 3, 4, 5. The tasklet got "{{ lute_config.run }}" as 7.
    assert summary == "kept: 4;mode: fast;made: 6;input lines: 6;run given: int 7"


def test_log_records_reach_console_log_file_and_database_with_their_level(
    facility: Dict[str, Any],
) -> None:
    made = _execution(facility, "MakePeaks")
    log = Path(made.log_path).read_text()
    assert "INFO mec_tasks: wrote 6 peaks" in log
    assert "WARNING mec_tasks: peak 0 is suspiciously small" in log
    assert "WARNING mec_tasks: peak 0" in facility["runs"]["PeakMaker"].stderr
    with Database(default_db_path(str(facility["work"])), readonly=True) as db:
        stored = {(m.level, m.text) for m in db.messages(made.id)}
    assert ("INFO", "mec_tasks: wrote 6 peaks") in stored
    assert ("WARNING", "mec_tasks: peak 0 is suspiciously small") in stored
    assert (None, "peaks written") in stored  # a plain message has no level


def test_undeclared_third_party_keys_fill_the_template_not_the_command_line(
    facility: Dict[str, Any],
) -> None:
    printed = _execution(facility, "CatConfig")
    log = Path(printed.log_path).read_text()
    said = "running third-party executable: "
    [argv] = [line.split(said, 1)[1].split() for line in log.splitlines() if said in line]
    assert argv == ["/bin/cat", "%s/cat/cat.cfg" % facility["work"]]  # no key became a flag
    assert "experiment = mecl1234" in log and "mode = dark" in log and "gain = 3" in log


def test_elog_sees_running_then_the_outcome_and_the_run_table(facility: Dict[str, Any]) -> None:
    requests = facility["requests"]
    counters = [r.json for r in requests if r.path.startswith("/jid/")]
    assert counters[0] == [{"key": "PeakMaker status", "value": "RUNNING"}]
    assert counters[1][0] == {"key": "PeakMaker status", "value": "COMPLETED"}
    assert {"key": "n_peaks", "value": "6"} in counters[1]
    tables = [r for r in requests if "add_run_params" in r.path]
    assert [t.path for t in tables] == ["/lgbk/run_control/mecl1234/ws/add_run_params"] * 2
    assert tables[0].query == {"run_num": ["7"]} and tables[0].json == {"n_peaks": "6"}
    assert tables[1].json["kept"] == "4"


def test_summary_plots_are_written_under_the_facility_summaries_root(
    facility: Dict[str, Any],
) -> None:
    page = facility["summaries"] / "mec" / "mecl1234" / "Peaks" / "Overview" / "report.html"
    assert "peak overview" in page.read_text()


def test_provenance_of_the_task_repository_with_its_uncommitted_change(
    facility: Dict[str, Any],
) -> None:
    made = _execution(facility, "MakePeaks")
    repository = made.versions["task_repository"]
    assert repository["path"] == str(facility["site"])
    assert repository["commit"] == facility["commit"]
    assert repository["dirty"] is True
    assert "+# a change nobody committed" in repository["diff"]
    assert "mec_analysis-0.1.dist-info/METADATA" in repository["untracked"]
    for versions in (made.versions, _execution(facility, "FitPeaks").versions):
        assert versions["lute_runtime"] and versions["lute_models"] and versions["lute_executor"]
    assert "task_repository" not in _execution(facility, "FitPeaks").versions  # not asked


def test_db_config_and_rerun_round_trip(facility: Dict[str, Any]) -> None:
    fit = _execution(facility, "FitPeaks")
    work = str(facility["work"])
    reproduced = facility["work"].parent / "again.yaml"
    done = lute_exec(["db", "config", str(fit.id), "-w", work, "-o", str(reproduced)])
    assert done.returncode == 0, done.stderr
    text = reproduced.read_text()
    assert "experiment: mecl1234" in text and "FitPeaks:" in text
    check = lute_exec(
        ["run", "-c", str(reproduced), "-t", "PeakFitter", "--dry-run"], env=facility["env"]
    )
    assert check.returncode == 0, check.stderr
    again = lute_exec(["rerun", str(fit.id), "-w", work], env=facility["env"])
    assert again.returncode == 0, again.stderr
    with Database(default_db_path(work), readonly=True) as db:
        newest = db.executions(task_name="FitPeaks", limit=1)[0]
        assert newest.id != fit.id and newest.rerun_of == fit.id
        assert newest.status == "COMPLETED"
        assert db.parameters(newest.id) == db.parameters(fit.id)
        assert newest.config_path == str(
            facility["work"] / "reruns" / ("execution_%d.yaml" % fit.id)
        )
    shown = json.loads(lute_exec(["db", "show", str(newest.id), "-w", work, "--json"]).stdout)
    assert shown["rerun_of"] == fit.id
