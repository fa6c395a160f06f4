"""``lute-exec submit`` on the one-node cluster: a job, an MPI job, arrays, sweeps, splits."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.conftest import SlurmCluster, lute_exec, write_config
from tests.slurm.helpers import TESTER, all_ended, executions, parameters, submit, wait_rows

pytestmark = pytest.mark.slurm


def test_one_job_is_queued_at_once_and_runs_to_completed(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(slurm, ["-c", str(config), "-t", "Tester", "Test.float_var=2.5"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    assert "submitted Tester, 1 execution as job %s (submission 1)" % job in done.stderr
    [queued] = executions(work)  # recorded before sbatch, with its job once sbatch said
    assert queued["slurm_job_id"] == int(job) and queued["slurm_array_index"] is None
    assert queued["submission_id"] == 1
    assert queued["status"] in ("QUEUED", "PENDING", "RUNNING", "COMPLETED")
    [row] = wait_rows(work, all_ended)
    assert row["status"] == "COMPLETED", row
    assert row["id"] == queued["id"] and row["run"] == "12"
    assert parameters(work, row["id"])["float_var"] == 2.5
    slurm.wait_ended(job)  # the row ends before the console's last line reaches the log
    log = work / "slurm" / ("Tester_TST12345_r12_%s.out" % job)
    assert "Test COMPLETED" in log.read_text()
    script = (work / "slurm" / "Tester_TST12345_s1.sh").read_text()
    assert script.rstrip().endswith(
        "Test.float_var=2.5 --claim %d --db %s" % (row["id"], work / "lute.db")
    )
    shown = lute_exec(["status", job, "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    line = shown.stdout.splitlines()[1].split()
    assert line == [
        str(row["id"]),
        job,
        "12",
        "COMPLETED",
        "COMPLETED",
        log.name.replace(log.name, "slurm/" + log.name),
    ]
    assert shown.stdout.splitlines()[-1] == "1 execution: 1 COMPLETED"


def test_an_mpi_task_runs_its_ranks_through_srun(slurm: SlurmCluster, short_tmp: Path) -> None:
    pytest.importorskip("mpi4py")
    config = write_config(short_tmp, TESTER)
    config.write_text(
        config.read_text().replace("task_timeout: 120", "task_timeout: 120\nmpi_ranks: 2")
    )
    work = short_tmp / "work"
    done = submit(slurm, ["-c", str(config), "-t", "MPITester"])
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    script = (work / "slurm" / "MPITester_TST12345_s1.sh").read_text()
    assert "# ntasks: lute_config.mpi_ranks\n#SBATCH --ntasks=2\n" in script
    [row] = wait_rows(work, all_ended)
    log = (work / "slurm" / ("MPITester_TST12345_r12_%s.out" % job)).read_text()
    assert row["status"] == "COMPLETED", log
    assert "srun -n 2 --mpi=pmix" in log
    assert "[rank 1] rank 1 summed" in log
    results = json.loads(
        lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"]).stdout
    )
    assert results["results"][0]["payload"] == {"total": 1000 * 999 // 2, "ranks": 2}


def _most_at_once(rows: List[Dict[str, Any]]) -> int:
    def at(text: str) -> datetime.datetime:
        return datetime.datetime.fromisoformat(text)

    edges = sorted(
        [(at(r["started"]), 1) for r in rows] + [(at(r["ended"]), -1) for r in rows],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = most = 0
    for _time, step in edges:
        running += step
        most = max(most, running)
    return most


def test_twenty_runs_are_one_array_with_at_most_four_at_once(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(
        slurm,
        [
            "-c",
            str(config),
            "-t",
            "Tester",
            "--runs",
            "1-20",
            "--max-parallel",
            "4",
            "Test.sleep_seconds=0.5",
            "--",
            "--oversubscribe",
        ],
    )
    assert done.returncode == 0, done.stderr
    [job] = done.stdout.split()
    assert "#SBATCH --array=0-19%4\n" in (work / "slurm" / "Tester_TST12345_s1.sh").read_text()
    rows = executions(work)
    assert [r["status"] for r in rows] == ["QUEUED"] * 20 or len(rows) == 20
    rows = wait_rows(work, all_ended, timeout=150)
    assert [r["status"] for r in rows] == ["COMPLETED"] * 20
    assert [r["run"] for r in rows] == [str(run) for run in range(1, 21)]
    assert [r["slurm_array_index"] for r in rows] == list(range(20))
    assert {r["slurm_job_id"] for r in rows} == {int(job)}
    assert [parameters(work, r["id"])["str_var"] for r in rows] == [
        "run %d" % n for n in range(1, 21)
    ]
    assert 1 < _most_at_once(rows) <= 4
    linked = sorted(p.name for p in (work / "slurm").glob("Tester_TST12345_r*_%s_*.out" % job))
    assert len(linked) == 20 and "Tester_TST12345_r7_%s_6.out" % job in linked
    assert "Test COMPLETED" in (work / "slurm" / ("Tester_TST12345_r7_%s_6.out" % job)).read_text()


def test_a_sweep_of_six_points_is_one_array(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    done = submit(
        slurm,
        [
            "-c",
            str(config),
            "-t",
            "Tester",
            "--sweep",
            "Test.float_var=0.1,0.2,0.5",
            "--sweep",
            "Test.str_var=a,b",
            "--json",
            "--",
            "-s",
        ],
    )
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    assert submitted["submission"] == 1 and len(submitted["executions"]) == 6
    [job] = submitted["jobs"]
    rows = wait_rows(work, all_ended)
    assert [r["status"] for r in rows] == ["COMPLETED"] * 6
    points = [
        (parameters(work, r["id"])["float_var"], parameters(work, r["id"])["str_var"]) for r in rows
    ]
    assert points == [(0.1, "a"), (0.1, "b"), (0.2, "a"), (0.2, "b"), (0.5, "a"), (0.5, "b")]
    slurm.wait_ended(job)
    shown = lute_exec(["status", "-w", str(work)])  # the newest submission
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["ID", "JOB", "RUN", "POINT", "SLURM", "STATUS", "LOG"]
    assert lines[3].split()[:5] == ["3", "%s_2" % job, "12", "Test.float_var=0.2", "Test.str_var=a"]
    assert lines[3].split()[-1] == "slurm/Tester_TST12345_r12_p2_%s_2.out" % job
    assert lines[-1] == "6 executions: 6 COMPLETED"
    as_json = json.loads(lute_exec(["status", job, "-w", str(work), "--json"]).stdout)
    assert [row["point"] for row in as_json][-1] == "Test.float_var=0.5 Test.str_var=b"
    assert as_json[0]["slurm"]["state"] == "COMPLETED"


def test_arrays_beyond_the_site_limit_are_split_and_chained(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    from lute.execution.slurm import SubmitRequest, prepare
    from lute.execution.slurm import submit as sbatch

    config = write_config(short_tmp, TESTER)
    work = short_tmp / "work"
    request = SubmitRequest(
        str(config), "Tester", runs="1-5", max_parallel=2, sbatch=["--oversubscribe"]
    )
    prepared = prepare(request, max_array_size=3)
    assert [len(job) for job in prepared.jobs] == [3, 2]
    done = sbatch(prepared)
    slurm.track(*done.job_ids)
    first, second = done.job_ids
    assert "#SBATCH --array=0-2%2\n" in done.scripts[0][1]
    assert "#SBATCH --array=0-1%2\n" in done.scripts[1][1]
    assert "#SBATCH --dependency=afterany:%s\n" % first in done.scripts[1][1]
    rows = wait_rows(work, all_ended)
    assert [r["status"] for r in rows] == ["COMPLETED"] * 5
    assert [(r["slurm_job_id"], r["slurm_array_index"], r["run"]) for r in rows] == [
        (int(first), 0, "1"),
        (int(first), 1, "2"),
        (int(first), 2, "3"),
        (int(second), 0, "4"),
        (int(second), 1, "5"),
    ]
    # The second array started only once the first had ended.
    assert min(r["started"] for r in rows[3:]) >= max(r["ended"] for r in rows[:3])
