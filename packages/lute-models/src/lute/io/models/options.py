"""LUTE's own model options (the seed's ``class Config`` keys) and per-field markers.

A parameter model carries two kinds of settings:

- *Model options* -- ``run_directory``, ``set_result``, ``result_from_params``,
  ``result_summary``, ``impl_schemas``, ``short_flags_use_eq``, ``long_flags_use_eq``,
  ``version_location`` --
  written either in a nested ``class Config:`` (seed style) or in
  ``model_config = LuteConfigDict(...)`` (pydantic v2 style). Read them with
  :func:`lute_options`.
- *Field markers* -- ``is_result``, ``flag_type``, ``rename_param``, ``flag_use_eq``,
  ``is_flag``, ``list_style`` -- given as extra ``Field(...)`` keywords. They are kept in
  the field's ``json_schema_extra``; read them with :func:`field_extra`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Type, Union

from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from lute._records import FrozenRecord

__all__ = [
    "LUTE_OPTION_DEFAULTS",
    "LuteConfigDict",
    "LuteOptions",
    "field_extra",
    "lute_options",
]

#: Every LUTE model option with its default value.
LUTE_OPTION_DEFAULTS: Dict[str, Any] = {
    "run_directory": None,
    "set_result": False,
    "result_from_params": None,
    "result_summary": None,
    "impl_schemas": None,
    "short_flags_use_eq": False,
    "long_flags_use_eq": False,
    "version_location": None,
}


class LuteConfigDict(ConfigDict, total=False):
    """``ConfigDict`` plus LUTE's model options, for ``model_config = LuteConfigDict(...)``.

    Attributes:
        run_directory: Directory the Task runs in (may use ``{parameter}`` placeholders;
            relative paths are taken from ``lute_config.work_dir``).
        set_result: The result of the Task is known from its parameters.
        result_from_params: With ``set_result``: a format string over the parameters
            (``"{out_dir}/{name}.h5"``) or a callable taking the model.
        result_summary: With ``set_result``: a format string giving the result summary.
        impl_schemas: With ``set_result``: the schemas the result conforms to.
        short_flags_use_eq: Third-party programs: write ``-p=value`` instead of ``-p value``.
        long_flags_use_eq: Third-party programs: write ``--param=value``.
        version_location: Record the git commit and the uncommitted changes of a
            repository with every execution: ``True`` for the one holding the Task's
            code, or a path inside it (relative: to the model's module).
    """

    run_directory: Optional[str]
    set_result: bool
    result_from_params: Union[str, Callable[[Any], Any], None]
    result_summary: Optional[str]
    impl_schemas: Optional[str]
    short_flags_use_eq: bool
    long_flags_use_eq: bool
    version_location: Union[bool, str, None]


class LuteOptions(FrozenRecord):
    """The LUTE model options of one model class, with defaults filled in.

    Immutable and hashable (when ``result_from_params`` is).

    Attributes:
        run_directory: Directory the Task runs in (may use ``{parameter}`` placeholders).
        set_result: The result of the Task is known from its parameters.
        result_from_params: A format string over the parameters, or a callable taking
            the model.
        result_summary: A format string giving the result summary.
        impl_schemas: The schemas the result conforms to.
        short_flags_use_eq: Third-party programs: write ``-p=value`` instead of ``-p value``.
        long_flags_use_eq: Third-party programs: write ``--param=value``.
        version_location: Which repository's commit and changes are recorded with each
            execution (``True``: the Task's; a path inside one), or ``None``.
    """

    _FIELDS = (
        "run_directory",
        "set_result",
        "result_from_params",
        "result_summary",
        "impl_schemas",
        "short_flags_use_eq",
        "long_flags_use_eq",
        "version_location",
    )
    __slots__ = _FIELDS
    run_directory: Optional[str]
    set_result: bool
    result_from_params: Union[str, Callable[[Any], Any], None]
    result_summary: Optional[str]
    impl_schemas: Optional[str]
    short_flags_use_eq: bool
    long_flags_use_eq: bool
    version_location: Union[bool, str, None]

    def __init__(
        self,
        run_directory: Optional[str] = None,
        set_result: bool = False,
        result_from_params: Union[str, Callable[[Any], Any], None] = None,
        result_summary: Optional[str] = None,
        impl_schemas: Optional[str] = None,
        short_flags_use_eq: bool = False,
        long_flags_use_eq: bool = False,
        version_location: Union[bool, str, None] = None,
    ) -> None:
        self._set_fields(
            run_directory,
            set_result,
            result_from_params,
            result_summary,
            impl_schemas,
            short_flags_use_eq,
            long_flags_use_eq,
            version_location,
        )


def lute_options(model: Union[BaseModel, Type[BaseModel]]) -> LuteOptions:
    """The LUTE options of a model class (or of an instance's class).

    The class's ``Config`` attribute is read first, so options that seed-style code
    changes at run time (``cls.Config.result_from_params = ...``) are honoured; the
    class's ``model_config`` is the fallback.

    Args:
        model: A model class or instance.

    Returns:
        The options, defaults filled in.
    """
    cls = model if isinstance(model, type) else type(model)
    config_view = getattr(cls, "Config", None)
    model_config = getattr(cls, "model_config", {}) or {}
    values: Dict[str, Any] = {}
    for key, default in LUTE_OPTION_DEFAULTS.items():
        value = model_config.get(key, default)
        if config_view is not None and hasattr(config_view, key):
            value = getattr(config_view, key)
        if key == "result_from_params" and isinstance(value, staticmethod):
            value = value.__func__
        values[key] = value
    return LuteOptions(**values)


def field_extra(field: FieldInfo, key: str, default: Any = None) -> Any:
    """A LUTE field marker (``is_result``, ``flag_type``, ...) of one field.

    Args:
        field: The field, e.g. ``Model.model_fields["out_file"]``.
        key: The marker name.
        default: What to return when the marker is absent.
    """
    extra = field.json_schema_extra
    if isinstance(extra, dict):
        return extra.get(key, default)
    return default
