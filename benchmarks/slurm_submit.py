"""SLURM submission on the one-node cluster, each row beside its baseline.

(a) ``lute-exec submit`` of a no-op Tester until its execution is COMPLETED in the
    database, beside ``sbatch --wrap true`` until squeue says COMPLETED (SLURM's own
    submit-to-end time; target: at most +0.3 s over it);
(b) ``lute-exec submit --runs 1-100`` until it returns: 100 configs validated, 100 rows
    QUEUED, one sbatch (target: 1.5 s), beside ``sbatch --array=0-99 --wrap true``;
(c) ``lute-exec status`` of those 100 (target: 0.5 s), beside the ``squeue`` it asks.

Row (a) has two more baselines, floors of any submission that validates with pydantic
before ``sbatch`` and again inside the job (as ``lute-exec submit`` and the job's
``lute-exec run`` must): one Python importing pydantic, then ``sbatch`` of a job whose
only work is a Python importing pydantic; and the same with each Python also building
and validating one one-field model (the least that validating with pydantic takes:
building a model's schema costs more than the import).

slurmctld starts pending jobs from its background loop, once a second: how long a job
waits to start depends on where in that second it was submitted. Each end-to-end sample
therefore starts at a chosen fraction of the second (the same fractions, spread over the
second, for every case), so no case is favoured by its phase.

The arrays of (b) are submitted held and cancelled after (c): nothing of them runs.
Rows are interleaved so that machine noise hits every row alike. Starts the cluster
with ``scripts/slurm-local.sh`` (root) and leaves it as it found it. Run it with
compiled bytecode (``scripts/bootstrap.sh``'s ``uv sync --compile-bytecode``, and
``python -m compileall packages/*/src`` when ``PYTHONDONTWRITEBYTECODE`` is set), as an
installation at a facility has: without, every ``lute-exec`` recompiles pydantic and
LUTE, ~0.5 s more per command.

Usage: python benchmarks/slurm_submit.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
LUTE_EXEC = [sys.executable, "-m", "lute.execution.cli"]
POLL = 0.02
#: What validating with pydantic costs any process at least.
PYDANTIC_IMPORT = "from pydantic import BaseModel"
#: What validating anything with pydantic costs a process at least: one model built and used.
PYDANTIC_VALIDATION = 'from pydantic import create_model; create_model("P", x=(float, 0.0))(x=1)'

CONFIG = """\
%YAML 1.3
---
title: "SLURM submission benchmark"
experiment: "BENCH"
run: 1
task_timeout: 600
work_dir: "{work}"
...
---
Test:
  float_var: 0.01
  str_var: "run {{{{ run }}}}"
...
"""


def run_checked(argv: List[str]) -> str:
    """stdout of ``argv``; its failure ends the benchmark with its message."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(argv), done.stderr.strip()))
    return done.stdout


def job_state(job: str) -> str:
    """SLURM's state of ``job`` (squeue, finished jobs included while it keeps them)."""
    done = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def _row_status(db: Path, execution_id: int) -> str:
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        row = conn.execute("SELECT status FROM executions WHERE id = ?", (execution_id,)).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else ""


def until(done: Callable[[], bool], limit: float = 120.0) -> None:
    """Poll until ``done()``; give up (end the benchmark) after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            sys.exit("gave up waiting after %g s" % limit)
        time.sleep(POLL)


def at_phase(fraction: float) -> None:
    """Sleep until the wall clock is ``fraction`` of the way through a second."""
    time.sleep((fraction - time.time() % 1.0) % 1.0)


def phases(repeat: int) -> List[float]:
    """``repeat`` fractions of a second spread evenly over it, one per sample."""
    return [index / repeat for index in range(repeat)]


def typical(values: List[float], end_to_end: bool) -> float:
    """The mean over the phases for an end-to-end row (SLURM's once-a-second loop makes
    its samples two-humped: a median jumps between the humps), the median otherwise."""
    return statistics.fmean(values) if end_to_end else statistics.median(values)


#: The footnote of a table with end-to-end rows.
TYPICAL = (
    "typical: the mean over evenly spread phases of the second for end-to-end rows, "
    "the median for the others"
)


def submit_to_completed(config: Path, db: Path) -> float:
    start = time.perf_counter()
    out = run_checked([*LUTE_EXEC, "submit", "-c", str(config), "-t", "Tester", "--json"])
    import json

    [execution] = json.loads(out)["executions"]
    until(lambda: _row_status(db, execution) == "COMPLETED")
    return time.perf_counter() - start


def sbatch_to_completed(wrap: str = "true", before: str = "") -> float:
    """``sbatch --wrap WRAP`` until COMPLETED; with ``before``, a Python runs it first."""
    start = time.perf_counter()
    if before:
        run_checked([sys.executable, "-c", before])
    job = run_checked(["sbatch", "--parsable", "-o", "/dev/null", "--wrap", wrap]).strip()
    until(lambda: job_state(job) == "COMPLETED")
    return time.perf_counter() - start


def python_job(code: str) -> str:
    """A ``--wrap`` command running ``code`` in this benchmark's Python."""
    return "%s -c '%s'" % (sys.executable, code)


def submit_hundred(config: Path, db: Path) -> Tuple[float, str]:
    argv = [*LUTE_EXEC, "submit", "-c", str(config), "-t", "Tester", "--runs", "1-100"]
    start = time.perf_counter()
    job = run_checked([*argv, "--", "--hold"]).strip()
    seconds = time.perf_counter() - start
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        (queued,) = conn.execute(
            "SELECT count(*) FROM executions WHERE slurm_job_id = ? AND status = 'QUEUED'",
            (int(job),),
        ).fetchone()
    finally:
        conn.close()
    if queued != 100:
        sys.exit("expected 100 QUEUED rows for job %s, found %d" % (job, queued))
    return seconds, job


def sbatch_hundred() -> Tuple[float, str]:
    start = time.perf_counter()
    job = run_checked(
        ["sbatch", "--parsable", "--hold", "--array=0-99", "-o", "/dev/null", "--wrap", "true"]
    )
    return time.perf_counter() - start, job.strip()


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
        with tempfile.TemporaryDirectory(prefix="lute-slurm-bench-", dir="/tmp") as tmp:
            work = Path(tmp) / "work"
            config = Path(tmp) / "config.yaml"
            config.write_text(CONFIG.format(work=work))
            db = work / "lute.db"
            submit_to_completed(config, db)  # warm-up: caches, the database file
            sbatch_to_completed()
            floor = python_job(PYDANTIC_IMPORT)
            model_floor = python_job(PYDANTIC_VALIDATION)
            for phase in phases(args.repeat):
                at_phase(phase)
                add("a", submit_to_completed(config, db))
                at_phase(phase)
                add("a0", sbatch_to_completed())
                at_phase(phase)
                add("a1", sbatch_to_completed(floor, before=PYDANTIC_IMPORT))
                at_phase(phase)
                add("a2", sbatch_to_completed(model_floor, before=PYDANTIC_VALIDATION))
                seconds, job = submit_hundred(config, db)
                add("b", seconds)
                seconds, baseline_job = sbatch_hundred()
                add("b0", seconds)
                add("c", timed([*LUTE_EXEC, "status", job, "-w", str(work)]))
                add("c0", timed(["squeue", "-h", "-r", "-t", "all", "-j", job]))
                run_checked([*LUTE_EXEC, "cancel", job, "-w", str(work)])
                run_checked(["scancel", baseline_job])
    finally:
        subprocess.run(["bash", script, "stop", *lease], capture_output=True, check=False)
    rows = [
        (
            "(a) submit -> COMPLETED, no-op Tester",
            "a",
            "sbatch --wrap true -> COMPLETED",
            "a0",
            "+0.3 s",
        ),
        (
            "    floor: pydantic before and in job",
            "a1",
            "sbatch --wrap true -> COMPLETED",
            "a0",
            "",
        ),
        (
            "    floor: one model validated, both",
            "a2",
            "sbatch --wrap true -> COMPLETED",
            "a0",
            "",
        ),
        ("(b) submit --runs 1-100 returns", "b", "sbatch --array=0-99 --wrap true", "b0", "1.5 s"),
        ("(c) status of those 100", "c", "squeue -r -j JOB", "c0", "0.5 s"),
    ]
    print(
        "%-38s %9s %7s   %-33s %9s %9s  %s"
        % ("case", "typical s", "min s", "baseline", "typical s", "over", "target")
    )
    for name, key, baseline, base_key, target in rows:
        end_to_end = key.startswith("a")
        value = typical(samples[key], end_to_end)
        floor = typical(samples[base_key], end_to_end)
        print(
            "%-38s %9.2f %7.2f   %-33s %9.2f %+8.2f s  %s"
            % (name, value, min(samples[key]), baseline, floor, value - floor, target)
        )
    print(
        "(%d runs each, interleaved, end-to-end rows started at the same fractions of a "
        "second; %s; Python %s)" % (args.repeat, TYPICAL, sys.version.split()[0])
    )


if __name__ == "__main__":
    main()
