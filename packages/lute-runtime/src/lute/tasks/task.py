"""The Task base classes that analysis code subclasses.

A Task implements ``_run`` (and optionally ``_pre_run`` / ``_post_run``), puts what it
produced in ``self._result`` and talks to the Executor with ``_report_to_executor``::

    from lute.tasks.task import *
    from lute.execution.ipc import Message

    class FitSpectrum(Task):
        def _run(self) -> None:
            self._report_to_executor(Message(contents="fitting..."))
            self._result.summary = {"Peak": "3.2 keV"}
            self._result.payload = "/path/to/fit.h5"

A long ``_run`` says how far it has got with ``self._report_progress(done, total)``
(``done`` of ``total`` items, or a fraction in [0, 1] without ``total``): a progress bar
on the Executor's terminal, stored with the run, shown by ``lute-exec follow`` and ``top``.

``run()`` drives the three phases and sets ``self._result.task_status`` for the author:
COMPLETED on success, FAILED (traceback sent to the Executor) on an exception, CANCELLED
on SIGTERM/SIGINT/SIGHUP — unless the Task set a status itself.
"""

from __future__ import annotations

import os
import sys
import time

from lute import settings
from lute.execution.ipc import Message
from lute.io.parameters import RowIds
from lute.tasks import _context
from lute.tasks.dataclasses import DescribedAnalysis, ElogSummaryPlots, TaskResult, TaskStatus

try:  # the C module behind `signal`: the same functions, without `enum` and `functools`,
    import _signal as signal  # whose import costs more than this module's on 3.8
except ImportError:  # pragma: no cover - an interpreter without it
    import signal  # type: ignore[no-redef]

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = [
    "DescribedAnalysis",
    "ElogSummaryPlots",
    "Task",
    "TaskCancelled",
    "TaskResult",
    "TaskStatus",
    "ThirdPartyTask",
]

#: The signal of a progress report (an Executor lists it in its WELCOME when it knows it).
PROGRESS_SIGNAL = "TASK_PROGRESS"
#: Seconds between two progress reports sent to the Executor: calls in between are
#: coalesced (the latest value is sent once the interval has passed, or when the Task
#: ends), so a loop may call ``_report_progress`` on every item.
PROGRESS_INTERVAL = 0.1
_INFINITY = float("inf")  # not math.inf: importing math would cost more than its use

# Which signal announces each final status to the Executor.
_FINAL_SIGNALS = {
    TaskStatus.COMPLETED: "TASK_DONE",
    TaskStatus.FAILED: "TASK_FAILED",
    TaskStatus.CANCELLED: "TASK_CANCELLED",
    TaskStatus.STOPPED: "TASK_STOPPED",
    TaskStatus.TIMEDOUT: "TASK_FAILED",
}


class TaskCancelled(BaseException):
    """Raised inside a running Task when it receives SIGTERM, SIGINT or SIGHUP.

    A ``BaseException`` so that ``except Exception`` blocks in analysis code do not
    swallow the cancellation.
    """

    def __init__(self, signum: int) -> None:
        super().__init__("cancelled by %s" % _SIGNAL_NAMES.get(signum, "signal %d" % signum))
        self.signum = signum


def _raise_cancelled(signum: int, _frame: Any) -> None:
    raise TaskCancelled(signum)


# The signals that cancel a running Task (SIGHUP: a lost terminal or SSH session).
_SIGNAL_NAMES: Dict[int, str] = {
    getattr(signal, name): name for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
}
_CANCEL_SIGNALS = tuple(_SIGNAL_NAMES)


class _CancellationHandlers:
    """Handle SIGTERM/SIGINT/SIGHUP while a Task runs (main thread only).

    Args:
        handler: ``_raise_cancelled`` while the Task runs; ``signal.SIG_IGN`` while a
            cancelled Task reports its cancellation, so that a second signal (SLURM
            signals every process of a job) cannot cut the report short.
    """

    def __init__(self, handler: Any = _raise_cancelled) -> None:
        self.handler = handler
        self.previous: Dict[int, Any] = {}

    def __enter__(self) -> None:
        try:
            for sig in _CANCEL_SIGNALS:
                self.previous[sig] = signal.signal(sig, self.handler)
        except ValueError:  # not the main thread: only it may install handlers
            pass

    def __exit__(self, *_exc: Any) -> None:
        for sig, handler in self.previous.items():
            if handler is not None:  # None: installed by C code, which Python cannot restore
                signal.signal(sig, handler)
        self.previous = {}


class Task:
    """Base class of all first-party Tasks.

    Reports: :meth:`_report_to_executor` (messages) and :meth:`_report_progress`.

    Args:
        params: The validated parameters: the pydantic model, or the stdlib
            :class:`lute.io.parameters.TaskParameters` surrogate in an environment
            without pydantic. Available as ``self._task_parameters``.
        use_mpi: Run as an MPI program: all ranks meet before ``_pre_run`` and after
            ``_post_run``, only rank 0 announces start and result, and an exception on
            any rank aborts the whole job. Needs mpi4py, imported only then.
        row_ids: Where this run's records live in the results database.
    """

    # Progress reporting (class defaults: a subclass's __init__ may run before ours).
    _progress_sent_at = -_INFINITY  # time.monotonic() of the last report sent
    _progress_sent: Optional[Tuple[float, Optional[float]]] = None
    _progress_pending: Optional[Tuple[float, Optional[float]]] = None  # not sent yet

    def __init__(
        self, *, params: Any, use_mpi: bool = False, row_ids: Optional[RowIds] = None
    ) -> None:
        self.name: str = type(self).__name__
        self._task_parameters = params
        self._use_mpi = use_mpi
        self._row_ids = row_ids
        self._result = TaskResult(
            task_name=self.name, task_status=TaskStatus.PENDING, summary="", payload=""
        )
        self._mpi_comm: Any = None
        self._rank = 0
        self._world_size = 1
        if use_mpi:
            from mpi4py import MPI  # only MPI Tasks pay for (and need) mpi4py

            self._mpi_comm = MPI.COMM_WORLD
            self._rank = self._mpi_comm.Get_rank()
            self._world_size = self._mpi_comm.Get_size()

    # Public API -------------------------------------------------------------------
    @property
    def row_ids(self) -> Optional[RowIds]:
        """Database rows of this run (``None`` when not run by an Executor)."""
        return self._row_ids

    @property
    def task_status(self) -> TaskStatus:
        """Current status (also ``self._result.task_status``)."""
        return self._result.task_status

    @task_status.setter
    def task_status(self, status: TaskStatus) -> None:
        self._result.task_status = status

    @property
    def rank(self) -> int:
        """MPI rank of this process (0 without MPI)."""
        return self._rank

    def run(self) -> TaskResult:
        """Run ``_pre_run``, ``_run`` and ``_post_run`` and report the outcome.

        Returns:
            The Task's result, with its final status set.
        """
        self._result.task_status = TaskStatus.RUNNING
        self._barrier()
        if self._rank == 0:
            self._report_to_executor(Message(contents=self.name, signal="TASK_STARTED"))
        try:
            with _CancellationHandlers():
                self._pre_run()
                self._run()
                self._post_run()
                self._flush_progress()
        except TaskCancelled as cancel:
            with _CancellationHandlers(signal.SIG_IGN):
                self._finish_interrupted(TaskStatus.CANCELLED, str(cancel))
            return self._result
        except BaseException:
            self._finish_interrupted(TaskStatus.FAILED, self._describe_failure())
            if self._mpi_comm is not None and self._world_size > 1:
                # Other ranks may be blocked in a collective call: end them all.
                self._close_channel()
                self._mpi_comm.Abort(1)
            return self._result
        if self._result.task_status == TaskStatus.RUNNING:
            self._result.task_status = TaskStatus.COMPLETED
        self._barrier()
        if self._rank == 0:
            self._report_to_executor(Message(contents=self._result, signal="TASK_RESULT"))
            signal_name = _FINAL_SIGNALS.get(self._result.task_status, "TASK_DONE")
            self._report_to_executor(Message(contents=self.name, signal=signal_name))
        return self._result

    # Hooks for authors --------------------------------------------------------------
    def _pre_run(self) -> None:
        """Preparation before ``_run`` (optional)."""

    def _run(self) -> None:
        """The analysis itself. Subclasses must implement it."""
        raise NotImplementedError("%s must implement _run()" % self.name)

    def _post_run(self) -> None:
        """Clean-up and result assembly after ``_run`` (optional)."""

    def _report_to_executor(self, msg: Message) -> None:
        """Send a :class:`~lute.execution.ipc.Message` to the Executor.

        Plain messages (``signal=""``) are shown live with the Task's name; MPI ranks
        are told apart by the Executor.
        """
        _context.report(msg)

    def _report_progress(self, done: float, total: Optional[float] = None) -> None:
        """Tell the Executor how far the Task has got.

        The Executor draws a progress bar on its terminal (a plain line every few
        seconds elsewhere), stores the progress with the run (``lute-exec db show``),
        and ``lute-exec follow`` and ``lute-exec top`` show it. Cheap enough to call on
        every item of a loop: at most one report per :data:`PROGRESS_INTERVAL` seconds
        is sent, and the latest one always reaches the Executor (at the latest when the
        Task ends). A report of completion (``done == total``, or ``1.0``) is sent at
        once. Under MPI every rank may report; the Executor shows the rank furthest
        behind. An Executor older than this call (its WELCOME does not list
        ``TASK_PROGRESS``) gets nothing; outside an Executor the reports go to stderr.

        Example::

            for index, event in enumerate(events):
                analyse(event)
                self._report_progress(index + 1, len(events))

        Args:
            done: Without ``total``: the fraction done, from 0 to 1. With ``total``: how
                many of the ``total`` items are done, from 0 to ``total``.
            total: How many items there are (more than 0), or ``None``.

        Raises:
            TypeError: ``done`` or ``total`` is not a number (``bool`` and strings
                are refused).
            ValueError: Not finite, ``total`` not above 0, or ``done`` outside
                [0, 1] (no ``total``) or [0, ``total``].
        """
        report = _checked_progress(done, total)
        now = time.monotonic()
        if report == self._progress_sent:
            return
        finished = report[0] >= (1 if report[1] is None else report[1])
        if not finished and now - self._progress_sent_at < PROGRESS_INTERVAL:
            self._progress_pending = report
            return
        self._send_progress(report, now)

    # Internals ----------------------------------------------------------------------
    def _barrier(self) -> None:
        if self._mpi_comm is not None:
            self._mpi_comm.Barrier()

    def _describe_failure(self) -> str:
        import traceback  # only on failure: keeps Task start-up lean

        text = traceback.format_exc()
        if self._mpi_comm is not None:
            text = "rank %d of %d failed:\n%s" % (self._rank, self._world_size, text)
        return text

    def _send_progress(self, report: Tuple[float, Optional[float]], now: float) -> None:
        self._progress_sent, self._progress_sent_at, self._progress_pending = report, now, None
        communicator = _context.get_communicator()
        accepts = getattr(communicator, "accepts", None)
        if communicator is not None and (accepts is None or not accepts(PROGRESS_SIGNAL)):
            return  # an Executor that does not know progress reports would refuse one
        _context.report(Message({"done": report[0], "total": report[1]}, PROGRESS_SIGNAL))

    def _flush_progress(self) -> None:
        """Send the latest progress report still held back by the rate limit."""
        if self._progress_pending is not None:
            self._send_progress(self._progress_pending, time.monotonic())

    def _finish_interrupted(self, default_status: TaskStatus, detail: str) -> None:
        self._flush_progress()
        if self._result.task_status == TaskStatus.RUNNING:
            self._result.task_status = default_status
        signal_name = _FINAL_SIGNALS.get(self._result.task_status, "TASK_FAILED")
        self._report_to_executor(Message(contents=detail, signal=signal_name))

    def _close_channel(self) -> None:
        communicator = _context.get_communicator()
        if communicator is not None:
            communicator.close()


def _number(value: Any, name: str) -> float:
    """``value`` as a plain int or float (numpy scalars too), or a clear error."""
    if isinstance(value, (bool, str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError("_report_progress: %s must be a number, got %r" % (name, value))
    number = value if type(value) is int else float(value)
    if number != number or abs(number) == _INFINITY:  # NaN, or infinite
        raise ValueError("_report_progress: %s must be finite, got %r" % (name, value))
    return number


def _checked_progress(done: Any, total: Any) -> Tuple[float, Optional[float]]:
    """The ``(done, total)`` of a progress report, checked (see ``Task._report_progress``)."""
    done = _number(done, "done")
    if total is None:
        if not 0 <= done <= 1:
            raise ValueError(
                "_report_progress: without total, done is a fraction from 0 to 1, got %r"
                " (pass total= to report done of total items)" % (done,)
            )
        return done, None
    total = _number(total, "total")
    if total <= 0:
        raise ValueError("_report_progress: total must be above 0, got %r" % (total,))
    if not 0 <= done <= total:
        raise ValueError(
            "_report_progress: done must be from 0 to total (%r), got %r" % (total, done)
        )
    return done, total


def third_party_environment(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment a third-party program runs with: ours, less LUTE's secrets.

    Without the hand-off variables (the IPC endpoint and key, the Task's name, the
    Executor's pid) and the eLog credentials: the program, and whatever it starts,
    has no business with them.
    """
    hidden = {
        setting.name
        for setting in settings.ALL.values()
        if setting.audience == settings.HANDOFF or setting.secret
    }
    hidden.add(settings.ELOG_USER.name)
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if name not in hidden}


class ThirdPartyTask(Task):
    """A Task that runs an external executable.

    The argument vector is built on the Executor side from the parameter model
    (``lute.io.models``) and handed over with the parameters; no shell is involved.
    The executable's stdout/stderr go straight to the Executor's log. It runs with
    :func:`third_party_environment`: LUTE's hand-off variables and eLog credentials
    are not passed on.

    Args:
        params: The validated parameters.
        use_mpi: See :class:`Task`.
        row_ids: See :class:`Task`.
        argv: The full command line, executable first.
        run_directory: Working directory for the executable (default: unchanged).
    """

    def __init__(
        self,
        *,
        params: Any,
        use_mpi: bool = False,
        row_ids: Optional[RowIds] = None,
        argv: Optional[Sequence[str]] = None,
        run_directory: Optional[str] = None,
    ) -> None:
        super().__init__(params=params, use_mpi=use_mpi, row_ids=row_ids)
        self._argv: List[str] = list(argv) if argv else []
        self._run_directory = run_directory
        self._returncode: Optional[int] = None

    def _run(self) -> None:
        import subprocess  # only third-party Tasks need it

        if not self._argv:
            raise ValueError(
                "%s has no command line: the Executor hands over 'argv' with the parameters"
                % self.name
            )
        self._report_to_executor(Message(contents=self._argv, signal="NO_PICKLE_MODE"))
        sys.stdout.flush()
        sys.stderr.flush()
        env = third_party_environment()
        process = subprocess.Popen(self._argv, cwd=self._run_directory or None, env=env)
        try:
            self._returncode = process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        if self._returncode != 0:
            raise RuntimeError("%s exited with code %d" % (self._argv[0], self._returncode))

    def _post_run(self) -> None:
        if not self._result.summary:
            self._result.summary = "%s exited with code %s" % (
                os.path.basename(self._argv[0]),
                self._returncode,
            )
