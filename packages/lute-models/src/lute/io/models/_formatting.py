"""Safe ``{name}`` / ``{name.attr:spec}`` formatting over a mapping of values.

Used by computed defaults and result templates in models, and by the config loader's
``{{ name:spec }}`` placeholders. Only names, dotted attribute/key access and format
specs are understood -- nothing is evaluated. Numeric text is formatted as a number when
the spec asks for one, so ``{run:04d}`` works whether ``run`` is ``12`` or ``"12"``.
"""

from __future__ import annotations

import re
import string
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

__all__ = ["format_template", "format_value", "lookup_dotted"]

_INT_SPEC_TYPES = frozenset("bcdoxXn")
_FLOAT_SPEC_TYPES = frozenset("eEfFgG%")
_INT_TEXT = re.compile(r"^\s*[-+]?\d+\s*$")

Fallback = Callable[[str], Any]
_NOT_FOUND = object()


def format_value(value: Any, spec: str) -> str:
    """``format(value, spec)``, turning numeric text into a number when the spec wants one.

    Raises:
        ValueError: The value cannot be formatted with this spec.
    """
    converted = value
    kind = spec[-1:] if spec else ""
    if isinstance(value, str):
        if kind in _INT_SPEC_TYPES and _INT_TEXT.match(value):
            converted = int(value)
        elif kind in _FLOAT_SPEC_TYPES:
            try:
                converted = float(value)
            except ValueError:
                pass
    try:
        return format(converted, spec)
    except (ValueError, TypeError) as err:
        raise ValueError("cannot format %r with ':%s' (%s)" % (value, spec, err)) from None


def lookup_dotted(root: Any, parts: Sequence[str]) -> Any:
    """Follow ``parts`` from ``root`` through mapping keys or public attributes.

    Raises:
        KeyError: A part is missing or private (starts with ``_``).
    """
    current = root
    for part in parts:
        if part.startswith("_"):
            raise KeyError(part)
        if isinstance(current, Mapping):
            if part not in current:
                raise KeyError(part)
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit():
            index = int(part)
            if index >= len(current):
                raise KeyError(part)
            current = current[index]
        else:
            value = getattr(current, part, _NOT_FOUND)
            if value is _NOT_FOUND:
                raise KeyError(part)
            current = value
    return current


class _SafeFormatter(string.Formatter):
    def __init__(self, values: Mapping[str, Any], fallback: Optional[Fallback]) -> None:
        super().__init__()
        self._values = values
        self._fallback = fallback

    def get_field(
        self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Tuple[Any, str]:
        if not field_name or "[" in field_name:
            raise KeyError(field_name or "{}")
        first, *rest = field_name.split(".")
        if first in self._values:
            root = self._values[first]
        elif self._fallback is not None:
            root = self._fallback(first)
        else:
            raise KeyError(first)
        return lookup_dotted(root, rest), first

    def format_field(self, value: Any, format_spec: str) -> str:
        return format_value(value, format_spec)


def format_template(
    template: str,
    values: Mapping[str, Any],
    *,
    what: str = "template",
    fallback: Optional[Fallback] = None,
) -> str:
    """Fill ``{name}``, ``{name.attr}`` and ``{name:spec}`` fields of ``template``.

    Args:
        template: The text with ``{...}`` fields (``{{``/``}}`` for literal braces).
        values: Names available to the template.
        what: How to name the template in error messages.
        fallback: Called with a top-level name missing from ``values``; raises
            ``KeyError`` when it does not know the name either.

    Raises:
        ValueError: Unknown name, bad syntax or a value the spec cannot format.
    """
    try:
        return _SafeFormatter(values, fallback).format(template)
    except KeyError as err:
        raise ValueError(
            "%s %r refers to {%s}, which is not known here" % (what, template, err.args[0])
        ) from None
    except (IndexError, AttributeError) as err:
        raise ValueError("%s %r: %s" % (what, template, err)) from None
    except ValueError as err:
        raise ValueError("%s %r: %s" % (what, template, err)) from None
