"""Executors: validate a Task's parameters, launch it, listen to it, record the outcome.

A *managed task* is a named Executor instance (see :mod:`lute.managed_tasks`)::

    Tester = Executor("Test")
    Tester.update_environment({"OMP_NUM_THREADS": "1"})
    status = Tester.execute_task("config.yaml")

Each signal a Task sends (see :data:`lute.execution.ipc.LUTE_SIGNALS`, plus ``""`` for a
plain message) runs the hooks registered for it on *this* Executor instance, in order;
``add_default_hooks`` installs one per signal that records status and results.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution import _gc_pause
from lute.execution.console import Console
from lute.execution.environments import (
    EnvironmentSpec,
    EnvironmentUpdate,
    ResolvedEnvironment,
    resolve_environment,
    spec_from_config_file,
)
from lute.execution.ipc import LUTE_SIGNALS, Listener, Message, Peer, new_key
from lute.execution.supervision import Event, TaskProcess, describe_exit
from lute.tasks.dataclasses import DescribedAnalysis, ElogSummaryPlots, TaskResult, TaskStatus
from lute.tasks.run import ENV_TASK_NAME

__all__ = [
    "BaseExecutor",
    "Executor",
    "ExecutorError",
    "Hook",
    "MPIExecutor",
    "exit_code_for_status",
]

Hook = Callable[["BaseExecutor", Message], Optional[bool]]

# Exit codes of lute-exec (and of execute_task's callers).
EXIT_CODES = {
    TaskStatus.COMPLETED: 0,
    TaskStatus.FAILED: 1,
    TaskStatus.STOPPED: 1,
    TaskStatus.TIMEDOUT: 124,
    TaskStatus.CANCELLED: 130,
}
TASK_ENTRY_MODULE = "lute.tasks.run"
DEFAULT_KILL_GRACE = 10.0
MAX_STORED_MESSAGES = 10000
MAX_MESSAGE_CHARS = 2000


def exit_code_for_status(status: TaskStatus) -> int:
    """The process exit code that reflects a Task's final status."""
    return EXIT_CODES.get(status, 1)


class ExecutorError(RuntimeError):
    """The Task could not be launched; the message says why and how to fix it."""


class Tasklet(Record):
    """A function run before or after the Task.

    Its arguments may be strings holding ``{param}`` placeholders, filled from the
    Task's parameters (``{lute_config.run}``, ``{compound_var.int_var}``).

    Attributes:
        function: The function.
        args: Its arguments.
        when: ``"before"`` or ``"after"`` the Task.
        set_result: Merge the return value into the Task's result payload.
        set_summary: Merge the return value into the Task's result summary.
    """

    __match_args__ = ("function", "args", "when", "set_result", "set_summary")
    _FIELDS = __match_args__

    def __init__(
        self,
        function: Callable[..., Any],
        args: Tuple[Any, ...],
        when: str,
        set_result: bool,
        set_summary: bool,
    ) -> None:
        self.function = function
        self.args = args
        self.when = when
        self.set_result = set_result
        self.set_summary = set_summary


class RunState(Record):
    """Everything the Executor learns during one ``execute_task``.

    Attributes:
        managed_task: Name of the managed task.
        task_name: Name of the Task.
        status: Current status.
        reported_status: The final status the Task reported, if any.
        execution_id: The database row of the execution.
        db: The open :class:`~lute.io.db.Database`.
        error: What went wrong, for the record.
        returncode: The Task process's exit code.
        timed_out: The Task was stopped at its deadline.
        cancelled_by: The signal that cancelled the run.
        messages: Stored plain messages, ``(time, rank, text)``; default: a new list.
        message_count: Plain messages received (stored or not).
        result: The Task's result.
        result_recorded: ``result`` is in the database as it is now.
        log_path: The run's log file.
        work_dir: The config's ``work_dir``.
        started: ``time.time()`` at the start; default: when the state is created.
        parameters: The parameters sent to the Task; default: a new dict.
    """

    __match_args__ = (
        "managed_task",
        "task_name",
        "status",
        "reported_status",
        "execution_id",
        "db",
        "error",
        "returncode",
        "timed_out",
        "cancelled_by",
        "messages",
        "message_count",
        "result",
        "result_recorded",
        "log_path",
        "work_dir",
        "started",
        "parameters",
    )
    _FIELDS = __match_args__

    def __init__(
        self,
        managed_task: str,
        task_name: str,
        status: TaskStatus = TaskStatus.PENDING,
        reported_status: Optional[TaskStatus] = None,
        execution_id: Optional[int] = None,
        db: Any = None,
        error: Optional[str] = None,
        returncode: Optional[int] = None,
        timed_out: bool = False,
        cancelled_by: Optional[int] = None,
        messages: Optional[List[Tuple[float, int, str]]] = None,
        message_count: int = 0,
        result: Optional[TaskResult] = None,
        result_recorded: bool = False,
        log_path: Optional[str] = None,
        work_dir: str = "",
        started: Optional[float] = None,
        parameters: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.managed_task = managed_task
        self.task_name = task_name
        self.status = status
        self.reported_status = reported_status
        self.execution_id = execution_id
        self.db = db
        self.error = error
        self.returncode = returncode
        self.timed_out = timed_out
        self.cancelled_by = cancelled_by
        # None stands for "not given": a fresh list, the current time, a fresh dict.
        self.messages: List[Tuple[float, int, str]] = [] if messages is None else messages
        self.message_count = message_count
        self.result = result
        self.result_recorded = result_recorded
        self.log_path = log_path
        self.work_dir = work_dir
        self.started: float = time.time() if started is None else started
        self.parameters: Dict[str, Any] = {} if parameters is None else parameters


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def _fill_placeholders(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Fill ``{dotted.name}`` placeholders of a tasklet argument from the parameters.

    An argument that is exactly one placeholder gets the parameter's value with its
    type; placeholders inside a longer string are formatted into it.
    """
    if not isinstance(value, str) or "{" not in value:
        return value

    def lookup(name: str) -> Any:
        node: Any = parameters
        for part in name.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ExecutorError(
                    "tasklet argument %r names parameter %r, which does not exist" % (value, name)
                )
            node = node[part]
        return node

    whole = _PLACEHOLDER.fullmatch(value)
    if whole is not None:
        return lookup(whole.group(1))
    return _PLACEHOLDER.sub(lambda match: str(lookup(match.group(1))), value)


class BaseExecutor:
    """Launches one Task and manages its lifetime.

    Args:
        task_name: Name of the Task (and of its parameter model, ``<Task>Parameters``).
        timeout: Seconds before the Task is stopped; default: ``lute_config.task_timeout``.
        environment: Where the Task runs; default: the Executor's own interpreter.
        transport: IPC transport, ``"unix"`` (one host) or ``"tcp"`` (across hosts).
        use_zmq: Offer ZMQ beside the stdlib socket; ``None`` follows ``LUTE_USE_ZMQ``.
        kill_grace: Seconds between SIGTERM and SIGKILL when stopping the Task.
        poll_interval: Accepted for compatibility; the Executor never polls.
    """

    def __init__(
        self,
        task_name: str,
        *,
        timeout: Optional[float] = None,
        environment: Optional[EnvironmentSpec] = None,
        transport: str = "unix",
        use_zmq: Optional[bool] = None,
        kill_grace: float = DEFAULT_KILL_GRACE,
        poll_interval: float = 0.0,
    ) -> None:
        self._task_name = task_name
        self.name = task_name  # replaced by the managed task's name when looked up
        self._timeout = timeout
        self._environment = environment or EnvironmentSpec.current()
        self._transport = transport
        self._use_zmq = use_zmq
        self._kill_grace = kill_grace
        self._hooks: Dict[str, List[Hook]] = {}
        self._tasklets: List[Tasklet] = []
        self._env_updates: List[EnvironmentUpdate] = []
        self._sourced_scripts: List[str] = []
        self._analysis_desc: Optional[DescribedAnalysis] = None
        self._run: Optional[RunState] = None
        # The Task process (MPI rank) whose message is being handled.
        self._current_peer: Optional[Peer] = None
        # Whether messages are tagged with their rank (several Task processes).
        self._multi_rank = False
        self._console: Optional[Console] = None

    # Configuration ------------------------------------------------------------------
    @property
    def task_name(self) -> str:
        """Name of the Task this Executor runs."""
        return self._task_name

    def add_hook(self, event: str, hook: Hook) -> None:
        """Run ``hook(executor, message)`` whenever the Task sends ``event``.

        Args:
            event: One of :data:`LUTE_SIGNALS`, or ``""`` for plain messages.
            hook: Called on the Executor's main thread, after earlier hooks for ``event``.

        Raises:
            ValueError: ``event`` is not a known signal.
        """
        if event not in LUTE_SIGNALS and event != "":
            raise ValueError(
                "unknown signal %r: use one of %s, or '' for plain messages"
                % (event, ", ".join(LUTE_SIGNALS))
            )
        self._hooks.setdefault(event, []).append(hook)

    def add_default_hooks(self) -> None:
        """Install the standard hook for each signal (status, results, live output)."""
        defaults: Dict[str, Hook] = {
            "": BaseExecutor._hook_plain_message,
            "NO_PICKLE_MODE": BaseExecutor._hook_no_pickle_mode,
            "TASK_STARTED": BaseExecutor._hook_task_started,
            "TASK_RESULT": BaseExecutor._hook_task_result,
            "TASK_DONE": BaseExecutor._hook_task_done,
            "TASK_FAILED": BaseExecutor._hook_task_failed,
            "TASK_STOPPED": BaseExecutor._hook_task_stopped,
            "TASK_CANCELLED": BaseExecutor._hook_task_cancelled,
        }
        for event, hook in defaults.items():
            self.add_hook(event, hook)

    def add_tasklet(
        self,
        tasklet: Callable[..., Any],
        args: Sequence[Any] = (),
        when: str = "after",
        set_result: bool = False,
        set_summary: bool = False,
    ) -> None:
        """Run a function before or after the Task.

        Args:
            tasklet: The function.
            args: Its arguments; strings may hold ``{param}`` placeholders filled from
                the Task's parameters (``"{lute_config.run}"``).
            when: ``"before"`` or ``"after"`` the Task.
            set_result: Merge the return value into the Task's result payload.
            set_summary: Merge the return value into the Task's result summary.
        """
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after', not %r" % (when,))
        self._tasklets.append(Tasklet(tasklet, tuple(args), when, set_result, set_summary))

    def update_environment(self, env: Mapping[str, str], update_path: str = "prepend") -> None:
        """Set variables in the Task's environment (calls accumulate, in order).

        Args:
            env: Variable names and values.
            update_path: For ``PATH``-like variables, ``prepend`` (default), ``append``
                or ``overwrite``.
        """
        if update_path not in ("prepend", "append", "overwrite"):
            raise ValueError(
                "update_path must be 'prepend', 'append' or 'overwrite', not %r" % update_path
            )
        self._env_updates.append(
            EnvironmentUpdate(tuple((str(k), str(v)) for k, v in env.items()), update_path)
        )

    def shell_source(self, script: str) -> None:
        """Take the environment that sourcing ``script`` (with bash) sets up.

        The script runs at launch, before ``update_environment`` variables are
        applied; its output is never evaluated.
        """
        self._sourced_scripts.append(script)

    def set_environment(self, spec: EnvironmentSpec) -> None:
        """Run the Task in another environment (venv, conda, interpreter …)."""
        self._environment = spec

    # Launch -------------------------------------------------------------------------
    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]:
        """Command line that starts the Task (subclasses wrap it, e.g. in mpirun).

        Args:
            python: The Task environment's interpreter.
            parameters: The validated model (``None`` before validation).
            path: ``PATH`` of the Task's environment, where launchers are looked up.
        """
        return [python, "-m", TASK_ENTRY_MODULE]

    def execute_task(
        self,
        config_path: Optional[str] = None,
        overrides: Sequence[str] = (),
        *,
        dry_run: bool = False,
        console: Optional[Console] = None,
    ) -> TaskStatus:
        """Validate the parameters, run the Task and record everything.

        Args:
            config_path: YAML config; default: ``$LUTE_CONFIGPATH``.
            overrides: ``Task.param=value`` strings applied after the file.
            dry_run: Print what would be launched, with its environment, and stop;
                nothing is written.
            console: Where progress is shown (default: stderr).

        Returns:
            The Task's final status.

        Raises:
            lute.io.config.ConfigError: The configuration is invalid (nothing written).
            ExecutorError: The Task cannot be launched (nothing recorded as RUNNING).
        """
        from lute.execution.launch import LaunchPlan

        config_path = config_path or os.environ.get("LUTE_CONFIGPATH")
        if not config_path:
            raise ExecutorError("no config file: pass one (-c CONFIG) or set LUTE_CONFIGPATH")
        from lute.execution.preflight import preflight

        self._console = console or Console(self.name)
        # A config's task_environments entry overrides the environment set in Python.
        configured = spec_from_config_file(config_path, (self.name, self._task_name))
        resolved = self.resolve_environment(configured)
        probe = preflight(resolved, self._task_name)
        launch = None
        early_argv = (
            None
            if dry_run
            else self._argv_before_validation(resolved, probe, config_path, overrides)
        )
        if early_argv is not None:
            # Start the Task's interpreter (or its MPI job) now: it imports itself while we
            # validate, then waits in the IPC handshake for its parameters (see
            # Listener.set_hello_reply).
            launch = _Launch(self, self._listener_zmq(probe), hello_reply=None)
            launch.spawn(early_argv, resolved.env)
        try:
            plan = LaunchPlan.prepare(self, config_path, overrides, resolved=resolved, probe=probe)
            if dry_run:
                plan.print_dry_run(sys.stdout)
                return TaskStatus.PENDING
            if launch is not None and launch.argv != plan.argv:
                # The validated parameters changed the command line: start it anew.
                launch.close()
                launch = None
            return self._execute(plan, launch)
        finally:
            if launch is not None:
                launch.close()  # ends a Task process that never got its parameters

    # Internals ----------------------------------------------------------------------
    def resolve_environment(self, spec: Optional[EnvironmentSpec] = None) -> ResolvedEnvironment:
        """Resolve an environment spec (default: this Executor's) plus the updates."""
        return resolve_environment(
            spec or self._environment,
            updates=self._env_updates,
            sourced_scripts=self._sourced_scripts,
        )

    def _argv_before_validation(
        self,
        resolved: ResolvedEnvironment,
        probe: Any,
        config_path: str,
        overrides: Sequence[str],
    ) -> Optional[List[str]]:
        """The Task's command line if it can start before its config is validated.

        ``None`` when a ZMQ endpoint is offered (its hand-off cannot be deferred) or the
        command line may depend on the parameters (see :meth:`_early_task_argv`). The
        line is checked against the validated one before the hand-off is sent.
        """
        if self._listener_zmq(probe):
            return None
        return self._early_task_argv(resolved, config_path, overrides)

    def _early_task_argv(
        self, resolved: ResolvedEnvironment, config_path: str, overrides: Sequence[str]
    ) -> Optional[List[str]]:
        """:meth:`task_argv` without the parameters, where they cannot change it.

        A subclass that overrides :meth:`task_argv` is assumed to use them.
        """
        if type(self).task_argv is not BaseExecutor.task_argv:
            return None
        return self.task_argv(resolved.python, None, path=resolved.env.get("PATH"))

    def _listener_zmq(self, probe: Any) -> bool:
        """Offer ZMQ only when asked for and where the Task's environment has pyzmq."""
        if probe is not None and not probe.zmq:
            return False
        if self._use_zmq is not None:
            return bool(self._use_zmq)
        return os.environ.get("LUTE_USE_ZMQ", "").strip().lower() in ("1", "true", "yes", "on")

    def _execute(self, plan: Any, launch: Optional[_Launch] = None) -> TaskStatus:
        from lute.io.db import Database

        console = self._console
        assert console is not None
        run = RunState(managed_task=self.name, task_name=self._task_name)
        run.parameters = plan.wire_parameters
        run.work_dir = plan.work_dir
        self._run = run
        os.makedirs(plan.work_dir, exist_ok=True)
        run.db = Database(plan.db_path)
        try:
            row_ids = run.db.start_execution(
                managed_task=self.name,
                task_name=self._task_name,
                experiment=plan.experiment,
                run=plan.run_number,
                parameters=plan.wire_parameters,
                work_dir=plan.work_dir,
                host=socket.gethostname(),
                environment=plan.environment_record(),
                versions=plan.versions(),
                config_path=plan.config_path,
            )
            run.execution_id = row_ids.execution_id
            self._analysis_desc = DescribedAnalysis(
                task_result=TaskResult(self._task_name, TaskStatus.PENDING, "", ""),
                task_parameters=plan.model,
                task_env=plan.resolved.env,
            )
            self._run_tasklets("before", plan.wire_parameters)
            status = self._supervise(plan, row_ids, launch)
            self._run_tasklets("after", plan.wire_parameters)
            self._finish(plan, status)
            return run.status
        except BaseException as error:
            # Whatever went wrong here, the record must not stay RUNNING.
            if run.execution_id is not None and not run.status.is_terminal:
                if isinstance(error, KeyboardInterrupt):
                    run.status = TaskStatus.CANCELLED
                    run.error = run.error or "interrupted before the Task was running"
                else:
                    run.status = TaskStatus.FAILED
                    run.error = run.error or "executor error: %s: %s" % (
                        type(error).__name__,
                        error,
                    )
                run.db.set_status(run.execution_id, run.status.value, error=run.error)
            raise
        finally:
            console.close()
            run.db.close()

    def _supervise(self, plan: Any, row_ids: Any, launch: Optional[_Launch]) -> TaskStatus:
        run = self._run
        console = self._console
        assert run is not None and console is not None
        handoff = plan.handoff(row_ids)
        if launch is None:
            launch = _Launch(self, self._listener_zmq(plan.probe), hello_reply=handoff)
        execution_id = run.execution_id
        assert execution_id is not None
        run.log_path = os.path.join(plan.work_dir, "logs", "%s_%d.log" % (self.name, execution_id))
        os.makedirs(os.path.dirname(run.log_path), exist_ok=True)
        deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
        if plan.run_directory:
            os.makedirs(plan.run_directory, exist_ok=True)
        with launch, open(run.log_path, "w") as log_file, self._forward_signals(launch.events):
            if launch.process is None:
                launch.spawn(plan.argv, plan.resolved.env)
            else:
                launch.listener.set_hello_reply(handoff)
            process = launch.process
            assert process is not None
            _gc_pause.resume()  # start-up is over: the run collects garbage normally
            process.attach_log(log_file)
            console.line(
                "launched %s (pid %d, execution %d): %s"
                % (self._task_name, process.pid, execution_id, " ".join(plan.argv))
            )
            console.status("LAUNCHED")
            returncode = self._event_loop(launch.events, process, deadline)
            run.returncode = returncode
            if not launch.listener.wait_idle(timeout=5.0):
                console.line("warning: some Task connections did not close within 5 s")
            self._drain(launch.events)
            lost = [peer for peer in launch.listener.peers if not peer.goodbye]
        return self._final_status(returncode, lost)

    def _event_loop(
        self, events: queue.Queue[Event], process: TaskProcess, deadline: Optional[float]
    ) -> int:
        run = self._run
        console = self._console
        assert run is not None and console is not None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = events.get(timeout=timeout)
            except queue.Empty:
                run.timed_out = True
                console.line(
                    "timeout: %s ran past %.0f s; stopping it (SIGTERM, SIGKILL after %.0f s)"
                    % (
                        self._task_name,
                        time.monotonic() - process.started_at,
                        self._kill_grace,
                    )
                )
                threading.Thread(
                    target=process.terminate, args=(self._kill_grace,), daemon=True
                ).start()
                deadline = None
                continue
            if event.kind == "exit":
                return int(event.data)
            if event.kind == "cancel":
                if run.cancelled_by is not None:  # second request: no more patience
                    console.line("second interrupt: killing %s" % self._task_name)
                    process.send_signal(signal.SIGKILL)
                    continue
                run.cancelled_by = int(event.data)
                console.line(
                    "received %s: cancelling %s"
                    % (signal.Signals(event.data).name, self._task_name)
                )
                threading.Thread(
                    target=process.terminate, args=(self._kill_grace,), daemon=True
                ).start()
                continue
            self._dispatch(event)

    def _drain(self, events: queue.Queue[Event]) -> None:
        while True:
            try:
                event = events.get_nowait()
            except queue.Empty:
                return
            if event.kind not in ("exit", "cancel"):
                self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        run = self._run
        console = self._console
        assert run is not None and console is not None
        if event.kind == "output":
            stream, line = event.data
            console.line(line if stream == "stdout" else "stderr: %s" % line)
            return
        if event.kind == "ipc_error":
            peer, error = event.data
            who = "" if peer is None else " (rank %d, pid %d)" % (peer.rank, peer.pid)
            console.line("IPC error%s: %s" % (who, error))
            return
        peer, message = event.data
        self._current_peer = peer
        for hook in self._hooks.get(message.signal, []):
            if hook(self, message) is False:
                break

    @contextmanager
    def _forward_signals(self, events: queue.Queue[Event]) -> Iterator[None]:
        """Turn SIGINT/SIGTERM to lute-exec into cancel events while the Task runs."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, lambda signum, _frame: events.put(Event("cancel", signum)))
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _final_status(self, returncode: int, lost: Sequence[Peer] = ()) -> TaskStatus:
        """Decide the outcome from what the Task said and how its process(es) ended.

        ``lost`` are the Task processes (MPI ranks) whose connection ended without a
        goodbye: they died abruptly, which fails the run even if another rank reported
        something else (e.g. CANCELLED because the MPI launcher then stopped it).
        """
        run = self._run
        assert run is not None
        how = describe_exit(returncode)
        if run.timed_out:
            run.error = run.error or "timed out; the process ended with %s" % how
            return TaskStatus.TIMEDOUT
        if run.cancelled_by is not None:
            run.error = run.error or "cancelled by %s" % signal.Signals(run.cancelled_by).name
            return TaskStatus.CANCELLED
        reported = run.reported_status
        if lost and reported != TaskStatus.FAILED:
            who = ", ".join("rank %d (pid %d)" % (peer.rank, peer.pid) for peer in lost)
            run.error = "%s ended without closing its connection (killed or crashed); %s" % (
                who,
                "the process ended with %s" % how,
            )
            return TaskStatus.FAILED
        if reported is not None:
            if reported == TaskStatus.COMPLETED and returncode != 0:
                run.error = "the Task reported success but its process ended with %s" % how
                return TaskStatus.FAILED
            return reported
        if returncode == 0:
            run.error = "the Task's process ended (%s) without reporting an outcome" % how
        else:
            run.error = run.error or "the Task's process ended with %s" % how
        return TaskStatus.FAILED

    def _run_tasklets(self, when: str, parameters: Mapping[str, Any]) -> None:
        run = self._run
        assert run is not None and self._console is not None
        for tasklet in self._tasklets:
            if tasklet.when != when:
                continue
            if when == "after" and run.reported_status != TaskStatus.COMPLETED:
                continue  # nothing to post-process
            args = [_fill_placeholders(arg, parameters) for arg in tasklet.args]
            name = getattr(tasklet.function, "__name__", repr(tasklet.function))
            self._console.line(
                "tasklet %s(%s) %s the Task" % (name, ", ".join(map(repr, args)), when)
            )
            output = tasklet.function(*args)
            if output is None or not (tasklet.set_result or tasklet.set_summary):
                continue
            if run.result is None:
                run.result = TaskResult(self._task_name, TaskStatus.COMPLETED, "", "")
            if tasklet.set_summary:
                run.result.summary = _merge(run.result.summary, output)
            if tasklet.set_result:
                run.result.payload = _merge(run.result.payload, output)
            run.result_recorded = False

    def _finish(self, plan: Any, status: TaskStatus) -> None:
        from lute.io.elog import plots_directory, report_all, summarise

        run = self._run
        console = self._console
        assert run is not None and console is not None and run.execution_id is not None
        run.status = status
        if run.result is None and status == TaskStatus.COMPLETED:
            known = plan.result_from_parameters()
            if known is not None:
                run.result = TaskResult(
                    self._task_name, status, known.summary or "", known.payload, known.impl_schemas
                )
        items: List[Any] = []
        if run.result is not None:
            run.result.task_status = status
            plots_dir = plots_directory(plan.work_dir, plan.experiment, plan.run_number)
            items = summarise(run.result, plots_dir=plots_dir)
            if not run.result_recorded:
                run.db.add_result(
                    run.execution_id,
                    _summary_for_db(run.result.summary, items),
                    run.result.payload,
                    task_status=status.value,
                )
                run.result_recorded = True
            if self._analysis_desc is not None:
                self._analysis_desc.task_result = run.result
        if run.messages:
            run.db.add_messages(run.execution_id, run.messages)
        run.db.set_status(
            run.execution_id,
            status.value,
            exit_code=run.returncode,
            signal=None
            if run.returncode is None or run.returncode >= 0
            else signal.Signals(-run.returncode).name,
            error=run.error if status != TaskStatus.COMPLETED else None,
        )
        record = run.db.execution(run.execution_id).to_dict()
        record.update(
            log_path=run.log_path,
            parameters=run.parameters,
            duration_s=round(time.time() - run.started, 3),
        )
        # A failing reporter is logged and never changes the Task's outcome.
        report_all(plan.reporters, execution=record, items=items)
        verdict = "%s %s (%s)" % (self._task_name, status.value, describe_exit(run.returncode or 0))
        if run.error and status != TaskStatus.COMPLETED:
            console.line("%s: %s" % (verdict, run.error.strip().splitlines()[-1]))
        else:
            console.line(verdict)
        console.line(
            "log: %s; database: %s (execution %d)" % (run.log_path, plan.db_path, run.execution_id)
        )
        for reporter in plan.reporters:
            if hasattr(reporter, "paths"):  # the local report: say where to open it
                console.line("report: %s" % reporter.paths(record)[0])

    # Default hooks ----------------------------------------------------------------
    def _hook_plain_message(self, msg: Message) -> None:
        run = self._run
        console = self._console
        assert run is not None and console is not None
        text = msg.contents if isinstance(msg.contents, str) else repr(msg.contents)
        rank = self._peer_rank()
        prefix = "" if rank is None else "[rank %d] " % rank
        run.message_count += 1
        if len(run.messages) < MAX_STORED_MESSAGES:
            run.messages.append((time.time(), rank or 0, text[:MAX_MESSAGE_CHARS]))
        shown = text if len(text) <= 500 else text[:497] + "..."
        console.line(prefix + shown)
        console.status(run.status.value, prefix + shown)

    def _hook_no_pickle_mode(self, msg: Message) -> None:
        assert self._console is not None
        argv = msg.contents if isinstance(msg.contents, list) else [str(msg.contents)]
        self._console.line("running third-party executable: %s" % " ".join(map(str, argv)))

    def _hook_task_started(self, msg: Message) -> None:
        run = self._run
        assert run is not None and self._console is not None
        run.status = TaskStatus.RUNNING
        peer = self._current_peer
        pid = peer.pid if peer is not None else None
        run.db.set_status(run.execution_id, "RUNNING", pid=pid)
        self._console.status("RUNNING")

    def _hook_task_result(self, msg: Message) -> None:
        run = self._run
        assert run is not None
        if isinstance(msg.contents, TaskResult):
            run.result = msg.contents
        else:
            run.result = TaskResult(self._task_name, TaskStatus.RUNNING, "", msg.contents)
        run.result_recorded = False

    def _hook_task_done(self, msg: Message) -> None:
        self._set_reported(TaskStatus.COMPLETED)

    def _hook_task_failed(self, msg: Message) -> None:
        run = self._run
        assert run is not None and self._console is not None
        detail = msg.contents if isinstance(msg.contents, str) else repr(msg.contents)
        rank = self._peer_rank()
        if rank is not None:
            detail = "rank %d: %s" % (rank, detail)
        if run.reported_status != TaskStatus.FAILED:  # keep the first failure's traceback
            run.error = detail
        for line in detail.rstrip().splitlines():
            self._console.line(line)
        self._set_reported(TaskStatus.FAILED)

    def _hook_task_stopped(self, msg: Message) -> None:
        self._set_reported(TaskStatus.STOPPED)

    def _hook_task_cancelled(self, msg: Message) -> None:
        run = self._run
        assert run is not None
        run.error = run.error or str(msg.contents)
        self._set_reported(TaskStatus.CANCELLED)

    def _set_reported(self, status: TaskStatus) -> None:
        run = self._run
        assert run is not None and self._console is not None
        if run.reported_status not in (None, TaskStatus.STOPPED) and status != TaskStatus.FAILED:
            return  # the first final word stands, except that a failure wins
        run.reported_status = status
        self._console.status(status.value)

    def _peer_rank(self) -> Optional[int]:
        peer = self._current_peer
        if peer is None or not self._multi_rank:
            return None
        return int(peer.rank)


def _merge(existing: Any, output: Any) -> Any:
    if isinstance(existing, dict) and isinstance(output, Mapping):
        merged = dict(existing)
        merged.update(output)
        return merged
    if existing in ("", None):
        return output
    if isinstance(existing, list):
        return [*existing, output]
    return [existing, output]


def _summary_for_db(summary: Any, items: Sequence[Any]) -> Any:
    """The summary as stored: rendered plots are replaced by their page's path."""
    from lute.io.db import PlotsRef

    plots = iter(item for item in items if getattr(item, "kind", None) == "plots")

    def convert(value: Any) -> Any:
        if isinstance(value, ElogSummaryPlots):
            item = next(plots, None)
            return PlotsRef(value.display_name, item.path if item is not None else "")
        if isinstance(value, (list, tuple)):
            return type(value)(convert(v) for v in value)
        return value

    return convert(summary)


#: Seconds a Task process closed before its hand-off gets between SIGTERM and SIGKILL.
_CLOSE_GRACE = 5.0


class _Launch:
    """The IPC listener, event queue and (once spawned) process of one Task run."""

    def __init__(
        self, executor: BaseExecutor, zmq: bool, hello_reply: Optional[Dict[str, Any]]
    ) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        events = self.events
        self.listener = Listener(
            new_key(),
            hello_reply=hello_reply,
            on_message=lambda peer, msg: events.put(Event("message", (peer, msg))),
            on_error=lambda peer, err: events.put(Event("ipc_error", (peer, err))),
            transport=executor._transport,
            zmq=zmq,
        )
        self.listener.start()
        self.task_name = executor.task_name
        self.argv: Optional[List[str]] = None
        self.process: Optional[TaskProcess] = None

    def spawn(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        """Start the Task process with the IPC variables and the Task's name added."""
        full_env = dict(env)
        full_env.update(self.listener.task_environment())
        full_env[ENV_TASK_NAME] = self.task_name  # the Task imports itself while we validate
        self.argv = list(argv)
        self.process = TaskProcess(argv, full_env, self.events)

    def __enter__(self) -> _Launch:
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
            self.process.terminate(grace=_CLOSE_GRACE)
        self.listener.close()


class Executor(BaseExecutor):
    """The standard Executor: default hooks installed."""

    def __init__(self, task_name: str, **kwargs: Any) -> None:
        super().__init__(task_name, **kwargs)
        self.add_default_hooks()


class MPIExecutor(Executor):
    """Launches the Task as an MPI job (``mpirun``/``mpiexec``, or ``srun`` in SLURM).

    Args:
        task_name: Name of the Task.
        ranks: Number of ranks; default: ``lute_config.mpi_ranks`` or the SLURM
            allocation or 2.
        launcher_args: Extra arguments for the launcher.
        **kwargs: As for :class:`BaseExecutor`.
    """

    def __init__(
        self,
        task_name: str,
        *,
        ranks: Optional[int] = None,
        launcher_args: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(task_name, **kwargs)
        self._ranks = ranks
        self._launcher_args = list(launcher_args)
        self._multi_rank = True

    def _early_task_argv(
        self, resolved: ResolvedEnvironment, config_path: str, overrides: Sequence[str]
    ) -> Optional[List[str]]:
        """The MPI launch line before validation, when the rank count is already known.

        Ranks come from ``ranks=``, else ``lute_config.mpi_ranks``, else the environment.
        A config or override that mentions ``mpi_ranks`` may change them: wait for it.
        """
        if type(self).task_argv is not MPIExecutor.task_argv:
            return None
        if not self._ranks and _mentions_mpi_ranks(config_path, overrides):
            return None
        from lute.execution.mpi import MPILaunchError

        try:
            return self.task_argv(resolved.python, None, path=resolved.env.get("PATH"))
        except MPILaunchError:
            return None  # reported by the launch plan, with nothing written

    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]:
        from lute.execution.mpi import mpi_launch_argv

        # The launcher comes from the Task's environment: its mpi4py is built against
        # that MPI (a conda env's Open MPI, a venv's MPICH ...).
        return mpi_launch_argv(
            [python, "-m", TASK_ENTRY_MODULE],
            ranks=self._ranks,
            launcher_args=self._launcher_args,
            parameters=parameters,
            path=path,
        )


def _mentions_mpi_ranks(config_path: str, overrides: Sequence[str]) -> bool:
    """Whether the config file or an override may set ``mpi_ranks`` (unreadable: yes)."""
    if any("mpi_ranks" in override for override in overrides):
        return True
    try:
        with open(config_path, encoding="utf-8") as handle:
            return "mpi_ranks" in handle.read()
    except OSError:
        return True
