"""What a switched environment drops: the variables and ``PATH`` entries of the Executor's Python.

A Task that leaves the Executor's environment must not inherit the settings of the
Executor's own interpreter (``PYTHONPATH``, ``VIRTUAL_ENV``, ``CONDA_*``, its venv's
``bin`` on ``PATH``); :func:`clean_environment` removes them from a copy, except what a
spec keeps.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Dict, Mapping, Sequence, Set

from lute.execution.environments._conda import _is_conda_prefix, _normal

__all__ = ["CONDA_TOOL_VARIABLES", "EXECUTOR_VARIABLES", "clean_environment"]

# Variables that describe the Executor's own interpreter; a switched Task never sees them
# unless a spec keeps them.
EXECUTOR_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONEXECUTABLE",
    "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR",
    "__PYVENV_LAUNCHER__",
    "_PYTHON_SYSCONFIGDATA_NAME",
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
)
# Variables of the conda *installation* (not of an active env): kept for conda specs,
# as ``conda activate`` keeps them.
CONDA_TOOL_VARIABLES = ("CONDA_EXE", "CONDA_PYTHON_EXE", "_CE_CONDA", "_CE_M")
_CONDA_VARIABLE = re.compile(r"^(CONDA_.*|_CE_CONDA|_CE_M)$")


def clean_environment(
    env: Mapping[str, str], *, keep: Sequence[str] = (), keep_conda_tool: bool = False
) -> Dict[str, str]:
    """Remove what describes the Executor's own Python from a copy of ``env``.

    Dropped: :data:`EXECUTOR_VARIABLES`, every ``CONDA_*`` variable (the conda tool's
    own, :data:`CONDA_TOOL_VARIABLES`, survive when ``keep_conda_tool``), and the
    ``bin`` directories of the Executor's venv and conda environments on ``PATH``.

    Args:
        env: The Executor's environment.
        keep: Names to leave untouched; ``PATH`` here keeps every ``PATH`` entry.
        keep_conda_tool: Keep ``CONDA_EXE`` and friends (conda specs).
    """
    kept = set(keep)
    result = dict(env)
    for name in list(result):
        if name in kept:
            continue
        conda_tool = keep_conda_tool and name in CONDA_TOOL_VARIABLES
        if name in EXECUTOR_VARIABLES or (_CONDA_VARIABLE.match(name) and not conda_tool):
            del result[name]
    if "PATH" in result and "PATH" not in kept:
        own = _executor_bin_dirs(env)
        entries = [e for e in result["PATH"].split(os.pathsep) if _normal(e) not in own]
        result["PATH"] = os.pathsep.join(entries)
    return result


def _executor_bin_dirs(env: Mapping[str, str]) -> Set[str]:
    """``bin`` directories of the Executor's venv and conda environments."""
    prefixes = [env.get("VIRTUAL_ENV", ""), env.get("CONDA_PREFIX", "")]
    prefixes += [value for name, value in env.items() if re.match(r"^CONDA_PREFIX_\d+$", name)]
    if sys.prefix != sys.base_prefix or _is_conda_prefix(sys.prefix):
        prefixes.append(sys.prefix)
    dirs: Set[str] = set()
    for prefix in prefixes:
        if prefix:
            bin_dir = os.path.join(prefix, "bin")
            dirs.add(_normal(bin_dir))
            dirs.add(_normal(os.path.realpath(bin_dir)))
    return dirs
