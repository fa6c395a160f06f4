"""Records of what an execution produced: result items and messages. Private to ``lute.io.db``."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.io.db._progress import PROGRESS_LEVEL, parse_progress
from lute.io.db._values import decode_payload

__all__ = ["MESSAGE_COLUMNS", "RESULT_COLUMNS", "MessageRecord", "ResultRecord", "result_from_row"]


class ResultRecord(FrozenRecord):
    """One stored result item with its execution's identity and its TaskResult's payload.

    Immutable; hashable when ``payload`` is.

    Attributes:
        execution_id: Execution that produced it.
        task_name: Task class name.
        experiment: Experiment name, if any.
        run: Run as given, if any.
        position: Order of the item among the execution's results (0, 1, ...).
        kind: ``text``, ``number``, ``bool``, ``dict``, ``plots``, ``none``, ``object``,
            or ``undecodable`` (a result the Executor received but could not decode).
        summary: The item's text (see :func:`lute.io.db.format_summary`).
        payload: The TaskResult's payload: decoded JSON, or its ``repr`` text when it had no
            JSON form (then ``payload_type`` tells what it was). Shared by all items of one
            TaskResult.
        payload_type: Type name of the payload (``dict``, ``numpy.ndarray``), or ``None``.
        task_status: Status the Task reported with the result, if any.
        created: UTC ISO-8601 time the result was recorded.
        id: Row id of the item in the ``results`` table.
        error: For a result the Executor could not decode (kind ``undecodable``), why.
        raw_size: For such a result, the size in bytes of what was received and kept
            (``Database.raw_result`` returns it).
    """

    _FIELDS = (
        "execution_id",
        "task_name",
        "experiment",
        "run",
        "position",
        "kind",
        "summary",
        "payload",
        "payload_type",
        "task_status",
        "created",
        "id",
        "error",
        "raw_size",
    )
    __slots__ = _FIELDS
    execution_id: int
    task_name: str
    experiment: Optional[str]
    run: Optional[str]
    position: int
    kind: str
    summary: str
    payload: Any
    payload_type: Optional[str]
    task_status: Optional[str]
    created: str
    id: int
    error: Optional[str]
    raw_size: Optional[int]

    def __init__(
        self,
        execution_id: int,
        task_name: str,
        experiment: Optional[str],
        run: Optional[str],
        position: int,
        kind: str,
        summary: str,
        payload: Any,
        payload_type: Optional[str],
        task_status: Optional[str],
        created: str,
        id: int,
        error: Optional[str] = None,
        raw_size: Optional[int] = None,
    ) -> None:
        self._set_fields(
            execution_id,
            task_name,
            experiment,
            run,
            position,
            kind,
            summary,
            payload,
            payload_type,
            task_status,
            created,
            id,
            error,
            raw_size,
        )


RESULT_COLUMNS = (
    "execution_id, task_name, experiment, run, position, kind, summary, payload, "
    "payload_type, payload_encoding, task_status, created, id, error, raw_size"
)


def result_from_row(row: Sequence[Any]) -> ResultRecord:
    """Build from a row of ``result_view`` selected with :data:`RESULT_COLUMNS`."""
    (
        execution_id,
        task_name,
        experiment,
        run,
        position,
        kind,
        summary,
        payload,
        payload_type,
        encoding,
        task_status,
        created,
        row_id,
        error,
        raw_size,
    ) = row
    return ResultRecord(
        execution_id=execution_id,
        task_name=task_name,
        experiment=experiment,
        run=run,
        position=position,
        kind=kind,
        summary=summary,
        payload=decode_payload(payload, encoding),
        payload_type=payload_type,
        task_status=task_status,
        created=created,
        id=row_id,
        error=error,
        raw_size=raw_size,
    )


class MessageRecord(tuple):  # type: ignore[type-arg]
    """One stored message: the tuple ``(time, rank, text)`` with its row ``id`` beside.

    A tuple, so code written for the ``(time, rank, text)`` tuples of schema version 1
    keeps working (unpacking, indexing, ``==`` with a plain tuple, which ignores ``id``).

    Attributes:
        id: Row id in the ``messages`` table: increasing, so a follower asks for the
            messages ``after_id`` the last one it saw.
        time: UTC ISO-8601 time the Task reported it.
        rank: MPI rank, or ``None``.
        text: The message.
        level: The level of a record the Task logged (``"WARNING"``), ``None`` for a
            plain message, ``"PROGRESS"`` for the execution's progress (see
            :attr:`progress`). Not part of the tuple, like ``id``.
    """

    id: int
    level: Optional[str]

    def __new__(
        cls, id: int, time: str, rank: Optional[int], text: str, level: Optional[str] = None
    ) -> MessageRecord:
        self = tuple.__new__(cls, (time, rank, text))
        self.id = id
        self.level = level
        return self

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickle and copy rebuild it through __new__, with every protocol.
        return (MessageRecord, (self.id, *self, self.level))

    @property
    def time(self) -> str:
        """UTC ISO-8601 time the Task reported it."""
        return str(self[0])

    @property
    def rank(self) -> Optional[int]:
        """MPI rank, or ``None``."""
        return self[1]  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        """The message."""
        return str(self[2])

    @property
    def progress(self) -> Optional[Dict[str, Any]]:
        """For the row of an execution's progress (level ``PROGRESS``): ``{"fraction",
        "done", "total", "text"}`` (``done``/``total`` ``None`` for a bare fraction);
        ``None`` for any other message."""
        if self.level != PROGRESS_LEVEL:
            return None
        return parse_progress(self.text)

    def to_dict(self) -> Dict[str, Any]:
        """``{"id", "time", "rank", "text"}``, and ``"level"`` for a logged record."""
        out = {"id": self.id, "time": self[0], "rank": self[1], "text": self[2]}
        if self.level is not None:
            out["level"] = self.level
        return out

    def __repr__(self) -> str:
        return "MessageRecord(id=%r, time=%r, rank=%r, text=%r)" % (self.id, *self)


MESSAGE_COLUMNS = "id, time, rank, text, level"
