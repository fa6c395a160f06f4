"""Human and machine descriptions of a parameter model (for ``lute-exec describe``)."""

from __future__ import annotations

import re
import textwrap
from typing import Any, Dict, List, Optional, Type

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lute._records import FrozenRecord
from lute.io.models.base import ThirdPartyParameters
from lute.io.models.options import field_extra

__all__ = ["ParameterRow", "describe_model", "model_schema", "parameter_rows"]

_DOTTED_PREFIX = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")
_MAX_DEFAULT = 40


class ParameterRow(FrozenRecord):
    """One line of a model description.

    Immutable and hashable.

    Attributes:
        name: Parameter name; nested ones as ``group.name``.
        type: The annotation, as text.
        default: The default, as text (``(required)``, ``(see below)``...).
        description: The field's description.
        flag: How a third-party program receives it (``--name``, ``(positional)``...).
    """

    _FIELDS = ("name", "type", "default", "description", "flag")
    __slots__ = ("default", "description", "flag", "name", "type")
    name: str
    type: str
    default: str
    description: str
    flag: str

    def __init__(
        self, name: str, type: str, default: str, description: str, flag: str = ""
    ) -> None:
        self._set_fields(name, type, default, description, flag)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    text = str(annotation).replace("NoneType", "None")
    return _DOTTED_PREFIX.sub("", text)


def _default_text(field: FieldInfo) -> str:
    computed = field_extra(field, "lute_default")
    if computed:
        return "(%s)" % computed
    if field.is_required():
        return "(required)"
    try:
        value = field.get_default(call_default_factory=True)
    except TypeError:  # factories that want the validated data (pydantic >= 2.10)
        return "(computed)"
    if isinstance(value, BaseModel):
        return "(see below)"
    text = repr(value)
    return text if len(text) <= _MAX_DEFAULT else text[: _MAX_DEFAULT - 3] + "..."


def _flag_text(name: str, field: FieldInfo) -> str:
    if name == "executable" or field_extra(field, "is_flag", True) is False:
        return "(not passed)"
    flag_type = field_extra(field, "flag_type")
    if flag_type is None:
        flag_type = "-" if len(name) == 1 else ("" if "p_arg" in name else "--")
    if flag_type == "":
        return "(positional)"
    return flag_type + str(field_extra(field, "rename_param") or name)


def _nested_model(annotation: Any) -> Optional[Type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def parameter_rows(
    model_cls: Type[BaseModel], *, include_header: bool = False
) -> List[ParameterRow]:
    """One row per parameter, nested groups expanded as ``group.name``.

    Args:
        model_cls: The model class.
        include_header: Also list ``lute_config`` (the config header) and its values.
    """
    third_party = issubclass(model_cls, ThirdPartyParameters)
    rows: List[ParameterRow] = []

    def visit(cls: Type[BaseModel], prefix: str, top: bool) -> None:
        for name, field in cls.model_fields.items():
            if top and name == "lute_config" and not include_header:
                continue
            nested = _nested_model(field.annotation)
            rows.append(
                ParameterRow(
                    name=prefix + name,
                    type=_type_name(field.annotation),
                    default=_default_text(field),
                    description=field.description or "",
                    flag=_flag_text(name, field) if third_party and top else "",
                )
            )
            if nested is not None:
                visit(nested, prefix + name + ".", False)

    visit(model_cls, "", True)
    return rows


def describe_model(
    model_cls: Type[BaseModel], *, include_header: bool = False, width: int = 100
) -> str:
    """A table of the parameters: name, type, default, description (and flag).

    Args:
        model_cls: The model class.
        include_header: Also describe ``lute_config``.
        width: Target line width; descriptions wrap within it.
    """
    rows = parameter_rows(model_cls, include_header=include_header)
    with_flags = any(row.flag for row in rows)
    headings = ["parameter", "type", "default"] + (["flag"] if with_flags else [])
    columns = [
        [row.name, row.type, row.default] + ([row.flag] if with_flags else []) for row in rows
    ]
    widths = [max([len(h)] + [len(c[i]) for c in columns]) for i, h in enumerate(headings)]
    lead = sum(widths) + 2 * len(widths)
    wrap_width = max(20, width - lead)

    def line(cells: List[str], description: str) -> List[str]:
        first = "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + "  "
        wrapped = textwrap.wrap(description, wrap_width) or [""]
        out = [(first + wrapped[0]).rstrip()]
        out.extend(" " * lead + more for more in wrapped[1:])
        return out

    doc = (model_cls.__doc__ or "").strip().splitlines()
    text = ["%s%s" % (model_cls.__name__, ": " + doc[0] if doc else ""), ""]
    text.extend(line(headings, "description"))
    text.append("-" * min(width, lead + len("description")))
    for cells, row in zip(columns, rows):
        text.extend(line(cells, row.description))
    return "\n".join(text) + "\n"


def model_schema(model_cls: Type[BaseModel]) -> Dict[str, Any]:
    """The model's JSON schema (LUTE field markers appear as extra keys)."""
    return model_cls.model_json_schema()
