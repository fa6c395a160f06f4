"""Environment specs: the class methods, the YAML form and a config file's entry.

Relative paths: the class methods take them relative to the current directory; the YAML
form relative to ``base_dir`` (for a config file, the file's directory).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from lute.execution import environments
from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentSpecError,
    spec_from_config_file,
)


# The YAML form -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "kind", "target"),
    [
        ({"venv": "/sw/envs/fit"}, "venv", "/sw/envs/fit"),
        ({"python": "/usr/bin/python3.8"}, "python", "/usr/bin/python3.8"),
        ({"python": "python3"}, "python", "python3"),
        ({"conda": "psana"}, "conda", "psana"),
        ({"conda": "/sw/conda/envs/psana"}, "conda", "/sw/conda/envs/psana"),
        ({"script": "/sw/setup.sh --gpu"}, "script", "/sw/setup.sh --gpu"),
        ({"current": True}, "current", sys.executable),
    ],
)
def test_from_config_kinds(config: Dict[str, object], kind: str, target: str) -> None:
    spec = EnvironmentSpec.from_config(config)
    assert (spec.kind, spec.target) == (kind, target)
    assert EnvironmentSpec.from_config(spec.to_config()) == spec


def test_from_config_options() -> None:
    spec = EnvironmentSpec.from_config({"venv": "~/envs/fit", "keep": "PYTHONPATH"})
    assert spec.target == os.path.expanduser("~/envs/fit")
    assert spec.keep == ("PYTHONPATH",)
    spec = EnvironmentSpec.from_config(
        {"modules": ["module load gcc/12", "load  'python/3.11 x'"], "interpreter": "python3"}
    )
    assert spec.lines == ("load gcc/12", "load 'python/3.11 x'")
    assert spec.interpreter == "python3"
    assert EnvironmentSpec.from_config(spec.to_config()) == spec


def test_relative_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert EnvironmentSpec.venv("envs/fit").target == str(tmp_path / "envs" / "fit")
    assert EnvironmentSpec.conda("./envs/psana").target == str(tmp_path / "envs" / "psana")
    assert EnvironmentSpec.script("setup.sh a b").target == "%s a b" % (tmp_path / "setup.sh")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (["venv", "/x"], "must be a mapping such as {venv: /path/to/venv}, not list"),
        ({"vnev": "/x"}, "unknown key 'vnev' in environment config (did you mean 'venv'?)"),
        ({"venv": "/x", "conda": "y"}, "must name exactly one kind"),
        ({"keep": ["PYTHONPATH"]}, "it names none"),
        ({"venv": 3}, "venv: expected a path, got 3"),
        ({"conda": ""}, "conda: expected a name or prefix"),
        ({"modules": [1, 2]}, "modules must be a string or a list of strings"),
        ({"modules": []}, "modules: no 'module' lines given"),
        ({"venv": "/x", "interpreter": "python3"}, "interpreter applies to script and modules"),
        ({"venv": "/x", "keep": [3]}, "keep must be a string or a list of strings"),
        ({"venv": "/x", "keep": ["A=B"]}, "keep: 'A=B' is not a variable name"),
        ({"current": True, "keep": ["PYTHONPATH"]}, "keep has no effect"),
    ],
)
def test_from_config_errors_name_the_problem(config: object, expected: str) -> None:
    with pytest.raises(EnvironmentSpecError) as info:
        EnvironmentSpec.from_config(config)
    assert expected in str(info.value)


def test_unknown_kind() -> None:
    with pytest.raises(EnvironmentSpecError, match="unknown environment kind 'docker'"):
        EnvironmentSpec("docker", "img")


def test_the_error_keeps_its_earlier_name() -> None:
    assert environments.EnvironmentError_ is EnvironmentSpecError
    assert issubclass(EnvironmentSpecError, RuntimeError)
    with pytest.raises(environments.EnvironmentError_):
        EnvironmentSpec("docker", "img")


# Relative paths in the YAML form --------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "target", "interpreter"),
    [
        ({"venv": "envs/fit"}, "{base}/envs/fit", ""),
        ({"venv": "./fit"}, "{base}/fit", ""),
        ({"venv": "../shared/fit"}, "{parent}/shared/fit", ""),
        ({"venv": "/sw/envs/fit"}, "/sw/envs/fit", ""),
        ({"venv": "~/envs/fit"}, "{home}/envs/fit", ""),
        ({"conda": "./envs/psana"}, "{base}/envs/psana", ""),
        ({"conda": "envs/psana"}, "{base}/envs/psana", ""),
        ({"conda": "psana"}, "psana", ""),
        ({"python": "bin/python3"}, "{base}/bin/python3", ""),
        ({"python": "python3"}, "python3", ""),
        ({"script": "setup.sh --gpu 'a b'"}, "{base}/setup.sh --gpu 'a b'", ""),
        ({"script": "/sw/setup.sh rel/arg"}, "/sw/setup.sh rel/arg", ""),
        (
            {"script": "/sw/setup.sh", "interpreter": "py/bin/python"},
            "/sw/setup.sh",
            "{base}/py/bin/python",
        ),
        ({"modules": ["load gcc/12"], "interpreter": "./bin/python"}, "", "{base}/bin/python"),
        ({"modules": ["load gcc/12"], "interpreter": "python3"}, "", "python3"),
    ],
)
def test_yaml_paths_are_relative_to_base_dir(
    config: Dict[str, object],
    target: str,
    interpreter: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = tmp_path / "configs"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current directory plays no part
    names = {"base": str(base), "parent": str(tmp_path), "home": os.path.expanduser("~")}
    spec = EnvironmentSpec.from_config(config, base_dir=str(base))
    assert spec.target == target.format(**names)
    assert spec.interpreter == interpreter.format(**names)
    assert EnvironmentSpec.from_config(spec.to_config()) == spec


def test_yaml_paths_without_base_dir_are_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert EnvironmentSpec.from_config({"venv": "envs/fit"}).target == str(tmp_path / "envs/fit")
    spec = EnvironmentSpec.from_config({"script": "s.sh", "interpreter": "bin/python"})
    assert (spec.target, spec.interpreter) == (
        str(tmp_path / "s.sh"),
        str(tmp_path / "bin" / "python"),
    )


def test_interpreter_paths_are_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = EnvironmentSpec.script("/sw/setup.sh", interpreter="bin/python")
    assert spec.interpreter == str(tmp_path / "bin" / "python")
    assert EnvironmentSpec.modules("load x", interpreter="python3").interpreter == "python3"


@pytest.mark.parametrize(
    "config", [{"script": "/sw/setup.sh 'unclosed"}, {"modules": ["load 'unclosed"]}]
)
def test_unclosed_quotes_are_spec_errors(config: Dict[str, object]) -> None:
    with pytest.raises(EnvironmentSpecError, match=r"cannot split .* into words"):
        EnvironmentSpec.from_config(config)


# A config file's task_environments entry ------------------------------------------------------
CONFIG = """\
%YAML 1.3
---
title: "environments"
experiment: "TST12345"
run: 1
task_environments:
  Tester: {venv: envs/py38}
  Test: {script: "./setup.sh --gpu"}
...
---
Test:
  float_var: 1.5
...
"""


def write_config(directory: Path, text: str = CONFIG) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("relative", [False, True])
def test_config_file_paths_are_relative_to_its_directory(
    relative: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    path = os.path.join("configs", "config.yaml") if relative else str(config)
    spec = spec_from_config_file(path, ("Tester", "Test"))
    assert spec == EnvironmentSpec.venv(str(tmp_path / "configs" / "envs" / "py38"))
    spec = spec_from_config_file(path, ("Other", "Test"))
    assert spec is not None and spec.target == "%s --gpu" % (tmp_path / "configs" / "setup.sh")


@pytest.mark.parametrize(
    "text", [None, CONFIG.replace("task_environments", "other_setting"), "title: [unclosed\n"]
)
def test_config_file_without_an_entry(text: Optional[str], tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml" if text is None else write_config(tmp_path, text)
    assert spec_from_config_file(str(path), ("Tester", "Test")) is None
    if text is not None:
        assert spec_from_config_file(str(path), ("Nobody",)) is None


def test_config_file_entry_errors_name_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG.replace("{venv: envs/py38}", "{venf: envs/py38}"))
    with pytest.raises(EnvironmentSpecError) as info:
        spec_from_config_file(str(path), ("Tester",))
    assert str(info.value).startswith("%s: task_environments.Tester: unknown key 'venf'" % path)
