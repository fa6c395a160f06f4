"""End to end: the Executor (this Python) runs a Task in a Task venv of another Python.

Each run is a separate Executor process (the Python API, as a facility script would use
it, or ``lute-exec run``); what it recorded is read back from the results database.
The facility's parameter models reach the Executor through PYTHONPATH, which must not
reach the Task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 180

CONFIG = """\
%%YAML 1.3
---
title: "cross-environment run"
experiment: "TST00000"
run: 7
task_timeout: 120
work_dir: "%(work_dir)s"
...
---
Test:
  float_var: 0.5
  str_var: "from the executor"
FitSpectrum:
  peak_kev: 3.2
  width_kev: 0.15
...
"""

# Runs in a fresh Executor process: execute one Task in the given environment, then
# print what the database holds about it as one JSON line.
DRIVER = r"""
import json, sys
from lute.execution.environments import EnvironmentSpec
from lute.execution.executor import Executor
from lute.io.db import Database

spec, task, config, db_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
if task == "Test":
    from lute.managed_tasks import Tester as executor
else:
    executor = Executor(task)
executor.set_environment(EnvironmentSpec.from_config(spec))
out = {}
try:
    out["status"] = executor.execute_task(config).value
except Exception as error:
    out["raised"] = type(error).__name__
    out["message"] = str(error)
import os
if os.path.exists(db_path):
    db = Database(db_path, readonly=True)
    out["executions"] = [
        {"id": e.id, "status": e.status, "environment": e.environment, "error": e.error}
        for e in db.executions()
    ]
    if out["executions"]:
        first = out["executions"][0]["id"]
        out["results"] = [{"summary": r.summary, "payload": r.payload} for r in db.results(first)]
        out["messages"] = [m[2] for m in db.messages(first)]
print("DRIVER " + json.dumps(out, default=str))
"""


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG % {"work_dir": tmp_path / "work"})
    return config


def executor_env(executor_site: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(executor_site)
    env.update(extra)
    return env


def run_driver(
    spec: Dict[str, Any], task: str, tmp_path: Path, env: Dict[str, str]
) -> Dict[str, Any]:
    config = write_config(tmp_path)
    db_path = tmp_path / "work" / "lute.db"
    env = dict(env, XDG_CACHE_HOME=str(tmp_path / "cache"))  # a private probe cache
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(spec), task, str(config), str(db_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("DRIVER "):
            return json.loads(line[len("DRIVER ") :])  # type: ignore[no-any-return]
    raise AssertionError(
        "driver failed (%d):\n%s\n%s" % (done.returncode, done.stdout, done.stderr)
    )


def where_it_ran(out: Dict[str, Any]) -> Dict[str, Any]:
    """The FitSpectrum payload: where the Task found itself running."""
    payloads = [r["payload"] for r in out.get("results", []) if r["payload"]]
    assert payloads, out
    payload: Any = payloads[0]
    return json.loads(payload) if isinstance(payload, str) else payload  # type: ignore[no-any-return]


def test_tester_runs_in_the_task_venv(task_venv: Path, executor_site: Path, tmp_path: Path) -> None:
    out = run_driver({"venv": str(task_venv)}, "Test", tmp_path, executor_env(executor_site))
    assert out.get("status") == "COMPLETED", out
    [execution] = out["executions"]
    assert execution["status"] == "COMPLETED"
    assert execution["environment"]["python"] == str(task_venv / "bin" / "python")
    assert any("0.5" in str(r["summary"]) for r in out["results"]), out["results"]


def test_fit_spectrum_in_venv_without_pyzmq_uses_the_socket(
    task_venv: Path, executor_site: Path, tmp_path: Path, task_python: str
) -> None:
    # ZMQ asked for, but the Task's environment has no pyzmq: the stdlib channel serves.
    env = executor_env(executor_site, LUTE_USE_ZMQ="1")
    out = run_driver({"venv": str(task_venv)}, "FitSpectrum", tmp_path, env)
    assert out.get("status") == "COMPLETED", out
    seen = where_it_ran(out)
    assert seen["executable"] == str(task_venv / "bin" / "python")
    assert seen["python"].startswith(task_python + ".")
    assert seen["PYTHONPATH"] is None  # the Executor's PYTHONPATH stayed home
    assert seen["VIRTUAL_ENV"] == str(task_venv)
    assert seen["transport"] == "unix"
    assert not seen["pydantic_here"]
    assert any("3.2" in str(r["summary"]) for r in out["results"]), out["results"]
    messages: List[str] = out["messages"]
    assert any(m.startswith("environment ") for m in messages), messages


def test_fit_spectrum_with_pyzmq_uses_zmq(
    zmq_venv: Path, executor_site: Path, tmp_path: Path
) -> None:
    env = executor_env(executor_site, LUTE_USE_ZMQ="1")
    out = run_driver({"venv": str(zmq_venv)}, "FitSpectrum", tmp_path, env)
    assert out.get("status") == "COMPLETED", out
    assert where_it_ran(out)["transport"] == "zmq"


def test_fit_spectrum_in_conda_layout_env(
    conda_envs: Path, executor_site: Path, tmp_path: Path
) -> None:
    env = executor_env(executor_site, CONDA_ENVS_PATH=str(conda_envs))
    out = run_driver({"conda": "mecfit"}, "FitSpectrum", tmp_path, env)
    assert out.get("status") == "COMPLETED", out
    seen = where_it_ran(out)
    prefix = conda_envs / "mecfit"
    assert seen["CONDA_PREFIX"] == str(prefix)
    assert seen["MEC_CALIBRATION"] == str(prefix / "calib" / "r0042")


def test_broken_env_fails_before_anything_is_recorded(
    bare_venv: Path, executor_site: Path, tmp_path: Path
) -> None:
    out = run_driver({"venv": str(bare_venv)}, "FitSpectrum", tmp_path, executor_env(executor_site))
    assert "status" not in out, out
    assert "lute-runtime is not installed" in out["message"]
    assert "%s -m pip install lute-runtime==" % (bare_venv / "bin" / "python") in out["message"]
    assert not out.get("executions"), out


def lute_exec(args: List[str], env: Dict[str, str], cwd: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    code = "import sys; from lute.execution.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=dict(env, XDG_CACHE_HOME=str(cwd / "cache")),
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("broken", [False, True])
def test_cli_runs_a_facility_managed_task(
    task_venv: Path, bare_venv: Path, executor_site: Path, tmp_path: Path, broken: bool
) -> None:
    venv = bare_venv if broken else task_venv
    env = executor_env(executor_site, MEC_ANALYSIS_ENVIRONMENT=json.dumps({"venv": str(venv)}))
    config = write_config(tmp_path)
    done = lute_exec(["run", "-c", str(config), "-t", "SpectrumFitter"], env, tmp_path)
    if broken:
        assert done.returncode == 2, done.stderr
        assert "lute-runtime is not installed" in done.stderr
    else:
        assert done.returncode == 0, done.stdout + done.stderr
    listed = lute_exec(["db", "list", "-w", str(tmp_path / "work"), "--json"], env, tmp_path)
    executions: Optional[List[Any]] = json.loads(listed.stdout) if listed.stdout.strip() else []
    assert len(executions or []) == (0 if broken else 1), listed.stdout + listed.stderr
    if not broken:
        check_summary_plots_recorded(tmp_path / "work", env, tmp_path)


def check_summary_plots_recorded(work: Path, env: Dict[str, str], cwd: Path) -> None:
    """FitSpectrum's ElogSummaryPlots crossed from the 3.8 venv into the DB and report."""
    shown = lute_exec(["db", "show", "1", "-w", str(work), "--json"], env, cwd)
    results = json.loads(shown.stdout)["results"]
    assert [r["kind"] for r in results] == ["dict", "plots"], results
    assert results[0]["summary"].startswith("Peak: 3.2")
    page = Path(results[1]["summary"])
    assert page.parts[-3:] == ("Fits", "Spectrum", "report.html")
    assert page.is_file() and str(work) in str(page)
    assert '<svg class="spectrum"' in page.read_text(encoding="utf-8")
    report = (work / "reports" / "SpectrumFitter_1.html").read_text(encoding="utf-8")
    assert "Fits/Spectrum" in report
    # The execution's own plot pages: a later run never replaces them.
    assert "summary_plots/TST00000/7/SpectrumFitter_1/Fits/Spectrum/report.html" in report
