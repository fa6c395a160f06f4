"""Every point of a submission checked as ``lute-exec run`` would check it, before any is queued.

For each point: the config validated with the common and the point's overrides
(``load_config`` on the one parse of the file), the tasklets' placeholders, the Task's
environment resolved and probed (once per distinct environment), the launch settled
(``LaunchPlan.prepare``: the executable of a third-party Task, the reporters), and the
point's sbatch options assembled in their order of precedence. Every problem of every
point is collected; a problem that several points share is reported once, with the
points it concerns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.slurm._errors import SubmitError
from lute.execution.slurm._options import Layer, Option, merge
from lute.execution.slurm._points import Point
from lute.execution.slurm._sources import config_layers

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.executor import BaseExecutor
    from lute.execution.launch import LaunchPlan
    from lute.io.config import RawConfig

__all__ = ["PlannedPoint", "describe_points", "validate_points"]


class PlannedPoint(Record):
    """A point that passed every check.

    Attributes:
        point: The point.
        plan: Its launch plan (validated parameters, work directory, database …).
        options: Its sbatch options, by name, in the order they were first set.
        ranks: MPI ranks the job asks for (``None`` for a Task of one process).
    """

    _FIELDS = ("point", "plan", "options", "ranks")
    __slots__ = _FIELDS
    point: Point
    plan: LaunchPlan
    options: Dict[str, Option]
    ranks: Optional[int]

    def __init__(
        self, point: Point, plan: LaunchPlan, options: Dict[str, Option], ranks: Optional[int]
    ) -> None:
        self.point = point
        self.plan = plan
        self.options = options
        self.ranks = ranks

    @property
    def label(self) -> str:
        """Its part of file names: ``r12_p3`` (the validated run, the sweep point)."""
        run = self.plan.run_number
        parts = ("r%s" % run if run not in ("", None) else "", self.point.label)
        return "_".join(part for part in parts if part)


def describe_points(points: Sequence[Point]) -> str:
    """``run 12``, ``runs 12, 13, 20``, ``points r12_p0 (Test.float_var=0.1), …``."""
    if all(point.run is not None and not point.values for point in points):
        runs = [str(point.run) for point in points]
        shown = ", ".join(runs[:10]) + (", … (%d in all)" % len(runs) if len(runs) > 10 else "")
        return "%s %s" % ("run" if len(runs) == 1 else "runs", shown)
    named = [
        " ".join((("run=%s" % p.run,) if p.run is not None else ()) + p.values) or "the job"
        for p in points
    ]
    shown = ", ".join(named[:5]) + (", … (%d in all)" % len(named) if len(named) > 5 else "")
    return "%s %s" % ("point" if len(named) == 1 else "points", shown)


def _submit_argv(definition: BaseExecutor) -> Any:
    """The managed task's command line, where it can be told before the job starts.

    An MPI Task's launcher (srun) is chosen inside the allocation: on the submitting host
    there may be none, and the job records its own command line when it claims its row.
    """
    from lute.execution.mpi import MPILaunchError

    def argv(python: str, parameters: Any, path: Optional[str] = None) -> List[str]:
        try:
            return definition.task_argv(python, parameters, path=path)
        except MPILaunchError:
            return [python, "-m", "lute.tasks.run"]

    return argv


def _with_resources(
    definition: BaseExecutor,
    header: Any,
    options: Dict[str, Option],
    high: Dict[str, Option],
) -> Tuple[Dict[str, Option], Optional[int], Optional[Tuple[str, str]]]:
    """The options with the MPI ranks the config asks for, the ranks and any problem.

    ``ntasks`` follows ``mpi_ranks`` (or the managed task's ``ranks``) over the facility's
    and the managed task's options; set in the config's block or on the command line
    (``high``, those layers alone) it must be at least that many.
    """
    from lute.execution.mpi import DEFAULT_RANKS
    from lute.settings import MPI_RANKS

    if not definition.multi_rank:
        return options, None, None
    explicit = getattr(definition, "_ranks", None)  # MPIExecutor(ranks=)
    ranks = explicit or getattr(header, "mpi_ranks", None)
    given = high.get("ntasks")
    if ranks:
        source = (
            "managed task %s (ranks=%d)" % (definition.name, ranks)
            if explicit
            else "lute_config.mpi_ranks"
        )
        if given is not None and given.value is not None and int(given.value) < int(ranks):
            problem = "ntasks=%s is fewer than the %d MPI ranks of %s" % (
                given.value,
                ranks,
                source,
            )
            return options, None, (given.source, problem)
        if given is None:
            options["ntasks"] = Option("ntasks", str(ranks), source)
        return options, int(ranks) if given is None else int(str(given.value)), None
    current = options.get("ntasks")
    if current is None:
        count = MPI_RANKS.get() or DEFAULT_RANKS
        source = MPI_RANKS.name if MPI_RANKS.is_set() else "the default MPI rank count"
        options["ntasks"] = current = Option("ntasks", str(count), source)
    return options, int(str(current.value)), None


class _Checker:
    """Checks points one after the other, keeping what they share (environments)."""

    def __init__(
        self,
        definition: BaseExecutor,
        raw: RawConfig,
        low_layers: Sequence[Layer],
        command_line: Layer,
    ) -> None:
        from lute.io.config import early_header

        self.definition = definition
        self.raw = raw
        self.names = tuple(dict.fromkeys((definition.task_name, definition.name)))
        self.config_dir = early_header(raw).config_dir
        self.low_layers = list(low_layers)
        self.command_line = command_line
        self.environments: Dict[Any, Any] = {}
        self.locate = raw.locator()

    def _environment(self, entries: Dict[str, Any]) -> Any:
        from lute.execution.environments import spec_from_entries
        from lute.execution.environments.probe import preflight

        spec = spec_from_entries(
            entries, self.names[::-1], base_dir=self.config_dir, source=str(self.raw.path)
        )
        if spec not in self.environments:
            resolved = self.definition.resolve_environment(spec)
            self.environments[spec] = (resolved, preflight(resolved, self.definition.task_name))
        return self.environments[spec]

    def check(self, point: Point, overrides: Sequence[str]) -> Tuple[Any, List[Tuple[str, str]]]:
        """``(PlannedPoint or None, [(where, problem)])``.

        Raises:
            SubmitError: What no point can get past (the Task has no parameter model).
        """
        from lute.execution.environments import EnvironmentError_
        from lute.execution.errors import ExecutorError
        from lute.execution.launch import LaunchPlan
        from lute.execution.task_section import load_task_section
        from lute.execution.tasklets import check_tasklets
        from lute.io.config import ConfigError
        from lute.io.models import to_wire

        definition = self.definition
        try:
            loaded = load_task_section(self.raw, definition, [*overrides, *point.overrides])
        except ConfigError as error:
            return None, [("", str(problem)) for problem in error.problems]
        except LookupError as error:
            raise SubmitError(str(error)) from None
        try:
            check_tasklets(definition.tasklets, to_wire(loaded.model))
            resolved, probe = self._environment(loaded.model.lute_config.task_environments)
            plan = LaunchPlan.prepare(
                managed_task=definition.name,
                task_name=definition.task_name,
                loaded=loaded,
                task_argv=_submit_argv(definition),
                resolved=resolved,
                probe=probe,
                timeout=definition.timeout,
                default_kill_grace=definition.kill_grace,
            )
        except (ExecutorError, EnvironmentError_) as error:
            return None, [("", str(error))]
        header = loaded.model.lute_config
        layers, problems = config_layers(header.slurm, self.names, self.locate)
        high = merge([*layers, self.command_line])
        options = merge([*self.low_layers, *layers, self.command_line])
        options, ranks, problem = _with_resources(definition, header, options, high)
        if problem is not None:
            problems.append(problem)
        if problems:
            return None, problems
        if "job-name" not in options:
            name = "_".join(part for part in (definition.name, header.experiment) if part)
            options["job-name"] = Option("job-name", name, "lute-exec submit")
        return PlannedPoint(point, plan, options, ranks), []


def validate_points(
    definition: BaseExecutor,
    raw: RawConfig,
    overrides: Sequence[str],
    points: Sequence[Point],
    *,
    low_layers: Sequence[Layer] = (),
    command_line: Optional[Layer] = None,
    problems: Sequence[Tuple[str, str]] = (),
) -> List[PlannedPoint]:
    """Check every point; all of them, or a :class:`SubmitError` with every problem.

    Args:
        definition: The managed task.
        raw: The config file as read (once).
        overrides: The common ``Task.param=value`` overrides.
        points: The points.
        low_layers: The facility's and the managed task's option layers, lowest first.
        command_line: The options given after ``--``.
        problems: Problems found before (options, sweeps), reported with these.
    """
    checker = _Checker(definition, raw, low_layers, command_line or {})
    found: Dict[str, List[Point]] = {}
    planned: List[PlannedPoint] = []
    for point in points:
        result, point_problems = checker.check(point, overrides)
        for where, text in point_problems:
            found.setdefault("%s: %s" % (where, text) if where else text, []).append(point)
        if result is not None:
            planned.append(result)
    lines = ["%s: %s" % (where, text) for where, text in problems]
    for text, affected in found.items():
        every = len(affected) == len(points)
        lines.append(
            text if every or len(points) == 1 else "%s [%s]" % (text, describe_points(affected))
        )
    if lines:
        count = len(lines)
        raise SubmitError(
            "%d problem%s in the submission of %s (%s checked); nothing was submitted:"
            % (count, "" if count == 1 else "s", definition.name, _checked(points)),
            list(dict.fromkeys(lines)),
        )
    return planned


def _checked(points: Sequence[Point]) -> str:
    return "1 execution" if len(points) == 1 else "%d executions" % len(points)
