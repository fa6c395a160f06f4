"""Trigger rules: whether a workflow node may run, given how its parents ended.

A pure function of the parents' statuses, shared by the two places that decide: the
SLURM job that starts a node's execution (which must not run when its rule cannot hold,
whatever SLURM concluded from its coarser dependencies) and ``lute-exec workflow status``
(which shows such executions as "upstream failed").
"""

from __future__ import annotations

from typing import Dict, Iterable

__all__ = ["HOLDS", "NEVER", "TRIGGER_RULES", "WAIT", "verdict"]

#: Trigger rule -> what it asks of the node's parents. One rule holds for all of a
#: node's parents (SLURM's --dependency cannot mix AND and OR).
TRIGGER_RULES: Dict[str, str] = {
    "all_success": "every parent completed",
    "any_success": "at least one parent completed",
    "all_completed": "every parent ended, whatever its status",
    "all_failed": "every parent ended and none completed",
    "any_failed": "at least one parent ended without completing",
    "always": "every parent ended, whatever its status (as all_completed)",
}

HOLDS = "holds"
NEVER = "never"
WAIT = "wait"

_GOING_ON = frozenset(("QUEUED", "PENDING", "RUNNING", "STOPPED"))


def verdict(rule: str, statuses: Iterable[str]) -> str:
    """Whether ``rule`` holds for parents that have these statuses.

    Args:
        rule: A key of :data:`TRIGGER_RULES`.
        statuses: The status of each parent execution (``COMPLETED``, ``FAILED``,
            ``QUEUED``...). None at all: the rule holds (a root).

    Returns:
        :data:`HOLDS` (the node may run now), :data:`NEVER` (it can never run: its
        upstream failed) or :data:`WAIT` (a parent that matters has not ended).

    Raises:
        ValueError: An unknown rule.
    """
    if rule not in TRIGGER_RULES:
        known = ", ".join(TRIGGER_RULES)
        raise ValueError("unknown trigger rule %r: use one of %s" % (rule, known))
    given = list(statuses)
    ended = [status for status in given if status not in _GOING_ON]
    completed = sum(1 for status in ended if status == "COMPLETED")
    unsuccessful = len(ended) - completed
    all_ended = len(ended) == len(given)
    if rule == "all_success":
        return NEVER if unsuccessful else HOLDS if all_ended else WAIT
    if rule == "any_success":
        return HOLDS if completed or not given else NEVER if all_ended else WAIT
    if rule == "all_failed":
        return NEVER if completed else HOLDS if all_ended else WAIT
    if rule == "any_failed":
        if unsuccessful or not given:
            return HOLDS
        return NEVER if all_ended else WAIT
    return HOLDS if all_ended else WAIT  # all_completed, always
