"""``Field`` that accepts LUTE's extra keywords without pydantic's deprecation warning.

pydantic v2 still honours unknown ``Field`` keywords but warns that they are deprecated
and belong in ``json_schema_extra``. LUTE models use such keywords on purpose
(``is_result=True``, ``flag_type="--"``, ``rename_param=...``), so this wrapper moves them
into ``json_schema_extra`` itself: same result, no warning. A few pydantic v1 keywords
are translated to their v2 names while at it.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict

import pydantic
from pydantic_core import PydanticUndefined

__all__ = ["Field"]

_KNOWN_KEYWORDS = frozenset(
    name
    for name, parameter in inspect.signature(pydantic.Field).parameters.items()
    if parameter.kind is not inspect.Parameter.VAR_KEYWORD
)

# pydantic v1 spelling -> v2 spelling (pydantic v2 rejects or warns about the old ones).
_V1_RENAMES = {"regex": "pattern", "min_items": "min_length", "max_items": "max_length"}


def _merge_schema_extra(current: Any, extra: Dict[str, Any]) -> Any:
    if current is None:
        return extra
    if isinstance(current, dict):
        return {**current, **extra}
    if callable(current):
        # A callable json_schema_extra edits the schema in place; keep it and add ours.
        def merged(schema: Dict[str, Any], *args: Any) -> None:
            schema.update(extra)
            current(schema, *args)

        return merged
    raise TypeError("json_schema_extra must be a dict or a callable, got %r" % (current,))


def Field(default: Any = PydanticUndefined, **kwargs: Any) -> Any:
    """Declare a model field; like ``pydantic.Field`` plus LUTE's markers.

    LUTE markers (any keyword pydantic does not know) are stored in
    ``json_schema_extra``: ``is_result``, ``flag_type`` (``"-"``, ``"--"`` or ``""`` for
    a positional argument), ``rename_param``, ``flag_use_eq``, ``is_flag``,
    ``list_style``.

    Args:
        default: The default value (omit, or ``...``, for a required field).
        **kwargs: ``pydantic.Field`` keywords and LUTE markers.

    Returns:
        The pydantic ``FieldInfo``.
    """
    for old, new in _V1_RENAMES.items():
        if old in kwargs:
            kwargs.setdefault(new, kwargs.pop(old))
    if "allow_mutation" in kwargs:
        kwargs["frozen"] = not kwargs.pop("allow_mutation")
    extra = {key: kwargs.pop(key) for key in list(kwargs) if key not in _KNOWN_KEYWORDS}
    if extra:
        kwargs["json_schema_extra"] = _merge_schema_extra(kwargs.get("json_schema_extra"), extra)
    return pydantic.Field(default, **kwargs)
