"""The validation step of loading a config: the only one that needs pydantic.

Given the filled header and sections (:mod:`lute.io.config._fill`), it checks section
names against the known Tasks, gives text back where a model wants text
(:mod:`lute.io.config._coerce`) and validates with the models, turning every error into
a located :class:`~lute.io.config._problems.ConfigProblem`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Type

from pydantic import BaseModel, ValidationError

from lute.io.config._coerce import coerce_model_input
from lute.io.config._fill import Filled
from lute.io.config._problems import ConfigProblem, close_matches
from lute.io.config._read import RawConfig
from lute.io.config._sections import sweep_parts
from lute.io.config._substitution import HEADER
from lute.io.config._validation_problems import problems_from_validation
from lute.io.config._yaml_source import PathKey
from lute.io.models.base import AnalysisHeader

__all__ = [
    "header_data",
    "header_default",
    "in_header",
    "structure_problems",
    "task_data",
    "unique",
    "validate",
    "without",
]

# A section name this close to a known Task name is taken for a misspelling.
_MISSPELLING_CUTOFF = 0.75


def header_default(name: str) -> Any:
    """The ``AnalysisHeader`` default of a header key the file does not set (``KeyError``
    when it has none): what ``{{ name }}`` gives then."""
    header_field = AnalysisHeader.model_fields.get(name)
    if header_field is None or header_field.is_required():
        raise KeyError(name)
    return header_field.get_default(call_default_factory=True)


def validate(
    model_cls: Type[BaseModel],
    section_name: str,
    data: Dict[str, Any],
    raw: RawConfig,
    skip: Set[PathKey],
) -> Tuple[Optional[BaseModel], List[ConfigProblem]]:
    """``(model, [])`` if ``data`` is valid, else ``(None, its problems)``.

    Args:
        model_cls: The model (``AnalysisHeader`` for the header alone).
        section_name: The Task section the data comes from.
        data: The model's input (:func:`task_data`, :func:`header_data`).
        raw: The config, to locate problems.
        skip: Paths already reported (failed placeholders, misplaced keys); errors at
            or under them are left out.
    """
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


def header_data(filled: Filled) -> Dict[str, Any]:
    """The input of ``AnalysisHeader``: the filled header, coerced."""
    return coerce_model_input(AnalysisHeader, filled.header, (HEADER,), filled.texts)


def task_data(model_cls: Type[BaseModel], name: str, filled: Filled) -> Dict[str, Any]:
    """The input of ``model_cls``: the filled header and section ``name``, coerced."""
    header = header_data(filled)
    section = coerce_model_input(model_cls, filled.sections.get(name, {}), (name,), filled.texts)
    return {HEADER: header, **section}


def structure_problems(
    raw: RawConfig, known_names: Callable[[], Sequence[str]], wanted: Sequence[str], strict: bool
) -> Tuple[List[ConfigProblem], List[ConfigProblem], Set[PathKey]]:
    """(errors, notes, paths to leave out of validation) about section names.

    ``known_names`` is called only if a section or header key is neither wanted nor a
    built-in Task's: listing the known Tasks reads every installed distribution's entry
    points, which costs a start-up more than the rest of this check.
    """
    from lute.io.models.registry import BUILTIN_MODELS

    locate = raw.locator()
    errors: List[ConfigProblem] = []
    notes: List[ConfigProblem] = []
    skip: Set[PathKey] = set()
    known: Sequence[str] = list(BUILTIN_MODELS)
    unsure = [
        *(sweep_parts(name)[0] for name in raw.sections if name not in wanted),
        *(key for key in raw.header if key not in AnalysisHeader.model_fields),
    ]
    if any(name not in BUILTIN_MODELS for name in unsure):
        known = known_names()
    for name in raw.sections:
        if name in known or name in wanted or sweep_parts(name)[0] in known:
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


def without(data: Dict[str, Any], skip: Set[PathKey], base: PathKey) -> Dict[str, Any]:
    """``data`` (found at ``base``) without the keys whose paths are in ``skip``."""
    return {key: value for key, value in data.items() if (*base, key) not in skip}


def in_header(problem: ConfigProblem) -> bool:
    """Whether a problem is about a header value."""
    return problem.path == HEADER or problem.path.startswith(HEADER + ".")


def unique(problems: List[ConfigProblem]) -> List[ConfigProblem]:
    """``problems`` without repetitions, in their order."""
    seen: Set[ConfigProblem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
