"""Shared by the SLURM tests: submitting through the real ``lute-exec``, reading the rows."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from tests.conftest import SlurmCluster, lute_exec
from tests.executor.test_run import executions

__all__ = ["TESTER", "executions", "parameters", "submit", "wait_rows"]

#: Sections for the Tester runs of these tests: quick, and every run's text its own.
TESTER = """\
Test:
  float_var: 0.01
  str_var: "run {{ run }}"
  compound_var: {int_var: 10, dict_var: {a: "b"}}
  throw_error: false
MPITest:
  total_items: 1000
TestReadOutput:
  in_file: "{{ work_dir }}/input_r{{ run }}.txt"
...
"""


def submit(
    cluster: Optional[SlurmCluster],
    args: Sequence[str],
    *,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 120,
) -> Any:
    """``lute-exec submit ARGS``; the jobs it printed are tracked (cancelled after the test)."""
    done = lute_exec(["submit", *args], env=env, timeout=timeout)
    if cluster is not None and done.returncode == 0 and "--dry-run" not in args:
        if "--json" in args:
            cluster.track(*json.loads(done.stdout)["jobs"])
        else:
            cluster.track(*done.stdout.split())
    return done


def wait_rows(
    work: Path,
    done: Callable[[List[Dict[str, Any]]], bool],
    timeout: float = 120.0,
) -> List[Dict[str, Any]]:
    """Poll the executions table until ``done(rows)``."""
    deadline = time.monotonic() + timeout
    while True:
        rows = executions(work)
        if rows and done(rows):
            return rows
        assert time.monotonic() < deadline, "rows after %g s: %s" % (
            timeout,
            [(r["id"], r["status"]) for r in rows],
        )
        time.sleep(0.2)


def all_ended(rows: List[Dict[str, Any]]) -> bool:
    return all(
        r["status"] in ("COMPLETED", "FAILED", "TIMEDOUT", "CANCELLED", "LOST") for r in rows
    )


def parameters(work: Path, execution_id: int) -> Dict[str, Any]:
    conn = sqlite3.connect(str(work / "lute.db"))
    try:
        (model,) = conn.execute(
            "SELECT model FROM parameters WHERE execution_id = ?", (execution_id,)
        ).fetchone()
    finally:
        conn.close()
    return json.loads(model)  # type: ignore[no-any-return]
