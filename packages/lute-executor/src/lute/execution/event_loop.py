"""The loop of one run: every event of the Task handled, in order, on the run's thread.

IPC messages go to the managed task's hooks, output lines to the console (and so to the
log), IPC errors are shown; the deadline and cancel requests stop the Task (SIGTERM,
SIGKILL after the grace), a second request kills it at once. Plain messages are written
to the database in batches while the Task runs (at most :data:`MESSAGE_DELAY` after
they arrive), the Task's progress when its store interval has passed (see
:meth:`RunState.note_progress`), and the run's heartbeat every ``HEARTBEAT_INTERVAL``.
The MPI status line counts the ranks heard from of those launched. The loop blocks on
the run's queue until the next of those moments: it never polls.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, Set, Tuple

from lute.execution.definition import ManagedTaskDefinition
from lute.execution.run_signals import forward_delay, slurm_job_reason
from lute.execution.run_state import RunState
from lute.execution.supervision import Event, TaskProcess

__all__ = ["MESSAGE_BATCH", "MESSAGE_DELAY", "EventLoop", "launched_ranks"]

#: Messages written to the database in one transaction, at most.
MESSAGE_BATCH = 1000
#: Seconds a received message waits at most before it is written.
MESSAGE_DELAY = 0.25


class EventLoop:
    """Handles the events of one run.

    Args:
        state: The run's state (changed by the hooks and the loop).
        events: The run's event queue.
        definition: The managed task: its hooks, called ``hook(definition, message)``.
    """

    def __init__(
        self,
        state: RunState,
        events: queue.SimpleQueue[Event],
        definition: ManagedTaskDefinition,
    ) -> None:
        self.state = state
        self.events = events
        self.definition = definition
        self._ranks: Set[int] = set()  # the Task processes heard from (MPI ranks)
        self._flush_due = 0.0  # when the oldest unwritten message must be written
        self._hooks: Dict[str, Tuple[Any, ...]] = {}  # by signal, looked up once a run

    def run(self, process: TaskProcess, deadline: Optional[float]) -> int:
        """Handle events until the Task's process exits; its exit code.

        Args:
            process: The Task's process.
            deadline: ``time.monotonic()`` when the Task is stopped (``None``: never).
        """
        state = self.state
        console = state.console
        assert state.plan is not None
        grace = state.plan.kill_grace
        timeout = state.plan.timeout
        from lute.io.db import HEARTBEAT_INTERVAL  # imported by the run by now

        beat = time.monotonic() + HEARTBEAT_INTERVAL
        while True:
            now = time.monotonic()
            wake = beat if deadline is None else min(deadline, beat)
            if state.messages:
                wake = min(wake, self._flush_due)
            if state.progress_due is not None:
                wake = min(wake, state.progress_due)
            if self.events.empty():
                console.flush()  # nothing else to do: what was said reaches its readers
            try:
                event = self.events.get(timeout=max(0.0, wake - now))
            except queue.Empty:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    state.timed_out = True
                    console.line(
                        "timeout: %s ran past its timeout of %g s; stopping it (SIGTERM, "
                        "SIGKILL after %g s)" % (state.task_name, timeout or 0, grace)
                    )
                    _in_background(process.terminate, grace)
                    deadline = None
                if state.messages and now >= self._flush_due:
                    self._flush()
                if state.progress_due is not None and now >= state.progress_due:
                    state.store_progress(now)
                if now >= beat:
                    self._heartbeat()
                    beat = now + HEARTBEAT_INTERVAL
                continue
            if event.kind == "exit":
                return int(event.data)
            if event.kind == "cancel":
                self._cancel(process, int(event.data), grace)
                continue
            waiting = len(state.messages)
            self._dispatch(event)
            if len(state.messages) >= MESSAGE_BATCH:
                self._flush()
            elif state.messages and not waiting:
                self._flush_due = time.monotonic() + MESSAGE_DELAY

    def _flush(self) -> None:
        """Write the messages received so far: they are in the database while the Task runs."""
        self.state.flush_messages()

    def _heartbeat(self) -> None:
        """Tell readers that this run's Executor is alive (see ``lute.io.db`` LOST rules)."""
        state = self.state
        if state.db is not None and state.execution_id is not None:
            state.db.heartbeat(state.execution_id)

    def _cancel(self, process: TaskProcess, signum: int, grace: float) -> None:
        state = self.state
        name = signal.Signals(signum).name
        if state.cancelled_by is not None or state.timed_out:  # a second request: no patience
            state.console.line("received %s again: killing %s" % (name, state.task_name))
            process.send_signal(signal.SIGKILL)
            return
        state.cancelled_by = signum
        delay = forward_delay(signum)
        if delay:
            state.slurm_time_limit = slurm_job_reason() == "TimeLimit"
            cause = "the job's time limit" if state.slurm_time_limit else "SLURM"
            state.console.line(
                "received %s from %s (SLURM signals the Task too): giving %s %g s to stop"
                % (name, cause, state.task_name, delay)
            )
        else:
            state.console.line("received %s: cancelling %s" % (name, state.task_name))
        _in_background(_stop_after, process, delay, grace)

    def drain(self) -> None:
        """Handle what arrived before the Task's exit; later cancellations change nothing."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                if self.state.progress_due is not None:  # the latest progress, kept
                    self.state.store_progress()
                return
            if event.kind == "cancel":
                self.state.console.line(
                    "received %s after %s had ended: recording how it ended"
                    % (signal.Signals(event.data).name, self.state.task_name)
                )
            elif event.kind != "exit":
                self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        state = self.state
        console = state.console
        if event.kind == "output":
            stream, line = event.data
            console.line(line if stream == "stdout" else "stderr: %s" % line)
            return
        if event.kind == "ipc_error":
            peer, error = event.data
            who = "" if peer is None else " (rank %d, pid %d)" % (peer.rank, peer.pid)
            console.line("IPC error%s: %s" % (who, error))
            if getattr(error, "to_bytes", None) is not None:  # an UndecodableMessage
                state.keep_undecodable(error)
            return
        peer, message = event.data
        state.peer = peer
        if self.definition.multi_rank and peer is not None and peer.peer_id not in self._ranks:
            self._ranks.add(peer.peer_id)
            # Heard from / launched: "1/2 ranks" says one rank has not spoken yet.
            launched = None if state.plan is None else launched_ranks(state.plan.argv)
            heard = "%d/%d" % (len(self._ranks), launched) if launched else len(self._ranks)
            console.detail("%s ranks" % heard)
        hooks = self._hooks.get(message.signal)
        if hooks is None:
            hooks = self._hooks[message.signal] = tuple(self.definition.hooks_for(message.signal))
        for hook in hooks:
            if hook(self.definition, message) is False:
                break


def launched_ranks(argv: Sequence[str]) -> Optional[int]:
    """How many ranks a launch line starts (``mpirun -n N``, ``srun -n N``), if it says."""
    for flag, value in zip(argv, argv[1:]):
        if flag in ("-n", "-np", "--np", "--ntasks") and value.isdigit():
            return int(value)
        if flag.startswith("--ntasks=") and flag[9:].isdigit():
            return int(flag[9:])
    return None


def _in_background(function: Callable[..., Any], *args: Any) -> None:
    threading.Thread(target=function, args=args, daemon=True).start()


def _stop_after(process: TaskProcess, delay: float, grace: float) -> None:
    """SIGTERM the Task (SIGKILL after ``grace``) unless it ends within ``delay`` s."""
    if delay:
        try:
            process.process.wait(timeout=delay)
            return
        except subprocess.TimeoutExpired:
            pass
    process.terminate(grace)
