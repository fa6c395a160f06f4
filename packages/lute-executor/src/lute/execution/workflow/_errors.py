"""The error of a workflow refused before anything was queued."""

from __future__ import annotations

from typing import Sequence

__all__ = ["WorkflowError"]


class WorkflowError(ValueError):
    """A workflow is refused before anything was queued (its file, its nodes' configs,
    options, environments). ``problems`` holds one line per problem (a node's own lines
    indented under it); the message has them all."""

    def __init__(self, title: str, problems: Sequence[str] = ()) -> None:
        self.title = title
        self.problems = list(problems)
        super().__init__("\n".join([title, *("  " + line for line in self.problems)]))
