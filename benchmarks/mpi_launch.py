"""Launch overhead of a no-op MPI managed task beside a bare mpirun of mpi4py.

For N = 1, 2, 4 ranks (4 is oversubscribed on a 2-core machine), in one run and
interleaved so machine noise hits every row alike:
- ``lute-exec run -t MPITester`` with ``MPITest.total_items=1`` (no work);
- ``mpirun -n N python -c "from mpi4py import MPI"`` (the floor: launcher + interpreter
  + MPI initialisation on every rank).

Usage: python benchmarks/mpi_launch.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

from _timing import timed  # benchmarks/ is the script's directory

CONFIG = """\
%YAML 1.3
---
title: "MPI launch benchmark"
experiment: "BENCH"
run: 1
date: "2026/11/25"
lute_version: 0.1
task_timeout: 600
work_dir: "{work}"
...
---
MPITest:
  total_items: 1
...
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("mpirun not found: install Open MPI (scripts/bootstrap.sh does)")
    py = sys.executable
    base = dict(os.environ)
    bare_flags = ["--oversubscribe"]
    if os.geteuid() == 0:
        bare_flags.append("--allow-run-as-root")
    cases: List[Tuple[str, int, List[str], Dict[str, str]]] = []
    with tempfile.TemporaryDirectory(prefix="lute-mpi-bench-", dir="/tmp") as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(CONFIG.format(work=Path(tmp) / "work"))
        for ranks in (1, 2, 4):
            cases.append(
                (
                    "lute-exec run MPITester",
                    ranks,
                    [py, "-m", "lute.execution.cli", "run", "-c", str(cfg), "-t", "MPITester"],
                    dict(base, LUTE_MPI_RANKS=str(ranks)),
                )
            )
            cases.append(
                (
                    "mpirun python -c 'from mpi4py import MPI'",
                    ranks,
                    [mpirun, "-n", str(ranks), *bare_flags, py, "-c", "from mpi4py import MPI"],
                    base,
                )
            )
        for _, _, argv, env in cases:  # warm-up
            timed(argv, env)
        samples: Dict[Tuple[str, int], List[float]] = {(n, r): [] for n, r, _, _ in cases}
        for _ in range(args.repeat):
            for name, ranks, argv, env in cases:
                samples[(name, ranks)].append(timed(argv, env))
    print("%-42s %5s  %9s  %7s  %9s" % ("case", "ranks", "median ms", "min ms", "overhead"))
    for ranks in (1, 2, 4):
        floor = statistics.median(samples[("mpirun python -c 'from mpi4py import MPI'", ranks)])
        for name in ("mpirun python -c 'from mpi4py import MPI'", "lute-exec run MPITester"):
            values = samples[(name, ranks)]
            median = statistics.median(values)
            extra = "" if median == floor else "+%.0f ms" % ((median - floor) * 1000)
            print(
                "%-42s %5d  %9.1f  %7.1f  %9s"
                % (name, ranks, median * 1000, min(values) * 1000, extra)
            )
    print("(%d runs each, interleaved; Python %s)" % (args.repeat, sys.version.split()[0]))


if __name__ == "__main__":
    main()
