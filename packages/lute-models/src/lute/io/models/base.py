"""Base classes of every Task's parameter model (import path used in the user docs).

A Task's parameters are a pydantic model named ``<TaskName>Parameters`` deriving from
:class:`TaskParameters` (Python Tasks) or :class:`ThirdPartyParameters` (external
programs). Both the seed style (``class Config``, ``Field(..., is_result=True)``,
``@validator``) and the pydantic v2 style (``model_config``, ``field_validator``) work;
see ``docs/configuration.md``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import ConfigDict

from lute.io.models._fields import Field
from lute.io.models.compat import LuteModel, root_validator, validator
from lute.io.models.header import AnalysisHeader, ElogSettings
from lute.io.models.options import LuteConfigDict, LuteOptions, lute_options
from lute.io.models.results import KnownResult, known_result, resolved_run_directory

__all__ = [
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
]


class TaskParameters(LuteModel):
    """Base class of a Task's parameter model.

    Every model carries the config header as ``lute_config``. Unknown parameters are an
    error. LUTE's model options live in ``class Config`` (or ``model_config``):
    """

    model_config = ConfigDict(extra="forbid")

    class Config:
        """LUTE options (see :class:`~lute.io.models.options.LuteConfigDict`)."""

        run_directory: Optional[str] = None
        set_result: bool = False
        result_from_params: Optional[str] = None
        result_summary: Optional[str] = None
        impl_schemas: Optional[str] = None
        version_location: Union[bool, str, None] = None

    lute_config: AnalysisHeader = Field(description="The config header: experiment, run, ...")

    def known_result(self) -> Optional[KnownResult]:
        """The result defined by these parameters (``set_result``), or ``None``."""
        return known_result(self)

    def resolved_run_directory(self) -> Optional[str]:
        """The directory to run the Task in (option ``run_directory``), or ``None``."""
        return resolved_run_directory(self)


class TemplateConfig(LuteModel):
    """A configuration file rendered from a jinja2 template before a program starts.

    ``template_name`` is a path: absolute, or found in ``templates/`` beside the module
    defining the model, or relative to the current directory. A relative
    ``output_path`` is taken from ``lute_config.work_dir``. An empty ``template_name``
    means "no template".
    """

    model_config = ConfigDict(extra="forbid")

    template_name: str = Field("", description="Template file.")
    output_path: str = Field("", description="Where the rendered file is written.")


class ThirdPartyParameters(TaskParameters):
    """Parameters of an external program: each field becomes a command-line flag.

    Per field (extra ``Field`` keywords): ``flag_type`` ``"-"`` (``-p value``), ``"--"``
    (``--param value``) or ``""`` (positional); ``rename_param`` (the flag's name when it
    differs from the field's); ``flag_use_eq`` (``--param=value`` for this field);
    ``is_flag=False`` (not passed to the program, e.g. used by a template);
    ``list_style`` for list values. Fields without ``flag_type`` follow the seed's rule:
    one-letter names are short flags, names containing ``p_arg`` are positional, the
    rest are long flags. See :func:`lute.io.models.argv.to_argv`.

    Keys of a config section that the model does not declare are never arguments: as in
    the original LUTE they go to the model's config-file templates (they may be mappings
    there). A model with a :class:`TemplateConfig` field accepts them; a model without
    one refuses them (there is nowhere for them to go), unless it sets
    ``extra = "allow"``.
    """

    class Config(TaskParameters.Config):
        """Adds the flag styles of :class:`~lute.io.models.options.LuteConfigDict`."""

        short_flags_use_eq: bool = False
        long_flags_use_eq: bool = False

    executable: str = Field(..., description="The program to run.", is_flag=False)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # The original LUTE let every third-party model take undeclared keys for its
        # templates; here a model with a template does (unless it says otherwise).
        if _sets_extra(cls) or not _has_template(cls):
            return
        cls.model_config["extra"] = "allow"
        cls.model_rebuild(force=True)


def _sets_extra(cls: type) -> bool:
    """Whether the class, or a parent below ThirdPartyParameters, chose ``extra`` itself
    (in its ``class Config`` or ``model_config``)."""
    below = cls.__mro__[: cls.__mro__.index(ThirdPartyParameters)]
    return any("extra" in vars(klass).get("__lute_own_options__", ()) for klass in below)


def _has_template(cls: type) -> bool:
    for field in getattr(cls, "model_fields", {}).values():
        annotation = field.annotation
        candidates = (annotation, *getattr(annotation, "__args__", ()))
        if any(isinstance(c, type) and issubclass(c, TemplateConfig) for c in candidates):
            return True
    return False
