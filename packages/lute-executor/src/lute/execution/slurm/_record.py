"""What a submission records about itself, in its ``description`` in the database.

A JSON document: the command line, the config, the managed task, the common overrides,
the sbatch options of the command line, ``--max-parallel``, where the logs go, and the
points — each one's label and overrides, in the order its executions were queued (the
executions of a submission, by id, are its points in this order). ``lute-exec status``
names log files from it and ``lute-exec resubmit`` runs points again from it, with the
config as it is then.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lute._records import Record

__all__ = ["SubmissionDocument"]

_KIND = "lute-exec submit"


class SubmissionDocument(Record):
    """The description of one submission.

    Attributes:
        command: The command line (for people).
        config: The absolute config file.
        managed_task: The managed task.
        overrides: The overrides common to every point.
        sbatch: The sbatch options given after ``--``.
        max_parallel: ``--max-parallel``, if given.
        directory: Where the scripts and logs are (``<work_dir>/slurm``).
        prefix: The start of log names (``<managed>_<experiment>``).
        points: ``(label, overrides)`` of each point, in queue order.
    """

    _FIELDS = (
        "command",
        "config",
        "managed_task",
        "overrides",
        "sbatch",
        "max_parallel",
        "directory",
        "prefix",
        "points",
    )
    __slots__ = _FIELDS
    command: str
    config: str
    managed_task: str
    overrides: List[str]
    sbatch: List[str]
    max_parallel: Optional[int]
    directory: str
    prefix: str
    points: List[Tuple[str, List[str]]]

    def __init__(
        self,
        command: str,
        config: str,
        managed_task: str,
        overrides: Sequence[str],
        sbatch: Sequence[str],
        max_parallel: Optional[int],
        directory: str,
        prefix: str,
        points: Sequence[Tuple[str, Sequence[str]]],
    ) -> None:
        self.command = command
        self.config = config
        self.managed_task = managed_task
        self.overrides = list(overrides)
        self.sbatch = list(sbatch)
        self.max_parallel = max_parallel
        self.directory = directory
        self.prefix = prefix
        self.points = [(str(label), list(overrides)) for label, overrides in points]

    def to_text(self) -> str:
        """The JSON text stored as the submission's description."""
        document: Dict[str, Any] = {"kind": _KIND}
        for name in self._FIELDS:
            document[name] = getattr(self, name)
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_text(cls, text: Optional[str]) -> Optional[SubmissionDocument]:
        """The document in a description; ``None`` when it holds none (made elsewhere)."""
        if not text or not text.startswith("{"):
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("kind") != _KIND:
            return None
        try:
            return cls(*(document[name] for name in cls._FIELDS))
        except (KeyError, TypeError, ValueError):
            return None
