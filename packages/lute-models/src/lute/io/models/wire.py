"""The JSON-compatible form of validated parameters, as sent to a Task.

``to_wire`` gives what the stdlib surrogate ``lute.io.parameters.TaskParameters``
rebuilds on the Task side: nested models become nested dicts, paths become text, enums
their values, dates and times ISO 8601 text, tuples and sets lists.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Type, TypeVar

from pydantic import BaseModel

__all__ = ["from_wire", "to_wire", "to_wire_json"]

ModelT = TypeVar("ModelT", bound=BaseModel)


def to_wire(model: BaseModel) -> Dict[str, Any]:
    """The model as plain JSON-compatible data (``model_dump(mode="json")``)."""
    return model.model_dump(mode="json")


def to_wire_json(model: BaseModel) -> str:
    """:func:`to_wire` as JSON text.

    Non-finite floats are written as ``NaN`` / ``Infinity``, the dialect of Python's
    ``json`` module (which the Task side and the results database read back).
    """
    return json.dumps(to_wire(model))


def from_wire(model_cls: Type[ModelT], data: Mapping[str, Any]) -> ModelT:
    """Rebuild the pydantic model from its wire form (where lute-models is installed).

    Values are validated again, so paths, enums and dates get their Python types back;
    computed defaults do not run again because their values are present.
    """
    return model_cls.model_validate(dict(data))
