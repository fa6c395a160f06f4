"""Give text back where a model wants text but YAML read a number, boolean or null.

YAML decides types from how a value looks; the model knows what it wants. When a
parameter is text-only (``str``, a path, a text enum) and the config holds a plain
``0012``, ``1.50`` or ``true``, the value passed to pydantic is the exact text
as written (pydantic v2 does not turn numbers into text itself). Everything else is left
to pydantic, which turns text into numbers where the model wants numbers.
"""

from __future__ import annotations

import enum
import sys
from collections import abc
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Dict, List, Optional, Tuple, Type, Union, get_args, get_origin

from pydantic import BaseModel

from lute.io.config._yaml_source import PathKey

__all__ = ["coerce_model_input"]

try:  # Python >= 3.9 always has typing.Annotated
    from typing import Annotated
except ImportError:  # pragma: no cover
    Annotated = None  # type: ignore[assignment]

if sys.version_info >= (3, 10):
    from types import UnionType

    _UNION_ORIGINS: Tuple[Any, ...] = (Union, UnionType)
else:  # pragma: no cover - Python 3.9
    _UNION_ORIGINS = (Union,)

_SEQUENCE_ORIGINS = (
    list,
    set,
    frozenset,
    abc.Sequence,
    abc.MutableSequence,
    abc.Set,
    abc.Collection,
    abc.Iterable,
)
_MAPPING_ORIGINS = (dict, abc.Mapping, abc.MutableMapping)


def _strip(annotation: Any) -> Any:
    while Annotated is not None and get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> List[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in _UNION_ORIGINS:
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _is_text_type(annotation: Any) -> bool:
    if isinstance(annotation, type):
        if issubclass(annotation, (str, PurePath)):
            return True
        if issubclass(annotation, enum.Enum):
            return all(isinstance(member.value, str) for member in annotation)
    if get_origin(annotation) is not None and str(get_origin(annotation)).endswith("Literal"):
        return all(isinstance(arg, str) for arg in get_args(annotation))
    return False


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a union member takes ``value`` as it is (without becoming text)."""
    if annotation is Any or annotation is object:
        return True
    if not isinstance(annotation, type):
        return False
    if isinstance(value, bool):
        return issubclass(annotation, bool)
    if isinstance(value, int):
        return issubclass(annotation, (int, float, Decimal)) and not issubclass(annotation, bool)
    if isinstance(value, float):
        return issubclass(annotation, (float, Decimal))
    return False


def _as_text(value: Any, path: PathKey, texts: Dict[PathKey, str]) -> Any:
    if path in texts:
        return texts[path]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _model_of(members: List[Any]) -> Optional[Type[BaseModel]]:
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _coerce(annotation: Any, value: Any, path: PathKey, texts: Dict[PathKey, str]) -> Any:
    members = _members(annotation)
    if value is None:
        return None  # null means "not given" (computed defaults rely on it), never "null"
    if isinstance(value, (bool, int, float)):
        if any(_accepts(member, value) for member in members):
            return value
        if any(_is_text_type(member) for member in members):
            return _as_text(value, path, texts)
        return value
    if isinstance(value, dict):
        model = _model_of(members)
        if model is not None:
            return coerce_model_input(model, value, path, texts)
        for member in members:
            if get_origin(member) in _MAPPING_ORIGINS and len(get_args(member)) == 2:
                item_type = get_args(member)[1]
                return {
                    key: _coerce(item_type, item, (*path, key), texts)
                    for key, item in value.items()
                }
        return value
    if isinstance(value, list):
        for member in members:
            origin = get_origin(member)
            args = get_args(member)
            if origin is tuple and args and args[-1] is not Ellipsis:
                return [
                    _coerce(args[index], item, (*path, index), texts) if index < len(args) else item
                    for index, item in enumerate(value)
                ]
            if (origin is tuple or origin in _SEQUENCE_ORIGINS) and args:
                return [
                    _coerce(args[0], item, (*path, index), texts)
                    for index, item in enumerate(value)
                ]
        return value
    return value


def coerce_model_input(
    model: Type[BaseModel], data: Dict[str, Any], path: PathKey, texts: Dict[PathKey, str]
) -> Dict[str, Any]:
    """A copy of ``data`` with values turned back into text where ``model`` wants text.

    Args:
        model: The model the data is for.
        data: Input mapping (keys are field names or aliases).
        path: Config path of ``data`` (to find source texts).
        texts: Source texts of plain scalars by path.
    """
    fields = dict(model.model_fields)
    for info in model.model_fields.values():
        if info.alias:
            fields.setdefault(info.alias, info)
    result = {}
    for key, value in data.items():
        found = fields.get(key)
        result[key] = (
            value if found is None else _coerce(found.annotation, value, (*path, key), texts)
        )
    return result
