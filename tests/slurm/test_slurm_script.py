"""The batch script: #SBATCH lines with their sources, the index table, the exec line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, List

from lute.execution.slurm._options import Option
from lute.execution.slurm._script import ScriptTask, _array_spec, log_name, render_script

OPTIONS = [
    Option("partition", "debug", "config.yaml:9 (slurm.partition)"),
    Option("comment", "two words", "command line"),
    Option("exclusive", None, "managed task Tester (slurm: exclusive)"),
]


def _render(tmp: Path, tasks: List[ScriptTask], python: str = "/opt/lute/bin/python") -> str:
    return render_script(
        python=python,
        config_path="/data/my config.yaml",
        db_path="/data/work/lute.db",
        managed_task="Tester",
        overrides=["Test.str_var=it's $HOME"],
        tasks=tasks,
        options=OPTIONS,
        directory=str(tmp / "slurm"),
        prefix="Tester_TST1",
        max_parallel=4,
        comments=["written by a test"],
    )


def test_array_specs() -> None:
    assert _array_spec([0, 1, 2, 3], None) == "0-3"
    assert _array_spec([0, 1, 2, 5, 7, 8], 2) == "0-2,5,7-8%2"
    assert _array_spec([4], None) == "4"


def test_log_names() -> None:
    assert log_name("Tester_TST1", "r12", "4242", 3) == "Tester_TST1_r12_4242_3.out"
    assert log_name("Tester_TST1", "r12", "%j", None) == "Tester_TST1_r12_%j.out"
    assert log_name("Tester", "", "4242", None) == "Tester_4242.out"


def test_a_plain_job_runs_lute_exec_for_its_execution(tmp_path: Path) -> None:
    text = _render(tmp_path, [ScriptTask(None, 17, "r12", ["lute_config.run=12"])])
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "# written by a test" in lines
    assert lines.index("# partition: config.yaml:9 (slurm.partition)") + 1 == lines.index(
        "#SBATCH --partition=debug"
    )
    assert "#SBATCH '--comment=two words'" in lines
    assert "#SBATCH --exclusive" in lines
    assert "#SBATCH --output=%s/slurm/Tester_TST1_r12_%%j.out" % tmp_path in lines
    assert not any("--array" in line for line in lines)
    assert lines[-1] == (
        "exec /opt/lute/bin/python -m lute.execution.cli run -c '/data/my config.yaml' -t "
        "Tester 'Test.str_var=it'\"'\"'s $HOME' lute_config.run=12 --claim 17 --db "
        "/data/work/lute.db"
    )
    assert subprocess.run(["bash", "-n"], input=text, text=True, check=False).returncode == 0


def _fake_python(tmp: Path) -> str:
    """An interpreter that prints its arguments, one per line."""
    fake = tmp / "python"
    fake.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    return str(fake)


def _run_task(text: str, tmp: Path, index: int) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env: Dict[str, str] = dict(
        os.environ, SLURM_ARRAY_TASK_ID=str(index), SLURM_ARRAY_JOB_ID="4242"
    )
    return subprocess.run(
        ["bash", "-c", text], capture_output=True, text=True, env=env, check=False
    )


def test_each_array_index_claims_its_execution_with_its_overrides(tmp_path: Path) -> None:
    (tmp_path / "slurm" / "jobs").mkdir(parents=True)
    tasks = [
        ScriptTask(0, 17, "r12_p0", ["lute_config.run=12", "Test.float_var=0.1"]),
        ScriptTask(1, 18, "r12_p1", ["lute_config.run=12", 'Test.str_var="a b; $(x)"']),
    ]
    text = _render(tmp_path, tasks, python=_fake_python(tmp_path))
    assert "#SBATCH --array=0-1%4" in text
    assert "#SBATCH --output=%s/slurm/jobs/%%A_%%a.out" % tmp_path in text
    first = _run_task(text, tmp_path, 0)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "-m",
        "lute.execution.cli",
        "run",
        "-c",
        "/data/my config.yaml",
        "-t",
        "Tester",
        "Test.str_var=it's $HOME",
        "lute_config.run=12",
        "Test.float_var=0.1",
        "--claim",
        "17",
        "--db",
        "/data/work/lute.db",
    ]
    second = _run_task(text, tmp_path, 1)
    assert second.stdout.splitlines()[-6:] == [
        "lute_config.run=12",
        'Test.str_var="a b; $(x)"',
        "--claim",
        "18",
        "--db",
        "/data/work/lute.db",
    ]
    link = tmp_path / "slurm" / "Tester_TST1_r12_p1_4242_1.out"
    assert os.readlink(str(link)) == "jobs/4242_1.out"
    stray = _run_task(text, tmp_path, 7)
    assert stray.returncode == 2 and "no array index 7" in stray.stderr
