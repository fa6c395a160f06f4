"""SLURM submission: ``lute-exec submit``, ``status``, ``cancel`` and ``resubmit``.

LUTE writes batch scripts, submits them with ``sbatch`` (one job array for many runs
and sweep points), records every execution QUEUED at submission time and compares the
database with what SLURM says; it schedules nothing itself. See ``docs/slurm.md``.

The private modules, one job each (none imports this one):

- ``_options`` -- sbatch option names and values, their checks, the layers' merge;
- ``_sources`` -- where options come from (facility file, managed task, config,
  command line) and their precedence;
- ``_points`` -- ``--runs`` and sweeps (``--sweep``, ``--zip``, the config's blocks)
  expanded into points;
- ``_validate`` -- every point checked as ``lute-exec run`` checks a run;
- ``_script`` -- the batch script;
- ``_client`` -- the SLURM commands (sbatch, squeue, sacct, scontrol, scancel);
- ``_record`` -- what a submission records about itself (its description);
- ``_prepare`` -- a submission checked and split into jobs;
- ``_submit`` -- queueing and submitting, all or nothing;
- ``_status`` -- the database beside SLURM, reconciled;
- ``_cancel`` -- scancel, recorded;
- ``_resubmit`` -- what did not complete, run again;
- ``_errors`` -- :class:`SlurmError`, :class:`SubmitError`.
"""

from __future__ import annotations

from lute.execution.slurm._cancel import CancelResult, cancel
from lute.execution.slurm._client import ACTIVE_STATES, JobState, SlurmClient
from lute.execution.slurm._errors import SlurmError, SubmitError
from lute.execution.slurm._options import (
    OPTION_KINDS,
    Layer,
    Option,
    layer_from_mapping,
    parse_command_line,
)
from lute.execution.slurm._points import Axis, Point, expand_points, parse_runs, value_text
from lute.execution.slurm._prepare import Prepared, SubmitRequest, chain_problem, prepare
from lute.execution.slurm._record import SubmissionDocument
from lute.execution.slurm._resubmit import (
    Rerun,
    chain,
    overrides_after,
    plan_resubmission,
    recorded_point,
)
from lute.execution.slurm._status import (
    StatusRow,
    SubmissionPoints,
    reconciled,
    record_change,
    select_executions,
    status,
)
from lute.execution.slurm._submit import Submission, dry_run, submit, undo_submissions

__all__ = [
    "ACTIVE_STATES",
    "OPTION_KINDS",
    "Axis",
    "CancelResult",
    "JobState",
    "Layer",
    "Option",
    "Point",
    "Prepared",
    "Rerun",
    "SlurmClient",
    "SlurmError",
    "StatusRow",
    "Submission",
    "SubmissionDocument",
    "SubmissionPoints",
    "SubmitError",
    "SubmitRequest",
    "cancel",
    "chain",
    "chain_problem",
    "dry_run",
    "expand_points",
    "layer_from_mapping",
    "overrides_after",
    "parse_command_line",
    "parse_runs",
    "plan_resubmission",
    "prepare",
    "reconciled",
    "record_change",
    "recorded_point",
    "select_executions",
    "status",
    "submit",
    "undo_submissions",
    "value_text",
]
