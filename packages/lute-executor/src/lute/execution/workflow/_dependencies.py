"""Trigger rules as SLURM dependencies: each node's ``--dependency`` value.

SLURM does the scheduling; this module only writes what it is told. A node is one job
(one array for many runs or a sweep), so its dependency names its parents' jobs. For a
node that runs once (or follows nodes that run once):

==============  ==================================
rule            ``--dependency``
==============  ==================================
all_success     ``afterok:P1:P2``
any_success     ``afterok:P1?afterok:P2``
all_completed   ``afterany:P1:P2`` (as ``always``)
all_failed      ``afternotok:P1:P2``
any_failed      ``afternotok:P1?afternotok:P2``
==============  ==================================

A node that runs once per run must not wait for other runs' parents. When its array and
each parent's have the same runs in the same order, ``aftercorr`` does that for the
success rules: run 17's task starts once run 17's parent tasks succeeded. SLURM has no
per-task ``afterany`` or ``afternotok``, so otherwise its tasks wait for the whole
parent arrays (``afterany``; ``afternotok`` for the failure rules, which holds only if
some parent task failed). Either way each execution of a workflow checks its own run's
parents in the database before it runs (``lute-exec run --claim``): a task whose rule
does not hold for its run ends "upstream failed" instead of running. With
``--kill-on-invalid-dep=yes`` SLURM cancels a job whose dependency can never be met.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from lute._records import FrozenRecord

__all__ = ["NodeJobs", "dependency"]

_TYPES = {
    "all_success": ("afterok", ":"),
    "any_success": ("afterok", "?"),
    "all_completed": ("afterany", ":"),
    "always": ("afterany", ":"),
    "all_failed": ("afternotok", ":"),
    "any_failed": ("afternotok", "?"),
}
_SUCCESS = ("all_success", "any_success")


class NodeJobs(FrozenRecord):
    """A node's jobs, as its children's dependencies need them.

    Attributes:
        node: The node's name.
        job_ids: Its jobs (an id, or a placeholder such as ``<index>`` in a dry run).
        runs: The run of each task when the node is one array with one task per run
            (the order of its array indexes); ``None`` otherwise (a sweep, several
            arrays, a node that runs once).
    """

    _FIELDS = ("node", "job_ids", "runs")
    __slots__ = _FIELDS
    node: str
    job_ids: Tuple[str, ...]
    runs: Optional[Tuple[str, ...]]

    def __init__(
        self, node: str, job_ids: Sequence[str], runs: Optional[Sequence[str]] = None
    ) -> None:
        self._set_fields(node, tuple(job_ids), None if runs is None else tuple(runs))


def _aligned(child: NodeJobs, parents: Sequence[NodeJobs]) -> bool:
    """Whether every parent's array runs the child's runs, task for task."""
    return all(parent.runs == child.runs for parent in parents)


def dependency(
    rule: str, child: NodeJobs, parents: Sequence[NodeJobs]
) -> Tuple[Optional[str], str]:
    """The ``--dependency`` value of a node, and how it reads in words.

    Args:
        rule: The node's trigger rule.
        child: The node (its ``runs``; its ``job_ids`` are not needed yet).
        parents: Its parents' jobs, in the node's order of parents.

    Returns:
        ``(value, explanation)``; the value is ``None`` for a root.
    """
    if not parents:
        return None, "starts at once"
    kind, separator = _TYPES[rule]
    per_run = child.runs is not None and len(child.runs) > 1
    aligned = per_run and _aligned(child, parents)
    if rule in _SUCCESS and per_run:
        kind, separator = ("aftercorr", separator) if aligned else ("afterany", ":")
    groups: List[str] = []
    for parent in parents:
        if separator == ":":
            groups.extend(parent.job_ids)
        else:  # any: every parent's jobs are one alternative
            groups.append(":".join(parent.job_ids))
    if separator == ":":
        value = "%s:%s" % (kind, ":".join(groups))
    else:
        value = "?".join("%s:%s" % (kind, group) for group in groups)
    names = ", ".join(parent.node for parent in parents)
    if kind == "aftercorr":
        words = "each run's task after the same run's task of %s" % names
    elif per_run:
        words = "after the tasks of %s; each run then checks its own parents" % names
    else:
        words = "after %s" % names
    return value, "%s (%s)" % (words, rule)
