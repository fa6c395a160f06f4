"""Workflows on the one-node cluster, each row beside SLURM's own baseline.

(a) ``lute-exec workflow submit`` of a 3-node chain for 100 runs until it returns: 300
    node-runs checked (configs, environments, scripts), 300 rows QUEUED, 3 ``sbatch``
    and one ``scontrol release`` (target: 2 s), beside 3 bare ``sbatch --wrap true``;
(b) ``lute-exec workflow status`` of it (target: 0.5 s), beside the ``squeue`` of its
    3 jobs;
(c) the 3-node chain for one run, from ``workflow submit`` until the last node's row is
    COMPLETED, beside 3 ``sbatch --wrap true`` chained by ``afterok`` until the last
    is COMPLETED (target: at most +10 %).

Row (c) has three more baselines: the same chain when each job is a Python doing nothing
(the floor of any job written in Python); when each job imports pydantic after one
Python imported it before the first ``sbatch``; and when each of those Pythons also
builds and validates one one-field model (floors of a workflow validated at submission
and again in every job, as LUTE's is: building a model's schema costs more than the
import). End-to-end samples start at the same
fractions of a second for every case (``slurm_submit.at_phase``): slurmctld starts jobs
from a once-a-second loop.

The 100-run workflows of (a) start an hour later (``--begin``) and are cancelled after
(b): nothing of them runs. Rows are interleaved so that machine noise hits every row
alike. Starts the cluster with ``scripts/slurm-local.sh`` (root) and leaves it as it
found it. Run it with compiled bytecode, as ``benchmarks/slurm_submit.py`` says.

Usage: python benchmarks/workflow_submit.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from slurm_submit import (
    CONFIG,
    LUTE_EXEC,
    PYDANTIC_IMPORT,
    PYDANTIC_VALIDATION,
    ROOT,
    TYPICAL,
    at_phase,
    job_state,
    phases,
    python_job,
    run_checked,
    typical,
    until,
)

DAG = """\
workflow: bench-chain
nodes:
  first: {managed_task: Tester}
  second: {managed_task: Tester, after: [first]}
  third: {managed_task: Tester, after: [second]}
"""


def _statuses(db: Path, ids: List[int]) -> List[str]:
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        marks = ",".join("?" * len(ids))
        query = "SELECT status FROM executions WHERE id IN (%s)" % marks
        return [row[0] for row in conn.execute(query, ids)]
    finally:
        conn.close()


def submit_hundred(dag: Path, config: Path) -> Tuple[float, int, List[str]]:
    argv = [*LUTE_EXEC, "workflow", "submit", str(dag), "-c", str(config), "--runs", "1-100"]
    start = time.perf_counter()
    out = run_checked([*argv, "--json", "--", "--begin=now+3600"])
    seconds = time.perf_counter() - start
    done = json.loads(out)
    queued = sum(len(ids) for ids in done["executions"].values())
    if queued != 300:
        sys.exit("expected 300 queued executions, found %d" % queued)
    return seconds, done["workflow"], [job for jobs in done["jobs"].values() for job in jobs]


def sbatch_three() -> Tuple[float, List[str]]:
    start = time.perf_counter()
    jobs = [
        run_checked(["sbatch", "--parsable", "--hold", "-o", "/dev/null", "--wrap", "true"])
        for _ in range(3)
    ]
    return time.perf_counter() - start, [job.strip() for job in jobs]


def chain_to_completed(dag: Path, config: Path, db: Path) -> float:
    start = time.perf_counter()
    out = run_checked([*LUTE_EXEC, "workflow", "submit", str(dag), "-c", str(config), "--json"])
    ids = [i for ids in json.loads(out)["executions"].values() for i in ids]
    until(lambda: _statuses(db, ids) == ["COMPLETED"] * 3)
    return time.perf_counter() - start


def sbatch_chain_to_completed(wrap: str = "true", before: str = "") -> float:
    """3 jobs of ``--wrap WRAP`` chained by afterok; with ``before``, a Python runs it first."""
    start = time.perf_counter()
    if before:
        run_checked([sys.executable, "-c", before])
    job = ""
    for _ in range(3):
        after = ["--dependency=afterok:%s" % job] if job else []
        job = run_checked(
            ["sbatch", "--parsable", *after, "-o", "/dev/null", "--wrap", wrap]
        ).strip()
    until(lambda: job_state(job) == "COMPLETED")
    return time.perf_counter() - start


def timed(argv: List[str]) -> float:
    start = time.perf_counter()
    run_checked(argv)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lease = ["--lease", str(os.getpid())]
    script = str(ROOT / "scripts" / "slurm-local.sh")
    run_checked(["bash", script, "start", *lease])
    samples: Dict[str, List[float]] = {}

    def add(name: str, seconds: float) -> None:
        samples.setdefault(name, []).append(seconds)

    try:
        with tempfile.TemporaryDirectory(prefix="lute-workflow-bench-", dir="/tmp") as tmp:
            work = Path(tmp) / "work"
            config = Path(tmp) / "config.yaml"
            config.write_text(CONFIG.format(work=work))
            dag = Path(tmp) / "dag.yaml"
            dag.write_text(DAG)
            db = work / "lute.db"
            chain_to_completed(dag, config, db)  # warm-up: caches, the database file
            sbatch_chain_to_completed()
            for phase in phases(args.repeat):
                at_phase(phase)
                add("c", chain_to_completed(dag, config, db))
                at_phase(phase)
                add("c0", sbatch_chain_to_completed())
                at_phase(phase)
                add("c1", sbatch_chain_to_completed(python_job("pass")))
                at_phase(phase)
                add("c2", sbatch_chain_to_completed(python_job(PYDANTIC_IMPORT), PYDANTIC_IMPORT))
                at_phase(phase)
                add(
                    "c3",
                    sbatch_chain_to_completed(python_job(PYDANTIC_VALIDATION), PYDANTIC_VALIDATION),
                )
                seconds, workflow_id, jobs = submit_hundred(dag, config)
                add("a", seconds)
                seconds, baseline_jobs = sbatch_three()
                add("a0", seconds)
                add(
                    "b",
                    timed([*LUTE_EXEC, "workflow", "status", str(workflow_id), "--db", str(db)]),
                )
                add("b0", timed(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(jobs)]))
                run_checked([*LUTE_EXEC, "workflow", "cancel", str(workflow_id), "--db", str(db)])
                run_checked(["scancel", *baseline_jobs])
    finally:
        subprocess.run(["bash", script, "stop", *lease], capture_output=True, check=False)
    rows = [
        ("(a) workflow submit, 3 nodes x 100 runs", "a", "3 x sbatch --wrap true", "a0", "2 s"),
        ("(b) workflow status of it (300 rows)", "b", "squeue -r -j its 3 jobs", "b0", "0.5 s"),
        ("(c) 3-node chain, 1 run -> COMPLETED", "c", "3 sbatch chained afterok", "c0", "+10 %"),
        ("    floor: each job a bare Python", "c1", "3 sbatch chained afterok", "c0", ""),
        ("    floor: pydantic before and in jobs", "c2", "3 sbatch chained afterok", "c0", ""),
        ("    floor: one model validated, all", "c3", "3 sbatch chained afterok", "c0", ""),
    ]
    print(
        "%-40s %9s %7s   %-26s %9s %9s %7s  %s"
        % ("case", "typical s", "min s", "baseline", "typical s", "over", "ratio", "target")
    )
    for name, key, baseline, base_key, target in rows:
        end_to_end = key.startswith("c")
        value = typical(samples[key], end_to_end)
        floor = typical(samples[base_key], end_to_end)
        print(
            "%-40s %9.2f %7.2f   %-26s %9.2f %+8.2f s %6.2fx  %s"
            % (
                name,
                value,
                min(samples[key]),
                baseline,
                floor,
                value - floor,
                value / floor,
                target,
            )
        )
    print(
        "(%d runs each, interleaved, end-to-end rows started at the same fractions of a "
        "second; %s; Python %s)" % (args.repeat, TYPICAL, sys.version.split()[0])
    )


if __name__ == "__main__":
    main()
