"""LUTE parameter models (pydantic v2).

- :mod:`lute.io.models.base` -- ``TaskParameters``, ``ThirdPartyParameters``,
  ``AnalysisHeader``, ``TemplateConfig`` (the classes Task authors derive from).
- :mod:`lute.io.models.validators` -- computed defaults (``template_default``,
  ``from_result``, ``from_parameters``).
- :mod:`lute.io.models.registry` -- find a Task's model by the Task's name.
- :mod:`lute.io.models.argv`, :mod:`lute.io.models.templates` -- third-party programs.
- :mod:`lute.io.models.wire`, :mod:`lute.io.models.describe` -- JSON form, descriptions.
- :mod:`lute.io.models.tests` -- models of the built-in test Tasks.

The names most callers need are importable from this package directly.
"""

from typing import Any, Optional

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

#: Another name for :func:`lute_options` (the options of a model class).
model_options = lute_options


def result_from_params(model: BaseModel) -> Optional[Any]:
    """The result value a model's parameters define (``set_result``), or ``None``.

    :func:`known_result` gives the summary and schemas as well.
    """
    known = known_result(model)
    return None if known is None else known.payload
