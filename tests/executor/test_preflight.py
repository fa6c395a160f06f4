"""Pre-flight probe: real interpreters, real probe processes, a real cache on disk.

An interpreter wrapper (a shell script that logs each start, then runs this Python)
shows whether a probe spawned a process or was answered from the cache.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import sys
import venv
from importlib.util import find_spec
from pathlib import Path
from typing import Dict, Optional

import pytest

from lute.execution import environments
from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentSpecError,
    ResolvedEnvironment,
    probe,
    resolve_environment,
)
from lute.execution.environments.probe import (
    ProbeResult,
    clear_probe_cache,
    default_cache_dir,
    install_command,
    preflight,
)
from lute.execution.ipc import PROTOCOL_VERSION
from lute.runtime_version import __version__ as RUNTIME_VERSION
from tests.conftest import install_distribution


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    clear_probe_cache()
    return cache / "lute" / "probes"


class Wrapper:
    """An interpreter that counts how often it is started."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "starts.log"
        self.python = directory / "python"
        self.python.write_text(
            '#!/bin/sh\necho start >> %s\nexec %s "$@"\n'
            % (shlex.quote(str(self.log)), shlex.quote(sys.executable))
        )
        self.python.chmod(0o755)

    @property
    def starts(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def resolved(self, **env: str) -> ResolvedEnvironment:
        return ResolvedEnvironment(
            str(self.python), dict(os.environ, **env), "interpreter %s" % self.python
        )


def write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


# The Executor's own interpreter ------------------------------------------------------------
def test_current_is_probed_in_process() -> None:
    result = preflight(resolve_environment(EnvironmentSpec.current()), "Test")
    assert result.in_process and not result.cached
    assert result.task_importable and result.task_class == "lute.tasks.test.Test"
    assert result.lute_runtime == RUNTIME_VERSION and result.protocol == PROTOCOL_VERSION
    assert result.zmq == (find_spec("zmq") is not None)
    assert result.python_version == "%d.%d.%d" % sys.version_info[:3]


def test_current_still_checks_the_task() -> None:
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolve_environment(EnvironmentSpec.current()), "NoSuchTask")
    assert "Task 'NoSuchTask' is not importable by %s" % sys.executable in str(info.value)
    assert "TaskNotFoundError" in str(info.value)


def test_current_locates_the_task_without_running_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task code never runs in the Executor: its module is found, not imported."""
    marker = tmp_path / "imported"
    site = install_distribution(
        tmp_path / "site",
        "lute-side-effect-tasks",
        {
            "lute.tasks": {
                "SideEffect": "lute_side_effect_tasks:SideEffect [gpu]",
                "Gone": "lute_gone_tasks:Gone",
            }
        },
        {
            "lute_side_effect_tasks": "open(%r, 'w').close()\nraise ImportError('needs libfoo')\n"
            % str(marker)
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    resolved = resolve_environment(EnvironmentSpec.current())
    result = preflight(resolved, "SideEffect")
    assert result.in_process and result.task_importable
    assert result.task_class == "lute_side_effect_tasks.SideEffect"
    assert not marker.exists() and "lute_side_effect_tasks" not in sys.modules
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "Gone")
    assert "defined in lute_gone_tasks, but no module of that name is installed" in str(info.value)


def test_current_with_another_pythonpath_is_probed_in_a_process(tmp_path: Path) -> None:
    resolved = ResolvedEnvironment(
        sys.executable, dict(os.environ, PYTHONPATH=str(tmp_path)), "current"
    )
    result = preflight(resolved, "Test")
    assert not result.in_process and result.task_importable


# A probe process and the cache --------------------------------------------------------------
def test_probe_result_fields(tmp_path: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    result = preflight(wrapper.resolved(), "Test")
    assert isinstance(result, ProbeResult)
    assert result.python == str(wrapper.python)
    assert result.executable == sys.executable
    assert result.python_version == "%d.%d.%d" % sys.version_info[:3]
    assert (result.lute_runtime, result.protocol) == (RUNTIME_VERSION, PROTOCOL_VERSION)
    assert result.zmq == (find_spec("zmq") is not None)
    assert result.mpi4py == (find_spec("mpi4py") is not None)
    assert result.pydantic == (find_spec("pydantic") is not None)
    assert (result.task_name, result.task_importable) == ("Test", True)
    assert not result.in_process and not result.cached and result.seconds > 0
    assert result.warnings == ()
    assert wrapper.starts == 1


def test_cache_hit_spawns_nothing(tmp_path: Path, private_cache: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    first = preflight(wrapper.resolved(), "Test")
    second = preflight(wrapper.resolved(), "Test")
    assert wrapper.starts == 1
    assert second.cached and not first.cached
    assert second.task_class == first.task_class

    clear_probe_cache()  # memory gone: the disk entry answers
    assert preflight(wrapper.resolved(), "Test").cached
    assert wrapper.starts == 1
    # Written atomically: the entry is the only file, no temporary one is left over.
    [entry] = private_cache.iterdir()
    assert entry.name.startswith("probe-") and entry.name.endswith(".json")


def test_cache_is_shared_between_processes(tmp_path: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    preflight(wrapper.resolved(), "Test")
    code = (
        "import os, sys; from lute.execution.environments.probe import preflight; "
        "from lute.execution.environments import ResolvedEnvironment as R; "
        "print(preflight(R(sys.argv[1], dict(os.environ), 'w'), 'Test').cached)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(wrapper.python)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "True"
    assert wrapper.starts == 1


def test_installing_a_package_invalidates_the_cache(tmp_path: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    site = tmp_path / "site"
    site.mkdir()
    resolved = wrapper.resolved(PYTHONPATH=str(site))
    preflight(resolved, "Test")
    assert preflight(resolved, "Test").cached
    (site / "newpackage.py").write_text("")  # the directory's mtime changes
    assert not preflight(resolved, "Test").cached
    assert wrapper.starts == 2


@pytest.mark.parametrize("change", ["task", "pythonpath", "interpreter"], ids=lambda change: change)
def test_cache_key(tmp_path: Path, change: str) -> None:
    wrapper = Wrapper(tmp_path / "w")
    preflight(wrapper.resolved(), "Test")
    if change == "task":
        result = preflight(wrapper.resolved(), "TestSocket")
    elif change == "pythonpath":
        result = preflight(wrapper.resolved(PYTHONPATH=str(tmp_path)), "Test")
    else:
        text = wrapper.python.read_text()
        wrapper.python.write_text(text + "# edited\n")  # size and mtime change
        result = preflight(wrapper.resolved(), "Test")
    assert not result.cached
    assert wrapper.starts == 2


def test_failed_probes_are_not_cached(tmp_path: Path, private_cache: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    for _ in range(2):
        with pytest.raises(EnvironmentSpecError, match="not importable"):
            preflight(wrapper.resolved(), "NoSuchTask")
    assert wrapper.starts == 2
    assert not private_cache.exists() or not list(private_cache.iterdir())


def test_damaged_cache_entry_is_ignored(tmp_path: Path, private_cache: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    preflight(wrapper.resolved(), "Test")
    [entry] = private_cache.glob("probe-*.json")
    entry.write_text("{not json")
    clear_probe_cache()
    assert not preflight(wrapper.resolved(), "Test").cached
    assert json.loads(entry.read_text())["raw"]["stage"] == "ok"  # rewritten


def test_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    wrapper = Wrapper(tmp_path / "w")
    result = preflight(wrapper.resolved(), "Test", cache_dir=str(blocker / "probes"))
    assert result.task_importable
    assert preflight(wrapper.resolved(), "Test", cache_dir=str(blocker / "probes")).cached


def test_cache_can_be_bypassed(tmp_path: Path) -> None:
    wrapper = Wrapper(tmp_path / "w")
    preflight(wrapper.resolved(), "Test", use_cache=False)
    preflight(wrapper.resolved(), "Test", use_cache=False)
    assert wrapper.starts == 2


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert default_cache_dir() == "/var/cache/me/lute/probes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == os.path.expanduser("~/.cache/lute/probes")


# Failures -------------------------------------------------------------------------------------
def resolved_for(python: Path, description: str = "test env") -> ResolvedEnvironment:
    return ResolvedEnvironment(str(python), dict(os.environ), description)


def test_missing_interpreter(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved_for(tmp_path / "python", "venv /sw/fit"), "Test")
    assert "Task interpreter %s does not exist (environment: venv /sw/fit)" % (
        tmp_path / "python"
    ) in str(info.value)


def test_dangling_link(tmp_path: Path) -> None:
    link = tmp_path / "python"
    link.symlink_to(tmp_path / "gone" / "python3.8")
    with pytest.raises(EnvironmentSpecError, match="is a broken link to"):
        preflight(resolved_for(link), "Test")


def test_not_executable(tmp_path: Path) -> None:
    plain = tmp_path / "python"
    plain.write_text("")
    with pytest.raises(EnvironmentSpecError, match="is not an executable file"):
        preflight(resolved_for(plain), "Test")
    with pytest.raises(EnvironmentSpecError, match="is not an executable file"):
        preflight(resolved_for(tmp_path), "Test")


def test_interpreter_that_cannot_start(tmp_path: Path) -> None:
    python = write_executable(tmp_path / "python", "not a script at all\n")
    with pytest.raises(EnvironmentSpecError, match="cannot be run"):
        preflight(resolved_for(python), "Test")


def test_interpreter_that_crashes(tmp_path: Path) -> None:
    python = write_executable(
        tmp_path / "python",
        "#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n",
    )
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved_for(python), "Test")
    message = str(info.value)
    assert "exited with code 127 before describing itself" in message
    assert "error while loading shared libraries" in message


def test_probe_that_hangs_is_stopped(tmp_path: Path) -> None:
    python = write_executable(tmp_path / "python", "#!/bin/sh\nsleep 60 &\nsleep 60\n")
    with pytest.raises(EnvironmentSpecError, match="took longer than 1 s"):
        preflight(resolved_for(python), "Test", timeout=1.0)


def test_env_without_lute_runtime(tmp_path: Path) -> None:
    prefix = tmp_path / "empty venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(str(prefix))
    resolved = resolve_environment(EnvironmentSpec.venv(str(prefix)))
    with pytest.raises(EnvironmentSpecError) as info:
        preflight(resolved, "Test")
    python = str(prefix / "bin" / "python")
    assert install_command(python, "lute-runtime==" + RUNTIME_VERSION) in str(info.value)
    assert "'%s' -m pip install lute-runtime==" % python in str(info.value)  # quoted path


def old_interpreter() -> Optional[str]:
    """An installed Python older than 3.8 (pyenv keeps some), if any."""
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for root in roots:
        for candidate in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
            version = os.path.basename(os.path.dirname(os.path.dirname(candidate)))
            parts = version.split(".")[:2]
            numeric = len(parts) == 2 and all(p.isdigit() for p in parts)
            if numeric and (int(parts[0]), int(parts[1])) < (3, 8):
                return candidate
    return None


@pytest.mark.skipif(old_interpreter() is None, reason="no Python older than 3.8 installed")
def test_too_old_python() -> None:
    python = old_interpreter()
    assert python is not None
    env: Dict[str, str] = dict(os.environ)
    with pytest.raises(EnvironmentSpecError, match=r"LUTE Tasks need Python >= 3\.8"):
        preflight(ResolvedEnvironment(python, env, "old"), "Test")


def test_install_command() -> None:
    assert install_command("/sw/env/bin/python", "lute-runtime==1.2") == (
        "`/sw/env/bin/python -m pip install lute-runtime==1.2` "
        "(or `uv pip install -p /sw/env/bin/python lute-runtime==1.2`)"
    )


# Import paths -----------------------------------------------------------------------------------
def test_the_package_offers_the_probe_without_importing_it() -> None:
    code = (
        "import sys, lute.execution.environments as e; "
        "print('lute.execution.environments.probe' in sys.modules); e.preflight; "
        "print('lute.execution.environments.probe' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "True"]
    for name in probe.__all__:
        assert getattr(environments, name) is getattr(probe, name)
        assert name in environments.__all__
