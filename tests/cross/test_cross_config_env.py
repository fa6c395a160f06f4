"""The Task's environment chosen in the YAML config (header ``task_environments``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
%%YAML 1.3
---
title: "environment from the config"
experiment: "TST12345"
run: 3
date: "2026/11/25"
lute_version: 0.1
task_timeout: 120
work_dir: "%(work_dir)s"
task_environments:
  Tester: %(spec)s
...
---
Test:
  float_var: 1.5
...
"""


def run_cli(tmp_path: Path, spec: str, *args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG % {"work_dir": tmp_path / "work", "spec": spec})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lute.execution.cli",
            "run",
            "-c",
            str(config),
            "-t",
            "Tester",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")),
        check=False,
    )


def test_config_puts_the_task_in_a_venv(task_venv: Path, tmp_path: Path) -> None:
    done = run_cli(tmp_path, "{venv: %s}" % task_venv)
    assert done.returncode == 0, done.stderr
    assert "float_var=1.5" in done.stderr
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "lute.execution.cli",
            "db",
            "show",
            "1",
            "-w",
            str(tmp_path / "work"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    environment = json.loads(shown.stdout)["environment"]
    assert environment["python"] == str(task_venv / "bin" / "python")


def test_dry_run_shows_the_configured_interpreter(task_venv: Path, tmp_path: Path) -> None:
    done = run_cli(tmp_path, "{venv: %s}" % task_venv, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "%s -m lute.tasks.run" % (task_venv / "bin" / "python") in done.stdout


def test_malformed_entry_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "{venf: /somewhere}")
    assert done.returncode == 2
    assert "config.yaml: task_environments.Tester" in done.stderr
    assert "did you mean 'venv'" in done.stderr
    assert not (tmp_path / "work").exists()
