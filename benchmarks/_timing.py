"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import subprocess
import time
from typing import Dict, Sequence


def timed(argv: Sequence[str], env: Dict[str, str]) -> float:
    """Wall time (s) of running ``argv`` to completion; output discarded, failure raises."""
    start = time.perf_counter()
    subprocess.run(
        list(argv), env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start
