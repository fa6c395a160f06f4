"""Filling a config's ``{{ ... }}`` placeholders, with LUTE's rules for header paths.

The placeholder engine is :mod:`lute.io.config._substitution`; this module points it at
a :class:`~lute.io.config._read.RawConfig`: relative ``work_dir`` / ``db_path`` are made
absolute against the config file's directory as they are filled, and header values the
file does not set come from ``header_default``. Used by the full load (with the
``AnalysisHeader`` defaults) and by the early header read (with none). No pydantic here.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping, Sequence, Set

from lute._records import Record
from lute.io.config._problems import ConfigProblem
from lute.io.config._read import RawConfig
from lute.io.config._substitution import HEADER, Substituter
from lute.io.config._yaml_source import PathKey

__all__ = ["HEADER_PATHS", "Filled", "config_dir", "fill", "resolve_path", "substituter"]

#: Header values that are paths, made absolute against the config file's directory.
HEADER_PATHS = ("work_dir", "db_path")

#: Value of a header key the file does not set; ``KeyError`` when it has none.
HeaderDefault = Callable[[str], Any]


def config_dir(raw: RawConfig) -> str:
    """The absolute directory of the config file: relative header paths start there."""
    return str(raw.path.parent.absolute())


def resolve_path(value: Any, directory: str) -> Any:
    """``value`` with ``~`` expanded and made absolute against ``directory``, normalised.

    Anything but non-blank text is returned as it is (validation judges it).
    """
    if not isinstance(value, str) or not value.strip():
        return value
    expanded = os.path.expanduser(value)
    if not os.path.isabs(expanded):
        expanded = os.path.join(directory, expanded)
    return os.path.normpath(expanded)


class Filled(Record):
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


def substituter(
    raw: RawConfig,
    texts: Dict[PathKey, str],
    environ: Mapping[str, str],
    header_default: HeaderDefault,
) -> Substituter:
    """A placeholder filler over ``raw`` (``texts`` is updated as values are filled)."""
    directory = config_dir(raw)

    def normalise(value: Any) -> Any:
        return resolve_path(value, directory)

    return Substituter(
        raw.tree(),
        texts,
        raw.locator(),
        environ,
        header_default,
        {(HEADER, key): normalise for key in HEADER_PATHS},
    )


def fill(
    raw: RawConfig,
    section_names: Sequence[str],
    environ: Mapping[str, str],
    header_default: HeaderDefault,
) -> Filled:
    """The header and the named sections of ``raw`` with their placeholders filled.

    A section the file does not have is ``{}``.
    """
    texts = dict(raw.texts)
    filler = substituter(raw, texts, environ, header_default)
    header = filler.resolve((HEADER,))
    sections = {
        name: filler.resolve((name,)) if name in raw.sections else {} for name in section_names
    }
    return Filled(header, sections, texts, filler.failed, filler.problems)
