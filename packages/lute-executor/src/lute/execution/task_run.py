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
import socket
import sys
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
)

from lute.execution.console import Console
from lute.execution.definition import ManagedTaskDefinition
from lute.execution.environments import EnvironmentSpec, ResolvedEnvironment, spec_from_entries
from lute.execution.event_loop import EventLoop
from lute.execution.launch import LaunchPlan, executor_secrets, without
from lute.execution.outcome import final_status
from lute.execution.record import record_outcome
from lute.execution.run_signals import RunSignals
from lute.execution.run_state import RunState
from lute.execution.run_view import RunView
from lute.execution.supervision import Event, Launch
from lute.execution.tasklets import check_tasklets, run_tasklets
from lute.settings import USE_ZMQ
from lute.tasks.dataclasses import DescribedAnalysis, TaskResult, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.environments.probe import ProbeResult
    from lute.io.config import EarlyHeader, RawConfig
    from lute.io.db import Database
    from lute.io.parameters import RowIds

__all__ = ["TaskRun", "active_run", "offer_zmq"]


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
    return bool(USE_ZMQ.get())


class TaskRun:
    """One execution of a managed task, created by ``execute_task``.

    Args:
        definition: The managed task.
        config_path: The YAML config.
        overrides: ``Task.param=value`` strings applied after the file.
        console: Where progress is shown.
        timeout: Seconds before the Task is stopped; default: the managed task's, else
            ``lute_config.task_timeout``.
        kill_grace: Seconds a stopped Task gets between SIGTERM and SIGKILL; default:
            ``lute_config.kill_grace``, else the managed task's.
        on_launched: Called once the Task's process has been handed its parameters.
        claim: The QUEUED execution (made by ``lute-exec submit``) this run is; default:
            a new execution.
        rerun_of: The execution this run repeats (``lute-exec rerun``), recorded with it.

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
        kill_grace: Optional[float] = None,
        on_launched: Optional[Callable[[], None]] = None,
        claim: Optional[int] = None,
        rerun_of: Optional[int] = None,
    ) -> None:
        self.definition = definition
        self._kill_grace = kill_grace
        self._claim = claim
        self._rerun_of = rerun_of
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
        #: Every event of the run: IPC messages, output lines, the exit, cancellations.
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._signals = RunSignals(self.events)

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
            with self._signals:
                return self._execute(dry_run)
        finally:
            _active.runs = runs

    def _execute(self, dry_run: bool) -> TaskStatus:
        from lute.io.config import early_header, read_config_file

        state = self.state
        names = (state.managed_task, state.task_name)
        # The file is read and parsed once: the early header values and the validation
        # below both come from ``raw``.
        raw = read_config_file(state.config_path)
        early = early_header(raw, self.overrides, names=names)
        spec: Optional[EnvironmentSpec] = None
        resolved: Optional[ResolvedEnvironment] = None
        probe: Optional[ProbeResult] = None
        launch = None
        secrets = executor_secrets(raw.header.get("elog"))
        if early.task_environments is not None:
            # A config's task_environments entry overrides the environment set in Python.
            spec = self._spec(early.task_environments, early.config_dir)
            resolved, probe = self._resolve(spec)
            early_argv = None
            if not dry_run and secrets is not None:
                early_argv = self._argv_before_validation(resolved, probe, early)
            if early_argv is not None:
                # Start the Task's interpreter (or its MPI job) now: it imports itself while
                # we validate, then waits in the IPC handshake for its parameters (see
                # Listener.set_hello_reply).
                launch = self._new_launch(probe, hello_reply=None)
                launch.spawn(early_argv, without(resolved.env, secrets or ()))
        try:
            plan = self._plan(raw, early.config_dir, spec, resolved, probe)
            state.plan = plan
            if dry_run:
                plan.print_dry_run(sys.stdout)
                return TaskStatus.PENDING
            changed = plan.resolved is not resolved or secrets != plan_secrets(plan)
            if launch is not None and (launch.argv != plan.argv or changed):
                # What validation decided changed the command line: start it anew.
                launch.close()
                launch = None
            return self._record_and_supervise(plan, launch)
        finally:
            if launch is not None:
                launch.close()  # ends a Task process that never got its parameters

    def _spec(self, entries: Mapping[str, Any], config_dir: str) -> Optional[EnvironmentSpec]:
        state = self.state
        return spec_from_entries(
            entries,
            (state.managed_task, state.task_name),
            base_dir=config_dir,
            source=state.config_path,
        )

    def _resolve(self, spec: Optional[EnvironmentSpec]) -> Tuple[ResolvedEnvironment, ProbeResult]:
        from lute.execution.environments.probe import preflight

        resolved = self.definition.resolve_environment(spec)
        return resolved, preflight(resolved, self.state.task_name)

    def _plan(
        self,
        raw: RawConfig,
        config_dir: str,
        spec: Optional[EnvironmentSpec],
        resolved: Optional[ResolvedEnvironment],
        probe: Optional[ProbeResult],
    ) -> LaunchPlan:
        """Validate the config and settle the launch; the validated header has the last word."""
        from lute.execution.task_section import load_task_section
        from lute.io.models import to_wire

        state = self.state
        loaded = load_task_section(raw, self.definition, self.overrides)
        check_tasklets(self.definition.tasklets, to_wire(loaded.model))
        validated = self._spec(loaded.model.lute_config.task_environments, config_dir)
        if resolved is None or probe is None or validated != spec:
            resolved, probe = self._resolve(validated)
        return LaunchPlan.prepare(
            managed_task=state.managed_task,
            task_name=state.task_name,
            loaded=loaded,
            task_argv=self.definition.task_argv,
            resolved=resolved,
            probe=probe,
            timeout=state.timeout,
            kill_grace=self._kill_grace,
            default_kill_grace=self.definition.kill_grace,
        )

    def _argv_before_validation(
        self, resolved: ResolvedEnvironment, probe: ProbeResult, early: EarlyHeader
    ) -> Optional[List[str]]:
        """The Task's command line if it can start before its config is validated.

        ``None`` when a ZMQ endpoint is offered (its hand-off cannot be deferred) or the
        command line may depend on the parameters. The line is checked against the
        validated one before the hand-off is sent.
        """
        if offer_zmq(self.definition.use_zmq, probe):
            return None
        return self.definition.early_task_argv(resolved, early)

    def _new_launch(
        self, probe: Optional[ProbeResult], hello_reply: Optional[Dict[str, Any]]
    ) -> Launch:
        state = self.state
        return Launch(
            state.task_name,
            self.events,
            transport=self.definition.transport,
            zmq=offer_zmq(self.definition.use_zmq, probe),
            hello_reply=hello_reply,
        )

    def _record_and_supervise(self, plan: LaunchPlan, launch: Optional[Launch]) -> TaskStatus:
        from lute.io.db import Database
        from lute.io.elog import report_started

        state = self.state
        os.makedirs(plan.work_dir, exist_ok=True)
        # From here on a signal cancels the run through the event loop instead of
        # interrupting whatever is running: the record is always finished.
        self._signals.recording = True
        db = state.db = Database(plan.db_path)
        log_file: Optional[TextIO] = None
        try:
            # Runs whose Executor died are recorded LOST now (start_execution would do it
            # too); their reports are written with this run's.
            state.lost_elsewhere = db.mark_lost()
            row_ids = self._record_start(db, plan)
            state.execution_id = row_ids.execution_id
            report_started(plan.reporters, execution=db.execution(state.execution_id).to_dict())
            state.log_path = os.path.join(
                plan.work_dir, "logs", "%s_%d.log" % (state.managed_task, state.execution_id)
            )
            db.set_paths(state.execution_id, log_path=state.log_path)
            os.makedirs(os.path.dirname(state.log_path), exist_ok=True)
            log_file = open(state.log_path, "w", encoding="utf-8")  # noqa: SIM115
            state.console.attach_log(log_file)
            state.described = DescribedAnalysis(
                task_result=TaskResult(state.task_name, TaskStatus.PENDING, "", ""),
                task_parameters=plan.model,
                task_env=plan.resolved.env,
            )
            self._run_tasklets("before")
            status = self._supervise(plan, row_ids, launch)
            if state.reported_status == TaskStatus.COMPLETED:  # nothing to post-process else
                self._run_after_tasklets()
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
            state.console.detach_log()
            if log_file is not None:
                log_file.close()
            db.close()

    def _record_start(self, db: Database, plan: LaunchPlan) -> RowIds:
        """The execution's row: a new one, or the QUEUED one a SLURM job claims."""
        from lute.execution.provenance import execution_versions

        state = self.state
        if self._claim is not None:
            # The parameters validated now: the queued ones may lack what only the run
            # can know (an upstream node's result).
            return db.claim_queued(
                self._claim,
                host=socket.gethostname(),
                environment=plan.environment_record(),
                versions=execution_versions(plan),
                parameters=plan.wire_parameters,
            )
        return db.start_execution(
            managed_task=state.managed_task,
            task_name=state.task_name,
            experiment=plan.experiment,
            run=plan.run_number,
            parameters=plan.wire_parameters,
            work_dir=plan.work_dir,
            host=socket.gethostname(),
            environment=plan.environment_record(),
            versions=execution_versions(plan),
            config_path=plan.config_path,
            rerun_of=self._rerun_of,
        )

    def _run_after_tasklets(self) -> None:
        """The "after" tasklets; one that raises is recorded, and the Task's outcome stays."""
        state = self.state
        try:
            self._run_tasklets("after")
        except Exception as error:
            import traceback

            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            state.warnings.append("an after tasklet raised %s: %s" % (type(error).__name__, error))
            state.console.line("warning: an after tasklet raised; the Task's outcome stands")
            for line in text.rstrip().splitlines():
                state.console.line(line)

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
        deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
        if plan.run_directory:
            os.makedirs(plan.run_directory, exist_ok=True)
        with launch:
            if launch.process is None:
                process = launch.spawn(plan.argv, plan.task_environment())
            else:
                process = launch.process
                launch.listener.set_hello_reply(handoff)
            if self._on_launched is not None:
                self._on_launched()
            console.line(
                "launched %s (pid %d, execution %d): %s"
                % (state.task_name, process.pid, execution_id, " ".join(plan.argv))
            )
            console.status("LAUNCHED")
            loop = EventLoop(state, self.events, self.definition)
            returncode = loop.run(process, deadline)
            state.returncode = returncode
            if not launch.listener.wait_idle(timeout=5.0):
                console.line("warning: some Task connections did not close within 5 s")
            loop.drain()
            lost = [(peer.rank, peer.pid) for peer in launch.listener.peers if not peer.goodbye]
        status, state.error = final_status(
            returncode=returncode,
            reported=state.reported_status,
            timed_out=state.timed_out,
            cancelled_by=state.cancelled_by,
            lost=lost,
            error=state.error,
            timeout=plan.timeout,
            unreadable_result=unreadable_result(state.undecodable),
            slurm_time_limit=state.slurm_time_limit,
        )
        return status


def plan_secrets(plan: LaunchPlan) -> Optional[FrozenSet[str]]:
    """The variables the validated config keeps from the Task (see ``executor_secrets``)."""
    return executor_secrets(getattr(plan.model.lute_config, "elog", None))


def unreadable_result(undecodable: Sequence[Any]) -> Optional[str]:
    """Why the run's result could not be read here (``None``: it could)."""
    if not undecodable:
        return None
    return (
        "the Task's result could not be read by the Executor: %s. Its bytes are kept in the "
        "database (a result of kind 'undecodable')" % undecodable[0]
    )
