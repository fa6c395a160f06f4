"""The wheels are what the package pages promise: a licence, ``py.typed``, a classifier
for every supported Python, and an install with ``--find-links`` that type-checks.

The wheels are built for real (``uv build``) and installed into a fresh venv from
them, as the READMEs tell a facility to do.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from tests.conftest import ROOT
from tests.docs.conftest import uv
from tests.docs.markdown_samples import samples

DISTRIBUTIONS = {"lute-runtime": "3.8", "lute-models": "3.9", "lute-executor": "3.9"}
PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
#: Where each distribution puts its py.typed: in directories no other one ships files
#: into directly, so that no two wheels hold the same file.
PY_TYPED = {
    "lute-runtime": {"lute/py.typed"},
    "lute-models": {"lute/io/models/py.typed", "lute/io/config/py.typed"},
    "lute-executor": {"lute/execution/py.typed", "lute/io/elog/py.typed"},
}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [uv(), "build", "-q", "--all-packages", "--wheel", "-o", str(out)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    built = {}
    for wheel in out.glob("*.whl"):
        built[wheel.name.split("-")[0].replace("_", "-")] = wheel
    assert set(built) == set(DISTRIBUTIONS)
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_each_wheel_carries_the_licence(wheels: Dict[str, Path]) -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert "BSD 3-Clause License" in licence and "The LUTE authors" in licence
    for name, wheel in wheels.items():
        assert (ROOT / "packages" / name / "LICENSE").read_text() == licence, name
        metadata = _metadata(wheel)
        assert metadata["License-Expression"] == "BSD-3-Clause"
        assert metadata.get_all("License-File") == ["LICENSE"]
        with zipfile.ZipFile(wheel) as archive:
            [path] = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            assert archive.read(path).decode() == licence


def test_each_wheel_ships_py_typed_and_no_two_share_a_file(wheels: Dict[str, Path]) -> None:
    seen: Dict[str, str] = {}
    for name, wheel in wheels.items():
        with zipfile.ZipFile(wheel) as archive:
            files = {n for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")}
        assert {f for f in files if f.endswith("py.typed")} == PY_TYPED[name]
        for path in files:
            assert path not in seen, "%s is in %s and %s" % (path, seen.get(path), name)
            seen[path] = name


def test_classifiers_name_every_supported_python(wheels: Dict[str, Path]) -> None:
    for name, wheel in wheels.items():
        metadata = _metadata(wheel)
        classifiers = set(metadata.get_all("Classifier"))
        first = DISTRIBUTIONS[name]
        assert metadata["Requires-Python"] == ">=%s" % first
        for version in PYTHONS[PYTHONS.index(first) :]:
            assert "Programming Language :: Python :: %s" % version in classifiers, name
        assert "Typing :: Typed" in classifiers
        assert metadata["Author"] == "The LUTE authors" or "The LUTE authors" in str(
            metadata["Author-email"] or metadata["Author"]
        )


def test_the_hatchling_floor_knows_pep_639() -> None:
    for name in DISTRIBUTIONS:
        text = (ROOT / "packages" / name / "pyproject.toml").read_text()
        assert 'requires = ["hatchling>=1.27"]' in text, name


def test_each_readme_says_what_it_is_and_how_to_install_it() -> None:
    for name in DISTRIBUTIONS:
        readme = (ROOT / "packages" / name / "README.md").read_text()
        assert readme.startswith("# %s\n" % name)
        assert "--find-links dist/" in readme and "**Dependencies**" in readme, name
        assert "py.typed" in readme and "Python** ≥" in readme


def test_the_readme_task_runs_as_shown() -> None:
    [code] = [
        s.code for s in samples(ROOT / "packages/lute-runtime/README.md") if s.language == "python"
    ]
    namespace: Dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    from lute.io.parameters import TaskParameters

    task = namespace["FitSpectrum"](params=TaskParameters.from_wire({"points": 3}))  # type: ignore[operator]
    task.run()  # type: ignore[attr-defined]
    assert task._result.summary == {"Peak": "3.2 keV"}  # type: ignore[attr-defined]


TASK_PACKAGE = """\
from lute.execution.executor import Executor
from lute.io.models.base import Field, TaskParameters
from lute.io.parameters import RowIds
from lute.tasks.task import Task, TaskStatus


class ExampleParameters(TaskParameters):
    count: int = Field(1, description="How many.")


class Example(Task):
    def _run(self) -> None:
        ids: "RowIds | None" = self.row_ids
        self.task_status = TaskStatus.COMPLETED
        reveal_type(ids)


Runner = Executor("Example")
reveal_type(Runner.execute_task)
"""


def test_installed_from_wheels_with_find_links_it_type_checks(
    wheels: Dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    python = "%d.%d" % sys.version_info[:2]
    subprocess.run([uv(), "venv", "-q", "-p", python, str(venv)], check=True)
    found = str(next(iter(wheels.values())).parent)
    subprocess.run(
        [uv(), "pip", "install", "-q", "-p", str(venv / "bin" / "python"),
         "--find-links", found, "lute-executor"],
        check=True,
        timeout=300,
    )  # fmt: skip
    version = subprocess.run(
        [str(venv / "bin" / "lute-exec"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("lute-exec ")
    module = tmp_path / "example_tasks.py"
    module.write_text(TASK_PACKAGE)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", str(venv / "bin" / "python"),
         "--no-incremental", "--strict-optional", str(module)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert "import-untyped" not in checked.stdout, checked.stdout
    assert 'Revealed type is "Any"' not in checked.stdout, checked.stdout
    assert re.search(r'Revealed type is "def \(', checked.stdout), checked.stdout
    assert "fallback=lute.io.parameters.RowIds] | None" in checked.stdout, checked.stdout
