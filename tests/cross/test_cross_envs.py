"""Resolving real Task environments (uv venvs, a conda-layout prefix, scripts) and probing them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
from crossenv import RUNTIME, TASK_PACKAGE, task_python_version

from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentUpdate,
    ResolvedEnvironment,
    resolve_environment,
)
from lute.execution.environments.probe import clear_probe_cache, preflight
from lute.execution.ipc import PROTOCOL_VERSION
from lute.runtime_version import __version__ as RUNTIME_VERSION

# What the Executor's own environment looks like from inside an activated venv/conda env.
EXECUTOR_BIN = os.path.join(sys.prefix, "bin")


def executor_like_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH="/opt/executor/site",
        PYTHONHOME=sys.prefix,
        VIRTUAL_ENV=sys.prefix,
        CONDA_PREFIX="/opt/conda/envs/executor",
        CONDA_DEFAULT_ENV="executor",
        CONDA_SHLVL="1",
        PATH=os.pathsep.join([EXECUTOR_BIN, "/opt/conda/envs/executor/bin", "/usr/bin", "/bin"]),
    )
    env.update(extra)
    return env


def inside(resolved: ResolvedEnvironment) -> Dict[str, Any]:
    """What a process started like the Task sees: its prefix, sys.path and variables."""
    code = (
        "import json, os, sys; print(json.dumps({'prefix': sys.prefix, 'path': sys.path, "
        "'env': dict(os.environ), 'version': list(sys.version_info[:2])}))"
    )
    done = subprocess.run(
        [resolved.python, "-c", code],
        env=resolved.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clear_probe_cache()


@pytest.mark.parametrize("version", sorted({task_python_version(), "3.13"}))
def test_venv_is_probed_and_cached(
    venv_factory: Callable[..., Path], version: str, tmp_path: Path
) -> None:
    venv = venv_factory(version, (RUNTIME, TASK_PACKAGE))
    resolved = resolve_environment(EnvironmentSpec.venv(str(venv)))
    assert resolved.python == str(venv / "bin" / "python")
    assert resolved.kind == "venv" and resolved.prefix == str(venv)

    first = preflight(resolved, "FitSpectrum")
    assert first.python_version.startswith(version + ".")
    assert first.lute_runtime == RUNTIME_VERSION
    assert first.protocol == PROTOCOL_VERSION
    assert first.task_importable and first.task_class == "mec_analysis.tasks.FitSpectrum"
    assert (first.zmq, first.pydantic, first.in_process, first.cached) == (
        False,
        False,
        False,
        False,
    )
    assert first.executable == str(venv / "bin" / "python")

    second = preflight(resolved, "FitSpectrum")
    assert second.cached and second.seconds == 0.0
    assert second.task_class == first.task_class
    assert list((tmp_path / "cache" / "lute" / "probes").glob("probe-*.json"))


def test_switched_venv_gets_none_of_the_executor_environment(task_venv: Path) -> None:
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(task_venv)), base_env=executor_like_env()
    )
    for name in ("PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL"):
        assert name not in resolved.env, name
    assert resolved.env["VIRTUAL_ENV"] == str(task_venv)
    assert resolved.env["PATH"].split(os.pathsep) == [str(task_venv / "bin"), "/usr/bin", "/bin"]

    seen = inside(resolved)
    assert seen["prefix"] == str(task_venv)
    assert "/opt/executor/site" not in seen["path"]
    assert not any(p.startswith(sys.prefix + os.sep) for p in seen["path"])
    assert "PYTHONPATH" not in seen["env"]


def test_keep_passes_chosen_variables(task_venv: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra-site"
    extra.mkdir()
    spec = EnvironmentSpec.venv(str(task_venv), keep=("PYTHONPATH",))
    resolved = resolve_environment(spec, base_env=executor_like_env(PYTHONPATH=str(extra)))
    assert resolved.env["PYTHONPATH"] == str(extra)
    assert "PYTHONHOME" not in resolved.env
    assert str(extra) in inside(resolved)["path"]


def test_current_keeps_everything() -> None:
    base = executor_like_env()
    resolved = resolve_environment(EnvironmentSpec.current(), base_env=base)
    assert resolved.env == base
    assert resolved.python == sys.executable


def test_conda_prefix_runs_activation_scripts_in_order(conda_envs: Path) -> None:
    prefix = conda_envs / "mecfit"
    resolved = resolve_environment(EnvironmentSpec.conda(str(prefix)), base_env=executor_like_env())
    env = resolved.env
    assert env["CONDA_PREFIX"] == str(prefix)
    assert env["CONDA_DEFAULT_ENV"] == str(prefix)
    assert env["CONDA_SHLVL"] == "1"
    assert env["MEC_CALIBRATION"] == str(prefix / "calib" / "r0042")
    assert env["MEC_ORDER"] == "ab"
    assert env["MEC_STATE_VAR"] == env["MEC_SAW_STATE"] == "from-state"
    assert "MEC_NOISE" not in env  # printed by a script, never evaluated
    assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env
    assert env["PATH"].split(os.pathsep)[0] == str(prefix / "bin")
    assert [os.path.basename(s) for s in resolved.sourced] == ["10-mec.sh", "20-mec.sh"]

    result = preflight(resolved, "FitSpectrum")
    assert result.task_importable
    assert inside(resolved)["env"]["MEC_CALIBRATION"] == env["MEC_CALIBRATION"]


def test_conda_by_name_via_conda_envs_path(conda_envs: Path) -> None:
    base = executor_like_env(CONDA_ENVS_PATH=str(conda_envs))
    resolved = resolve_environment(EnvironmentSpec.from_config({"conda": "mecfit"}), base_env=base)
    assert resolved.prefix == str(conda_envs / "mecfit")
    assert resolved.env["CONDA_DEFAULT_ENV"] == "mecfit"
    assert resolved.env["CONDA_PROMPT_MODIFIER"] == "(mecfit) "
    assert resolved.description == "conda mecfit"


def test_script_spec_finds_python3_on_the_path_it_sets(task_venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "setup-mec.sh"
    script.write_text(
        'export PATH="%s/bin:$PATH"\nexport MEC_CALIBRATION="${1:-none}"\n' % task_venv
    )
    spec = EnvironmentSpec.script("%s r0042" % script)
    resolved = resolve_environment(spec, base_env=executor_like_env())
    assert resolved.python == str(task_venv / "bin" / "python3")
    assert resolved.env["MEC_CALIBRATION"] == "r0042"
    assert "PYTHONPATH" not in resolved.env
    assert preflight(resolved, "FitSpectrum").task_importable


def test_plain_interpreter_spec(task_venv: Path) -> None:
    python = str(task_venv / "bin" / "python")
    resolved = resolve_environment(EnvironmentSpec.python(python), base_env=executor_like_env())
    assert resolved.python == python
    assert "VIRTUAL_ENV" not in resolved.env
    assert resolved.env["PATH"].split(os.pathsep)[0] == str(task_venv / "bin")
    result = preflight(resolved, "FitSpectrum")
    assert result.python_version.startswith(task_python_version() + ".")


def test_shell_source_and_updates_apply_after_activation(task_venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "site.sh"
    script.write_text('export MEC_SITE="sourced:$VIRTUAL_ENV"\nexport MEC_KEEP=from-script\n')
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(task_venv)),
        sourced_scripts=[str(script)],
        updates=[
            EnvironmentUpdate((("MEC_KEEP", "from-update"), ("PATH", "/opt/mec/bin"))),
        ],
        base_env=executor_like_env(),
    )
    assert resolved.env["MEC_SITE"] == "sourced:%s" % task_venv
    assert resolved.env["MEC_KEEP"] == "from-update"
    assert resolved.env["PATH"].split(os.pathsep)[:2] == ["/opt/mec/bin", str(task_venv / "bin")]
    assert resolved.sourced == [str(script)]
