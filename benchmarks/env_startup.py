"""Start-up cost of a trivial Task in a switched environment beside the Executor's own.

Environments (built here with uv, Task Python ``--task-python``, default 3.8):
- ``current``: the Executor's own interpreter (probed in-process);
- ``venv``: a uv venv holding lute-runtime;
- ``conda-layout``: a venv with a conda prefix's layout and one ``activate.d`` script
  (conda itself cannot be installed here), selected by name through ``CONDA_ENVS_PATH``;
- ``script``: a shell script that activates that venv, sourced by bash.

Columns (median wall time in ms over ``--repeat`` runs, except ``run cold``):
- ``resolve``: ``resolve_environment`` (bash runs for conda-layout and script);
- ``probe``: ``preflight`` without the cache (one probe process unless ``current``);
- ``cached``: ``preflight`` answered by the probe cache (no process);
- ``--probe``: a bare ``python -m lute.tasks.run --probe --task Test`` in that env;
- ``run cold`` / ``run warm``: ``Executor("Test").execute_task(config)`` timed inside a
  fresh Executor process, first with an empty probe cache, then with a warm one. Shown as
  ``n/a`` (with the reason) where the Executor cannot run a Task yet.

Usage: python benchmarks/env_startup.py [--repeat N] [--task-python 3.8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from lute.execution.environments import EnvironmentSpec, resolve_environment
from lute.execution.environments.probe import clear_probe_cache, preflight

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "packages" / "lute-runtime"

CONFIG = """\
%%YAML 1.3
---
title: "environment start-up benchmark"
experiment: "BENCH"
run: 1
task_timeout: 300
work_dir: "%s"
...
---
Test:
  float_var: 0.01
...
"""

# One timed execute_task in a fresh Executor process; prints milliseconds or an error.
DRIVER = r"""
import json, sys, time
from lute.execution.environments import EnvironmentSpec
from lute.execution.executor import Executor
executor = Executor("Test")
executor.set_environment(EnvironmentSpec.from_config(json.loads(sys.argv[1])))
start = time.perf_counter()
try:
    status = executor.execute_task(sys.argv[2])
except Exception as error:
    print("ERROR %s: %s" % (type(error).__name__, str(error).splitlines()[0]))
else:
    took = (time.perf_counter() - start) * 1000
    print(("MS %.1f" % took) if status.value == "COMPLETED" else "ERROR status %s" % status.value)
"""


def tool_env() -> Dict[str, str]:
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    pyenv = shutil.which("pyenv")
    if pyenv and not env.get("PYENV_VERSION"):
        versions = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=60
        ).stdout.split()
        wanted = [
            v for v in versions if v.startswith("3.") and v.split(".")[1] in "8 9 10 11 12 13"
        ]
        env["PYENV_VERSION"] = ":".join(wanted)
    return env


def build_venv(path: Path, python: str) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is needed to build the benchmark environments")
    env = tool_env()
    subprocess.run([uv, "venv", "-q", "-p", python, str(path)], env=env, check=True, timeout=300)
    subprocess.run(
        [uv, "pip", "install", "-q", "-p", str(path / "bin" / "python"), "--reinstall-package",
         "lute-runtime", str(RUNTIME)],
        env=env,
        check=True,
        timeout=300,
    )  # fmt: skip
    return path


def build_environments(root: Path, python: str) -> Dict[str, Dict[str, object]]:
    """Build the switched environments; return each one's spec in its YAML form."""
    venv = build_venv(root / "venv", python)
    conda = build_venv(root / "envs" / "bench", python)
    (conda / "conda-meta").mkdir()
    (conda / "conda-meta" / "history").write_text("")
    activate = conda / "etc" / "conda" / "activate.d"
    activate.mkdir(parents=True)
    (activate / "bench.sh").write_text('export BENCH_CALIB="$CONDA_PREFIX/calib"\n')
    script = root / "activate-bench.sh"
    script.write_text('export VIRTUAL_ENV="%s"\nexport PATH="$VIRTUAL_ENV/bin:$PATH"\n' % venv)
    os.environ["CONDA_ENVS_PATH"] = str(root / "envs")
    return {
        "current": {"current": True},
        "venv": {"venv": str(venv)},
        "conda-layout": {"conda": "bench"},
        "script": {"script": str(script)},
    }


def median_ms(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def full_runs(
    spec: Dict[str, object], root: Path, repeat: int, cache: Path
) -> Tuple[Optional[float], Optional[float], str]:
    """Cold and warm-cache median of execute_task; or the reason it cannot run."""
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(root / "work", ignore_errors=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    results: List[float] = []
    for index in range(repeat + 1):
        work = root / "work" / str(index)
        work.mkdir(parents=True)
        config = work / "config.yaml"
        config.write_text(CONFIG % work)
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, json.dumps(spec), str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        line = (done.stdout.strip().splitlines() or ["ERROR no output: " + done.stderr[-300:]])[-1]
        if not line.startswith("MS "):
            return None, None, line
        results.append(float(line[3:]))
        shutil.rmtree(root / "work", ignore_errors=True)
    return results[0], statistics.median(results[1:]), ""


def measure(config: Dict[str, object], root: Path, repeat: int) -> Tuple[List[str], str]:
    """One table row's cells for one environment, and why a full run is n/a (if it is)."""
    spec = EnvironmentSpec.from_config(config)
    resolved = resolve_environment(spec)
    resolve = median_ms(lambda: resolve_environment(spec), repeat)
    probe = median_ms(lambda: preflight(resolved, "Test", use_cache=False), repeat)
    clear_probe_cache()
    preflight(resolved, "Test")
    cached = median_ms(lambda: preflight(resolved, "Test"), repeat)
    argv = [resolved.python, "-m", "lute.tasks.run", "--probe", "--task", "Test"]
    bare = median_ms(
        lambda: subprocess.run(
            argv, env=resolved.env, capture_output=True, check=True, timeout=120
        ),
        repeat,
    )
    cold, warm, reason = full_runs(config, root, repeat, root / "run-cache")
    cells = ["%.1f" % resolve, "%.1f" % probe, "%.2f" % cached, "%.1f" % bare]
    cells += ["n/a" if value is None else "%.1f" % value for value in (cold, warm)]
    return cells, reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--task-python", default="3.8", help="Python of the switched envs")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="lute-envb-", dir="/tmp"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    columns = ["resolve", "probe", "cached", "--probe", "run cold", "run warm"]
    try:
        specs = build_environments(root, args.task_python)
        rows = ["%-13s" % "environment" + "".join("%10s" % c for c in columns)]
        rows.append("-" * len(rows[0]))
        reasons: Dict[str, str] = {}
        for name, config in specs.items():
            cells, reason = measure(config, root, args.repeat)
            rows.append("%-13s" % name + "".join("%10s" % c for c in cells))
            if reason:
                reasons[name] = reason
        version = "%d.%d.%d" % sys.version_info[:3]
        print(
            "Executor: Python %s; switched envs: Python %s; median of %d; ms"
            % (version, args.task_python, args.repeat)
        )
        print("\n".join(rows))
        for name, reason in reasons.items():
            print("run n/a for %s: %s" % (name, reason))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
