"""examples/beamstats, the package the guides include, installs and runs; it is what
``lute-exec init`` writes plus what the tutorial changes; ``init`` refuses what it must.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import List

import pytest

from lute.execution.cli._init import Scaffold, files_for
from tests.conftest import ROOT, lute_exec
from tests.docs.conftest import sandbox_env, uv

EXAMPLE = ROOT / "examples" / "beamstats"
#: Files the tutorial replaces with its own (step 3 and 4 of "Your first Task").
REPLACED = {"src/beamstats/tasks.py", "src/beamstats/models.py", "config.yaml"}
#: Files the later guides add lines to (entry points, managed tasks, a dependency).
EXTENDED = {"pyproject.toml", "src/beamstats/managed.py"}
_SNIPPET_MARKER = re.compile(r"--8<-- \[(start|end):")


def _lines(text: str) -> List[str]:
    """The lines that say something: no snippet markers, no imports (which ruff merges)."""
    return [
        line
        for line in text.splitlines()
        if not _SNIPPET_MARKER.search(line) and not line.startswith(("from ", "import "))
    ]


def _is_subsequence(short: List[str], long: List[str]) -> bool:
    remaining = iter(long)
    return all(any(line == other for other in remaining) for line in short)


def test_the_example_is_the_scaffold_plus_the_tutorial() -> None:
    scaffold = files_for(Scaffold("beamstats", task="BeamStats"))
    for path, text in scaffold.items():
        example = (EXAMPLE / path).read_text()
        if path in REPLACED:
            continue
        if path in EXTENDED:
            assert _is_subsequence(_lines(text), _lines(example)), path
        else:
            assert example == text, "%s differs from what `lute-exec init` writes" % path


def _run(sandbox: Path, *command: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(
        list(command),
        cwd=sandbox,
        env=sandbox_env(sandbox),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_installs_and_every_managed_task_runs(sandbox: Path) -> None:
    python = str(sandbox / ".venv" / "bin" / "python")
    done = _run(sandbox, uv(), "pip", "install", "-q", "-p", python, "examples/beamstats")
    assert done.returncode == 0, done.stderr
    config = "examples/beamstats/config.yaml"
    for managed, overrides in (
        ("BeamStatsRunner", []),
        ("WatchedBeamStats", []),
        ("ShotSorter", ["SortShots.values=[1, 2.5]"]),
    ):
        done = _run(sandbox, ".venv/bin/lute-exec", "run", "-c", config, "-t", managed, *overrides)
        assert done.returncode == 0, done.stderr
    listed = _run(sandbox, ".venv/bin/lute-exec", "db", "list", "-c", config, "--json")
    runs = {run["managed_task"]: run for run in json.loads(listed.stdout)}
    assert {name: run["status"] for name, run in runs.items()} == dict.fromkeys(
        ("BeamStatsRunner", "WatchedBeamStats", "ShotSorter"), "COMPLETED"
    )
    shown = _run(sandbox, ".venv/bin/lute-exec", "db", "show", str(runs["ShotSorter"]["id"]),
                 "-c", config, "--json")  # fmt: skip
    [result] = json.loads(shown.stdout)["results"]
    assert Path(result["payload"]).read_text().split() == ["2.5", "1.0"]
    tested = _run(sandbox, python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "examples/beamstats/tests")  # fmt: skip
    assert tested.returncode == 0, tested.stdout


def test_the_histogram_is_a_matplotlib_figure_in_the_report(sandbox: Path) -> None:
    python = str(sandbox / ".venv" / "bin" / "python")
    _run(sandbox, uv(), "pip", "install", "-q", "-p", python, "examples/beamstats")
    done = _run(sandbox, ".venv/bin/lute-exec", "run", "-c", "examples/beamstats/config.yaml",
                "-t", "BeamStatsRunner")  # fmt: skip
    assert done.returncode == 0, done.stderr
    [page] = (sandbox / "examples/beamstats/lute-work/summary_plots").rglob("report.html")
    assert "data:image/png;base64," in page.read_text()
    assert page.parent.name == "Histogram" and page.parent.parent.name == "BeamStats"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["beam", "--task", "Test"],
            "a Task named 'Test' exists already: choose another with --task",
        ),
        (["tester", "--task", "Mine", "--managed", "Tester"], "a managed task named 'Tester'"),
        (["9lives"], "'9lives' is not a package name"),
        (["class"], "'class' cannot be the name of a Python package here"),
        (["ok", "--task", "not-an-identifier"], "Task name 'not-an-identifier' is not a Python"),
    ],
)
def test_init_refuses(arguments: List[str], message: str, tmp_path: Path) -> None:
    done = lute_exec(["init", *arguments], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("lute-exec: error: ") and message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_never_writes_into_a_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "beamstats").mkdir()
    (tmp_path / "beamstats" / "notes.txt").write_text("mine")
    done = lute_exec(["init", "beamstats", "--task", "BeamStats"], cwd=tmp_path)
    assert done.returncode == 2 and "beamstats already exists and is not empty" in done.stderr
    assert [p.name for p in (tmp_path / "beamstats").iterdir()] == ["notes.txt"]


def test_init_names_follow_the_package_name() -> None:
    scaffold = Scaffold("mec-analysis")
    assert (scaffold.package, scaffold.task, scaffold.managed) == (
        "mec_analysis",
        "MecAnalysis",
        "MecAnalysisRunner",
    )
    files = files_for(scaffold)
    assert 'MecAnalysis = "mec_analysis.models:MecAnalysisParameters"' in files["pyproject.toml"]
    assert "tests/test_mec_analysis.py" in files
