"""Managed tasks: the definitions of how a Task is launched, followed and recorded.

A *managed task* is a named Executor instance (see :mod:`lute.managed_tasks`)::

    Tester = Executor("Test")
    Tester.update_environment({"OMP_NUM_THREADS": "1"})
    status = Tester.execute_task("config.yaml", timeout=60)

An Executor is a definition — its Task, hooks, tasklets, environment updates and how
the Task is launched — that never changes while it runs: every ``execute_task`` call
makes a run of its own (:class:`lute.execution.task_run.TaskRun`), so one managed task
may run several times at once, from several threads. Per-run settings (timeout, console)
are arguments of ``execute_task``.

Each signal a Task sends (see :data:`lute.execution.ipc.LUTE_SIGNALS`, plus ``""`` for a
plain message) runs the hooks registered for it on *this* Executor instance, in order, as
``hook(executor, message)``; ``executor.current_run`` is then the run's read-only
:class:`~lute.execution.run_view.RunView`. ``add_default_hooks`` installs the hooks of
:mod:`lute.execution.hooks`, which record status and results.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from lute.execution.console import Console
from lute.execution.environments import (
    PATH_MODES,
    EnvironmentSpec,
    EnvironmentUpdate,
    ResolvedEnvironment,
    resolve_environment,
)
from lute.execution.errors import ExecutorError
from lute.execution.hooks import DEFAULT_HOOKS
from lute.execution.ipc import LUTE_SIGNALS, Message
from lute.execution.outcome import EXIT_CODES, exit_code_for_status
from lute.execution.run_view import RunView
from lute.execution.task_run import TaskRun, active_run
from lute.execution.tasklets import Tasklet
from lute.settings import CONFIGPATH
from lute.tasks.dataclasses import DescribedAnalysis, TaskStatus

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.config import EarlyHeader

__all__ = [
    "EXIT_CODES",
    "BaseExecutor",
    "Executor",
    "ExecutorError",
    "Hook",
    "MPIExecutor",
    "RunView",
    "exit_code_for_status",
]

Hook = Callable[["BaseExecutor", Message], Optional[bool]]
#: What ``update_environment`` takes: the variables, or a function returning them.
EnvironmentMapping = Union[Mapping[str, str], Callable[[], Mapping[str, str]]]

TASK_ENTRY_MODULE = "lute.tasks.run"
DEFAULT_KILL_GRACE = 10.0


class BaseExecutor:
    """Launches one Task and manages its lifetime.

    Args:
        task_name: Name of the Task (and of its parameter model, ``<Task>Parameters``).
        timeout: Seconds before the Task is stopped, for every run that does not pass
            its own; default: ``lute_config.task_timeout``.
        environment: Where the Task runs; default: the Executor's own interpreter.
        transport: IPC transport, ``"unix"`` (one host) or ``"tcp"`` (across hosts).
        use_zmq: Offer ZMQ beside the stdlib socket; ``None`` follows ``LUTE_USE_ZMQ``.
        kill_grace: Seconds between SIGTERM and SIGKILL when stopping the Task.
        slurm: SLURM options for ``lute-exec submit`` of this managed task, e.g.
            ``{"partition": "milano", "time": "01:00:00"}`` (sbatch long names, without
            ``--``); the config and the command line override them.
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
        slurm: Optional[Mapping[str, Any]] = None,
        poll_interval: float = 0.0,
    ) -> None:
        self._task_name = task_name
        self.name = task_name  # replaced by the managed task's name when looked up
        self._timeout = timeout
        self._environment = environment or EnvironmentSpec.current()
        self._transport = transport
        self._use_zmq = use_zmq
        self._kill_grace = kill_grace
        self._slurm: Dict[str, Any] = dict(slurm or {})
        self._hooks: Dict[str, List[Hook]] = {}
        self._tasklets: List[Tasklet] = []
        # EnvironmentUpdates, and functions called at launch for theirs (in order).
        self._env_updates: List[Union[EnvironmentUpdate, Callable[[], Mapping[str, str]]]] = []
        self._section_suffix = ""  # a sweep point's ("_0"): see for_sweep_point
        self._sourced_scripts: List[str] = []

    # Definition -----------------------------------------------------------------------
    @property
    def task_name(self) -> str:
        """Name of the Task this Executor runs."""
        return self._task_name

    @property
    def config_section(self) -> str:
        """The config section the Task reads: its name, or a sweep point's (``Test_0``)."""
        return self._task_name + self._section_suffix

    def for_sweep_point(self, name: str, suffix: str) -> BaseExecutor:
        """This managed task for one point of a parameter sweep, as the original LUTE's
        sweeps name them: ``Tester.for_sweep_point("Tester_0", "_0")`` runs ``Test`` on
        section ``Test_0``. A copy: hooks, tasklets and environment are shared."""
        import copy

        point = copy.copy(self)
        point.name = name
        point._section_suffix = suffix
        return point

    @property
    def timeout(self) -> Optional[float]:
        """Seconds before the Task is stopped when a run passes none (``None``: the config's)."""
        return self._timeout

    @property
    def transport(self) -> str:
        """IPC transport: ``"unix"`` or ``"tcp"``."""
        return self._transport

    @property
    def use_zmq(self) -> Optional[bool]:
        """Whether ZMQ is offered (``None``: as ``LUTE_USE_ZMQ`` says)."""
        return self._use_zmq

    @property
    def kill_grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL when the Task is stopped."""
        return self._kill_grace

    @property
    def multi_rank(self) -> bool:
        """Whether the Task runs as several processes (its messages carry their rank)."""
        return False

    @property
    def slurm_options(self) -> Dict[str, Any]:
        """The SLURM options this managed task asks for when submitted (a copy)."""
        return dict(self._slurm)

    @property
    def tasklets(self) -> Tuple[Tasklet, ...]:
        """The tasklets, in the order they were added."""
        return tuple(self._tasklets)

    def hooks_for(self, event: str) -> Tuple[Hook, ...]:
        """The hooks registered for ``event``, in the order they run."""
        return tuple(self._hooks.get(event, ()))

    def add_hook(self, event: str, hook: Hook) -> None:
        """Run ``hook(executor, message)`` whenever the Task sends ``event``.

        Args:
            event: One of :data:`LUTE_SIGNALS`, or ``""`` for plain messages.
            hook: Called on the thread running the run, after earlier hooks for
                ``event``; returning ``False`` skips the later ones. It sees the run
                through :attr:`current_run`.

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
        for event, hook in DEFAULT_HOOKS.items():
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
            args: Its arguments; strings may hold ``{param}`` or ``{{ param }}``
                placeholders filled from the Task's parameters (``"{lute_config.run}"``,
                ``"{{ out_file }}"``; see :mod:`lute.execution.tasklets`).
            when: ``"before"`` or ``"after"`` the Task.
            set_result: Merge the return value into the Task's result payload.
            set_summary: Merge the return value into the Task's result summary.
        """
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after', not %r" % (when,))
        self._tasklets.append(Tasklet(tasklet, tuple(args), when, set_result, set_summary))

    def update_environment(self, env: EnvironmentMapping, update_path: str = "prepend") -> None:
        """Set variables in the Task's environment (calls accumulate, in order).

        Args:
            env: Variable names and values; or a function taking no argument that
                returns them, called each time the Task is launched (the original LUTE's
                way of computing them at launch). Its variables replace existing values,
                ``PATH`` too (``update_path`` is ignored for it, as in the original).
            update_path: For ``PATH``-like variables, ``prepend`` (default), ``append``
                or ``overwrite``.
        """
        if update_path not in PATH_MODES:
            raise ValueError(
                "update_path must be 'prepend', 'append' or 'overwrite', not %r" % update_path
            )
        if callable(env):
            self._env_updates.append(env)
            return
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

    def resolve_environment(self, spec: Optional[EnvironmentSpec] = None) -> ResolvedEnvironment:
        """Resolve an environment spec (default: this Executor's) plus the updates."""
        return resolve_environment(
            spec or self._environment,
            updates=[_called(update) for update in self._env_updates],
            sourced_scripts=self._sourced_scripts,
        )

    # Launch ---------------------------------------------------------------------------
    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]:
        """Command line that starts the Task (subclasses wrap it, e.g. in mpirun).

        Args:
            python: The Task environment's interpreter.
            parameters: The validated model (``None`` before validation).
            path: ``PATH`` of the Task's environment, where launchers are looked up.
        """
        return [python, "-m", TASK_ENTRY_MODULE]

    def early_task_argv(
        self, resolved: ResolvedEnvironment, early: EarlyHeader
    ) -> Optional[List[str]]:
        """:meth:`task_argv` before validation, where the parameters cannot change it.

        Args:
            resolved: The Task's environment.
            early: The header values known before validation.

        Returns:
            The command line, or ``None`` when it must wait for the validated
            parameters. A subclass that overrides :meth:`task_argv` is assumed to use
            them (``None``).
        """
        if type(self).task_argv is not BaseExecutor.task_argv:
            return None
        return self.task_argv(resolved.python, None, path=resolved.env.get("PATH"))

    def execute_task(
        self,
        config_path: Optional[str] = None,
        overrides: Sequence[str] = (),
        *,
        dry_run: bool = False,
        console: Optional[Console] = None,
        timeout: Optional[float] = None,
        kill_grace: Optional[float] = None,
        on_launched: Optional[Callable[[], None]] = None,
        claim: Optional[int] = None,
        rerun_of: Optional[int] = None,
    ) -> TaskStatus:
        """Validate the parameters, run the Task and record everything.

        Each call is a run of its own; calls may overlap (from several threads).

        Args:
            config_path: YAML config; default: ``$LUTE_CONFIGPATH``.
            overrides: ``Task.param=value`` strings applied after the file.
            dry_run: Print what would be launched, with its environment, and stop;
                nothing is written.
            console: Where progress is shown (default: stderr).
            timeout: Seconds before the Task is stopped; default: this managed task's
                ``timeout``, else ``lute_config.task_timeout``.
            kill_grace: Seconds a stopped Task gets between SIGTERM and SIGKILL;
                default: ``lute_config.kill_grace``, else this managed task's.
            on_launched: Called once the Task's process has been handed its parameters
                (``lute-exec`` resumes garbage collection there).
            claim: The id of a QUEUED execution (``lute-exec submit`` made it) that this
                run is; default: a new execution.
            rerun_of: The id of the execution this run repeats (``lute-exec rerun``);
                the database links the new execution to it.

        Returns:
            The Task's final status (``PENDING`` for a dry run).

        Raises:
            lute.io.config.ConfigError: The configuration is invalid (nothing written).
            ExecutorError: The Task cannot be launched (nothing recorded as RUNNING).
        """
        config_path = config_path or CONFIGPATH.get()
        if not config_path:
            raise ExecutorError("no config file: pass one (-c CONFIG) or set %s" % CONFIGPATH.name)
        run = TaskRun(
            self,
            config_path,
            overrides,
            console=console or Console(self.name),
            timeout=timeout,
            kill_grace=kill_grace,
            on_launched=on_launched,
            claim=claim,
            rerun_of=rerun_of,
        )
        return run.execute(dry_run=dry_run)

    # The run being executed ---------------------------------------------------------------
    @property
    def current_run(self) -> Optional[RunView]:
        """The run of this managed task executing on the calling thread (a hook's run).

        ``None`` outside a run. Read-only: hooks change a run only through what they
        return and what the default hooks record.
        """
        run = active_run(self)
        return run.view if run is not None else None

    @property
    def _analysis_desc(self) -> Optional[DescribedAnalysis]:
        """The current run's seed-style description (for hooks written for the original
        API); ``None`` outside a run or before the run is recorded."""
        run = active_run(self)
        return run.state.described if run is not None else None

    def __repr__(self) -> str:
        return "<%s %s (Task %s)>" % (type(self).__name__, self.name, self._task_name)


def _called(
    update: Union[EnvironmentUpdate, Callable[[], Mapping[str, str]]],
) -> EnvironmentUpdate:
    """An ``update_environment`` entry as the variables it sets (a function is called now).

    Raises:
        ExecutorError: The function raised, or did not return a mapping of names to text.
    """
    if isinstance(update, EnvironmentUpdate):
        return update
    name = getattr(update, "__name__", repr(update))
    try:
        variables = update()
    except Exception as error:
        raise ExecutorError(
            "the update_environment function %s raised %s: %s" % (name, type(error).__name__, error)
        ) from error
    if not isinstance(variables, Mapping):
        raise ExecutorError(
            "the update_environment function %s returned a %s; it must return a mapping of "
            "variable names to values" % (name, type(variables).__name__)
        )
    return EnvironmentUpdate(tuple((str(k), str(v)) for k, v in variables.items()), "overwrite")


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

    @property
    def multi_rank(self) -> bool:
        """Always true: the ranks' messages are tagged with their rank."""
        return True

    def early_task_argv(
        self, resolved: ResolvedEnvironment, early: EarlyHeader
    ) -> Optional[List[str]]:
        """The MPI launch line before validation, when the rank count is already known.

        Ranks come from ``ranks=``, else ``lute_config.mpi_ranks`` when the config gives
        a number validation is sure to accept, else the environment when the config and
        the overrides do not set ``mpi_ranks`` at all. Otherwise: wait for validation.
        """
        if type(self).task_argv is not MPIExecutor.task_argv:
            return None
        ranks = self._ranks or early.mpi_ranks
        if not ranks and early.mpi_ranks_set:
            return None
        from lute.execution.mpi import MPILaunchError, mpi_launch_argv

        try:
            return mpi_launch_argv(
                [resolved.python, "-m", TASK_ENTRY_MODULE],
                ranks=ranks,
                launcher_args=self._launcher_args,
                path=resolved.env.get("PATH"),
            )
        except MPILaunchError:
            return None  # reported by the launch plan, with nothing written

    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]:
        """``mpirun``/``srun`` around the Task's command line."""
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
