"""Signals to ``lute-exec`` during a run: SIGINT, SIGTERM and SIGHUP.

Any of the three cancels the run, whenever it arrives, and the record stays true:

- before the run is recorded (validation, environment, probe) it interrupts what is
  being done, like Ctrl-C: nothing is written, the exit code is 130;
- once the run is recorded, the handler only queues a ``cancel`` event (on a
  ``SimpleQueue``, whose ``put`` may be called from a signal handler); the run's loop
  then stops the Task, and once the Task has ended further signals change nothing, so
  the record is always finished;
- a second request while the Task is being stopped kills it at once.

SIGHUP counts as a cancellation (an SSH session dropping must not orphan the Task).
Under SLURM, ``scancel`` and a time limit send SIGTERM to every process of the job, the
Task included: the run then gives the Task :data:`SLURM_TERM_WAIT` seconds to end on its
own before it sends SIGTERM itself, so no second SIGTERM reaches a Task that is already
shutting down.

Handlers are installed only on the main thread (Python allows no other); an Executor
used from another thread leaves signals to its application.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from typing import Any, Dict, Optional

from lute.execution.supervision import Event

__all__ = [
    "CANCEL_SIGNALS",
    "SLURM_TERM_WAIT",
    "Interrupted",
    "RunSignals",
    "forward_delay",
    "slurm_job_reason",
]

CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds a Task gets to end by itself when SLURM signalled the whole job.
SLURM_TERM_WAIT = 2.0


class Interrupted(KeyboardInterrupt):
    """A cancel signal arrived before the run was recorded (nothing was written)."""

    def __init__(self, signum: int) -> None:
        super().__init__("received %s" % signal.Signals(signum).name)
        self.signum = signum


def slurm_job_reason(environ: Optional[Dict[str, str]] = None) -> Optional[str]:
    """Why SLURM signals this job: ``squeue``'s reason, ``"TimeLimit"`` at the time limit
    (``"None"`` for ``scancel``); ``None`` when it cannot be asked.

    The SIGTERM of a time limit and of ``scancel`` are alike; only the job's pending
    reason, set by the controller before it signals, tells them apart.
    """
    import subprocess

    env = os.environ if environ is None else environ
    job = env.get("SLURM_JOB_ID")
    if not job:
        return None
    try:
        done = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%r"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    reason = done.stdout.strip()
    return reason or None


def forward_delay(signum: int, environ: Optional[Dict[str, str]] = None) -> float:
    """Seconds to wait before passing a cancellation on to the Task."""
    env = os.environ if environ is None else environ
    if signum == signal.SIGTERM and env.get("SLURM_JOB_ID"):
        return SLURM_TERM_WAIT
    return 0.0


class RunSignals:
    """Installs the cancel handlers for one run (a context manager).

    Args:
        events: The run's event queue.
    """

    def __init__(self, events: queue.SimpleQueue[Event]) -> None:
        self._events = events
        self._previous: Dict[int, Any] = {}
        #: Set once the run is recorded: from then on signals only queue ``cancel`` events.
        self.recording = False

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.recording:
            self._events.put(Event("cancel", signum))
            return
        raise Interrupted(signum)

    def __enter__(self) -> RunSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in CANCEL_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
