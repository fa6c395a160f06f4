"""The error an Executor raises when a Task cannot be launched.

Its own module so that every part of a run (the launch plan, the run, the definitions)
can raise it without importing one another.
"""

from __future__ import annotations

__all__ = ["ExecutorError"]


class ExecutorError(RuntimeError):
    """The Task could not be launched; the message says why and how to fix it."""
