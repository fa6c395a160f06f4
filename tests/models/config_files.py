"""Config files for the config tests: a header with a relative work_dir, then sections."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import List, Optional, Tuple

from lute.io.config import ConfigError, ConfigProblem

ROOT = Path(__file__).resolve().parents[2]

HEADER = """\
%YAML 1.3
---
title: "Beamtime analysis"
experiment: "TST12345"
run: 12
date: "2026/11/25"
lute_version: 0.1
task_timeout: 600
work_dir: "./lute-work"
...
---
"""


def write_sections(
    tmp_path: Path, sections: str, header: str = HEADER, name: str = "config.yaml"
) -> Path:
    """Write ``header`` then ``sections`` (dedented); the header ends on line 11."""
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(sections))
    return path


def problem_lines(error: ConfigError) -> List[Tuple[Optional[int], str]]:
    """``(line, path)`` of every problem, in the error's order."""
    return [(problem.line, problem.path) for problem in error.problems]


def only(error: ConfigError) -> ConfigProblem:
    """The one problem of ``error``."""
    assert len(error.problems) == 1, str(error)
    return error.problems[0]
