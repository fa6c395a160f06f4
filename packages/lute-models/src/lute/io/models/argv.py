"""Turn a validated third-party model into the program's argument list (never a shell string).

Fields become arguments in the order the model defines them:

======================  ===============================  ==========================
field marker            value                            arguments
======================  ===============================  ==========================
``flag_type="-"``       ``p = 5``                        ``-p 5`` (``-p=5`` in = style)
``flag_type="--"``      ``param = "x"``                  ``--param x`` (``--param=x``)
``flag_type=""``        ``p_arg1 = "in.h5"``             ``in.h5`` (positional)
any flag type           ``verbose = True`` / ``False``   ``--verbose`` / nothing
any flag type           ``items = ["a", "b"]``           ``--items a b`` (see ``list_style``)
``is_flag=False``       anything                         nothing
======================  ===============================  ==========================

Without ``flag_type`` the seed's rule applies: a one-letter name is a short flag, a name
containing ``p_arg`` is positional, anything else is a long flag. ``None`` and ``""``
values, nested models (``lute_config``, ``TemplateConfig`` ...) and ``executable`` are
never arguments. = style comes from the model options ``short_flags_use_eq`` /
``long_flags_use_eq`` or the field marker ``flag_use_eq``. ``list_style`` is ``"spread"``
(default: ``--items a b``; joined with commas in = style), ``"repeat"``
(``--items a --items b``) or ``"join"`` (``--items a,b``; separator ``list_sep``).
Keys the model does not declare go to its templates (:mod:`lute.io.models.templates`),
never to the command line.
"""

from __future__ import annotations

import enum
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

from pydantic import BaseModel

from lute.io.models.options import lute_options

__all__ = ["ArgvError", "to_argv"]

_LIST_STYLES = ("spread", "repeat", "join")


class ArgvError(ValueError):
    """A parameter cannot be expressed as command-line arguments."""


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    return str(value)


def _default_flag_type(name: str) -> str:
    if len(name) == 1:
        return "-"
    if "p_arg" in name:
        return ""
    return "--"


def _fields(model: BaseModel) -> Iterator[Tuple[str, Any, Dict[str, Any]]]:
    """(name, value, markers) of every declared field. Undeclared keys (allowed extras)
    are for the config-file templates, as in the original LUTE: never arguments."""
    for name, field in type(model).model_fields.items():
        markers = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        yield name, getattr(model, name), markers


def _flag_arguments(
    flag: str, values: List[str], use_eq: bool, list_style: str, separator: str, is_list: bool
) -> List[str]:
    if not is_list:
        return ["%s=%s" % (flag, values[0])] if use_eq else [flag, values[0]]
    if list_style == "repeat":
        if use_eq:
            return ["%s=%s" % (flag, item) for item in values]
        return [part for item in values for part in (flag, item)]
    if list_style == "join" or use_eq:
        joined = separator.join(values)
        return ["%s=%s" % (flag, joined)] if use_eq else [flag, joined]
    return [flag, *values]


def _arguments_for(model: BaseModel, name: str, value: Any, markers: Dict[str, Any]) -> List[str]:
    if value is None or (isinstance(value, str) and value == ""):
        return []
    if isinstance(value, BaseModel):
        return []
    if isinstance(value, dict):
        raise ArgvError(
            "parameter %r is a mapping, which has no command-line form; mark it "
            "is_flag=False (e.g. for a template) or split it into fields" % name
        )
    flag_type = markers.get("flag_type")
    if flag_type is None:
        flag_type = _default_flag_type(name)
    if flag_type not in ("-", "--", ""):
        raise ArgvError(
            "parameter %r: flag_type must be '-', '--' or '', not %r" % (name, flag_type)
        )
    list_style = markers.get("list_style", "spread")
    if list_style not in _LIST_STYLES:
        raise ArgvError(
            "parameter %r: list_style must be one of %s, not %r"
            % (name, ", ".join(_LIST_STYLES), list_style)
        )
    is_list = isinstance(value, (list, tuple, set, frozenset))
    items = [_text(item) for item in value] if is_list else [_text(value)]
    if flag_type == "":
        return items
    flag = flag_type + str(markers.get("rename_param") or name)
    if isinstance(value, bool):
        return [flag] if value else []
    if is_list and not items:
        return []
    options = lute_options(model)
    use_eq: Optional[bool] = markers.get("flag_use_eq")
    if use_eq is None:
        use_eq = options.short_flags_use_eq if flag_type == "-" else options.long_flags_use_eq
    separator = str(markers.get("list_sep", ","))
    return _flag_arguments(flag, items, bool(use_eq), list_style, separator, is_list)


def to_argv(model: BaseModel) -> List[str]:
    """The program and its arguments for a validated third-party model.

    Args:
        model: A validated model with an ``executable`` field.

    Returns:
        ``[executable, arg1, arg2, ...]``, ready for ``subprocess`` without a shell.

    Raises:
        ArgvError: No executable, or a parameter with no command-line form.
    """
    executable = getattr(model, "executable", None)
    if not executable:
        raise ArgvError("%s has no executable to run" % type(model).__name__)
    argv = [_text(executable)]
    for name, value, markers in _fields(model):
        if name == "executable" or markers.get("is_flag", True) is False:
            continue
        argv.extend(_arguments_for(model, name, value, markers))
    return argv
