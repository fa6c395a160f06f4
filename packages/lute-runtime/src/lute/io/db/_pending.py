"""Results that do not exist yet: what a workflow's upstream nodes will record. Private.

Before a workflow is queued every node is validated, and a parameter whose default is
an upstream node's result (``ReadTester``'s input is ``WriteTester``'s output) cannot
be read from the database yet. Inside :func:`pending_results` a lookup of such a Task's
result gives a :class:`PendingResult` placeholder instead: the rest of the parameters
are checked, and the job's own validation fills the value when it runs.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator, List, Mapping, Optional, Tuple

__all__ = ["PendingResult", "UpstreamPending", "pending_result", "pending_results"]


class PendingResult(str):
    """The placeholder of a value an upstream node's result will give at run time.

    A ``str``, so that it passes through a text parameter and is recorded as text;
    ``task_name`` and ``node`` say where the value will come from.
    """

    task_name: str
    node: str

    def __new__(cls, task_name: str, node: str) -> PendingResult:
        made = super().__new__(cls, "<result of %s (node %s), at run time>" % (task_name, node))
        made.task_name = task_name
        made.node = node
        return made


class UpstreamPending(LookupError):
    """Raised by a result lookup of a Task whose result is still to come.

    Attributes:
        value: The placeholder to use instead.
    """

    def __init__(self, value: PendingResult) -> None:
        super().__init__(str(value))
        self.value = value


# (Task name -> node that will run it, lookups made so far) while a workflow is checked.
_PENDING: contextvars.ContextVar[Optional[Tuple[Mapping[str, str], List[PendingResult]]]] = (
    contextvars.ContextVar("lute_pending_results", default=None)
)


@contextlib.contextmanager
def pending_results(providers: Mapping[str, str]) -> Iterator[List[PendingResult]]:
    """Treat the results of these Tasks as still to come, within the block.

    Args:
        providers: Task name -> the workflow node that will produce its result.

    Yields:
        The placeholders handed out in the block, in order (to say what was left to
        run time).
    """
    handed: List[PendingResult] = []
    token = _PENDING.set((dict(providers), handed))
    try:
        yield handed
    finally:
        _PENDING.reset(token)


def pending_result(task_name: str) -> Optional[PendingResult]:
    """The placeholder for ``task_name``'s result inside :func:`pending_results`, else
    ``None`` (look it up in the database)."""
    state = _PENDING.get()
    if state is None or task_name not in state[0]:
        return None
    value = PendingResult(task_name, state[0][task_name])
    state[1].append(value)
    return value
