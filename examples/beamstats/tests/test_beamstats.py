"""BeamStatsRunner runs BeamStats on config.yaml through the real lute-exec."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
LUTE_EXEC = [sys.executable, "-m", "lute.execution.cli"]


def test_beamstats_runs(tmp_path: Path) -> None:
    work_dir = "work_dir=%s" % tmp_path  # a header override: keep the package clean
    done = subprocess.run(
        [*LUTE_EXEC, "run", "-c", str(CONFIG), "-t", "BeamStatsRunner", work_dir],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [*LUTE_EXEC, "db", "list", "-w", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    [execution] = json.loads(listed.stdout)
    assert execution["status"] == "COMPLETED"
