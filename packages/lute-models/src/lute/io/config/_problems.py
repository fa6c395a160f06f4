"""Config problems: what is wrong, where (file, line, parameter path), in plain words."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type, Union

from pydantic import BaseModel, ValidationError

from lute._records import FrozenRecord
from lute.io.config._yaml_source import MISSING, PathKey, child_of
from lute.io.models._dynamic import HEADER_INVALID

__all__ = [
    "HEADER_INVALID",
    "ConfigError",
    "ConfigProblem",
    "Locator",
    "close_matches",
    "dotted",
    "problems_from_validation",
]


def dotted(path: Sequence[Union[str, int]]) -> str:
    """``("Test", "compound_var", "int_var")`` -> ``"Test.compound_var.int_var"``."""
    return ".".join(str(part) for part in path)


def close_matches(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> List[str]:
    """Candidates that look like ``word`` (a misspelling or a different capitalisation)."""
    candidates = list(candidates)
    import difflib  # only when a name is wrong

    found = difflib.get_close_matches(word, candidates, n=3, cutoff=cutoff)
    for candidate in candidates:
        if candidate.lower() == word.lower() and candidate != word and candidate not in found:
            found.insert(0, candidate)
    return found


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""``."""
    found = close_matches(word, candidates)
    if not found:
        return ""
    return "; did you mean %s?" % " or ".join(repr(name) for name in found)


class ConfigProblem(FrozenRecord):
    """One thing wrong with a config.

    Immutable and hashable (problems are de-duplicated in sets).

    Attributes:
        file: The config file (or ``"command line"`` for an override).
        line: 1-based line, when known.
        path: Dotted parameter path (``"Test.compound_var.int_var"``; header values
            are ``"lute_config.run"``).
        message: What is wrong and, where possible, how to fix it.
    """

    _FIELDS = ("file", "line", "path", "message")
    __slots__ = ("file", "line", "message", "path")
    file: str
    line: Optional[int]
    path: str
    message: str

    def __init__(self, file: str, line: Optional[int], path: str, message: str) -> None:
        self._set_fields(file, line, path, message)

    def __str__(self) -> str:
        where = self.file if self.line is None else "%s:%d" % (self.file, self.line)
        return (
            "%s: %s: %s" % (where, self.path, self.message)
            if self.path
            else "%s: %s" % (where, self.message)
        )


class ConfigError(Exception):
    """A config has problems; all of them are in :attr:`problems`.

    Attributes:
        problems: Every problem found, in file/line order.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        ordered = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
        self.problems: List[ConfigProblem] = ordered
        super().__init__(self._text())

    def _text(self) -> str:
        count = len(self.problems)
        files = sorted({problem.file for problem in self.problems})
        title = "%d problem%s in %s:" % (
            count,
            "" if count == 1 else "s",
            ", ".join(files) or "the config",
        )
        return "\n".join([title] + ["  " + str(problem) for problem in self.problems])

    def __str__(self) -> str:
        return self._text()


class Locator:
    """Finds the file and line of a parameter path (nearest recorded ancestor)."""

    def __init__(self, file: str, lines: Dict[PathKey, int], origins: Dict[PathKey, str]) -> None:
        self.file = file
        self.lines = lines
        self.origins = origins

    def __call__(self, path: PathKey) -> Tuple[str, Optional[int]]:
        for end in range(len(path), 0, -1):
            prefix = tuple(path[:end])
            if prefix in self.origins:
                return self.origins[prefix], None
            if prefix in self.lines:
                return self.file, self.lines[prefix]
        return self.file, None

    def problem(self, path: PathKey, message: str) -> ConfigProblem:
        """A problem located at ``path``."""
        file, line = self(path)
        return ConfigProblem(file, line, dotted(path), message)


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "tuple": "a list",
    "set": "a list",
    "frozen_set": "a list",
    "dict": "a mapping (key: value lines)",
    "mapping": "a mapping (key: value lines)",
    "model": "a group of parameters (key: value lines)",
    "model_attributes": "a group of parameters (key: value lines)",
    "dataclass": "a group of parameters (key: value lines)",
    "none_required": "null",
    "path": "a path",
    "date": "a date",
    "datetime": "a date and time",
    "decimal": "a number",
}


def _expected(error_type: str) -> Optional[str]:
    for suffix in ("_type", "_parsing", "_from_float", "_parsing_size"):
        if error_type.endswith(suffix):
            return _EXPECTED.get(error_type[: -len(suffix)])
    return _EXPECTED.get(error_type)


def describe_input(value: Any) -> str:
    """A value in a scientist's words: ``'abc' (text)``, ``a list``, ``nothing (null)``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "%s (true/false)" % ("true" if value else "false")
    if isinstance(value, str):
        return "%r (text)" % value
    if isinstance(value, (int, float)):
        return "%r (a number)" % value
    if isinstance(value, (list, tuple)):
        return "a list %s" % (repr(value) if len(repr(value)) <= 40 else "of %d items" % len(value))
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _config_path(base: PathKey, loc: Sequence[Union[str, int]], data: Any) -> PathKey:
    """Follow a pydantic error location through the input; drop schema-only parts
    (union member tags such as ``int`` / ``str``)."""
    path = list(base)
    current = data
    for part in loc:
        child = child_of(current, part)
        if child is MISSING:
            if isinstance(current, dict) and isinstance(part, str):
                path.append(part)  # a parameter not in the input: missing, or its default failed
            break
        current = child
        path.append(part)
    return tuple(path)


def _fields_at(model: Type[BaseModel], loc: Sequence[Union[str, int]]) -> List[str]:
    """Field names of the (nested) model that holds ``loc``'s last part."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _nested_model(fields[part].annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}) or {})


def _nested_model(annotation: Any) -> Optional[Type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _message(error: Any, model: Type[BaseModel], section: str, path: PathKey) -> str:
    error_type = error["type"]
    loc = error["loc"]
    if error_type == "missing":
        where = "under '%s:'" % section if len(loc) == 1 and section else "here"
        return "required value is missing (add '%s: ...' %s)" % (loc[-1], where)
    if error_type == "extra_forbidden":
        name = str(loc[-1])
        if len(path) > 2:
            owner = "in %s" % dotted(path[1:-1])
        else:
            owner = "for the header" if path[:1] == ("lute_config",) else "for this Task"
        suggestion = did_you_mean(name, _fields_at(model, loc))
        return "unknown parameter %r %s%s" % (name, owner, suggestion)
    expected = _expected(error_type)
    if expected is not None:
        return "wrong type: expected %s, got %s" % (expected, describe_input(error.get("input")))
    message = str(error.get("msg", error_type))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    message = message.replace("Input should be", "must be")
    return "%s, got %s" % (message, describe_input(error.get("input")))


def _merge(messages: List[str]) -> str:
    wrong = [
        m[len("wrong type: expected ") :] for m in messages if m.startswith("wrong type: expected ")
    ]
    if len(wrong) == len(messages) and len(messages) > 1:
        expected = []
        got = wrong[0].rsplit(", got ", 1)[-1]
        for item in wrong:
            what = item.rsplit(", got ", 1)[0]
            if what not in expected:
                expected.append(what)
        return "wrong type: expected %s, got %s" % (" or ".join(expected), got)
    unique: List[str] = []
    for message in messages:
        if message not in unique:
            unique.append(message)
    return "; ".join(unique)


def problems_from_validation(
    error: ValidationError,
    *,
    model: Type[BaseModel],
    data: Dict[str, Any],
    section: str,
    section_path: PathKey,
    locate: Locator,
    skip: Iterable[PathKey] = (),
) -> List[ConfigProblem]:
    """Turn a pydantic ``ValidationError`` into located, readable problems.

    Args:
        error: The error from ``model.model_validate(data)``.
        model: The model validated.
        data: The input given to it.
        section: The Task section name (for "add it under ..." hints).
        section_path: Config path of the model's data, e.g. ``("Test",)``; the
            ``lute_config`` part maps to the header.
        locate: Finds file and line of a path.
        skip: Paths already reported (e.g. failed placeholders); errors at or under them
            are dropped.
    """
    skipped = [tuple(path) for path in skip]
    grouped: Dict[PathKey, List[str]] = {}
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        base: PathKey = () if loc[:1] == ("lute_config",) else section_path
        if item["type"] == HEADER_INVALID:
            continue  # a computed default waiting for the header: the header's errors say why
        path = _config_path(base, loc, data)
        if any(path[: len(bad)] == bad for bad in skipped):
            continue
        grouped.setdefault(path, []).append(_message(item, model, section, path))
    return [locate.problem(path, _merge(messages)) for path, messages in grouped.items()]
