"""Seed-style (pydantic v1 style) model definitions on pydantic v2, quietly.

Facility models are written in the style of the original LUTE documentation::

    from pydantic import Field, validator

    class FindPeaksParameters(TaskParameters):
        class Config(TaskParameters.Config):
            set_result = True

        out_file: str = Field("", description="Output", is_result=True)

        @validator("out_file", always=True)
        def validate_out_file(cls, out_file, values): ...

pydantic v2 still runs this, but warns three times (extra ``Field`` keywords, the v1
``@validator``, the class-based ``Config``) and refuses a bare ``@root_validator``.
:class:`LuteModel` -- the base of every LUTE model -- makes such class bodies work
without any warning, narrowly:

- Inside the class body *only*, the names ``Field``, ``validator`` and
  ``root_validator`` -- when they are pydantic's own objects in the defining module --
  resolve to this module's equivalents. Code outside LUTE model class bodies is untouched.
- A nested ``class Config`` is converted into ``model_config`` before pydantic sees it
  (v1 keys renamed, removed ones dropped); the class stays reachable as ``Model.Config``
  so ``class Config(TaskParameters.Config)`` keeps working.
- Computed defaults (``template_default``, ``from_result``) are installed.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Tuple

import pydantic
from pydantic import BaseModel, ConfigDict

from lute.io.models._dynamic import install_dynamic_defaults
from lute.io.models._fields import Field
from lute.io.models.options import LUTE_OPTION_DEFAULTS

if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass as _PydanticMeta
else:
    _PydanticMeta = type(BaseModel)  # pydantic's metaclass, without importing its internals

__all__ = ["Field", "LuteModel", "config_class_to_dict", "root_validator", "validator"]

# Messages of the pydantic deprecation warnings this module silences (only around its
# own calls into pydantic's v1-style decorators).
_V1_DECORATOR_WARNINGS = (
    r"Pydantic V1 style `@(root_)?validator` validators are deprecated",
    r"`allow_reuse` is deprecated",
)


@contextlib.contextmanager
def _quiet_v1_decorators() -> Iterator[None]:
    with warnings.catch_warnings():
        for message in _V1_DECORATOR_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
        yield


def validator(*fields: str, **kwargs: Any) -> Callable[[Any], Any]:
    """pydantic v1's ``@validator`` (``values``, ``pre``, ``always``, ``each_item``).

    The behaviour is pydantic's own v1 compatibility layer; only its deprecation
    warning is kept from the user.

    Args:
        *fields: Names of the fields to validate.
        **kwargs: ``pre``, ``each_item``, ``always``, ``check_fields``, ``allow_reuse``.
    """
    with _quiet_v1_decorators():
        return pydantic.validator(*fields, **kwargs)


def root_validator(*args: Any, pre: bool = False, **kwargs: Any) -> Any:
    """pydantic v1's ``@root_validator``, also usable bare (``@root_validator``).

    pydantic v2 cannot run a post root validator after field errors, so
    ``skip_on_failure`` defaults to ``True`` for ``pre=False`` (v2 refuses anything else).

    Args:
        *args: Nothing, or the function when used bare.
        pre: Run before field validation.
        **kwargs: ``skip_on_failure``, ``allow_reuse``.
    """
    if len(args) == 1 and callable(args[0]) and not kwargs and not pre:
        return root_validator()(args[0])
    if args:
        raise TypeError("root_validator takes keyword arguments only (pre=..., ...)")
    if not pre:
        kwargs.setdefault("skip_on_failure", True)
    decorator: Any = pydantic.root_validator  # its overloads cannot see through **kwargs
    with _quiet_v1_decorators():
        return decorator(pre=pre, **kwargs)


# pydantic v1 Config keys: renamed in v2, or gone (dropped here without a fuss).
_V1_CONFIG_RENAMES = {
    "allow_population_by_field_name": "populate_by_name",
    "anystr_lower": "str_to_lower",
    "anystr_strip_whitespace": "str_strip_whitespace",
    "anystr_upper": "str_to_upper",
    "keep_untouched": "ignored_types",
    "max_anystr_length": "str_max_length",
    "min_anystr_length": "str_min_length",
    "orm_mode": "from_attributes",
    "schema_extra": "json_schema_extra",
    "validate_all": "validate_default",
}
_V1_CONFIG_REMOVED = frozenset(
    {
        "copy_on_model_validation",
        "env_prefix",  # BaseSettings in the seed; LUTE models are not settings
        "error_msg_templates",
        "fields",
        "getter_dict",
        "json_dumps",
        "json_loads",
        "post_init_call",
        "smart_union",
        "underscore_attrs_are_private",
    }
)


def config_class_to_dict(config: type) -> Dict[str, Any]:
    """Convert a seed-style ``class Config`` (inherited attributes included) to a dict.

    Args:
        config: The nested ``Config`` class.

    Returns:
        A ``model_config`` mapping with pydantic v2 keys plus LUTE's options.
    """
    result: Dict[str, Any] = {}
    for key in dir(config):
        if key.startswith("__"):
            continue
        value = getattr(config, key)
        if key in _V1_CONFIG_REMOVED:
            continue
        if key == "allow_mutation":
            result["frozen"] = not value
            continue
        if key == "extra" and isinstance(value, Enum):  # pydantic v1's Extra.forbid etc.
            value = value.value
        result[_V1_CONFIG_RENAMES.get(key, key)] = value
    return result


_MISSING = object()


def _should_shadow(frame: Any, name: str, original: Any, replacement: Any) -> bool:
    """Whether ``name`` in the new class body would resolve to pydantic's ``original``."""
    local = frame.f_locals.get(name, _MISSING)
    if local is original or local is replacement:
        return True
    # A class body defined in another class body looks names up in the module, not in
    # the enclosing class; one defined in a function sees the function's locals first.
    enclosing_is_class = "__qualname__" in frame.f_locals and "__module__" in frame.f_locals
    if local is _MISSING or enclosing_is_class:
        return frame.f_globals.get(name, _MISSING) is original
    return False


def _seed_names() -> Dict[str, Tuple[Any, Any]]:
    # name -> (pydantic's object, LUTE's quiet equivalent)
    return {
        "Field": (pydantic.Field, Field),
        "validator": (pydantic.validator, validator),
        "root_validator": (pydantic.root_validator, root_validator),
    }


def _config_view(cls: type, bases: Tuple[type, ...], own: Optional[type]) -> type:
    """The ``Model.Config`` class: the user's own, or one built from ``model_config``."""
    if own is not None:
        return own
    parent = next((base.Config for base in bases if hasattr(base, "Config")), object)
    model_config = getattr(cls, "model_config", {})
    attrs: Dict[str, Any] = {
        key: model_config[key] for key in LUTE_OPTION_DEFAULTS if key in model_config
    }
    if callable(attrs.get("result_from_params")):
        attrs["result_from_params"] = staticmethod(attrs["result_from_params"])
    attrs["__qualname__"] = "%s.Config" % cls.__qualname__
    attrs["__module__"] = cls.__module__
    return type("Config", (parent,), attrs)


class _SeedCompatMeta(_PydanticMeta):
    """Metaclass of :class:`LuteModel`; see the module docstring."""

    @classmethod
    def __prepare__(mcs, name: str, bases: Tuple[type, ...], **kwargs: Any) -> Any:  # type: ignore[override]
        namespace = super().__prepare__(name, bases, **kwargs)
        # The frame running the ``class`` statement: only shadow names that are bound
        # to pydantic's own objects there, so nothing else is ever hijacked.
        caller = sys._getframe(1)
        for key, (original, replacement) in _seed_names().items():
            if _should_shadow(caller, key, original, replacement):
                namespace[key] = replacement
        return namespace

    def __new__(
        mcs, name: str, bases: Tuple[type, ...], namespace: Dict[str, Any], **kwargs: Any
    ) -> Any:
        for key, (_original, replacement) in _seed_names().items():
            if namespace.get(key) is replacement:
                del namespace[key]
        own_config = namespace.get("Config")
        if isinstance(own_config, type):
            del namespace["Config"]
            converted = config_class_to_dict(own_config)
            namespace["model_config"] = {**converted, **(namespace.get("model_config") or {})}
        else:
            own_config = None
        install_dynamic_defaults(namespace)
        # Which options this class sets itself (pydantic keeps only the merged config).
        namespace["__lute_own_options__"] = frozenset(namespace.get("model_config") or ())
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        type.__setattr__(cls, "Config", _config_view(cls, bases, own_config))
        return cls


class LuteModel(BaseModel, metaclass=_SeedCompatMeta):
    """Base of LUTE's models: pydantic ``BaseModel`` that accepts seed-style bodies.

    Use it (or :class:`~lute.io.models.base.TaskParameters`) for nested parameter
    groups too when they use ``class Config`` or extra ``Field`` keywords.
    """

    # Build each model's validator on first use, not at import: a run validates one
    # Task's model, and building every installed model costs more than validating it.
    model_config = ConfigDict(defer_build=True)
