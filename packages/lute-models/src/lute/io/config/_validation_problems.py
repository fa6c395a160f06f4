"""pydantic validation errors as config problems: located, in a scientist's words.

The only problem module that needs pydantic; the config loader imports it in its
validation step (:mod:`lute.io.config._validate`), never while reading a file.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Type, Union

from pydantic import BaseModel, ValidationError

from lute.io.config._problems import ConfigProblem, Locator, did_you_mean, dotted
from lute.io.config._yaml_source import MISSING, PathKey, child_of
from lute.io.models._dynamic import HEADER_INVALID

__all__ = ["describe_input", "problems_from_validation"]

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


def _template_hint(model: Type[BaseModel], path: PathKey) -> str:
    """For a third-party model: where the original LUTE sent undeclared keys."""
    from lute.io.models.base import ThirdPartyParameters

    if len(path) != 2 or not (isinstance(model, type) and issubclass(model, ThirdPartyParameters)):
        return ""
    return (
        " (the original LUTE passed undeclared keys of a third-party Task to its config-file "
        "template: declare it in the model, or give the model a TemplateConfig field or "
        'extra = "allow" in its Config to pass such keys to its templates)'
    )


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
        if path[:1] == ("lute_config",) and len(path) == 2 and name in model.model_fields:
            # A bare name is a header value (run=13); this one is the Task's own.
            suggestion = "; %r is a parameter of this Task: write %s.%s=..." % (name, section, name)
        else:
            suggestion = did_you_mean(name, _fields_at(model, loc))
        return "unknown parameter %r %s%s%s" % (
            name,
            owner,
            suggestion,
            _template_hint(model, path),
        )
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
