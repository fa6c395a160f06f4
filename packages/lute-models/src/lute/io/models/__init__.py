"""LUTE parameter models (pydantic v2).

- :mod:`lute.io.models.base` -- ``TaskParameters``, ``ThirdPartyParameters``,
  ``AnalysisHeader``, ``TemplateConfig`` (the classes Task authors derive from).
- :mod:`lute.io.models.validators` -- computed defaults (``template_default``,
  ``from_result``, ``from_parameters``).
- :mod:`lute.io.models.registry` -- find a Task's model by the Task's name.
- :mod:`lute.io.models.argv`, :mod:`lute.io.models.templates` -- third-party programs.
- :mod:`lute.io.models.wire`, :mod:`lute.io.models.describe` -- JSON form, descriptions.
- :mod:`lute.io.models.tests` -- models of the built-in test Tasks.

The names most callers need are importable from this package directly. Each is loaded
on first use (as are the modules above, as attributes), so importing the package, or a
pydantic-free module of it such as ``_formatting`` (which the config reader uses),
imports no pydantic.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, List, Optional

from lute._lazy import lazy_attributes

if TYPE_CHECKING:  # what type checkers see; at run time each name loads on first use
    from pydantic import BaseModel

    from lute.io.models.argv import ArgvError, to_argv
    from lute.io.models.base import (
        AnalysisHeader,
        ElogSettings,
        Field,
        KnownResult,
        LuteConfigDict,
        LuteModel,
        LuteOptions,
        TaskParameters,
        TemplateConfig,
        ThirdPartyParameters,
        lute_options,
        root_validator,
        validator,
    )
    from lute.io.models.base import lute_options as model_options
    from lute.io.models.describe import describe_model, model_schema
    from lute.io.models.registry import (
        UnknownModelError,
        get_model,
        list_models,
        load_model_reference,
        model_reference,
    )
    from lute.io.models.results import known_result, resolved_run_directory
    from lute.io.models.templates import TemplateError, render_templates, rendered_templates
    from lute.io.models.validators import from_parameters, from_result, template_default
    from lute.io.models.wire import from_wire, to_wire, to_wire_json

__all__ = [
    "AnalysisHeader",
    "ArgvError",
    "ElogSettings",
    "Field",
    "KnownResult",
    "LuteConfigDict",
    "LuteModel",
    "LuteOptions",
    "TaskParameters",
    "TemplateConfig",
    "TemplateError",
    "ThirdPartyParameters",
    "UnknownModelError",
    "describe_model",
    "from_parameters",
    "from_result",
    "from_wire",
    "get_model",
    "known_result",
    "list_models",
    "load_model_reference",
    "lute_options",
    "model_options",
    "model_reference",
    "model_schema",
    "render_templates",
    "rendered_templates",
    "resolved_run_directory",
    "result_from_params",
    "root_validator",
    "template_default",
    "to_argv",
    "to_wire",
    "to_wire_json",
    "validator",
]

# submodule -> the names imported from it
_EXPORTS = {
    "argv": ("ArgvError", "to_argv"),
    "base": (
        "AnalysisHeader",
        "ElogSettings",
        "Field",
        "KnownResult",
        "LuteConfigDict",
        "LuteModel",
        "LuteOptions",
        "TaskParameters",
        "TemplateConfig",
        "ThirdPartyParameters",
        "lute_options",
        "root_validator",
        "validator",
    ),
    "describe": ("describe_model", "model_schema"),
    "registry": (
        "UnknownModelError",
        "get_model",
        "list_models",
        "load_model_reference",
        "model_reference",
    ),
    "results": ("known_result", "resolved_run_directory"),
    "templates": ("TemplateError", "render_templates", "rendered_templates"),
    "validators": ("from_parameters", "from_result", "template_default"),
    "wire": ("from_wire", "to_wire", "to_wire_json"),
}
# The public modules, attributes of the package once imported (as they always were).
_SUBMODULES = frozenset(
    (
        "argv",
        "base",
        "compat",
        "describe",
        "header",
        "options",
        "registry",
        "results",
        "templates",
        "tests",
        "validators",
        "wire",
    )
)

_lazy = lazy_attributes(
    __name__,
    {
        "BaseModel": "pydantic",  # importable from here since this package imported it
        **{
            name: "%s.%s" % (__name__, module)
            for module, names in _EXPORTS.items()
            for name in names
        },
    },
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        __import__("%s.%s" % (__name__, name))  # sets the attribute on this package
        return getattr(sys.modules[__name__], name)
    if name == "model_options":  # another name for lute_options (the options of a model)
        value = _lazy("lute_options")
        globals()[name] = value
        return value
    return _lazy(name)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


def result_from_params(model: BaseModel) -> Optional[Any]:
    """The result value a model's parameters define (``set_result``), or ``None``.

    :func:`known_result` gives the summary and schemas as well.
    """
    from lute.io.models.results import known_result

    known = known_result(model)
    return None if known is None else known.payload
