"""Environment specs and their resolution: real bash, real venvs, real directory layouts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict

import pytest

from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentSpecError,
    EnvironmentUpdate,
    _resolution,
    apply_update,
    clean_environment,
    find_conda_prefix,
    resolve_environment,
    source_script,
)

BASE_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])


def base_env(**extra: str) -> Dict[str, str]:
    """A minimal Executor environment (HOME points nowhere with conda environments)."""
    env = {"PATH": BASE_PATH, "HOME": "/nonexistent-home", "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def make_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(str(path))
    return path


def make_conda_prefix(path: Path, *, python: bool = True) -> Path:
    (path / "conda-meta").mkdir(parents=True)
    (path / "conda-meta" / "history").write_text("")
    if python:
        (path / "bin").mkdir()
        (path / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    return path


def write_script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# What leaks and what does not ---------------------------------------------------------------
def test_clean_environment_drops_the_executors_python() -> None:
    env = base_env(
        PATH=os.pathsep.join(["/opt/exec-venv/bin", "/opt/conda/envs/ana/bin", "/x", BASE_PATH]),
        VIRTUAL_ENV="/opt/exec-venv",
        CONDA_PREFIX="/opt/conda/envs/ana",
        CONDA_PREFIX_1="/opt/conda",
        CONDA_DEFAULT_ENV="ana",
        CONDA_SHLVL="2",
        CONDA_EXE="/opt/conda/bin/conda",
        PYTHONPATH="/opt/site",
        PYTHONHOME="/opt/exec-venv",
        PYTHONSTARTUP="/home/me/.pythonrc",
        __PYVENV_LAUNCHER__="/opt/exec-venv/bin/python",
        OMP_NUM_THREADS="4",
    )
    env["PATH"] = env["PATH"] + os.pathsep + "/opt/conda/bin"
    cleaned = clean_environment(env)
    assert cleaned == {
        "PATH": os.pathsep.join(["/x", BASE_PATH]),
        "HOME": "/nonexistent-home",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "4",
    }
    assert clean_environment(env, keep_conda_tool=True)["CONDA_EXE"] == "/opt/conda/bin/conda"
    kept = clean_environment(env, keep=("PYTHONPATH", "PATH"))
    assert kept["PYTHONPATH"] == "/opt/site"
    assert kept["PATH"] == env["PATH"]


def test_clean_environment_drops_the_running_venv_from_path() -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a venv")
    own_bin = os.path.join(sys.prefix, "bin")
    cleaned = clean_environment(base_env(PATH=own_bin + os.pathsep + BASE_PATH))
    assert cleaned["PATH"] == BASE_PATH


def test_current_keeps_the_environment_as_is() -> None:
    env = base_env(PYTHONPATH="/opt/site", VIRTUAL_ENV="/opt/v", CONDA_PREFIX="/opt/c")
    resolved = resolve_environment(EnvironmentSpec.current(), base_env=env)
    assert resolved.env == env
    assert resolved.python == sys.executable
    assert resolved.kind == "current" and resolved.description.startswith("current interpreter")


# venv ---------------------------------------------------------------------------------------
def test_venv_is_activated(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "fit")
    env = base_env(PYTHONPATH="/opt/site", VIRTUAL_ENV="/opt/other")
    resolved = resolve_environment(EnvironmentSpec.venv(str(prefix)), base_env=env)
    assert resolved.python == str(prefix / "bin" / "python")
    assert resolved.env["VIRTUAL_ENV"] == str(prefix)
    assert resolved.env["PATH"] == str(prefix / "bin") + os.pathsep + BASE_PATH
    assert "PYTHONPATH" not in resolved.env
    assert (resolved.kind, resolved.prefix, resolved.description) == (
        "venv",
        str(prefix),
        "venv %s" % prefix,
    )
    done = subprocess.run(
        [resolved.python, "-c", "import sys; print(sys.prefix)"],
        env=resolved.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(prefix)


def test_missing_venv(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError) as info:
        resolve_environment(EnvironmentSpec.venv(str(tmp_path / "nope")), base_env=base_env())
    assert "venv %s does not exist; create it with `python3 -m venv" % (tmp_path / "nope") in str(
        info.value
    )


def test_directory_that_is_not_a_venv(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError, match="is not a virtual environment: it has no bin"):
        resolve_environment(EnvironmentSpec.venv(str(tmp_path)), base_env=base_env())
    conda = make_conda_prefix(tmp_path / "c", python=False)
    with pytest.raises(EnvironmentSpecError, match=r"use \{conda: "):
        resolve_environment(EnvironmentSpec.venv(str(conda)), base_env=base_env())


# plain interpreter ----------------------------------------------------------------------------
def test_python_by_path_and_by_name(tmp_path: Path) -> None:
    real = os.path.realpath(sys.executable)
    env = base_env(PATH="/opt/tools/bin")
    resolved = resolve_environment(EnvironmentSpec.python(real), base_env=env)
    assert resolved.python == real
    assert resolved.env["PATH"] == os.path.dirname(real) + os.pathsep + "/opt/tools/bin"

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.99").symlink_to(real)
    env = base_env(PATH=str(bin_dir) + os.pathsep + BASE_PATH)
    by_name = resolve_environment(EnvironmentSpec.python("python3.99"), base_env=env)
    assert by_name.python == str(bin_dir / "python3.99")
    assert by_name.env["PATH"] == env["PATH"]  # already there: not added twice


def test_python_missing(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError, match=r"interpreter .* does not exist"):
        resolve_environment(EnvironmentSpec.python(str(tmp_path / "py")), base_env=base_env())
    with pytest.raises(EnvironmentSpecError, match=r"no 'python2\.1' on PATH"):
        resolve_environment(EnvironmentSpec.python("python2.1"), base_env=base_env())


# conda ----------------------------------------------------------------------------------------
def test_conda_lookup_order(tmp_path: Path) -> None:
    listed = make_conda_prefix(tmp_path / "elsewhere" / "listed")
    root = make_conda_prefix(tmp_path / "miniconda")
    in_root = make_conda_prefix(root / "envs" / "psana")
    in_envs_path = make_conda_prefix(tmp_path / "shared-envs" / "psana")
    home = tmp_path / "home"
    in_home = make_conda_prefix(home / ".conda" / "envs" / "homeonly")
    (home / ".conda" / "environments.txt").write_text("%s\n\n" % listed)

    conda_exe = str(root / "bin" / "conda")
    env = base_env(HOME=str(home), CONDA_EXE=conda_exe)
    assert find_conda_prefix("psana", env) == str(in_root)
    env["CONDA_ENVS_PATH"] = str(tmp_path / "shared-envs")
    assert find_conda_prefix("psana", env) == str(in_envs_path)
    assert find_conda_prefix("homeonly", env) == str(in_home)
    assert find_conda_prefix("listed", env) == str(listed)
    assert find_conda_prefix("base", env) == str(root)
    assert find_conda_prefix("psana", base_env(CONDA_ROOT=str(root))) == str(in_root)

    with pytest.raises(EnvironmentSpecError) as info:
        find_conda_prefix("psan", env)
    message = str(info.value)
    assert (
        "conda environment 'psan' not found; looked in %s" % (tmp_path / "shared-envs") in message
    )
    assert "found: homeonly, psana" in message
    assert "did you mean psana?" in message
    with pytest.raises(EnvironmentSpecError, match="no conda installation found for 'base'"):
        find_conda_prefix("base", base_env())


def test_conda_activation(tmp_path: Path) -> None:
    prefix = make_conda_prefix(tmp_path / "envs" / "ana")
    (prefix / "conda-meta" / "state").write_text(json.dumps({"env_vars": {"ANA_MODE": "fast"}}))
    scripts = prefix / "etc" / "conda" / "activate.d"
    write_script(scripts / "b.sh", 'export ANA_ORDER="${ANA_ORDER}b"\n')
    write_script(scripts / "a.sh", 'export ANA_ORDER="a"\necho "ANA_FAKE=1"\nfalse\n')
    write_script(scripts / "c.csh", "setenv ANA_CSH 1\n")
    env = base_env(
        CONDA_PREFIX="/opt/conda/envs/other",
        CONDA_PREFIX_1="/opt/conda",
        CONDA_SHLVL="2",
        CONDA_DEFAULT_ENV="other",
        CONDA_EXE="/opt/conda/bin/conda",
        CONDA_ENVS_PATH=str(tmp_path / "envs"),
        PATH="/opt/conda/envs/other/bin" + os.pathsep + BASE_PATH,
    )
    resolved = resolve_environment(EnvironmentSpec.conda("ana"), base_env=env)
    got = resolved.env
    assert resolved.python == str(prefix / "bin" / "python")
    assert (got["CONDA_PREFIX"], got["CONDA_DEFAULT_ENV"], got["CONDA_SHLVL"]) == (
        str(prefix),
        "ana",
        "1",
    )
    assert "CONDA_PREFIX_1" not in got
    assert got["CONDA_EXE"] == "/opt/conda/bin/conda"  # the conda tool itself stays
    assert got["PATH"] == str(prefix / "bin") + os.pathsep + BASE_PATH
    assert got["ANA_ORDER"] == "ab"  # sorted order; a failing last command is tolerated
    assert got["ANA_MODE"] == "fast"
    assert "ANA_FAKE" not in got and "ANA_CSH" not in got
    assert resolved.sourced == [str(scripts / "a.sh"), str(scripts / "b.sh")]


def test_conda_activation_script_that_exits(tmp_path: Path) -> None:
    prefix = make_conda_prefix(tmp_path / "ana")
    script = write_script(prefix / "etc" / "conda" / "activate.d" / "x.sh", "exit 0\n")
    with pytest.raises(EnvironmentSpecError, match="exited before its environment could be read"):
        resolve_environment(EnvironmentSpec.conda(str(prefix)), base_env=base_env())
    script.write_text("echo 'cannot find libfoo' >&2\nexit 3\n")
    with pytest.raises(EnvironmentSpecError) as info:
        resolve_environment(EnvironmentSpec.conda(str(prefix)), base_env=base_env())
    assert "activating conda environment %s failed with exit code 3" % prefix in str(info.value)
    assert "cannot find libfoo" in str(info.value)


def test_conda_prefix_errors(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError, match=r"is not a conda environment .*does not exist"):
        resolve_environment(EnvironmentSpec.conda(str(tmp_path / "x")), base_env=base_env())
    bare = make_conda_prefix(tmp_path / "bare", python=False)
    with pytest.raises(EnvironmentSpecError, match="has no bin/python: install Python"):
        resolve_environment(EnvironmentSpec.conda(str(bare)), base_env=base_env())


# scripts ----------------------------------------------------------------------------------------
def test_script_spec(tmp_path: Path) -> None:
    bin_dir = tmp_path / "sw" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))
    script = write_script(
        tmp_path / "setup.sh",
        'export PATH="%s:$PATH"\nexport SW_RELEASE="$1"\necho "SW_FAKE=1"\n' % bin_dir,
    )
    spec = EnvironmentSpec.script("%s 2026.1" % script)
    resolved = resolve_environment(spec, base_env=base_env(PYTHONPATH="/opt/site"))
    assert resolved.python == str(bin_dir / "python3")
    assert resolved.env["SW_RELEASE"] == "2026.1"
    assert "SW_FAKE" not in resolved.env and "PYTHONPATH" not in resolved.env
    assert resolved.sourced == [spec.target]

    chosen = EnvironmentSpec.script(str(script), interpreter=os.path.realpath(sys.executable))
    assert resolve_environment(chosen, base_env=base_env()).python == os.path.realpath(
        sys.executable
    )


def test_script_without_python(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.sh", "export PATH=/nonexistent\n")
    with pytest.raises(EnvironmentSpecError, match="no python3 or python on the PATH set up by"):
        resolve_environment(EnvironmentSpec.script(str(script)), base_env=base_env())


def test_source_script_failures(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSpecError, match="does not exist"):
        source_script(str(tmp_path / "missing.sh"), base_env())
    failing = write_script(tmp_path / "f.sh", "echo 'module gcc not found' >&2\nreturn 4\n")
    with pytest.raises(EnvironmentSpecError) as info:
        source_script(str(failing), base_env())
    assert "failed with exit code 4" in str(info.value)
    assert "module gcc not found" in str(info.value)


def test_source_script_timeout_kills_the_whole_script(tmp_path: Path) -> None:
    hanging = write_script(tmp_path / "h.sh", "sleep 60 &\nsleep 60\n")
    with pytest.raises(EnvironmentSpecError, match="took longer than 1 s"):
        source_script(str(hanging), base_env(), timeout=1.0)


def test_source_script_keeps_bash_bookkeeping_out(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.sh", "cd /\nexport FROM_SCRIPT=1\n")
    env = base_env(PWD="/somewhere")
    result = source_script(str(script), env)
    assert result["FROM_SCRIPT"] == "1"
    assert result["PWD"] == "/somewhere"
    assert "SHLVL" not in result and "OLDPWD" not in result and "_" not in result


# modules ----------------------------------------------------------------------------------------
def fake_module_system(root: Path) -> Path:
    """A MODULESHOME whose init defines ``module`` the way module systems do (a function)."""
    write_script(
        root / "init" / "bash",
        "module() {\n"
        '  case "$1" in\n'
        '    load) export LOADED_MODULES="${LOADED_MODULES:+$LOADED_MODULES:}$2" ;;\n'
        '    use) export MODULEPATH="$2" ;;\n'
        '    *) echo "module: unknown command $1" >&2; return 1 ;;\n'
        "  esac\n"
        "}\n",
    )
    return root


def test_modules_with_a_module_function(tmp_path: Path) -> None:
    home = fake_module_system(tmp_path / "modules")
    spec = EnvironmentSpec.modules(
        ["use /sw/modulefiles", "load gcc/12", "module load python/3.11"],
        interpreter=os.path.realpath(sys.executable),
    )
    resolved = resolve_environment(spec, base_env=base_env(MODULESHOME=str(home)))
    assert resolved.env["LOADED_MODULES"] == "gcc/12:python/3.11"
    assert resolved.env["MODULEPATH"] == "/sw/modulefiles"
    assert resolved.kind == "modules"

    bad = EnvironmentSpec.modules(["load gcc/12", "swap a b"])
    with pytest.raises(EnvironmentSpecError) as info:
        resolve_environment(bad, base_env=base_env(MODULESHOME=str(home)))
    assert "`module swap a b` failed" in str(info.value)
    assert "unknown command swap" in str(info.value)


def test_modules_without_a_module_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Hide any module system installed on this machine.
    monkeypatch.setattr(_resolution, "MODULE_INIT_FILES", (str(tmp_path / "none"),))
    with pytest.raises(EnvironmentSpecError) as info:
        resolve_environment(EnvironmentSpec.modules("load gcc/12"), base_env=base_env())
    assert "modules: no 'module' command here" in str(info.value)
    assert "{script: ...}" in str(info.value)


@pytest.mark.skipif(
    not os.path.exists("/usr/share/modules/init/bash"), reason="environment-modules not installed"
)
def test_modules_with_environment_modules(tmp_path: Path) -> None:
    modulefiles = tmp_path / "modulefiles"
    write_script(
        modulefiles / "mecsw" / "1.0",
        "#%Module1.0\nsetenv MECSW_HOME /sw/mec/1.0\nprepend-path PATH /sw/mec/1.0/bin\n",
    )
    spec = EnvironmentSpec.modules(
        ["use %s" % modulefiles, "load mecsw/1.0"], interpreter=os.path.realpath(sys.executable)
    )
    resolved = resolve_environment(spec, base_env=base_env())
    assert resolved.env["MECSW_HOME"] == "/sw/mec/1.0"
    assert resolved.env["PATH"].split(os.pathsep)[0] == "/sw/mec/1.0/bin"
    with pytest.raises(EnvironmentSpecError, match="`module load nosuchmodule/9` failed"):
        resolve_environment(EnvironmentSpec.modules(["load nosuchmodule/9"]), base_env=base_env())


# updates and ordering ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "expected"),
    [("prepend", "/new:/old"), ("append", "/old:/new"), ("overwrite", "/new")],
)
def test_apply_update_path_modes(mode: str, expected: str) -> None:
    env = {"LD_LIBRARY_PATH": "/old", "NAME": "old"}
    apply_update(env, EnvironmentUpdate((("LD_LIBRARY_PATH", "/new"), ("NAME", "new")), mode))
    assert env == {"LD_LIBRARY_PATH": expected.replace(":", os.pathsep), "NAME": "new"}


def test_resolution_order(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "v")
    script = write_script(tmp_path / "s.sh", 'export ORDER="script:$VIRTUAL_ENV"\n')
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(prefix)),
        sourced_scripts=[str(script)],
        updates=[
            EnvironmentUpdate((("ORDER", "update"),)),
            EnvironmentUpdate((("PYTHONPATH", "/asked/for"),)),
        ],
        base_env=base_env(PYTHONPATH="/executor"),
    )
    assert resolved.env["ORDER"] == "update"
    assert resolved.env["PYTHONPATH"] == "/asked/for"  # asked for explicitly: kept
    assert resolved.sourced == [str(script)]


def test_no_bash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.sh", "true\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # bash is looked up on the Executor's PATH
    assert shutil.which("bash") is None
    with pytest.raises(EnvironmentSpecError, match="needs bash"):
        source_script(str(script), base_env())
