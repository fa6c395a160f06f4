"""Section names: a Task's own (``Test``) or a sweep point's (``Test_0``).

A parameter sweep of the original LUTE writes one section per point, named after the
Task with the point's number (``Test_0``, ``Test_1`` ...), and runs it as the managed task
with the same suffix (``Tester_0``). No pydantic here: the Executor's start-up uses it.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

__all__ = ["sweep_parts", "sweep_section"]

_SWEEP = re.compile(r"(?P<base>.*[^_\d].*?)_(?P<point>\d+)")


def sweep_parts(name: str) -> Tuple[str, Optional[str]]:
    """``("Test", "_0")`` for ``"Test_0"``; ``(name, None)`` without a sweep suffix."""
    match = _SWEEP.fullmatch(name)
    if match is None:
        return name, None
    return match.group("base"), "_" + match.group("point")


def sweep_section(task_name: str, suffix: Optional[str]) -> str:
    """The section of ``task_name`` for a sweep point (``"Test_0"``), or its own."""
    return task_name + suffix if suffix else task_name
