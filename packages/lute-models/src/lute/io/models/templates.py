"""Render the configuration files a third-party program reads (jinja2 templates).

A model declares a template with a :class:`~lute.io.models.base.TemplateConfig` field::

    lute_template_cfg: TemplateConfig = Field(
        TemplateConfig(template_name="merge.phil", output_path="merge/params.phil"),
        description="Parameter file for the merging program.",
    )

Before the program starts, the Executor calls :func:`render_templates`. Inside the
template every parameter of the model is available by name (``{{ nproc }}``,
``{{ lute_config.experiment }}``), and so is every key of the Task's section that the
model does not declare (``{{ phil_parameters.dispatch_index }}``): such keys are for the
templates, never command-line arguments. A name the template uses but the model lacks is an
error (jinja2's ``StrictUndefined``), never an empty string.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pydantic import BaseModel

from lute._records import FrozenRecord
from lute.io.models.base import TemplateConfig

__all__ = [
    "RenderedTemplate",
    "TemplateError",
    "render_templates",
    "rendered_templates",
    "template_context",
    "template_search_dirs",
]


class TemplateError(ValueError):
    """A template is missing, malformed, or uses a value the model does not have."""


class RenderedTemplate(FrozenRecord):
    """One rendered template.

    Immutable and hashable.

    Attributes:
        field: The model field holding the ``TemplateConfig``.
        template: The template file used.
        output: Where the text goes.
        text: The rendered text.
    """

    _FIELDS = ("field", "template", "output", "text")
    __slots__ = ("field", "output", "template", "text")
    field: str
    template: Path
    output: Path
    text: str

    def __init__(self, field: str, template: Path, output: Path, text: str) -> None:
        self._set_fields(field, template, output, text)


def template_search_dirs(model: BaseModel, extra: Sequence[os.PathLike] = ()) -> List[Path]:
    """Where relative template names are looked up, in order.

    ``extra`` first, then ``templates/`` beside the module of the model class (and of
    its parent classes), then the current directory.
    """
    dirs = [Path(directory) for directory in extra]
    for cls in type(model).__mro__:
        module = sys.modules.get(getattr(cls, "__module__", ""))
        module_file = getattr(module, "__file__", None)
        if module_file:
            candidate = Path(module_file).parent / "templates"
            if candidate not in dirs:
                dirs.append(candidate)
    dirs.append(Path.cwd())
    return dirs


def template_context(model: BaseModel) -> Dict[str, Any]:
    """The names a template sees: every parameter of the model, and the keys of its
    section the model does not declare (mappings too), as in the original LUTE."""
    context = {name: getattr(model, name) for name in type(model).model_fields}
    context.update(model.model_extra or {})
    return context


def _template_fields(model: BaseModel) -> List[Tuple[str, TemplateConfig]]:
    found = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, TemplateConfig) and value.template_name:
            found.append((name, value))
    return found


def _find_template(name: str, dirs: Sequence[Path]) -> Path:
    path = Path(name).expanduser()
    if path.is_absolute():
        if path.is_file():
            return path
        raise TemplateError("template %s does not exist" % path)
    for directory in dirs:
        candidate = directory / path
        if candidate.is_file():
            return candidate.resolve()
    raise TemplateError(
        "template %r not found; looked in: %s" % (name, ", ".join(str(d) for d in dirs))
    )


def _error_line(template: Path) -> Optional[int]:
    import traceback  # only when a template fails

    # jinja2 rewrites tracebacks so frames of template code carry the template's name.
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(sys.exc_info()[2])
        if frame.filename and Path(frame.filename) == template
    ]
    return lines[-1] if lines else None


def _render(template: Path, context: Dict[str, Any]) -> str:
    import jinja2  # only needed when a model has templates

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # configuration files, not HTML
    )
    try:
        return environment.get_template(template.name).render(context)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(
            "%s:%s: template syntax error: %s" % (template, err.lineno, err.message)
        ) from None
    except jinja2.UndefinedError as err:
        line = _error_line(template)
        where = "%s:%s" % (template, line) if line else str(template)
        raise TemplateError(
            "%s: %s (the model has no such parameter; the template sees: %s)"
            % (where, err.message, ", ".join(sorted(context)))
        ) from None


def _output_path(model: BaseModel, config: TemplateConfig, field: str) -> Path:
    if not config.output_path:
        raise TemplateError("%s.output_path is empty: where should the file go?" % field)
    output = Path(config.output_path).expanduser()
    header = getattr(model, "lute_config", None)
    if not output.is_absolute() and header is not None:
        output = Path(header.work_dir) / output
    return output.absolute()


def rendered_templates(
    model: BaseModel, *, search_dirs: Sequence[os.PathLike] = ()
) -> List[RenderedTemplate]:
    """Render every template of a model without writing anything (e.g. for a dry run).

    Raises:
        TemplateError: See the class.
    """
    dirs = template_search_dirs(model, search_dirs)
    context = template_context(model)
    rendered = []
    for field, config in _template_fields(model):
        template = _find_template(config.template_name, dirs)
        output = _output_path(model, config, field)
        rendered.append(RenderedTemplate(field, template, output, _render(template, context)))
    return rendered


def render_templates(model: BaseModel, *, search_dirs: Sequence[os.PathLike] = ()) -> List[Path]:
    """Render and write every template of a model; returns the files written.

    All templates are rendered before the first file is written, so a broken template
    leaves nothing behind. Each file is replaced atomically.

    Raises:
        TemplateError: See the class.
    """
    written = []
    for item in rendered_templates(model, search_dirs=search_dirs):
        item.output.parent.mkdir(parents=True, exist_ok=True)
        temporary = item.output.with_name(item.output.name + ".lute-tmp")
        temporary.write_text(item.text)
        os.replace(str(temporary), str(item.output))
        written.append(item.output)
    return written
