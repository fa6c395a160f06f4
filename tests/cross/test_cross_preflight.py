"""Pre-flight failures on real Task environments: each error names its fix."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentSpecError,
    ResolvedEnvironment,
    resolve_environment,
)
from lute.execution.environments.probe import clear_probe_cache, preflight
from lute.execution.ipc import PROTOCOL_VERSION
from lute.runtime_version import __version__ as RUNTIME_VERSION


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clear_probe_cache()


def fake_runtime(directory: Path, *, protocol: int, version: str) -> Path:
    """A lute-runtime stand-in of another release: it shadows the version and protocol
    modules of the installed one when put first on PYTHONPATH."""
    (directory / "lute" / "execution").mkdir(parents=True)
    (directory / "lute" / "runtime_version.py").write_text("__version__ = %r\n" % version)
    (directory / "lute" / "execution" / "ipc.py").write_text("PROTOCOL_VERSION = %d\n" % protocol)
    return directory


def test_missing_venv_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-env"
    with pytest.raises(EnvironmentSpecError, match="does not exist") as info:
        resolve_environment(EnvironmentSpec.venv(str(missing)))
    assert "python3 -m venv %s" % missing in str(info.value)


def test_interpreter_removed_after_resolving(tmp_path: Path) -> None:
    resolved = ResolvedEnvironment(str(tmp_path / "bin" / "python"), dict(os.environ), "venv x")
    with pytest.raises(EnvironmentSpecError, match="does not exist"):
        preflight(resolved, "FitSpectrum")


def test_env_without_lute_runtime_names_the_install_command(bare_venv: Path) -> None:
    resolved = resolve_environment(EnvironmentSpec.venv(str(bare_venv)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "FitSpectrum")
    python = shlex.quote(str(bare_venv / "bin" / "python"))
    message = str(info.value)
    assert "lute-runtime is not installed" in message
    assert "`%s -m pip install lute-runtime==%s`" % (python, RUNTIME_VERSION) in message
    assert "uv pip install -p %s lute-runtime==%s" % (python, RUNTIME_VERSION) in message


def test_interpreter_that_exits_1(tmp_path: Path) -> None:
    venv = tmp_path / "broken"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /nowhere\n")
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    python.chmod(0o755)
    resolved = resolve_environment(EnvironmentSpec.venv(str(venv)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "FitSpectrum")
    message = str(info.value)
    assert "is broken" in message and "exited with code 1" in message
    assert "init_fs_encoding" in message
    assert "recreate the environment" in message


def test_too_old_runtime_names_the_upgrade(task_venv: Path, tmp_path: Path) -> None:
    old = fake_runtime(tmp_path / "old", protocol=PROTOCOL_VERSION - 1, version="0.0.1")
    spec = EnvironmentSpec.venv(str(task_venv), keep=("PYTHONPATH",))
    resolved = resolve_environment(spec, base_env=dict(os.environ, PYTHONPATH=str(old)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "FitSpectrum")
    message = str(info.value)
    assert "lute-runtime 0.0.1" in message
    assert "speaks IPC protocol %d" % (PROTOCOL_VERSION - 1) in message
    assert "upgrade it there with" in message
    assert "lute-runtime==%s" % RUNTIME_VERSION in message


def test_newer_runtime_suggests_upgrading_the_executor(task_venv: Path, tmp_path: Path) -> None:
    new = fake_runtime(tmp_path / "new", protocol=PROTOCOL_VERSION + 1, version="9.0.0")
    spec = EnvironmentSpec.venv(str(task_venv), keep=("PYTHONPATH",))
    resolved = resolve_environment(spec, base_env=dict(os.environ, PYTHONPATH=str(new)))
    with pytest.raises(EnvironmentSpecError, match="or upgrade lute-executor here"):
        preflight(resolved, "FitSpectrum")


def test_executor_pythonpath_does_not_reach_the_task(task_venv: Path, tmp_path: Path) -> None:
    # The same stand-in on the Executor's PYTHONPATH is dropped by a switched environment.
    old = fake_runtime(tmp_path / "old", protocol=PROTOCOL_VERSION - 1, version="0.0.1")
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(task_venv)), base_env=dict(os.environ, PYTHONPATH=str(old))
    )
    assert preflight(resolved, "FitSpectrum").protocol == PROTOCOL_VERSION


def test_same_protocol_other_release_is_a_warning(task_venv: Path, tmp_path: Path) -> None:
    other = fake_runtime(tmp_path / "other", protocol=PROTOCOL_VERSION, version="0.1.99")
    spec = EnvironmentSpec.venv(str(task_venv), keep=("PYTHONPATH",))
    resolved = resolve_environment(spec, base_env=dict(os.environ, PYTHONPATH=str(other)))
    result = preflight(resolved, "")
    assert result.lute_runtime == "0.1.99"
    assert any("0.1.99" in warning for warning in result.warnings)


def test_broken_runtime_reports_the_probe_failure(task_venv: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "lute" / "execution").mkdir(parents=True)
    (broken / "lute" / "execution" / "ipc.py").write_text("raise ImportError('half-installed')\n")
    spec = EnvironmentSpec.venv(str(task_venv), keep=("PYTHONPATH",))
    resolved = resolve_environment(spec, base_env=dict(os.environ, PYTHONPATH=str(broken)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "FitSpectrum")
    assert "its probe failed" in str(info.value)
    assert "half-installed" in str(info.value)


def test_unknown_task_names_the_entry_point_group(task_venv: Path) -> None:
    resolved = resolve_environment(EnvironmentSpec.venv(str(task_venv)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "FitSpectrun")
    message = str(info.value)
    assert "Task 'FitSpectrun' is not importable" in message
    assert "FitSpectrum" in message  # the close match, from the Task side
    assert "'lute.tasks' entry-point group" in message


def test_task_only_in_the_task_env(task_venv: Path) -> None:
    # The facility package is installed into the Task venv only: the Executor cannot
    # import the Task, the venv can.
    with pytest.raises(EnvironmentSpecError, match="not importable"):
        preflight(resolve_environment(EnvironmentSpec.current()), "FitSpectrum")
    resolved = resolve_environment(EnvironmentSpec.venv(str(task_venv)))
    assert preflight(resolved, "FitSpectrum").task_importable


def test_failures_are_not_cached(bare_venv: Path, tmp_path: Path) -> None:
    resolved = resolve_environment(EnvironmentSpec.venv(str(bare_venv)))
    for _ in range(2):
        with pytest.raises(EnvironmentSpecError):
            preflight(resolved, "FitSpectrum")
    assert not list((tmp_path / "cache").rglob("probe-*.json"))
