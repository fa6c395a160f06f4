"""Command-line overrides: ``Task.param=value`` and ``lute_config.key=value``.

An override is read as a YAML value and applied to a :class:`~lute.io.config._read.RawConfig`
before placeholders are filled, so ``run=13`` changes every ``{{ run }}``. A problem it
causes is reported as coming from the :data:`COMMAND_LINE`. No pydantic here.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, List, Optional, Tuple, Union

from lute._records import FrozenRecord
from lute.io.config._problems import ConfigError, ConfigProblem
from lute.io.config._read import RawConfig
from lute.io.config._substitution import HEADER
from lute.io.config._yaml_source import PathKey, parse_value

__all__ = [
    "COMMAND_LINE",
    "Override",
    "apply_overrides",
    "collect_overrides",
    "is_header_override",
    "parse_override",
    "reads_override",
    "unread_overrides",
]

#: The ``file`` of problems caused by a command-line override.
COMMAND_LINE = "command line"
_OVERRIDE_KEY = re.compile(r"^[A-Za-z_]\w*(?:\.\w+)*$")


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
    result, problems = collect_overrides(raw, overrides)
    if problems:
        raise ConfigError(problems)
    return result


def collect_overrides(
    raw: RawConfig, overrides: Iterable[Union[str, Override]]
) -> Tuple[RawConfig, List[ConfigProblem]]:
    """A copy of ``raw`` with every override applied that can be, and the problems of
    the others."""
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


def _readable(item: Union[str, Override]) -> Optional[Override]:
    """The override, or ``None`` when it cannot be read (apply_overrides reports it)."""
    try:
        return item if isinstance(item, Override) else parse_override(item)
    except ConfigError:
        return None


def is_header_override(item: Union[str, Override]) -> bool:
    """Whether an override sets a header value (one that cannot be read counts as one)."""
    override = _readable(item)
    return override is None or override.path[0] == HEADER


def reads_override(section: str, item: Union[str, Override]) -> bool:
    """Whether a run reading ``section`` reads the override: a header value, or one of
    that section (one that cannot be read counts: apply_overrides reports it)."""
    override = _readable(item)
    return override is None or override.path[0] in (HEADER, section)


def unread_overrides(
    section: str, overrides: Iterable[Union[str, Override]], task_name: str = ""
) -> List[ConfigProblem]:
    """A problem for each override of a section other than ``section``, which a run of
    that section never reads: an override silently ignored hides a misspelt name.

    Args:
        section: The section the run reads (a sweep point's: ``Test_7``).
        overrides: The overrides given for the run.
        task_name: The section's Task, when ``section`` is a sweep point's.
    """
    problems = []
    for item in overrides:
        override = _readable(item)
        if override is None or reads_override(section, override):  # read once, not twice
            continue
        named = str(override.path[0])
        if task_name and named == task_name != section:
            hint = "a sweep point reads its own section %r, not %r: write %s.%s=..." % (
                section,
                task_name,
                section,
                ".".join(str(part) for part in override.path[1:]),
            )
        else:
            hint = "this run reads only section %r and the header (lute_config)" % section
        problems.append(
            ConfigProblem(
                COMMAND_LINE,
                None,
                ".".join(str(part) for part in override.path),
                "cannot set %r: %s" % (override.source, hint),
            )
        )
    return problems
