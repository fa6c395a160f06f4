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
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO

from lute._records import Record
from lute.execution.ipc import Listener, new_key
from lute.tasks.run import ENV_TASK_NAME

__all__ = ["CLOSE_GRACE", "Event", "Launch", "TaskProcess", "describe_exit"]

#: Seconds a Task process closed before its hand-off gets between SIGTERM and SIGKILL.
CLOSE_GRACE = 5.0


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


def describe_exit(returncode: int) -> str:
    """Words for a process's exit: ``exit code 3`` or ``killed by SIGSEGV (segfault)``."""
    if returncode >= 0:
        return "exit code %d" % returncode
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "signal %d" % -returncode
    notes = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed)", "SIGABRT": " (aborted)"}
    return "killed by %s%s" % (name, notes.get(name, ""))


class TaskProcess:
    """A Task's child process, its output pumps and its exit watcher.

    The child runs in its own session so that a terminal's Ctrl-C reaches only
    ``lute-exec``, which then forwards it; and so a timeout can end the whole
    process group (an ``mpirun`` and all of its ranks).

    Args:
        argv: Command line (no shell).
        env: Complete environment of the child.
        events: Queue receiving ``output`` and ``exit`` events.
        cwd: Working directory.
        log_file: Open text file receiving every output line (with its stream); may be
            given later with :meth:`attach_log` (lines seen before are kept until then).
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Dict[str, str],
        events: queue.Queue[Event],
        *,
        cwd: Optional[str] = None,
        log_file: Optional[TextIO] = None,
    ) -> None:
        self.argv = list(argv)
        self._events = events
        self._log_file = log_file
        self._log_backlog: List[str] = []
        self._log_lock = threading.Lock()
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

    def attach_log(self, log_file: TextIO) -> None:
        """Send output to ``log_file`` from now on, after the lines seen so far."""
        with self._log_lock:
            log_file.writelines(self._log_backlog)
            log_file.flush()
            self._log_backlog = []
            self._log_file = log_file

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self.process.pid

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._log_lock:
                if self._log_file is None:
                    self._log_backlog.append("%s: %s\n" % (name, line))
                else:
                    self._log_file.write("%s: %s\n" % (name, line))
                    self._log_file.flush()
            self._events.put(Event("output", (name, line)))
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
        # Deliver the output the process wrote before dying ahead of its exit event.
        for pump in self._pumps:
            pump.join(timeout=5.0)
        self._events.put(Event("exit", returncode))

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
        transport: IPC transport, ``"unix"`` or ``"tcp"``.
        zmq: Offer a ZMQ endpoint beside the stdlib one.
        hello_reply: The hand-off document; ``None`` defers it (see
            :meth:`lute.execution.ipc.Listener.set_hello_reply`).
    """

    def __init__(
        self, task_name: str, *, transport: str, zmq: bool, hello_reply: Optional[Dict[str, Any]]
    ) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        events = self.events
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
