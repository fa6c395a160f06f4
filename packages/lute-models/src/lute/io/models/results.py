"""Results known from the parameters alone (``set_result`` with ``is_result`` or
``result_from_params``), so the Executor can record them for any Task -- third-party
programs included -- without the Task reporting anything.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from pydantic import BaseModel

from lute._records import FrozenRecord
from lute.io.models._formatting import format_template
from lute.io.models.options import field_extra, lute_options

__all__ = ["KnownResult", "known_result", "resolved_run_directory"]


class KnownResult(FrozenRecord):
    """A result taken from the parameters.

    Immutable and hashable (when ``payload`` is).

    Attributes:
        payload: The result value (e.g. the output file path).
        summary: A short summary, when ``result_summary`` is set.
        impl_schemas: The schemas the result conforms to, when ``impl_schemas`` is set.
    """

    _FIELDS = ("payload", "summary", "impl_schemas")
    __slots__ = ("impl_schemas", "payload", "summary")
    payload: Any
    summary: Optional[str]
    impl_schemas: Optional[str]

    def __init__(
        self, payload: Any, summary: Optional[str] = None, impl_schemas: Optional[str] = None
    ) -> None:
        self._set_fields(payload, summary, impl_schemas)


def _model_values(model: BaseModel) -> dict:
    return {name: getattr(model, name) for name in type(model).model_fields}


def known_result(model: BaseModel) -> Optional[KnownResult]:
    """The result a model's parameters define, or ``None``.

    Only models with the option ``set_result`` define one: the value of the field marked
    ``is_result=True`` or else ``result_from_params`` (a format string over the
    parameters, or a callable taking the model).

    Args:
        model: A validated parameter model.

    Raises:
        ValueError: ``result_from_params`` or ``result_summary`` refers to an unknown name.
    """
    options = lute_options(model)
    if not options.set_result:
        return None
    payload: Any = None
    for name, field in type(model).model_fields.items():
        if field_extra(field, "is_result", False):
            payload = getattr(model, name)
            break
    else:
        source = options.result_from_params
        if callable(source):
            payload = source(model)
        elif isinstance(source, str):
            payload = format_template(source, _model_values(model), what="result_from_params")
    if payload is None:
        return None
    summary = None
    if options.result_summary:
        summary = format_template(
            options.result_summary, _model_values(model), what="result_summary"
        )
    return KnownResult(payload=payload, summary=summary, impl_schemas=options.impl_schemas)


def resolved_run_directory(model: BaseModel) -> Optional[str]:
    """The directory the Task should run in (option ``run_directory``), or ``None``.

    ``{parameter}`` placeholders are filled from the model; a relative result is taken
    from ``lute_config.work_dir``.
    """
    template = lute_options(model).run_directory
    if not template:
        return None
    directory = format_template(str(template), _model_values(model), what="run_directory")
    header = getattr(model, "lute_config", None)
    if not os.path.isabs(directory) and header is not None:
        directory = os.path.join(header.work_dir, directory)
    return os.path.abspath(directory)
