"""A submission checked and split into jobs, before anything is written.

:func:`prepare` finds the managed task, the option layers (facility, managed task,
command line), reads the config once, expands ``--runs`` and the sweeps into points,
checks every point (:mod:`._validate`), requires one results database for them all, and
groups the points into jobs: by their sbatch options (a sweep of ``mpi_ranks`` asks for
different ``ntasks``), each group in arrays of at most ``MaxArraySize`` tasks.

``--max-parallel`` over several arrays makes each array wait for the one before
(``afterany``, added to the array's own ``--dependency`` with ``,``). SLURM reads one
``--dependency`` with one kind of separator only, so a dependency whose alternatives are
joined with ``?`` cannot take it: :func:`chain_problem` refuses that before anything is
queued rather than let SLURM read the mixture its own way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.slurm._client import SlurmClient
from lute.execution.slurm._errors import SubmitError
from lute.execution.slurm._options import Layer, Option
from lute.execution.slurm._points import (
    Axis,
    Point,
    axes_from_block,
    axis_from_sweep,
    axis_from_zip,
    combine_axes,
    expand_points,
    override_key,
    parse_runs,
)
from lute.execution.slurm._sources import (
    SWEEP_KEYS,
    command_line_layer,
    definition_layer,
    facility_layers,
)
from lute.execution.slurm._validate import PlannedPoint, validate_points

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.executor import BaseExecutor
    from lute.io.config import RawConfig

__all__ = ["Prepared", "SubmitRequest", "chain_problem", "prepare"]

_RUN = "lute_config.run"


class SubmitRequest(Record):
    """What to submit: ``lute-exec submit``'s arguments.

    Attributes:
        config: The YAML config.
        managed_task: The managed task.
        overrides: ``Task.param=value`` overrides for every point.
        runs: ``--runs`` (``12-40,45``), or ``None``.
        sweeps: Each ``--sweep Task.param=V1,V2``.
        zips: Each ``--zip Task.param=V1,V2`` (taken side by side).
        max_parallel: ``--max-parallel``: at most this many tasks at once.
        sbatch: sbatch options (after ``--``).
        command: The command line, recorded with the submission.
    """

    _FIELDS = (
        "config",
        "managed_task",
        "overrides",
        "runs",
        "sweeps",
        "zips",
        "max_parallel",
        "sbatch",
        "command",
    )
    __slots__ = _FIELDS

    def __init__(
        self,
        config: str,
        managed_task: str,
        overrides: Sequence[str] = (),
        runs: Optional[str] = None,
        sweeps: Sequence[str] = (),
        zips: Sequence[str] = (),
        max_parallel: Optional[int] = None,
        sbatch: Sequence[str] = (),
        command: str = "",
    ) -> None:
        self.config = config
        self.managed_task = managed_task
        self.overrides = list(overrides)
        self.runs = runs
        self.sweeps = list(sweeps)
        self.zips = list(zips)
        self.max_parallel = max_parallel
        self.sbatch = list(sbatch)
        self.command = command


class Prepared(Record):
    """A submission checked and split into jobs, nothing written yet.

    Attributes:
        definition: The managed task.
        request: What was asked for.
        planned: Every point, checked.
        jobs: The points of each job, in submission order.
        directory: Where scripts and logs go.
        prefix: The start of script and log names.
    """

    _FIELDS = ("definition", "request", "planned", "jobs", "directory", "prefix")
    __slots__ = _FIELDS

    def __init__(
        self,
        definition: BaseExecutor,
        request: SubmitRequest,
        planned: List[PlannedPoint],
        jobs: List[List[PlannedPoint]],
        directory: str,
        prefix: str,
    ) -> None:
        self.definition = definition
        self.request = request
        self.planned = planned
        self.jobs = jobs
        self.directory = directory
        self.prefix = prefix

    @property
    def db_path(self) -> str:
        """The results database of every point."""
        return self.planned[0].plan.db_path


def _definition(name: str) -> BaseExecutor:
    from lute.managed_tasks import ManagedTaskNotFound, get_managed_task

    try:
        return get_managed_task(name)
    except ManagedTaskNotFound as error:
        raise SubmitError(str(error)) from None


def _read(path: str) -> RawConfig:
    from lute.io.config import ConfigError, read_config_file

    try:
        return read_config_file(path)
    except ConfigError as error:
        raise SubmitError(str(error).splitlines()[0], str(error).splitlines()[1:]) from None


def _config_axes(
    raw: RawConfig, overrides: Sequence[str], names: Sequence[str]
) -> Tuple[List[List[Axis]], List[Tuple[str, str]]]:
    """The config's sweep axes: the managed task's block, the Task's, the header's."""
    from lute.io.config import ConfigError, apply_overrides

    try:
        overridden = apply_overrides(raw, overrides)
    except ConfigError:
        return [], []  # validation reports the override
    block = overridden.header.get("slurm")
    if not isinstance(block, dict):
        return [], []  # validation reports it
    locate = overridden.locator()

    def where(path: Tuple[object, ...]) -> str:
        file, line = locate(path)  # type: ignore[arg-type]
        shown = ".".join(str(part) for part in path[1:])
        return "%s (%s)" % (file if line is None else "%s:%d" % (file, line), shown)

    levels: List[List[Axis]] = []
    problems: List[Tuple[str, str]] = []
    base = ("lute_config", "slurm")
    for name in names[::-1]:  # the managed task's block first: it wins
        if isinstance(block.get(name), dict):
            axes, found = axes_from_block(block[name], (*base, name), overridden.texts, where)
            levels.append(axes)
            problems.extend(found)
    axes, found = axes_from_block(
        {key: block[key] for key in SWEEP_KEYS if key in block}, base, overridden.texts, where
    )
    return [*levels, axes], [*problems, *found]


def _points(
    request: SubmitRequest, raw: RawConfig, names: Sequence[str]
) -> Tuple[List[Point], List[Tuple[str, str]]]:
    runs = parse_runs(request.runs) if request.runs is not None else None
    command_line = [axis_from_sweep(text) for text in request.sweeps]
    zipped = axis_from_zip(request.zips)
    if zipped is not None:
        command_line.append(zipped)
    levels, problems = _config_axes(raw, request.overrides, names)
    axes = combine_axes([command_line, *levels])
    if runs is not None:
        given = [o for o in request.overrides if override_key(o.partition("=")[0]) == _RUN]
        swept = [axis.source for axis in axes if _RUN in axis.keys]
        if given or swept:
            raise SubmitError(
                "--runs sets the run of every point; it is also set by %s"
                % ", ".join(given + swept)
            )
    return expand_points(runs, axes), problems


def _group(planned: Sequence[PlannedPoint], max_size: int) -> List[List[PlannedPoint]]:
    """Points with the same options, in arrays of at most ``max_size`` tasks."""
    groups: Dict[Tuple[str, ...], List[PlannedPoint]] = {}
    for point in planned:
        key = tuple(option.argument() for option in point.options.values())
        groups.setdefault(key, []).append(point)
    return [
        points[start : start + max_size]
        for points in groups.values()
        for start in range(0, len(points), max_size)
    ]


def chain_problem(
    max_parallel: Optional[int], arrays: int, dependency: Optional[Option]
) -> Optional[str]:
    """Why ``--max-parallel`` cannot chain a submission's arrays; ``None`` if it can.

    Args:
        max_parallel: ``--max-parallel``, if given.
        arrays: How many arrays the submission is split into.
        dependency: The arrays' own ``--dependency``, if any.
    """
    if not max_parallel or arrays < 2 or dependency is None or "?" not in (dependency.value or ""):
        return None
    return (
        "--max-parallel %d over %d arrays makes each array wait for the one before "
        "(afterany), but their --dependency=%s (from %s) joins alternatives with '?', and "
        "SLURM cannot read '?' and ',' in one --dependency; drop --max-parallel, or submit "
        "fewer points so that they fit in one array"
        % (max_parallel, arrays, dependency.value, dependency.source)
    )


def prepare(
    request: SubmitRequest,
    *,
    client: Optional[SlurmClient] = None,
    points: Optional[List[Point]] = None,
    max_array_size: Optional[int] = None,
    node_layer: Optional[Layer] = None,
    replace_command_line: bool = False,
) -> Prepared:
    """Check everything and split the points into jobs; write nothing.

    Args:
        request: What to submit.
        client: The SLURM commands (for ``MaxArraySize``).
        points: The points to run (a resubmission's, a workflow node's); default: from
            ``request``.
        max_array_size: Tasks per array (default: the cluster's ``MaxArraySize``).
        node_layer: A workflow node's own options: above the config's, below the
            command line's.
        replace_command_line: The node's options replace the command line's (the
            original's ``!param_sweep`` with ``slurm_params``).

    Raises:
        SubmitError: Every problem found (configs, options, sweeps, arguments).
        SlurmError: ``scontrol`` failed while the array size was needed.
    """
    definition = _definition(request.managed_task)
    names = tuple(dict.fromkeys((definition.task_name, definition.name)))
    command_line, problems = command_line_layer(request.sbatch)
    if node_layer is not None:
        command_line = dict(node_layer) if replace_command_line else {**node_layer, **command_line}
    low: List[Layer] = []
    facility, found = facility_layers(names)
    low.extend(facility)
    problems.extend(found)
    layer, found = definition_layer(definition.slurm_options, definition.name)
    low.append(layer)
    problems.extend(found)
    raw = _read(request.config)
    if points is None:
        points, found = _points(request, raw, names)
        problems.extend(found)
    planned = validate_points(
        definition,
        raw,
        request.overrides,
        points,
        low_layers=low,
        command_line=command_line,
        problems=problems,
    )
    databases = sorted({point.plan.db_path for point in planned})
    if len(databases) > 1:
        raise SubmitError(
            "the executions of one submission must share one results database; these "
            "points use %s (set db_path in the config's header)" % ", ".join(databases)
        )
    first = planned[0].plan
    directory = os.path.join(first.work_dir, "slurm")
    prefix = "_".join(part for part in (definition.name, first.experiment) if part)
    if len(planned) == 1:
        jobs = [planned]
    else:
        size = max_array_size or (client or SlurmClient()).max_array_size()
        jobs = _group(planned, size)
    chained = [
        problem
        for problem in (
            chain_problem(request.max_parallel, len(jobs), job[0].options.get("dependency"))
            for job in jobs[1:]
        )
        if problem is not None
    ]
    if chained:
        raise SubmitError(
            "the submission of %s cannot be split as it asks; nothing was submitted:"
            % definition.name,
            list(dict.fromkeys(chained)),
        )
    return Prepared(definition, request, planned, jobs, directory, prefix)
