"""The batch script of one job (array): ``#SBATCH`` lines, the index table, ``exec lute-exec run``.

For a job array, a ``case`` over ``$SLURM_ARRAY_TASK_ID`` gives each index its QUEUED
execution, its log file's name and its overrides; the script then ``exec``\\ s
``python -m lute.execution.cli run`` (the submitting interpreter, the absolute config,
``--claim`` the execution, ``--db`` its database), so that ``lute-exec`` is the job's
batch process: SLURM's signals (``scancel``, the time limit, ``--signal=B:``) reach it
directly; knowing the database, the job records why if it cannot start the run. SLURM writes
the job's output to ``slurm/jobs/<job>_<index>.out``; the script links it as
``slurm/<managed>_<experiment>_r<run>[_p<point>]_<job>_<index>.out`` so a person finds a
run's log by its name. A job of one execution writes that name directly.
"""

from __future__ import annotations

import os
import shlex
from typing import Iterable, List, Optional, Sequence

from lute._records import FrozenRecord
from lute.execution.slurm._options import Option

__all__ = ["ScriptTask", "log_name", "render_script"]

#: The execution id a dry run shows (nothing is queued, so there is none yet).
DRY_RUN_ID = "QUEUED_ID"
JOBS_DIRECTORY = "jobs"


class ScriptTask(FrozenRecord):
    """One line of the table: an array index and what it runs.

    Attributes:
        index: The array index (``None`` for a job that is no array).
        execution_id: The QUEUED execution it claims (``None`` in a dry run).
        label: Its part of the log file's name (``r12_p3``).
        overrides: Its own ``Task.param=value`` overrides.
    """

    _FIELDS = ("index", "execution_id", "label", "overrides")
    __slots__ = _FIELDS
    index: Optional[int]
    execution_id: Optional[int]
    label: str
    overrides: Sequence[str]

    def __init__(
        self,
        index: Optional[int],
        execution_id: Optional[int],
        label: str,
        overrides: Sequence[str],
    ) -> None:
        self._set_fields(index, execution_id, label, tuple(overrides))


def log_name(prefix: str, label: str, job: str, index: Optional[int]) -> str:
    """A run's log file name: ``Tester_TST12345_r12_4242_3.out`` (``_4242.out`` alone)."""
    parts = [part for part in (prefix, label, job) if part]
    return "_".join(parts) + ("" if index is None else "_%d" % index) + ".out"


def _array_spec(indexes: Sequence[int], max_parallel: Optional[int]) -> str:
    """``0-28%4``, ``0-3,7``: consecutive indexes as ranges, then the limit."""
    ranges: List[List[int]] = []
    for index in indexes:
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1][1] = index
        else:
            ranges.append([index, index])
    text = ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in ranges)
    return text + ("%%%d" % max_parallel if max_parallel else "")


def _claim(task: ScriptTask) -> str:
    return DRY_RUN_ID if task.execution_id is None else str(task.execution_id)


def render_script(
    *,
    python: str,
    config_path: str,
    db_path: str,
    managed_task: str,
    overrides: Sequence[str],
    tasks: Sequence[ScriptTask],
    options: Iterable[Option],
    directory: str,
    prefix: str,
    max_parallel: Optional[int] = None,
    comments: Sequence[str] = (),
) -> str:
    """The text of one batch script.

    Args:
        python: The interpreter that runs ``lute-exec`` (the submitting one).
        config_path: The absolute config file.
        db_path: The results database holding the executions (``--db``: the job checks
            and records its claim there before it reads the config).
        managed_task: The managed task.
        overrides: The overrides common to every task.
        tasks: The table (one task without an index: a job that is no array).
        options: The sbatch options, each written as an ``#SBATCH`` line under a comment
            saying where it came from.
        directory: Where the logs go (``<work_dir>/slurm``).
        prefix: The start of log names (``<managed>_<experiment>``).
        max_parallel: At most this many array tasks at once (``%N``).
        comments: Lines for the script's head (what submitted it).
    """
    q = shlex.quote
    lines = ["#!/bin/bash"]
    lines += ["# %s" % line for line in comments]
    array = tasks[0].index is not None
    for option in options:
        lines.append("# %s: %s" % (option.name, option.source))
        lines.append("#SBATCH %s" % q(option.argument()))
    if array:
        indexes = [task.index for task in tasks if task.index is not None]
        lines.append("#SBATCH --array=%s" % _array_spec(indexes, max_parallel))
        output = os.path.join(directory, JOBS_DIRECTORY, "%A_%a.out")
    else:
        output = os.path.join(directory, log_name(prefix, tasks[0].label, "%j", None))
    lines.append("#SBATCH %s" % q("--output=%s" % output))
    command = [python, "-m", "lute.execution.cli", "run", "-c", config_path, "-t", managed_task]
    command += list(overrides)
    if not array:
        task = tasks[0]
        command += [*task.overrides, "--claim", _claim(task), "--db", db_path]
        lines.append("exec %s" % " ".join(q(part) for part in command))
        return "\n".join(lines) + "\n"
    lines.append('case "$SLURM_ARRAY_TASK_ID" in')
    for task in tasks:
        lines.append(
            "    %s) execution=%s label=%s overrides=(%s) ;;"
            % (task.index, _claim(task), q(task.label), " ".join(q(o) for o in task.overrides))
        )
    lines.append('    *) echo "no array index $SLURM_ARRAY_TASK_ID in $0" >&2; exit 2 ;;\nesac')
    # The run's log under a name a person can find, pointing at SLURM's output file.
    link = "%s_${label}_${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out" % prefix
    target = "%s/${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out" % JOBS_DIRECTORY
    lines.append('ln -sfn "%s" %s/"%s" || true' % (target, q(directory), link))
    lines.append(
        'exec %s "${overrides[@]}" --claim "$execution" --db %s'
        % (" ".join(q(part) for part in command), q(db_path))
    )
    return "\n".join(lines) + "\n"
