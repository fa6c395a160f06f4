"""Loading a config: read, override, fill, validate -- one pipeline, three entry points.

:func:`load_config` (one Task, what ``lute-exec run`` uses), :func:`load_header` (the
header alone) and :func:`check_config` (every section) all run :func:`_check`; they
differ in which sections are validated and how the header is. Every problem found is
reported at once, in one :class:`~lute.io.config._problems.ConfigError`. Loading
never writes anything.
"""

from __future__ import annotations

import os
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Type,
    Union,
    cast,
)

from pydantic import BaseModel

from lute._records import Record
from lute.io.config._fill import fill
from lute.io.config._overrides import (
    Override,
    collect_overrides,
    is_header_override,
    reads_override,
    unread_overrides,
)
from lute.io.config._problems import ConfigError, ConfigProblem
from lute.io.config._read import ConfigSource, RawConfig, read_config_file
from lute.io.config._sections import sweep_parts
from lute.io.config._substitution import HEADER
from lute.io.config._validate import (
    header_data,
    header_default,
    in_header,
    structure_problems,
    task_data,
    unique,
    validate,
    without,
)
from lute.io.config._yaml_source import PathKey
from lute.io.models import registry
from lute.io.models.base import AnalysisHeader, TaskParameters

__all__ = ["LoadedConfig", "check_config", "load_config", "load_header"]

Overrides = Iterable[Union[str, Override]]

# What _check validates: one Task's section (with the header inside its model), the
# header alone, or the header once and then every section naming a known Task.
_TASK, _HEADER_ONLY, _FILE = "task", "header", "file"


class LoadedConfig(Record):
    """A validated config for one Task.

    Attributes:
        task_name: The Task.
        header: The validated header (same object as ``model.lute_config``).
        model: The validated parameter model.
        raw: The file as read (overrides applied, placeholders unfilled).
        section: The Task's values as validated (placeholders filled).
        notes: Things worth knowing that are not errors (e.g. sections for Tasks not
            installed here).
    """

    _FIELDS = ("task_name", "header", "model", "raw", "section", "notes")
    __slots__ = _FIELDS
    # Through __init__: pickle protocols 0 and 1 refuse __slots__ classes before 3.11.
    __reduce__ = Record._reduce_by_fields
    task_name: str
    header: AnalysisHeader
    model: TaskParameters
    raw: RawConfig
    section: Dict[str, Any]
    notes: List[ConfigProblem]

    def __init__(
        self,
        task_name: str,
        header: AnalysisHeader,
        model: TaskParameters,
        raw: RawConfig,
        section: Dict[str, Any],
        notes: Optional[List[ConfigProblem]] = None,
    ) -> None:
        self.task_name = task_name
        self.header = header
        self.model = model
        self.raw = raw
        self.section = section
        self.notes = [] if notes is None else notes  # a fresh list per instance


class _Checked(Record):
    """What the pipeline found: the config, the validated parts, notes and problems."""

    _FIELDS = ("raw", "header", "models", "sections", "notes", "problems")
    __slots__ = _FIELDS
    raw: RawConfig
    header: Optional[BaseModel]
    models: Dict[str, Optional[BaseModel]]
    sections: Dict[str, Dict[str, Any]]
    notes: List[ConfigProblem]
    problems: List[ConfigProblem]

    def __init__(
        self,
        raw: RawConfig,
        header: Optional[BaseModel],
        models: Dict[str, Optional[BaseModel]],
        sections: Dict[str, Dict[str, Any]],
        notes: List[ConfigProblem],
        problems: List[ConfigProblem],
    ) -> None:
        self.raw = raw
        self.header = header
        self.models = models
        self.sections = sections
        self.notes = notes
        self.problems = problems


def _check(
    config: ConfigSource,
    overrides: Overrides,
    environ: Optional[Mapping[str, str]],
    scope: str,
    task_name: str = "",
    model: Optional[Type[BaseModel]] = None,
    strict: bool = False,
) -> _Checked:
    """Read (unless given a :class:`RawConfig`), override, fill and validate.

    Args:
        config: The config file, or the file as read.
        overrides: Applied in order after the file.
        environ: For ``{{ $VAR }}`` (default: ``os.environ``).
        scope: ``_TASK`` (the section ``task_name``, with ``model`` or the registry's),
            ``_HEADER_ONLY`` (sections, their problems and their overrides ignored) or
            ``_FILE`` (the header, then every section naming a known Task).
        task_name: The Task, for ``_TASK``.
        model: The Task's model, for ``_TASK`` (default: looked up by name).
        strict: Every section must name a known Task.

    Raises:
        ConfigError: The file cannot be read at all (other problems are returned).
        lute.io.models.registry.UnknownModelError: No model for ``task_name``.
    """
    environ = os.environ if environ is None else environ
    raw = config if isinstance(config, RawConfig) else read_config_file(config)
    header_only = scope == _HEADER_ONLY
    if header_only:
        problems = [problem for problem in raw.problems if in_header(problem)]
        overrides = [item for item in overrides if is_header_override(item)]
    else:
        problems = list(raw.problems)
    raw, override_problems = collect_overrides(raw, overrides)
    problems.extend(override_problems)
    models: Dict[str, Type[BaseModel]] = {}
    # Listing the known Tasks reads every distribution's entry points: once at most,
    # and for one Task only if a section or header key needs it.
    known_names: Callable[[], Sequence[str]] = registry.known_task_names
    if scope == _TASK:
        models[task_name] = model if model is not None else registry.get_model(task_name)
    elif scope == _FILE:
        known = registry.known_task_names()
        # A sweep point's section (Test_0) is validated with its Task's model.
        models = {
            name: registry.get_model(sweep_parts(name)[0])
            for name in raw.sections
            if sweep_parts(name)[0] in known
        }
        known_names = _listed(known)
    notes: List[ConfigProblem] = []
    misplaced: Set[PathKey] = set()  # keys reported as being in the wrong document
    if not header_only:
        errors, notes, misplaced = structure_problems(raw, known_names, list(models), strict)
        problems.extend(errors)
    filled = fill(raw, list(models), environ, header_default)
    problems.extend(filled.problems)
    filled.header = without(filled.header, misplaced, (HEADER,))
    skip = filled.failed | misplaced  # already reported: validation stays quiet about them
    header: Optional[BaseModel] = None
    alone = scope != _TASK  # a Task's model validates the header as its lute_config
    if alone:
        header, header_problems = validate(AnalysisHeader, HEADER, header_data(filled), raw, skip)
        problems.extend(header_problems)
    validated: Dict[str, Optional[BaseModel]] = {}
    for name, model_cls in models.items():
        filled.sections[name] = without(filled.sections[name], misplaced, (name,))
        data = task_data(model_cls, name, filled)
        validated[name], section_problems = validate(model_cls, name, data, raw, skip)
        # With the header validated alone, each section would repeat its problems.
        problems.extend(p for p in section_problems if not (alone and in_header(p)))
    return _Checked(raw, header, validated, filled.sections, notes, unique(problems))


def _listed(names: Sequence[str]) -> Callable[[], Sequence[str]]:
    """A ``known_names`` for :func:`structure_problems` that gives ``names``."""
    return lambda: names


def load_config(
    path: ConfigSource,
    task_name: str,
    overrides: Overrides = (),
    *,
    model: Optional[Type[TaskParameters]] = None,
    strict: bool = False,
    environ: Optional[Mapping[str, str]] = None,
    section: Optional[str] = None,
) -> LoadedConfig:
    """Read, fill in and validate the config for one Task.

    Args:
        path: The config file, or the file as :func:`read_config_file` read it (it is
            then not read again; give it without overrides: they are ``overrides``).
        task_name: The Task whose section is used (its model is looked up by name).
        overrides: ``Task.param=value`` strings (or :class:`Override`), applied in order
            after the file; each must set a header value or one of this run's section.
        model: Use this model instead of looking one up by ``task_name``.
        strict: Every section must name a known Task (otherwise sections for Tasks not
            installed here are allowed, unless they look like a misspelling).
        environ: Environment for ``{{ $VAR }}`` (default: ``os.environ``).
        section: The section to use, when it is not named after the Task: a sweep
            point's (``"Test_0"``, validated with the model of ``task_name``).

    Returns:
        The validated config.

    Raises:
        ConfigError: Every problem found.
        lute.io.models.registry.UnknownModelError: No model for ``task_name``.
    """
    section = section or task_name
    if model is None and section != task_name:
        model = registry.get_model(task_name)
    overrides = list(overrides)
    unread = unread_overrides(section, overrides, task_name)
    # Not applied: the file's checks would take their sections for the file's own.
    overrides = [item for item in overrides if reads_override(section, item)]
    checked = _check(path, overrides, environ, _TASK, section, model, strict)
    validated = checked.models[section]
    if unread or checked.problems or validated is None:
        # Every failure carries its own problem; the fallback only guards that promise.
        raise ConfigError(
            [*unread, *checked.problems]
            or [checked.raw.locator().problem((section,), "invalid parameters")]
        )
    task_model = cast(TaskParameters, validated)
    return LoadedConfig(
        task_name,
        task_model.lute_config,
        task_model,
        checked.raw,
        checked.sections[section],
        checked.notes,
    )


def load_header(
    path: ConfigSource,
    overrides: Overrides = (),
    *,
    environ: Optional[Mapping[str, str]] = None,
) -> AnalysisHeader:
    """Read, fill in and validate only the header of a config.

    Args:
        path: The config file, or the file as :func:`read_config_file` read it.
        overrides: As for :func:`load_config`; those of Task parameters are ignored.
        environ: Environment for ``{{ $VAR }}`` (default: ``os.environ``).

    Raises:
        ConfigError: Every problem found in the header.
    """
    checked = _check(path, overrides, environ, _HEADER_ONLY)
    if checked.problems or checked.header is None:
        raise ConfigError(
            checked.problems
            or [checked.raw.locator().problem((HEADER,), "the header is not valid")]
        )
    return cast(AnalysisHeader, checked.header)


def check_config(
    path: ConfigSource,
    overrides: Overrides = (),
    *,
    environ: Optional[Mapping[str, str]] = None,
) -> List[ConfigProblem]:
    """Check the whole file: the header and every section, each with its Task's model.

    Every section must name a known Task. Returns the notes (nothing fatal).

    Args:
        path: The config file, or the file as :func:`read_config_file` read it.
        overrides: As for :func:`load_config`.
        environ: Environment for ``{{ $VAR }}`` (default: ``os.environ``).

    Raises:
        ConfigError: Every problem found, in all sections.
    """
    checked = _check(path, overrides, environ, _FILE, strict=True)
    if checked.problems:
        raise ConfigError(checked.problems)
    return checked.notes
