"""Helpers of the database tests: a parameter model, recording an execution, a raw
connection, and running Python snippets as many real processes that start at the same
instant (each a fresh interpreter with its own SQLite connection, as concurrent
``lute-exec`` processes are).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Sequence, Tuple

from lute.io.db import Database

PARAMS: Dict[str, Any] = {
    "lute_config": {"experiment": "xpp1234", "run": "0012", "work_dir": "/w"},
    "float_var": 0.01,
    "compound_var": {"int_var": 10, "dict_var": {"a": "b"}},
    "list_var": [1, 2],
}

TIMEOUT = 120.0


def start(db: Database, task_name: str = "Test", run: Any = "0012", **kwargs: Any) -> int:
    """Record an execution of ``task_name`` with :data:`PARAMS`; its id."""
    options: Dict[str, Any] = dict(
        managed_task="Tester", experiment="xpp1234", parameters=PARAMS, run=run
    )
    options.update(kwargs)
    return db.start_execution(task_name=task_name, **options).execution_id


def raw(path: str) -> sqlite3.Connection:
    """A plain connection to the file, in autocommit mode."""
    return sqlite3.connect(path, isolation_level=None)


# Every process waits for the same start file, so that they all begin together.
_START_LINE = """
import os as _os, sys as _sys, time as _time
_go = _sys.argv.pop()
_deadline = _time.monotonic() + 60
while not _os.path.exists(_go):
    if _time.monotonic() > _deadline:
        raise SystemExit("start file %s never appeared" % _go)
    _time.sleep(0.002)
"""


def run_at_once(code: str, args: Sequence[str], count: int) -> List[Tuple[int, str, str]]:
    """Run ``code`` (with ``sys.argv[1:] == args``) in ``count`` processes started together.

    Returns:
        ``(exit code, stdout, stderr)`` of each process.
    """
    directory = tempfile.mkdtemp(prefix="lute-db-go-")
    go = os.path.join(directory, "go")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _START_LINE + code, *args, go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        open(go, "w").close()
        outputs = [proc.communicate(timeout=TIMEOUT) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        os.unlink(go)
        os.rmdir(directory)
    return [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs)]
