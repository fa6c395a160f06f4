"""Running Python snippets as many real processes that start at the same instant.

For the database tests that need concurrency: each process is a fresh interpreter with
its own SQLite connection, as concurrent ``lute-exec`` processes are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import List, Sequence, Tuple

TIMEOUT = 120.0

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
