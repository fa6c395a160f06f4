"""Everything decided before a Task starts: parameters, environment, command line.

:meth:`LaunchPlan.prepare` does all the checking that can fail — config validation,
environment resolution, the third-party executable — *before* anything is written, so
a bad config or a broken environment leaves no trace in the database.
"""

from __future__ import annotations

import os
import shutil
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    TextIO,
)

from lute._records import Record
from lute.execution.environments import ResolvedEnvironment
from lute.execution.errors import ExecutorError
from lute.runtime_version import __version__ as runtime_version
from lute.settings import ELOG_PASSWORD, ELOG_USER
from lute.tasks.run import python_version

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.environments.probe import ProbeResult
    from lute.io.config import LoadedConfig
    from lute.io.models import TaskParameters
    from lute.io.parameters import RowIds

__all__ = ["LaunchPlan", "executor_secrets", "without"]

# Variables a dry run shows in full; the rest of the environment is summarised.
_SHOWN_VARIABLES = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH")


class LaunchPlan(Record):
    """A validated, resolved launch of one Task.

    Built by :meth:`prepare`; the constructor only stores its arguments.

    Attributes:
        executor_name: Name of the managed task.
        task_name: Name of the Task.
        config_path: Absolute path of the YAML config.
        model: The validated parameter model.
        wire_parameters: The parameters as sent to the Task.
        resolved: The Task's interpreter and environment.
        argv: Command line that starts the Task.
        work_dir: Absolute ``work_dir`` of the config.
        db_path: Absolute path of the database.
        timeout: Seconds before the Task is stopped (``None``: no limit).
        kill_grace: Seconds a stopped Task gets between SIGTERM and SIGKILL.
        experiment: The config's experiment, if any.
        run_number: The config's run, if any.
        run_directory: Directory the Task runs in (``None``: the current one).
        third_party_argv: Command line of a third-party executable, if the Task runs one.
        reporters: Where the outcome is reported (eLog, local report ...).
        probe: The :class:`~lute.execution.preflight.ProbeResult` of the environment.
    """

    __match_args__ = (
        "executor_name",
        "task_name",
        "config_path",
        "model",
        "wire_parameters",
        "resolved",
        "argv",
        "work_dir",
        "db_path",
        "timeout",
        "kill_grace",
        "experiment",
        "run_number",
        "run_directory",
        "third_party_argv",
        "reporters",
        "probe",
    )
    _FIELDS = __match_args__

    def __init__(
        self,
        executor_name: str,
        task_name: str,
        config_path: str,
        model: TaskParameters,
        wire_parameters: Dict[str, Any],
        resolved: ResolvedEnvironment,
        argv: List[str],
        work_dir: str,
        db_path: str,
        timeout: Optional[float],
        kill_grace: float,
        experiment: Optional[str],
        run_number: Any,
        run_directory: Optional[str],
        third_party_argv: Optional[List[str]],
        reporters: List[Any],
        probe: Optional[ProbeResult] = None,
    ) -> None:
        self.executor_name = executor_name
        self.task_name = task_name
        self.config_path = config_path
        self.model = model
        self.wire_parameters = wire_parameters
        self.resolved = resolved
        self.argv = argv
        self.work_dir = work_dir
        self.db_path = db_path
        self.timeout = timeout
        self.kill_grace = kill_grace
        self.experiment = experiment
        self.run_number = run_number
        self.run_directory = run_directory
        self.third_party_argv = third_party_argv
        self.reporters = reporters
        self.probe = probe

    @classmethod
    def prepare(
        cls,
        *,
        managed_task: str,
        task_name: str,
        loaded: LoadedConfig,
        task_argv: Callable[..., List[str]],
        resolved: ResolvedEnvironment,
        probe: ProbeResult,
        timeout: Optional[float] = None,
        kill_grace: Optional[float] = None,
        default_kill_grace: float = 10.0,
    ) -> LaunchPlan:
        """Settle everything else for one launch of a validated config; write nothing.

        Args:
            managed_task: Name of the managed task.
            task_name: Name of the Task.
            loaded: The validated config (:func:`lute.io.config.load_config`).
            task_argv: ``task_argv(python, model, path=PATH)``: the managed task's
                command line for the validated parameters.
            resolved: The Task's resolved environment.
            probe: What the pre-flight probe found in that environment.
            timeout: Seconds before the Task is stopped; ``None``: the config's
                ``task_timeout`` (itself possibly ``None``: no limit).
            kill_grace: Seconds between SIGTERM and SIGKILL; ``None``: the config's
                ``kill_grace``, else ``default_kill_grace`` (the managed task's).
            default_kill_grace: The managed task's grace.

        Raises:
            ExecutorError: The executable or the reporting settings are unusable.
        """
        from lute.io.db import default_db_path
        from lute.io.elog import make_reporters
        from lute.io.models import ThirdPartyParameters, to_argv, to_wire

        model = loaded.model
        header = model.lute_config
        work_dir = os.path.abspath(str(header.work_dir))

        third_party_argv: Optional[List[str]] = None
        run_directory = model.resolved_run_directory()
        if isinstance(model, ThirdPartyParameters):
            third_party_argv = to_argv(model)
            executable = third_party_argv[0]
            found = shutil.which(executable, path=resolved.env.get("PATH"))
            if found is None:
                raise ExecutorError(
                    "%s: executable %r not found or not executable (searched PATH of the "
                    "Task's environment); set 'executable' in the config's %s section"
                    % (managed_task, executable, task_name)
                )
        header_timeout = getattr(header, "task_timeout", None)
        if timeout is None and header_timeout:
            timeout = float(header_timeout)
        if kill_grace is None:
            kill_grace = getattr(header, "kill_grace", None) or default_kill_grace
        db_path = getattr(header, "db_path", None) or default_db_path(work_dir)
        try:
            reporters = make_reporters(work_dir, os.environ, elog=getattr(header, "elog", None))
        except ValueError as error:  # a bad eLog setting: say so before anything runs
            raise ExecutorError("reporting is misconfigured: %s" % error) from None
        return cls(
            executor_name=managed_task,
            task_name=task_name,
            config_path=os.path.abspath(loaded.raw.path),
            model=model,
            wire_parameters=to_wire(model),
            resolved=resolved,
            argv=task_argv(resolved.python, model, path=resolved.env.get("PATH")),
            work_dir=work_dir,
            db_path=os.path.abspath(str(db_path)),
            timeout=timeout,
            kill_grace=float(kill_grace),
            experiment=getattr(header, "experiment", None),
            run_number=getattr(header, "run", None),
            run_directory=str(run_directory) if run_directory else None,
            third_party_argv=third_party_argv,
            reporters=reporters,
            probe=probe,
        )

    def handoff(self, row_ids: Optional[RowIds]) -> Dict[str, Any]:
        """The document sent to the Task in the IPC handshake."""
        from lute.io.models import render_templates

        if self.third_party_argv is not None:
            render_templates(self.model)
        model_class = type(self.model)
        return {
            "task_name": self.task_name,
            "parameters": self.wire_parameters,
            "row_ids": row_ids.to_wire() if row_ids is not None else None,
            "model": "%s:%s" % (model_class.__module__, model_class.__qualname__),
            "argv": self.third_party_argv,
            "run_directory": self.run_directory,
        }

    def result_from_parameters(self) -> Any:
        """The result a model declares through ``set_result`` (``None`` if it does not).

        Returns:
            A ``KnownResult`` (payload, summary, impl_schemas) or ``None``.
        """
        return self.model.known_result()

    def task_environment(self) -> Dict[str, str]:
        """The Task's environment: the resolved one without the Executor's secrets."""
        header = self.model.lute_config
        return without(self.resolved.env, executor_secrets(getattr(header, "elog", None)) or ())

    def environment_record(self) -> Dict[str, Any]:
        """What the database records about the Task's environment."""
        probe = self.probe
        return {
            "python": self.resolved.python,
            "python_version": getattr(probe, "python_version", None),
            "lute_runtime": getattr(probe, "lute_runtime", None),
            "kind": self.resolved.kind,
            "description": self.resolved.description,
            "sourced": self.resolved.sourced,
            "argv": self.argv,
        }

    def versions(self) -> Dict[str, Any]:
        """Versions of what took part in the launch."""
        import pydantic

        return {
            "lute_runtime": runtime_version,
            "executor_python": python_version(),
            "pydantic": pydantic.VERSION,
        }

    def print_dry_run(self, out: TextIO) -> None:
        """Print exactly what would be launched, and with what environment."""
        import json

        task_env = self.task_environment()
        out.write("Managed task:  %s (Task %s)\n" % (self.executor_name, self.task_name))
        out.write("Config:        %s\n" % self.config_path)
        out.write("Environment:   %s\n" % self.resolved.description)
        if self.probe is not None:
            out.write(
                "Probe:         Python %s, lute-runtime %s, pyzmq %s%s\n"
                % (
                    self.probe.python_version,
                    self.probe.lute_runtime,
                    "available" if self.probe.zmq else "absent (stdlib socket)",
                    " (cached)" if self.probe.cached else "",
                )
            )
        out.write("Command:       %s\n" % " ".join(_quote(a) for a in self.argv))
        if self.third_party_argv is not None:
            out.write("Executable:    %s\n" % " ".join(_quote(a) for a in self.third_party_argv))
        out.write("Run directory: %s\n" % (self.run_directory or os.getcwd()))
        out.write("Work dir:      %s\n" % self.work_dir)
        out.write("Database:      %s\n" % self.db_path)
        out.write(
            "Timeout:       %s\n" % ("none" if self.timeout is None else "%g s" % self.timeout)
        )
        out.write("Kill grace:    %g s (SIGTERM, then SIGKILL)\n" % self.kill_grace)
        out.write(
            "Variables (%d in all; the IPC address and key and LUTE_TASK_NAME are added at "
            "launch):\n" % len(task_env)
        )
        changed = sorted(name for name, value in task_env.items() if os.environ.get(name) != value)
        for name in sorted(set(_SHOWN_VARIABLES) | set(changed)):
            if name in task_env:
                marker = "*" if name in changed else " "
                out.write("  %s %s=%s\n" % (marker, name, task_env[name]))
        removed = sorted(set(os.environ) - set(task_env))
        if removed:
            out.write("  removed: %s\n" % ", ".join(removed))
        out.write("Parameters:\n")
        out.write(json.dumps(self.wire_parameters, indent=2, sort_keys=True) + "\n")


def executor_secrets(elog: Any) -> Optional[FrozenSet[str]]:
    """The variables only the Executor may see: the eLog's credentials.

    Args:
        elog: The config's ``elog`` block: validated (``ElogSettings``), or as written
            (a mapping, before validation), or ``None``.

    Returns:
        ``LUTE_ELOG_USER``, ``LUTE_ELOG_PASSWORD`` and the variable ``password_env``
        names; ``None`` when a block as written names it through a placeholder that only
        validation fills (the Task then cannot start before validation).
    """
    names = {ELOG_USER.name, ELOG_PASSWORD.name}
    if isinstance(elog, Mapping):
        password_env = elog.get("password_env")
    else:
        password_env = getattr(elog, "password_env", None)
    if password_env is not None:
        if not isinstance(password_env, str) or "{{" in password_env:
            return None
        names.add(password_env)
    return frozenset(names)


def without(env: Mapping[str, str], names: Iterable[str]) -> Dict[str, str]:
    """``env`` without the variables ``names``."""
    hidden = set(names)
    return {name: value for name, value in env.items() if name not in hidden}


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
