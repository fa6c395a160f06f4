"""``lute-exec resubmit``: run again, as one new array, the points that did not complete.

What to run again is decided from the database, never from SLURM's dependencies (SLURM
treats a dependency on a job it has forgotten as satisfied). A submission and its
resubmissions form a chain (``resubmission_of``); for each point the newest attempt in
the chain counts. First every attempt is reconciled with SLURM (:mod:`._status`, one
``squeue`` for the whole chain); then the points whose newest attempt ended without
completing (FAILED, TIMEDOUT, CANCELLED, LOST) are checked again with the config as it
is now and submitted as a new submission linked to the newest of the chain. Points
still queued or running are left alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.slurm._client import SlurmClient
from lute.execution.slurm._errors import SubmitError
from lute.execution.slurm._points import Point, override_key
from lute.execution.slurm._prepare import Prepared, SubmitRequest, prepare
from lute.execution.slurm._record import SubmissionDocument
from lute.execution.slurm._status import StatusRow, status

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.db import Database, ExecutionRecord

__all__ = ["Rerun", "chain", "overrides_after", "plan_resubmission", "recorded_point"]

#: How far back ``chain`` looks for submissions newer than the one given.
_NEWEST_SCANNED = 1000


class Rerun(Record):
    """A resubmission, decided and checked.

    Attributes:
        prepared: The new submission, checked (``None`` when nothing is to be rerun).
        resubmission_of: The newest submission of the chain (the new one links to it).
        rows: Every point's newest attempt, reconciled.
        rerun: Of those, the ones run again.
        unfinished: Of those, the ones still queued or running (left alone).
    """

    _FIELDS = ("prepared", "resubmission_of", "rows", "rerun", "unfinished")
    __slots__ = _FIELDS

    def __init__(
        self,
        prepared: Optional[Prepared],
        resubmission_of: int,
        rows: List[StatusRow],
        rerun: List[StatusRow],
        unfinished: List[StatusRow],
    ) -> None:
        self.prepared = prepared
        self.resubmission_of = resubmission_of
        self.rows = rows
        self.rerun = rerun
        self.unfinished = unfinished


def chain(db: Database, submission_id: int) -> List[int]:
    """The submissions of ``submission_id``'s chain, oldest first (the first is the
    original, each next one a resubmission of the one before)."""
    root = submission_id
    while True:
        earlier = db.submission(root).resubmission_of
        if earlier is None:
            break
        root = earlier
    newest = max(
        [submission_id]
        + [r.submission_id for r in db.executions(limit=_NEWEST_SCANNED) if r.submission_id]
    )
    members = [root]
    from lute.io.db import DatabaseError

    for candidate in range(root + 1, newest + 1):
        try:
            record = db.submission(candidate)
        except DatabaseError:  # discarded (sbatch failed): ids are not reused
            continue
        if record.resubmission_of in members:
            members.append(candidate)
    return members


def recorded_point(position: int, label: str, overrides: Sequence[str]) -> Point:
    """The point a submission recorded as ``(label, overrides)``."""
    run = next((o.partition("=")[2] for o in overrides if o.startswith("lute_config.run=")), None)
    values = tuple(o for o in overrides if not o.startswith("lute_config.run="))
    sweep = re.search(r"(?:^|_)(p\d+)$", label)
    return Point(position, tuple(overrides), run, values, sweep.group(1) if sweep else "")


def plan_resubmission(
    db: Database,
    submission_id: int,
    *,
    overrides: Sequence[str] = (),
    sbatch: Sequence[str] = (),
    max_parallel: Optional[int] = None,
    command: str = "",
    client: Optional[SlurmClient] = None,
    record: bool = True,
) -> Rerun:
    """Decide and check what to run again from ``submission_id``'s chain; submit nothing.

    Args:
        db: The database (writable, to record what reconciling finds).
        submission_id: Any submission of the chain.
        overrides: ``Task.param=value`` overrides added after the original ones (they
            win: the fix for a wrong value the original command line gave); a later
            resubmission of the chain keeps them.
        sbatch: sbatch options added after the original ones (they win: ``--time``
            longer after a time limit).
        max_parallel: Replaces the original ``--max-parallel``.
        command: The command line, recorded with the new submission.
        client: The SLURM commands.
        record: Record what reconciling finds.

    Raises:
        SubmitError: The submission was not made by ``lute-exec submit``, or the points
            no longer pass their checks (every problem).
    """
    client = client or SlurmClient()
    members = chain(db, submission_id)
    document: Optional[SubmissionDocument] = None
    attempts: List[Tuple[ExecutionRecord, str, Tuple[str, ...]]] = []
    for member in members:
        found = SubmissionDocument.from_text(db.submission(member).description)
        if found is None:
            raise SubmitError(
                "submission %d was not made by lute-exec submit: nothing to resubmit from" % member
            )
        document = found
        records = sorted(db.submission_executions(member), key=lambda r: r.id)
        if len(records) != len(found.points):
            raise SubmitError(
                "submission %d records %d points but has %d executions"
                % (member, len(found.points), len(records))
            )
        attempts.extend(
            (record, label, tuple(point_overrides))
            for record, (label, point_overrides) in zip(records, found.points)
        )
    # One look at SLURM for the whole chain; later attempts of a point replace earlier ones.
    reconciled, warning = status(db, [a[0] for a in attempts], client=client, record=record)
    if warning is not None:
        raise SubmitError("cannot tell what to resubmit: %s" % warning)
    newest: Dict[Tuple[str, ...], Tuple[StatusRow, str]] = {}
    for row, (_record, label, key) in zip(reconciled, attempts):
        newest[key] = (row, label)
    assert document is not None
    rows = [row for row, _label in newest.values()]
    rerun = [(row, label, key) for key, (row, label) in newest.items() if _ended_badly(row)]
    unfinished = [row for row in rows if not row.is_terminal]
    prepared = None
    if rerun:
        points = [recorded_point(n, label, key) for n, (_row, label, key) in enumerate(rerun)]
        request = SubmitRequest(
            document.config,
            document.managed_task,
            overrides_after(document.overrides, overrides),
            max_parallel=max_parallel if max_parallel is not None else document.max_parallel,
            sbatch=[*document.sbatch, *sbatch],
            command=command,
        )
        prepared = prepare(request, client=client, points=points)
    return Rerun(prepared, members[-1], rows, [row for row, _l, _k in rerun], unfinished)


def overrides_after(original: Sequence[str], given: Sequence[str]) -> List[str]:
    """A resubmission's overrides: the original ones, then those given (an original one
    that a given one sets again is dropped, so scripts and records stay readable along
    a chain of resubmissions)."""
    keys = {override_key(override.partition("=")[0]) for override in given}
    kept = [o for o in original if override_key(o.partition("=")[0]) not in keys]
    return [*kept, *given]


def _ended_badly(row: StatusRow) -> bool:
    return row.is_terminal and row.status != "COMPLETED"
