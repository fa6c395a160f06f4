"""What one run of a managed task has learnt so far: its mutable state.

A :class:`~lute.execution.task_run.TaskRun` owns one :class:`RunState`; the default
hooks change it, :class:`~lute.execution.run_view.RunView` shows it to everyone else,
and the outcome rules and the record are computed from it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from lute.execution.console import Console
from lute.tasks.dataclasses import DescribedAnalysis, TaskResult, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc import Peer
    from lute.execution.launch import LaunchPlan
    from lute.io.db import Database

__all__ = ["MAX_MESSAGE_CHARS", "MAX_STORED_MESSAGES", "PROGRESS_STORE_INTERVAL", "RunState"]

#: Plain messages kept for the database per run; later ones are counted only.
MAX_STORED_MESSAGES = 100000
#: Characters of one plain message kept for the database.
MAX_MESSAGE_CHARS = 2000
#: Seconds between two writes of the run's progress to the database (completion is
#: written at once, and the latest progress when the run ends).
PROGRESS_STORE_INTERVAL = 2.0


class RunState:
    """The state of one run, from its start to its record.

    Args:
        managed_task: Name of the managed task.
        task_name: Name of the Task.
        config_path: The YAML config.
        console: Where the run's progress is shown.
        multi_rank: Messages are tagged with their rank (several Task processes).
        timeout: Seconds before the Task is stopped, as asked for by the caller or the
            managed task (``None``: the config's ``task_timeout``).

    Attributes:
        plan: The validated launch (``None`` until the config is validated).
        db: The open database (``None`` until the run is recorded).
        status: Current status.
        reported_status: The final status the Task reported, if any.
        execution_id: The database row of the execution.
        error: What went wrong, for the record.
        returncode: The Task process's exit code.
        timed_out: The Task was stopped at its deadline.
        slurm_time_limit: The SIGTERM that cancelled the run came from the SLURM job's
            time limit (a TIMEDOUT run, not a CANCELLED one).
        cancelled_by: The signal that cancelled the run.
        messages: Plain messages not yet written to the database, ``(time, rank, text)``
            (the run's loop writes them in batches while the Task runs).
        message_count: Plain messages received (stored or not).
        messages_dropped: Plain messages received beyond :data:`MAX_STORED_MESSAGES`
            and not yet counted in the database (counted, not stored).
        result: The Task's result.
        result_recorded: ``result`` is in the database as it is now.
        log_path: The run's log file.
        started: ``time.time()`` when the run was created.
        described: The seed-compatible description of the analysis.
        peer: The Task process (MPI rank) whose message is being handled.
        warnings: Problems that did not change the outcome, for the record.
        lost_elsewhere: Other executions of the database this run found LOST (their
            Executors are gone); their reports are written with this run's.
        undecodable: Results (or messages whose kind is unknown) the Executor could not
            unpickle (``UndecodableMessage``): kept for the record, the run not COMPLETED.
        progress: The latest ``(done, total)`` each Task process reported, by rank
            (``None``: one process only).
        malformed_progress: Progress reports that were not ``(done, total)`` numbers.
        progress_due: ``time.monotonic()`` when progress not yet in the database must be
            written (``None``: nothing waits).
    """

    def __init__(
        self,
        managed_task: str,
        task_name: str,
        config_path: str,
        console: Console,
        *,
        multi_rank: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        self.managed_task = managed_task
        self.task_name = task_name
        self.config_path = config_path
        self.console = console
        self.multi_rank = multi_rank
        self.timeout = timeout
        self.plan: Optional[LaunchPlan] = None
        self.db: Optional[Database] = None
        self.status = TaskStatus.PENDING
        self.reported_status: Optional[TaskStatus] = None
        self.execution_id: Optional[int] = None
        self.error: Optional[str] = None
        self.returncode: Optional[int] = None
        self.timed_out = False
        self.slurm_time_limit = False
        self.cancelled_by: Optional[int] = None
        self.messages: List[Tuple[Any, ...]] = []
        self.message_count = 0
        self.messages_dropped = 0
        self.result: Optional[TaskResult] = None
        self.result_recorded = False
        self.log_path: Optional[str] = None
        self.started = time.time()
        self.described: Optional[DescribedAnalysis] = None
        self.peer: Optional[Peer] = None
        self.warnings: List[str] = []
        self.lost_elsewhere: List[int] = []
        self.undecodable: List[Any] = []
        self.progress: Dict[Optional[int], Tuple[float, Optional[float]]] = {}
        self.progress_due: Optional[float] = None
        self.malformed_progress = 0
        self._progress_stored_at = -float("inf")
        self._progress_row: Optional[int] = None

    def keep_undecodable(self, error: Any) -> None:
        """Keep a message this side could not unpickle: a result's bytes go to the record.

        Args:
            error: The :class:`~lute.execution.ipc.UndecodableMessage`.
        """
        if error.signal in ("TASK_RESULT", None):
            self.undecodable.append(error)
            return
        # A plain message: counted and told, its text unknown.
        self.warnings.append("a message could not be read here: %s" % error)

    def set_reported(self, status: TaskStatus) -> None:
        """Record a final status the Task reported (the first stands; a failure wins)."""
        if self.reported_status not in (None, TaskStatus.STOPPED) and status != TaskStatus.FAILED:
            return
        self.reported_status = status
        self.console.status(status.value)

    def peer_rank(self) -> Optional[int]:
        """Rank of the process whose message is handled (``None``: one process only)."""
        if self.peer is None or not self.multi_rank:
            return None
        return int(self.peer.rank)

    def flush_messages(self) -> None:
        """Write the messages kept so far (and the count of dropped ones) to the database."""
        if (self.messages or self.messages_dropped) and self.db is not None:
            assert self.execution_id is not None
            batch, self.messages = self.messages, []
            dropped, self.messages_dropped = self.messages_dropped, 0
            self.db.add_messages(self.execution_id, batch, dropped=dropped)

    def rank_prefix(self) -> str:
        """``"[rank N] "`` for messages of a multi-rank Task, else ``""``."""
        rank = self.peer_rank()
        return "" if rank is None else "[rank %d] " % rank

    def add_message(self, text: str, level: Optional[str] = None) -> str:
        """Keep a plain message (or a logged record, with its level) for the record;
        returns it as the console shows it."""
        self.message_count += 1
        if self.message_count <= MAX_STORED_MESSAGES:
            kept = text[:MAX_MESSAGE_CHARS]
            if level is None:
                self.messages.append((time.time(), self.peer_rank(), kept))
            else:
                self.messages.append((time.time(), self.peer_rank(), kept, level))
        else:
            self.messages_dropped += 1
        return self.rank_prefix() + (text if len(text) <= 500 else text[:497] + "...")

    def note_progress(self, done: float, total: Optional[float]) -> Tuple[float, Optional[float]]:
        """Keep a progress report of the process being handled; the run's progress.

        The run's progress is that of the rank furthest behind (of those that reported:
        an MPI Task whose ranks share the work is as far as its slowest rank). It goes
        to the database at most every :data:`PROGRESS_STORE_INTERVAL` seconds, at once
        when it is complete.

        Returns:
            The run's ``(done, total)``.
        """
        self.progress[self.peer_rank()] = (done, total)
        _, shown = self.run_progress()
        now = time.monotonic()
        if _fraction(*shown) >= 1.0 or now - self._progress_stored_at >= PROGRESS_STORE_INTERVAL:
            self.store_progress(now)
        elif self.progress_due is None:
            self.progress_due = self._progress_stored_at + PROGRESS_STORE_INTERVAL
        return shown

    def run_progress(self) -> Tuple[Optional[int], Tuple[float, Optional[float]]]:
        """The rank furthest behind and its ``(done, total)`` (reports must exist)."""
        return min(self.progress.items(), key=lambda item: _fraction(*item[1]))

    def store_progress(self, now: Optional[float] = None) -> None:
        """Write the run's progress to the database now (it replaces the one before)."""
        self.progress_due = None
        if not self.progress or self.db is None or self.execution_id is None:
            return
        self._progress_stored_at = time.monotonic() if now is None else now
        rank, (done, total) = self.run_progress()
        self._progress_row = self.db.set_progress(
            self.execution_id, done, total, rank=rank, replaces=self._progress_row
        )


def _fraction(done: float, total: Optional[float]) -> float:
    return done / total if total else done
