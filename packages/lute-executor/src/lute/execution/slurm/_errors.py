"""The errors of SLURM submission: what SLURM refused, and what was wrong before asking it."""

from __future__ import annotations

from typing import Sequence

__all__ = ["SlurmError", "SubmitError"]


class SlurmError(RuntimeError):
    """A SLURM command failed, is missing or did not answer; the message says which and
    gives SLURM's own words."""


class SubmitError(ValueError):
    """A submission is refused before anything was queued: invalid configs, options or
    arguments. ``problems`` holds one line per problem; the message has them all."""

    def __init__(self, title: str, problems: Sequence[str] = ()) -> None:
        self.title = title
        self.problems = list(problems)
        super().__init__("\n".join([title, *("  " + line for line in self.problems)]))
