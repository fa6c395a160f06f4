"""Run a Task's process and report everything that happens to it as events.

One queue carries every event of a run — IPC messages, output lines, the process's
exit, a cancellation request — so the run's loop blocks on a single ``get`` with
the time left until the Task's deadline. :class:`Launch` ties the queue to the IPC
listener and (once spawned) the Task's process. Nothing sleeps or polls on a fixed interval:
the process's death is seen by a thread blocked in ``wait()``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Sequence

from lute._records import Record
from lute.execution.ipc import Listener, new_key
from lute.execution.outcome import describe_exit
from lute.settings import EXECUTOR_PID
from lute.tasks.run import ENV_TASK_NAME

__all__ = ["CLOSE_GRACE", "Event", "Launch", "TaskProcess", "describe_exit"]

#: Seconds a Task process closed before its hand-off gets between SIGTERM and SIGKILL.
CLOSE_GRACE = 5.0
#: Longest output line kept whole, in bytes; longer lines arrive in pieces.
MAX_LINE_BYTES = 64 << 10
#: Seconds the output pumps get to drain the pipes after the Task's process has exited.
PUMP_DRAIN = 0.2
#: Seconds processes left behind in the Task's group get between SIGTERM and SIGKILL.
STRAY_GRACE = 1.0


class Event(Record):
    """Something that happened during a run.

    Attributes:
        kind: ``"message"``, ``"ipc_error"``, ``"output"``, ``"exit"`` or ``"cancel"``.
        data: The payload: ``(peer, message)``, ``(peer, error)``, ``(stream, line)``,
            the exit code, or the signal number.
    """

    __match_args__ = ("kind", "data")
    _FIELDS = __match_args__

    def __init__(self, kind: str, data: Any) -> None:
        self.kind = kind
        self.data = data


class TaskProcess:
    """A Task's child process, its output pumps and its exit watcher.

    The child runs in its own session so that a terminal's Ctrl-C reaches only
    ``lute-exec``, which then forwards it; and so a timeout can end the whole
    process group (an ``mpirun`` and all of its ranks). When the child exits, what is
    left of its group (processes a Task started in the background) is ended too, and
    the exit is reported without waiting for pipes such strays may still hold.

    Args:
        argv: Command line (no shell).
        env: Complete environment of the child.
        events: Queue receiving ``output`` and ``exit`` events.
        cwd: Working directory.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Dict[str, str],
        events: queue.SimpleQueue[Event],
        *,
        cwd: Optional[str] = None,
    ) -> None:
        self.argv = list(argv)
        self._events = events
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._pumps: List[threading.Thread] = []
        # Thread.start() blocks until the thread runs, while the new interpreter competes
        # for the CPU: start one thread here and let it start the output pumps.
        self._waiter = threading.Thread(target=self._watch, name="lute-waiter", daemon=True)
        self._waiter.start()

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self.process.pid

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        events = self._events
        while True:
            # Bounded: a Task printing one endless line must not exhaust our memory.
            raw = stream.readline(MAX_LINE_BYTES)
            if not raw:
                break
            if raw.endswith(b"\n"):
                line = raw[:-1].decode("utf-8", errors="replace")
            else:  # a piece of a longer line (or the last line, without newline)
                line = raw.decode("utf-8", errors="replace")
                if len(raw) == MAX_LINE_BYTES:
                    line += " [line continues]"
            events.put(Event("output", (name, line)))
        stream.close()

    def _watch(self) -> None:
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            assert stream is not None
            pump = threading.Thread(
                target=self._pump, args=(name, stream), name="lute-%s" % name, daemon=True
            )
            pump.start()
            self._pumps.append(pump)
        self._wait()

    def _wait(self) -> None:
        returncode = self.process.wait()
        # Deliver the output the process wrote before dying ahead of its exit event, and
        # end what is left of its group: processes the Task started in the background
        # must not outlive the run, nor keep it waiting on the pipes they hold.
        self._join_pumps(PUMP_DRAIN)
        if self._group_alive():
            self._end_strays()
            self._join_pumps(PUMP_DRAIN)
        self._events.put(Event("exit", returncode))

    def _join_pumps(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for pump in self._pumps:
            pump.join(timeout=max(0.0, deadline - time.monotonic()))

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _end_strays(self) -> None:
        """SIGTERM, then SIGKILL, the processes the Task left behind in its group.

        The only wait here that checks on an interval: it happens only when a Task
        leaves processes behind.
        """
        for signum in (signal.SIGTERM, signal.SIGKILL):
            self.send_signal(signum)
            deadline = time.monotonic() + STRAY_GRACE
            while self._group_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            if not self._group_alive():
                return
        # A stray that left the group (a session of its own) may still hold a pipe: its
        # output is dropped rather than keeping the run from ending.

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the child's whole process group (ignored once it is gone)."""
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:  # pragma: no cover - group left by a setuid child
            self.process.send_signal(signum)

    def terminate(self, grace: float, on_escalate: Optional[Callable[[], None]] = None) -> None:
        """SIGTERM the group; SIGKILL it if the child is still alive after ``grace`` s."""
        self.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            if on_escalate is not None:
                on_escalate()
            self.send_signal(signal.SIGKILL)
            self.process.wait()
        # Ranks or grandchildren that outlived the leader go too.
        self.send_signal(signal.SIGKILL)


class Launch:
    """The IPC listener, event queue and (once spawned) process of one Task run.

    Args:
        task_name: Name of the Task (given to the process so it imports itself early).
        events: The run's event queue (IPC messages and errors, output, the exit).
        transport: IPC transport, ``"unix"`` or ``"tcp"``.
        zmq: Offer a ZMQ endpoint beside the stdlib one.
        hello_reply: The hand-off document; ``None`` defers it (see
            :meth:`lute.execution.ipc.Listener.set_hello_reply`).
    """

    def __init__(
        self,
        task_name: str,
        events: queue.SimpleQueue[Event],
        *,
        transport: str,
        zmq: bool,
        hello_reply: Optional[Dict[str, Any]],
    ) -> None:
        self.events = events
        self.listener = Listener(
            new_key(),
            hello_reply=hello_reply,
            on_message=lambda peer, msg: events.put(Event("message", (peer, msg))),
            on_error=lambda peer, err: events.put(Event("ipc_error", (peer, err))),
            transport=transport,
            zmq=zmq,
        )
        self.listener.start()
        self.task_name = task_name
        self.argv: Optional[List[str]] = None
        self.process: Optional[TaskProcess] = None

    def spawn(self, argv: Sequence[str], env: Mapping[str, str]) -> TaskProcess:
        """Start the Task process with the IPC variables and the Task's name added."""
        full_env = dict(env)
        full_env.update(self.listener.task_environment())
        full_env[ENV_TASK_NAME] = self.task_name  # the Task imports itself while we validate
        # The Task ends when this process does (see lute.tasks.run.end_with_parent).
        full_env[EXECUTOR_PID.name] = str(os.getpid())
        self.argv = list(argv)
        self.process = TaskProcess(argv, full_env, self.events)
        return self.process

    def __enter__(self) -> Launch:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the listener; kill the Task's process group if it is still running.

        Idempotent. After a normal run the process has exited and only the listener is
        closed; after an error in the Executor (or before the hand-off was sent) the
        Task must not outlive it.
        """
        if self.process is not None and self.process.process.poll() is None:
            # SIGTERM first: an MPI launcher then ends its ranks (SIGKILL would orphan
            # them); a Task still waiting for its hand-off dies of it at once.
            self.process.terminate(grace=CLOSE_GRACE)
        self.listener.close()
