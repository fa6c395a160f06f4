"""End-to-end cost of a no-op managed task beside its unavoidable floor.

Runs, in one go and interleaved (so machine noise hits every row alike):
- ``lute-exec run -c CFG -t Tester`` with a Test Task that does no work, as runs of an
  experiment find it (the parsed config already cached by an earlier run), and with
  ``LUTE_CONFIG_CACHE=0`` (every run parses the YAML);
- ``lute-exec run -t SocketTester TestSocket.array_size=1000000 TestSocket.num_arrays=10``
  (ten arrays of a million values sent to the Executor), whose median should be no
  slower than 0.82 s (``SOCKET_TESTER_TARGET_MS``);
- the floor: ``python -c "from pydantic import BaseModel"`` plus
  ``python -c "import lute.tasks.task"`` (one interpreter each, run back to back);
- ``python -c "import lute.execution.executor"`` beside ``python -c "from pydantic
  import BaseModel"``;
- for reference, pydantic actually used: one small model with a nested model and a
  ``Field`` defined and validated (``from pydantic import BaseModel`` alone is lazy and
  loads none of the schema machinery that validating anything needs).

Usage: python benchmarks/e2e_startup.py [--repeat N]
Prints one table of median wall times (ms) and the ratio to the floor, both as the ratio
of the medians and as the median of the per-round ratios (each round runs every case
back to back, so the paired figure is less sensitive to load that comes and goes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

from _timing import timed  # benchmarks/ is the script's directory

CONFIG = """\
%YAML 1.3
---
title: "benchmark"
experiment: "BENCH"
run: 1
date: "2026/11/25"
lute_version: 0.1
task_timeout: 600
work_dir: "{work}"
...
---
Test:
  float_var: 0.01
  str_var: "bench"
  compound_var: {{int_var: 1, dict_var: {{a: "b"}}}}
  throw_error: false
TestSocket:
  array_size: 1000
  num_arrays: 1
...
"""

#: Issue 13's target for the SocketTester case: its median no slower than this (ms).
SOCKET_TESTER_TARGET_MS = 820

REAL_MODEL = """\
from pydantic import BaseModel, Field
class Compound(BaseModel):
    int_var: int = 1
    dict_var: dict = {}
class Parameters(BaseModel):
    float_var: float = Field(0.01, description="a float")
    str_var: str = "bench"
    compound_var: Compound = Compound()
Parameters.model_validate({"float_var": 0.5, "compound_var": {"int_var": 2}})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="lute-bench-", dir="/tmp") as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(CONFIG.format(work=Path(tmp) / "work"))
        socket_tester = [
            *(py, "-m", "lute.execution.cli", "run", "-c", str(cfg), "-t", "SocketTester"),
            *("TestSocket.array_size=1000000", "TestSocket.num_arrays=10"),
        ]
        cases: Dict[str, Callable[[], float]] = {
            "lute-exec run Tester (no-op)": lambda: timed(
                [py, "-m", "lute.execution.cli", "run", "-c", str(cfg), "-t", "Tester"], env
            ),
            "  same, parsed-config cache off": lambda: timed(
                [py, "-m", "lute.execution.cli", "run", "-c", str(cfg), "-t", "Tester"],
                dict(env, LUTE_CONFIG_CACHE="0"),
            ),
            "lute-exec run SocketTester 1e6 x 10 (target <= %d)"
            % SOCKET_TESTER_TARGET_MS: lambda: timed(socket_tester, env),
            "floor: pydantic + runtime interpreters": lambda: (
                timed([py, "-c", "from pydantic import BaseModel"], env)
                + timed([py, "-c", "import lute.tasks.task"], env)
            ),
            "python -c 'import lute.execution.executor'": lambda: timed(
                [py, "-c", "import lute.execution.executor"], env
            ),
            "python -c 'from pydantic import BaseModel'": lambda: timed(
                [py, "-c", "from pydantic import BaseModel"], env
            ),
            "python -c <one real pydantic model, validated>": lambda: timed(
                [py, "-c", REAL_MODEL], env
            ),
            "python -c pass": lambda: timed([py, "-c", "pass"], env),
        }
        for case in cases.values():  # warm the file cache and the work dir
            case()
        samples: Dict[str, List[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, case in cases.items():
                samples[name].append(case())
    floor_name = "floor: pydantic + runtime interpreters"
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    floor = medians[floor_name]
    width = max(len(name) for name in medians)
    print("%-*s  %9s  %9s  %8s  %8s" % (width, "case", "median ms", "min ms", "x floor", "paired"))
    for name, median in medians.items():
        # Each round measured every case back to back: its ratio to that round's floor
        # cancels load that comes and goes between rounds.
        paired = statistics.median(
            value / base for value, base in zip(samples[name], samples[floor_name])
        )
        print(
            "%-*s  %9.1f  %9.1f  %8.2f  %8.2f"
            % (width, name, median, min(samples[name]) * 1000, median / floor, paired)
        )
    print(
        "(%d runs each, interleaved; Python %s; x floor = ratio of the medians, paired = "
        "median of each round's ratio to the floor of the same round)"
        % (args.repeat, sys.version.split()[0])
    )


if __name__ == "__main__":
    main()
