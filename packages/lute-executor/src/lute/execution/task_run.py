"""One run of a managed task: from its environment to the final record.

A managed task (an ``Executor`` instance) is a definition shared by every run of it;
each ``execute_task`` call makes one :class:`TaskRun`, which owns everything of that
run — the early start, the launch plan, the IPC listener and process, the database
handle, the console, the event loop and the finish — and is dropped when the run ends.
Hooks see the run through its read-only :class:`RunView`.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Protocol,
    Sequence,
)

from lute.execution.console import Console
from lute.execution.environments import (
    EnvironmentSpec,
    ResolvedEnvironment,
    spec_from_config_file,
)
from lute.execution.launch import LaunchPlan
from lute.execution.outcome import final_status
from lute.execution.record import record_outcome
from lute.execution.run_state import RunState
from lute.execution.run_view import RunView
from lute.execution.supervision import Event, Launch, TaskProcess
from lute.execution.tasklets import Tasklet, run_tasklets
from lute.tasks.dataclasses import DescribedAnalysis, TaskResult, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.environments.probe import ProbeResult
    from lute.execution.ipc import Message
    from lute.io.parameters import RowIds

__all__ = ["ManagedTaskDefinition", "TaskRun", "active_run", "offer_zmq"]


class ManagedTaskDefinition(Protocol):
    """What a run needs from its managed task (``BaseExecutor`` provides it)."""

    name: str

    @property
    def task_name(self) -> str: ...

    @property
    def timeout(self) -> Optional[float]: ...

    @property
    def transport(self) -> str: ...

    @property
    def use_zmq(self) -> Optional[bool]: ...

    @property
    def kill_grace(self) -> float: ...

    @property
    def multi_rank(self) -> bool: ...

    @property
    def tasklets(self) -> Sequence[Tasklet]: ...

    def hooks_for(self, event: str) -> Sequence[Callable[[Any, Message], Optional[bool]]]: ...

    def resolve_environment(
        self, spec: Optional[EnvironmentSpec] = None
    ) -> ResolvedEnvironment: ...

    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]: ...

    def early_task_argv(
        self, resolved: ResolvedEnvironment, config_path: str, overrides: Sequence[str]
    ) -> Optional[List[str]]: ...


# The runs executing on each thread, innermost last: a hook finds its own run here.
_active = threading.local()


def active_run(definition: Any) -> Optional[TaskRun]:
    """The innermost run of ``definition`` executing on the calling thread, if any."""
    for run in reversed(getattr(_active, "runs", ())):
        if run.definition is definition:
            return run
    return None


def offer_zmq(use_zmq: Optional[bool], probe: Optional[ProbeResult]) -> bool:
    """Offer ZMQ only when asked for and where the Task's environment has pyzmq."""
    if probe is not None and not probe.zmq:
        return False
    if use_zmq is not None:
        return bool(use_zmq)
    return os.environ.get("LUTE_USE_ZMQ", "").strip().lower() in ("1", "true", "yes", "on")


class TaskRun:
    """One execution of a managed task, created by ``execute_task``.

    Args:
        definition: The managed task.
        config_path: The YAML config.
        overrides: ``Task.param=value`` strings applied after the file.
        console: Where progress is shown.
        timeout: Seconds before the Task is stopped; default: the managed task's, else
            ``lute_config.task_timeout``.
        on_launched: Called once the Task's process has been handed its parameters.

    Attributes:
        state: What the run has learnt so far (changed by the default hooks).
        view: The read-only view hooks get through ``executor.current_run``.
    """

    def __init__(
        self,
        definition: ManagedTaskDefinition,
        config_path: str,
        overrides: Sequence[str],
        *,
        console: Console,
        timeout: Optional[float] = None,
        on_launched: Optional[Callable[[], None]] = None,
    ) -> None:
        self.definition = definition
        self.overrides = tuple(overrides)
        self._on_launched = on_launched
        self.state = RunState(
            definition.name,
            definition.task_name,
            config_path,
            console,
            multi_rank=definition.multi_rank,
            timeout=timeout if timeout is not None else definition.timeout,
        )
        self.view = RunView(self.state)

    # The whole run -------------------------------------------------------------------
    def execute(self, *, dry_run: bool = False) -> TaskStatus:
        """Validate, launch, supervise and record; the final status (PENDING for a dry run).

        Raises:
            lute.io.config.ConfigError: The configuration is invalid (nothing written).
            ExecutorError: The Task cannot be launched (nothing recorded as RUNNING).
        """
        runs = getattr(_active, "runs", ())
        _active.runs = (*runs, self)
        try:
            return self._execute(dry_run)
        finally:
            _active.runs = runs

    def _execute(self, dry_run: bool) -> TaskStatus:
        from lute.execution.environments.probe import preflight

        state = self.state
        definition = self.definition
        # A config's task_environments entry overrides the environment set in Python.
        configured = spec_from_config_file(state.config_path, (state.managed_task, state.task_name))
        resolved = definition.resolve_environment(configured)
        probe = preflight(resolved, state.task_name)
        launch = None
        early_argv = None if dry_run else self._argv_before_validation(resolved, probe)
        if early_argv is not None:
            # Start the Task's interpreter (or its MPI job) now: it imports itself while we
            # validate, then waits in the IPC handshake for its parameters (see
            # Listener.set_hello_reply).
            launch = self._new_launch(probe, hello_reply=None)
            launch.spawn(early_argv, resolved.env)
        try:
            plan = LaunchPlan.prepare(
                managed_task=state.managed_task,
                task_name=state.task_name,
                config_path=state.config_path,
                overrides=self.overrides,
                task_argv=definition.task_argv,
                resolved=resolved,
                probe=probe,
                timeout=state.timeout,
            )
            state.plan = plan
            if dry_run:
                plan.print_dry_run(sys.stdout)
                return TaskStatus.PENDING
            if launch is not None and launch.argv != plan.argv:
                # The validated parameters changed the command line: start it anew.
                launch.close()
                launch = None
            return self._record_and_supervise(plan, launch)
        finally:
            if launch is not None:
                launch.close()  # ends a Task process that never got its parameters

    def _argv_before_validation(
        self, resolved: ResolvedEnvironment, probe: ProbeResult
    ) -> Optional[List[str]]:
        """The Task's command line if it can start before its config is validated.

        ``None`` when a ZMQ endpoint is offered (its hand-off cannot be deferred) or the
        command line may depend on the parameters. The line is checked against the
        validated one before the hand-off is sent.
        """
        state = self.state
        if offer_zmq(self.definition.use_zmq, probe):
            return None
        return self.definition.early_task_argv(resolved, state.config_path, self.overrides)

    def _new_launch(
        self, probe: Optional[ProbeResult], hello_reply: Optional[Dict[str, Any]]
    ) -> Launch:
        state = self.state
        return Launch(
            state.task_name,
            transport=self.definition.transport,
            zmq=offer_zmq(self.definition.use_zmq, probe),
            hello_reply=hello_reply,
        )

    def _record_and_supervise(self, plan: LaunchPlan, launch: Optional[Launch]) -> TaskStatus:
        from lute.io.db import Database

        state = self.state
        os.makedirs(plan.work_dir, exist_ok=True)
        db = state.db = Database(plan.db_path)
        try:
            row_ids = db.start_execution(
                managed_task=state.managed_task,
                task_name=state.task_name,
                experiment=plan.experiment,
                run=plan.run_number,
                parameters=plan.wire_parameters,
                work_dir=plan.work_dir,
                host=socket.gethostname(),
                environment=plan.environment_record(),
                versions=plan.versions(),
                config_path=plan.config_path,
            )
            state.execution_id = row_ids.execution_id
            state.described = DescribedAnalysis(
                task_result=TaskResult(state.task_name, TaskStatus.PENDING, "", ""),
                task_parameters=plan.model,
                task_env=plan.resolved.env,
            )
            self._run_tasklets("before")
            status = self._supervise(plan, row_ids, launch)
            if state.reported_status == TaskStatus.COMPLETED:  # nothing to post-process else
                self._run_tasklets("after")
            state.status = status
            record_outcome(state, plan)
            return state.status
        except BaseException as error:
            # Whatever went wrong here, the record must not stay RUNNING.
            if state.execution_id is not None and not state.status.is_terminal:
                if isinstance(error, KeyboardInterrupt):
                    state.status = TaskStatus.CANCELLED
                    state.error = state.error or "interrupted before the Task was running"
                else:
                    state.status = TaskStatus.FAILED
                    state.error = state.error or "executor error: %s: %s" % (
                        type(error).__name__,
                        error,
                    )
                db.set_status(state.execution_id, state.status.value, error=state.error)
            raise
        finally:
            state.console.close()
            db.close()

    def _run_tasklets(self, when: str) -> None:
        state = self.state
        assert state.plan is not None
        state.result, changed = run_tasklets(
            self.definition.tasklets,
            when,
            state.plan.wire_parameters,
            state.result,
            task_name=state.task_name,
            say=state.console.line,
        )
        if changed:
            state.result_recorded = False

    # Supervision ---------------------------------------------------------------------
    def _supervise(self, plan: LaunchPlan, row_ids: RowIds, launch: Optional[Launch]) -> TaskStatus:
        state = self.state
        console = state.console
        handoff = plan.handoff(row_ids)
        if launch is None:
            launch = self._new_launch(plan.probe, hello_reply=handoff)
        execution_id = state.execution_id
        assert execution_id is not None
        state.log_path = os.path.join(
            plan.work_dir, "logs", "%s_%d.log" % (state.managed_task, execution_id)
        )
        os.makedirs(os.path.dirname(state.log_path), exist_ok=True)
        deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
        if plan.run_directory:
            os.makedirs(plan.run_directory, exist_ok=True)
        with launch, open(state.log_path, "w") as log_file, self._forward_signals(launch.events):
            if launch.process is None:
                process = launch.spawn(plan.argv, plan.resolved.env)
            else:
                process = launch.process
                launch.listener.set_hello_reply(handoff)
            if self._on_launched is not None:
                self._on_launched()
            process.attach_log(log_file)
            console.line(
                "launched %s (pid %d, execution %d): %s"
                % (state.task_name, process.pid, execution_id, " ".join(plan.argv))
            )
            console.status("LAUNCHED")
            returncode = self._event_loop(launch.events, process, deadline)
            state.returncode = returncode
            if not launch.listener.wait_idle(timeout=5.0):
                console.line("warning: some Task connections did not close within 5 s")
            self._drain(launch.events)
            lost = [(peer.rank, peer.pid) for peer in launch.listener.peers if not peer.goodbye]
        status, state.error = final_status(
            returncode=returncode,
            reported=state.reported_status,
            timed_out=state.timed_out,
            cancelled_by=state.cancelled_by,
            lost=lost,
            error=state.error,
        )
        return status

    def _event_loop(
        self, events: queue.Queue[Event], process: TaskProcess, deadline: Optional[float]
    ) -> int:
        state = self.state
        console = state.console
        grace = self.definition.kill_grace
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = events.get(timeout=timeout)
            except queue.Empty:
                state.timed_out = True
                console.line(
                    "timeout: %s ran past %.0f s; stopping it (SIGTERM, SIGKILL after %.0f s)"
                    % (state.task_name, time.monotonic() - process.started_at, grace)
                )
                threading.Thread(target=process.terminate, args=(grace,), daemon=True).start()
                deadline = None
                continue
            if event.kind == "exit":
                return int(event.data)
            if event.kind == "cancel":
                if state.cancelled_by is not None:  # second request: no more patience
                    console.line("second interrupt: killing %s" % state.task_name)
                    process.send_signal(signal.SIGKILL)
                    continue
                state.cancelled_by = int(event.data)
                console.line(
                    "received %s: cancelling %s"
                    % (signal.Signals(event.data).name, state.task_name)
                )
                threading.Thread(target=process.terminate, args=(grace,), daemon=True).start()
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
            return
        peer, message = event.data
        state.peer = peer
        for hook in self.definition.hooks_for(message.signal):
            if hook(self.definition, message) is False:
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
