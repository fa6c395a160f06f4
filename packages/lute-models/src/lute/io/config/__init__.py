"""The LUTE YAML config: a header document, then one section per Task.

::

    %YAML 1.3
    ---
    title: "Beamtime analysis"
    experiment: "TST12345"
    run: 12
    work_dir: "./lute-work"          # relative to this file's directory
    ...
    ---
    Test:
      float_var: 0.01
    FindPeaks:
      out_file: "/data/{{ experiment }}/peaks_r{{ run:04d }}.h5"
    Index:
      in_file: "{{ FindPeaks.out_file }}"
    ...

:func:`load_config` reads the file, applies command-line overrides
(``Task.param=value``), fills ``{{ ... }}`` placeholders, and validates the header and the
requested Task's section with the Task's model. Every problem found is reported at once
in one :class:`ConfigError` (file, line, parameter path, plain words). Loading never
writes anything. The format is described for users in ``docs/configuration.md``.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
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
    Tuple,
    Type,
    Union,
    cast,
)

from pydantic import BaseModel, ValidationError

from lute._records import FrozenRecord, Record
from lute.io.config import _config_cache
from lute.io.config._coerce import coerce_model_input
from lute.io.config._problems import (
    ConfigError,
    ConfigProblem,
    Locator,
    close_matches,
    problems_from_validation,
)
from lute.io.config._substitution import HEADER, Substituter
from lute.io.config._yaml_source import (
    PathKey,
    SourceMap,
    YamlSyntaxError,
    compose_documents,
    parse_value,
    to_value,
)
from lute.io.models import registry
from lute.io.models.base import AnalysisHeader, TaskParameters

__all__ = [
    "COMMAND_LINE",
    "ConfigError",
    "ConfigProblem",
    "LoadedConfig",
    "Override",
    "RawConfig",
    "apply_overrides",
    "check_config",
    "load_config",
    "load_header",
    "parse_override",
    "read_config_file",
]

#: The ``file`` of problems caused by a command-line override.
COMMAND_LINE = "command line"
_OVERRIDE_KEY = re.compile(r"^[A-Za-z_]\w*(?:\.\w+)*$")
_HEADER_PATHS = ("work_dir", "db_path")  # header values that are paths (made absolute)
# A section name this close to a known Task name is taken for a misspelling.
_MISSPELLING_CUTOFF = 0.75


class RawConfig(Record):
    """A config file as read, before placeholders are filled and values validated.

    Attributes:
        path: The file.
        header: The first document (``lute_config`` values).
        sections: The second document: Task name -> its parameters.
        lines: 1-based line of every key, by path (``("Test", "float_var")``; header
            keys are ``("lute_config", key)``).
        texts: Source text of plain values YAML read as numbers, booleans or null.
        origins: Paths set by command-line overrides.
        problems: Problems found while reading that did not stop it (duplicate keys...).
    """

    _FIELDS = ("path", "header", "sections", "lines", "texts", "origins", "problems")
    __slots__ = _FIELDS
    # Through __init__: pickle protocols 0 and 1 refuse __slots__ classes before 3.11.
    __reduce__ = Record._reduce_by_fields
    path: Path
    header: Dict[str, Any]
    sections: Dict[str, Dict[str, Any]]
    lines: Dict[PathKey, int]
    texts: Dict[PathKey, str]
    origins: Dict[PathKey, str]
    problems: List[ConfigProblem]

    def __init__(
        self,
        path: Path,
        header: Dict[str, Any],
        sections: Dict[str, Dict[str, Any]],
        lines: Optional[Dict[PathKey, int]] = None,
        texts: Optional[Dict[PathKey, str]] = None,
        origins: Optional[Dict[PathKey, str]] = None,
        problems: Optional[List[ConfigProblem]] = None,
    ) -> None:
        self.path = path
        self.header = header
        self.sections = sections
        # None stands for a fresh, empty container of each kind.
        self.lines = {} if lines is None else lines
        self.texts = {} if texts is None else texts
        self.origins = {} if origins is None else origins
        self.problems = [] if problems is None else problems

    @property
    def file(self) -> str:
        """The file name used in problems."""
        return str(self.path)

    def tree(self) -> Dict[str, Any]:
        """``{"lute_config": header, <Task>: section, ...}``."""
        return {HEADER: self.header, **self.sections}

    def locator(self) -> Locator:
        """Finds the file and line of a path in this config."""
        return Locator(self.file, self.lines, self.origins)


class Override(FrozenRecord):
    """One command-line override, ``Task.param=value`` (or ``lute_config.key=value``).

    Immutable and hashable (when ``value`` is).

    Attributes:
        path: Where it goes (``("Test", "float_var")``, header: ``("lute_config", "run")``).
        value: The value, read as YAML (``12`` is a number, ``[1, 2]`` a list).
        text: The value's text when YAML read it as a number, boolean or null.
        source: The override as given.
    """

    _FIELDS = ("path", "value", "text", "source")
    __slots__ = ("path", "source", "text", "value")
    path: PathKey
    value: Any
    text: Optional[str]
    source: str

    def __init__(self, path: PathKey, value: Any, text: Optional[str], source: str) -> None:
        self._set_fields(path, value, text, source)


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


# -- reading -----------------------------------------------------------------------


def _document_line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _parse_documents(text: str) -> _config_cache.Parsed:
    """Parse ``text``: what :func:`read_config_file` needs, in the cacheable form.

    Raises:
        YamlSyntaxError: The text is not YAML.
    """
    documents = compose_documents(text)
    source = SourceMap()
    values: List[Any] = []
    if documents:
        source.lines[(HEADER,)] = _document_line(documents[0])
        values.append(to_value(documents[0], (HEADER,), source))
        if len(documents) > 1:
            values.append(to_value(documents[1], (), source))
    return {
        "documents": len(documents),
        "doc_lines": [_document_line(document) for document in documents[:3]],
        "values": values,
        "lines": source.lines,
        "texts": source.texts,
        "problems": source.problems,
    }


def read_config_file(path: Union[str, os.PathLike]) -> RawConfig:
    """Read a config file's two YAML documents, remembering lines.

    Args:
        path: The config file.

    Problems that do not stop the reading (a misshapen section, a duplicate key...)
    are returned in :attr:`RawConfig.problems`; :func:`load_config` reports them.

    Raises:
        ConfigError: The file cannot be read, is empty or is not valid YAML.
    """
    config_path = Path(path)
    file = str(config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            [ConfigProblem(file, None, "", "cannot read the config file: %s" % err)]
        ) from None
    parsed = _config_cache.load(text)
    if parsed is None:
        try:
            parsed = _parse_documents(text)
        except YamlSyntaxError as err:
            raise ConfigError(
                [ConfigProblem(file, err.line, "", "this is not valid YAML: %s" % err.message)]
            ) from None
        _config_cache.store(text, parsed)
    problems: List[ConfigProblem] = []
    source = SourceMap(parsed["lines"], parsed["texts"], parsed["problems"])
    documents, doc_lines = parsed["documents"], parsed["doc_lines"]
    if not documents:
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    None,
                    "",
                    "the file is empty: expected a header document, then the Task sections",
                )
            ]
        )
    if documents > 2:
        problems.append(
            ConfigProblem(
                file,
                doc_lines[2],
                "",
                "found %d YAML documents; a LUTE config has two: the header, then the Task sections"
                % documents,
            )
        )
    header = parsed["values"][0]
    if header is None:
        header = {}
    if not isinstance(header, dict):
        problems.append(
            ConfigProblem(
                file,
                doc_lines[0],
                HEADER,
                "the header (first document) must be 'key: value' lines",
            )
        )
        header = {}
    sections_value = parsed["values"][1] if documents > 1 else {}
    sections: Dict[str, Dict[str, Any]] = {}
    if sections_value is None:
        sections_value = {}
    if not isinstance(sections_value, dict):
        problems.append(
            ConfigProblem(
                file,
                doc_lines[1],
                "",
                "the second document must hold one section per Task "
                "('TaskName:' then its parameters)",
            )
        )
        sections_value = {}
    locate = Locator(file, source.lines, {})
    for name, section in sections_value.items():
        if name == HEADER:
            problems.append(
                locate.problem(
                    (name,), "'lute_config' is not a Task; header values go in the first document"
                )
            )
        elif section is not None and not isinstance(section, dict):
            problems.append(
                locate.problem((name,), "a Task section must hold 'parameter: value' lines")
            )
        else:
            sections[name] = section or {}
    problems.extend(locate.problem(path, message) for path, _line, message in source.problems)
    return RawConfig(config_path, header, sections, source.lines, source.texts, {}, problems)


# -- overrides ---------------------------------------------------------------------


def parse_override(text: str) -> Override:
    """Read ``Task.param=value``, ``Task.group.param=value`` or ``lute_config.key=value``.

    A single name (``run=13``) sets a header value.

    Raises:
        ConfigError: The text is not of that form.
    """
    key, equals, value_text = text.partition("=")
    key = key.strip()
    if not equals or not _OVERRIDE_KEY.match(key):
        raise ConfigError(
            [
                ConfigProblem(
                    COMMAND_LINE,
                    None,
                    key if _OVERRIDE_KEY.match(key) else "",
                    "cannot read the override %r: write Task.parameter=value "
                    "(or lute_config.key=value for the header)" % text,
                )
            ]
        )
    parts: List[Union[str, int]] = list(key.split("."))
    if parts[0] == HEADER:
        parts = parts[1:]
        if not parts:
            raise ConfigError(
                [
                    ConfigProblem(
                        COMMAND_LINE, None, HEADER, "say which header value: lute_config.run=13"
                    )
                ]
            )
        path: PathKey = (HEADER, *parts)
    elif len(parts) == 1:
        path = (HEADER, parts[0])
    else:
        path = tuple(parts)
    value, source_text = parse_value(value_text)
    return Override(path, value, source_text, text)


def apply_overrides(raw: RawConfig, overrides: Iterable[Union[str, Override]]) -> RawConfig:
    """A copy of ``raw`` with overrides applied in order (later ones win).

    Raises:
        ConfigError: Every override that cannot be read or applied.
    """
    result, problems = _apply_overrides(raw, overrides)
    if problems:
        raise ConfigError(problems)
    return result


def _apply_overrides(
    raw: RawConfig, overrides: Iterable[Union[str, Override]]
) -> Tuple[RawConfig, List[ConfigProblem]]:
    """Apply every override that can be applied; report the others."""
    result = copy.deepcopy(raw)
    problems: List[ConfigProblem] = []
    for item in overrides:
        try:
            override = item if isinstance(item, Override) else parse_override(item)
        except ConfigError as err:
            problems.extend(err.problems)
            continue
        problem = _apply_one(result, override)
        if problem is not None:
            problems.append(problem)
    return result, problems


def _apply_one(raw: RawConfig, override: Override) -> Optional[ConfigProblem]:
    path = override.path
    where = ".".join(str(part) for part in path)

    def refuse(reason: str) -> ConfigProblem:
        return ConfigProblem(
            COMMAND_LINE, None, where, "cannot set %r: %s" % (override.source, reason)
        )

    if path[0] == HEADER:
        container: Any = raw.header
    else:
        container = raw.sections.setdefault(str(path[0]), {})
    for depth, part in enumerate(path[1:-1], start=2):
        child = _child(container, part)
        if child is None and isinstance(container, dict):
            child = container[part] = {}
        if not isinstance(child, (dict, list)):
            return refuse("%s is a single value, not a group" % ".".join(map(str, path[:depth])))
        container = child
    last = path[-1]
    if isinstance(container, list):
        if not (isinstance(last, str) and last.isdigit() and int(last) < len(container)):
            return refuse("the list has no position %s" % last)
        path = (*path[:-1], int(last))
        container[int(last)] = override.value
    else:
        container[last] = override.value
    for stale in [key for key in raw.texts if key[: len(path)] == path]:
        del raw.texts[stale]
    if override.text is not None:
        raw.texts[path] = override.text
    raw.origins[path] = COMMAND_LINE
    return None


def _child(container: Any, part: Any) -> Any:
    if isinstance(container, dict):
        return container.get(part)
    if (
        isinstance(container, list)
        and isinstance(part, str)
        and part.isdigit()
        and int(part) < len(container)
    ):
        return container[int(part)]
    return None


# -- placeholders and validation -----------------------------------------------------


def _header_default(name: str) -> Any:
    header_field = AnalysisHeader.model_fields.get(name)
    if header_field is None or header_field.is_required():
        raise KeyError(name)
    return header_field.get_default(call_default_factory=True)


def _path_normaliser(config_dir: Path) -> Any:
    def normalise(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value
        expanded = os.path.expanduser(value)
        if not os.path.isabs(expanded):
            expanded = os.path.join(str(config_dir), expanded)
        return os.path.normpath(expanded)

    return normalise


class _Filled(Record):
    """The header and sections with placeholders filled, and what went wrong doing it."""

    _FIELDS = ("header", "sections", "texts", "failed", "problems")
    __slots__ = _FIELDS
    # Through __init__: pickle protocols 0 and 1 refuse __slots__ classes before 3.11.
    __reduce__ = Record._reduce_by_fields
    header: Dict[str, Any]
    sections: Dict[str, Dict[str, Any]]
    texts: Dict[PathKey, str]
    failed: Set[PathKey]
    problems: List[ConfigProblem]

    def __init__(
        self,
        header: Dict[str, Any],
        sections: Dict[str, Dict[str, Any]],
        texts: Dict[PathKey, str],
        failed: Set[PathKey],
        problems: List[ConfigProblem],
    ) -> None:
        self.header = header
        self.sections = sections
        self.texts = texts
        self.failed = failed
        self.problems = problems


def _fill(raw: RawConfig, section_names: Sequence[str], environ: Mapping[str, str]) -> _Filled:
    texts = dict(raw.texts)
    normalise = _path_normaliser(raw.path.parent.absolute())
    substituter = Substituter(
        raw.tree(),
        texts,
        raw.locator(),
        environ,
        _header_default,
        {(HEADER, key): normalise for key in _HEADER_PATHS},
    )
    header = substituter.resolve((HEADER,))
    sections = {
        name: substituter.resolve((name,)) if name in raw.sections else {} for name in section_names
    }
    return _Filled(header, sections, texts, substituter.failed, substituter.problems)


def _validate(
    model_cls: Type[BaseModel],
    section_name: str,
    data: Dict[str, Any],
    raw: RawConfig,
    skip: Set[PathKey],
) -> Tuple[Optional[BaseModel], List[ConfigProblem]]:
    locate = raw.locator()
    base: PathKey = (HEADER,) if model_cls is AnalysisHeader else (section_name,)
    try:
        return model_cls.model_validate(data), []
    except ValidationError as err:
        problems = problems_from_validation(
            err,
            model=model_cls,
            data=data,
            section=section_name,
            section_path=base,
            locate=locate,
            skip=skip,
        )
        return None, problems
    except Exception as err:  # a validator crashed: report it with the others
        return None, [
            locate.problem(
                base, "checking the parameters failed: %s: %s" % (type(err).__name__, err)
            )
        ]


def _task_data(model_cls: Type[BaseModel], name: str, filled: _Filled) -> Dict[str, Any]:
    header = coerce_model_input(AnalysisHeader, filled.header, (HEADER,), filled.texts)
    section = coerce_model_input(model_cls, filled.sections.get(name, {}), (name,), filled.texts)
    return {HEADER: header, **section}


def _structure_problems(
    raw: RawConfig, known_names: Callable[[], Sequence[str]], wanted: Sequence[str], strict: bool
) -> Tuple[List[ConfigProblem], List[ConfigProblem], Set[PathKey]]:
    """(errors, notes, paths to leave out of validation) about section names.

    ``known_names`` is called only if a section or header key needs it: listing the
    known Tasks reads every installed distribution's entry points.
    """
    locate = raw.locator()
    errors: List[ConfigProblem] = []
    notes: List[ConfigProblem] = []
    skip: Set[PathKey] = set()
    known: Sequence[str] = ()
    if any(name not in wanted for name in raw.sections) or any(
        key not in AnalysisHeader.model_fields for key in raw.header
    ):
        known = known_names()
    for name in raw.sections:
        if name in known or name in wanted:
            continue
        suggestions = close_matches(name, known, cutoff=_MISSPELLING_CUTOFF)
        if suggestions or strict:
            hint = (
                "; did you mean %s?" % " or ".join(repr(s) for s in suggestions)
                if suggestions
                else ""
            )
            errors.append(
                locate.problem(
                    (name,), "unknown section %r: no Task has that name%s" % (name, hint)
                )
            )
        else:
            notes.append(
                locate.problem(
                    (name,),
                    "no Task named %r is installed here; its values serve placeholders only" % name,
                )
            )
    for key in raw.header:
        if key in known:
            errors.append(
                locate.problem(
                    (HEADER, key),
                    "%r is a Task section but sits in the header; Task sections go in the second "
                    "YAML document, after a line '---'" % key,
                )
            )
            skip.add((HEADER, key))
    for name in wanted:
        if HEADER in raw.sections.get(name, {}):
            errors.append(
                locate.problem(
                    (name, HEADER), "header values go in the first document, not in a Task section"
                )
            )
            skip.add((name, HEADER))
    return errors, notes, skip


def _without(data: Dict[str, Any], skip: Set[PathKey], base: PathKey) -> Dict[str, Any]:
    return {key: value for key, value in data.items() if (*base, key) not in skip}


def load_config(
    path: Union[str, os.PathLike],
    task_name: str,
    overrides: Iterable[Union[str, Override]] = (),
    *,
    model: Optional[Type[TaskParameters]] = None,
    strict: bool = False,
    environ: Optional[Mapping[str, str]] = None,
) -> LoadedConfig:
    """Read, fill in and validate the config for one Task.

    Args:
        path: The config file.
        task_name: The Task whose section is used (its model is looked up by name).
        overrides: ``Task.param=value`` strings (or :class:`Override`), applied in order
            after the file.
        model: Use this model instead of looking one up by ``task_name``.
        strict: Every section must name a known Task (otherwise sections for Tasks not
            installed here are allowed, unless they look like a misspelling).
        environ: Environment for ``{{ $VAR }}`` (default: ``os.environ``).

    Returns:
        The validated config.

    Raises:
        ConfigError: Every problem found.
        lute.io.models.registry.UnknownModelError: No model for ``task_name``.
    """
    environ = os.environ if environ is None else environ
    raw = read_config_file(path)
    problems = list(raw.problems)
    raw, override_problems = _apply_overrides(raw, overrides)
    problems.extend(override_problems)
    model_cls = model if model is not None else registry.get_model(task_name)
    errors, notes, skip = _structure_problems(raw, registry.known_task_names, [task_name], strict)
    problems.extend(errors)
    filled = _fill(raw, [task_name], environ)
    problems.extend(filled.problems)
    filled.header = _without(filled.header, skip, (HEADER,))
    filled.sections[task_name] = _without(filled.sections[task_name], skip, (task_name,))
    data = _task_data(model_cls, task_name, filled)
    validated, validation_problems = _validate(
        model_cls, task_name, data, raw, filled.failed | skip
    )
    problems.extend(validation_problems)
    if problems or validated is None:
        # Every failure carries its own problem; the fallback only guards that promise.
        raise ConfigError(problems or [raw.locator().problem((task_name,), "invalid parameters")])
    task_model = cast(TaskParameters, validated)
    return LoadedConfig(
        task_name, task_model.lute_config, task_model, raw, filled.sections[task_name], notes
    )


def load_header(
    path: Union[str, os.PathLike],
    overrides: Iterable[Union[str, Override]] = (),
    *,
    environ: Optional[Mapping[str, str]] = None,
) -> AnalysisHeader:
    """Read, fill in and validate only the header of a config.

    Raises:
        ConfigError: Every problem found in the header.
    """
    environ = os.environ if environ is None else environ
    raw = read_config_file(path)
    problems = [problem for problem in raw.problems if _in_header(problem)]
    raw, override_problems = _apply_overrides(raw, [o for o in overrides if _is_header_override(o)])
    problems.extend(override_problems)
    filled = _fill(raw, [], environ)
    problems.extend(filled.problems)
    data = coerce_model_input(AnalysisHeader, filled.header, (HEADER,), filled.texts)
    header, validation_problems = _validate(AnalysisHeader, HEADER, data, raw, filled.failed)
    problems.extend(validation_problems)
    if problems or header is None:
        raise ConfigError(problems or [raw.locator().problem((HEADER,), "the header is not valid")])
    return cast(AnalysisHeader, header)


def _is_header_override(item: Union[str, Override]) -> bool:
    try:
        override = item if isinstance(item, Override) else parse_override(item)
    except ConfigError:
        return True  # let apply_overrides report it
    return override.path[0] == HEADER


def check_config(
    path: Union[str, os.PathLike],
    overrides: Iterable[Union[str, Override]] = (),
    *,
    environ: Optional[Mapping[str, str]] = None,
) -> List[ConfigProblem]:
    """Check the whole file: the header and every section, each with its Task's model.

    Every section must name a known Task. Returns the notes (nothing fatal).

    Raises:
        ConfigError: Every problem found, in all sections.
    """
    environ = os.environ if environ is None else environ
    raw = read_config_file(path)
    problems = list(raw.problems)
    raw, override_problems = _apply_overrides(raw, overrides)
    problems.extend(override_problems)
    known = registry.known_task_names()
    names = [name for name in raw.sections if name in known]
    errors, notes, skip = _structure_problems(raw, lambda: known, names, strict=True)
    problems.extend(errors)
    filled = _fill(raw, names, environ)
    problems.extend(filled.problems)
    filled.header = _without(filled.header, skip, (HEADER,))
    header_data = coerce_model_input(AnalysisHeader, filled.header, (HEADER,), filled.texts)
    _header, header_problems = _validate(
        AnalysisHeader, HEADER, header_data, raw, filled.failed | skip
    )
    problems.extend(header_problems)
    for name in names:
        model_cls = registry.get_model(name)
        filled.sections[name] = _without(filled.sections[name], skip, (name,))
        data = _task_data(model_cls, name, filled)
        _model, section_problems = _validate(model_cls, name, data, raw, filled.failed | skip)
        # Header problems were reported once above; each section repeats them.
        problems.extend(p for p in section_problems if not _in_header(p))
    if problems:
        raise ConfigError(_unique(problems))
    return notes


def _in_header(problem: ConfigProblem) -> bool:
    return problem.path == HEADER or problem.path.startswith(HEADER + ".")


def _unique(problems: List[ConfigProblem]) -> List[ConfigProblem]:
    seen: Set[ConfigProblem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
