"""Field defaults computed at validation time (the machinery behind ``validators.py``).

A :class:`DynamicDefault` is written as a field's default in a model class body::

    out_file: str = template_default("{work_dir}/out_r{run:04d}.h5")

While the class is created, :func:`install_dynamic_defaults` replaces it with an ordinary
``Field(None, validate_default=True, ...)`` and a "wrap" field validator that computes
the value whenever the field is unset (``None`` or ``""``). The computed value is then
validated against the field's type like any other value -- except the placeholder of a
result still to come (:class:`lute.io.db.PendingResult`, while a workflow is checked
before it is queued), which stands in unvalidated.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, MutableMapping

from pydantic import field_validator

from lute.io.models._fields import Field

__all__ = ["HEADER_INVALID", "DynamicDefault", "install_dynamic_defaults", "is_unset"]

#: Error type of a computed default that cannot run because the header is invalid (the
#: config loader leaves it out: the header's own errors explain it).
HEADER_INVALID = "lute_header_invalid"

#: ``compute(data, field_name, model_class)`` where ``data`` holds the fields validated so
#: far (``lute_config`` first).
ComputeFn = Callable[[Dict[str, Any], str, type], Any]


class DynamicDefault:
    """A field default computed from other parameters or from the results database.

    Args:
        compute: Called as ``compute(data, field_name, model_class)``; returns the value
            or raises ``ValueError`` with a message for the user.
        describe: Short human description for ``describe_model`` (e.g. the template).
        field_kwargs: Further ``Field(...)`` keywords (``description=...``).
    """

    def __init__(self, compute: ComputeFn, describe: str, **field_kwargs: Any) -> None:
        self.compute = compute
        self.describe = describe
        self.field_kwargs = field_kwargs

    def __repr__(self) -> str:
        return "DynamicDefault(%s)" % self.describe


def is_unset(value: Any) -> bool:
    """Whether a value means "not given" for a dynamic default (``None`` or ``""``)."""
    return value is None or (isinstance(value, str) and value == "")


def _make_validator(default: DynamicDefault, field_name: str) -> Any:
    def fill_default(cls: type, value: Any, handler: Any, info: Any) -> Any:
        if not is_unset(value):
            return handler(value)
        from lute.io.db import UpstreamPending

        try:
            computed = default.compute(dict(info.data), field_name, cls)
        except UpstreamPending as pending:
            return pending.value
        return handler(computed)

    fill_default.__name__ = "lute_default__%s" % field_name
    fill_default.__qualname__ = fill_default.__name__
    return field_validator(field_name, mode="wrap")(classmethod(fill_default))


def install_dynamic_defaults(namespace: MutableMapping[str, Any]) -> None:
    """Turn every :class:`DynamicDefault` in a class namespace into a field + validator.

    Args:
        namespace: The class body namespace, before pydantic sees it.

    Raises:
        TypeError: A dynamic default was assigned to a name without a type annotation.
    """
    annotations = namespace.get("__annotations__", {})
    for name, value in list(namespace.items()):
        if not isinstance(value, DynamicDefault):
            continue
        if name not in annotations:
            raise TypeError(
                "%s = %r: a computed default needs a type annotation, e.g. "
                "`%s: str = ...`" % (name, value, name)
            )
        kwargs = dict(value.field_kwargs)
        kwargs["lute_default"] = value.describe
        namespace[name] = Field(None, validate_default=True, **kwargs)
        namespace["lute_default__%s" % name] = _make_validator(value, name)
