"""Templated configuration files of third-party programs (real jinja2, real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lute.io.models.base import AnalysisHeader, Field, TemplateConfig, ThirdPartyParameters
from lute.io.models.templates import (
    TemplateError,
    render_templates,
    rendered_templates,
    template_search_dirs,
)


class Merge(ThirdPartyParameters):
    executable: str = "/bin/true"
    nproc: int = Field(4, flag_type="--")
    space_group: str = Field("P1", is_flag=False)
    lute_template_cfg: TemplateConfig = Field(
        TemplateConfig(template_name="", output_path=""), description="Template."
    )


def _model(
    tmp_path: Path, template: str, output: str = "merge/params.phil", **values: object
) -> Merge:
    return Merge(
        lute_config=AnalysisHeader(experiment="TST12345", run=12, work_dir=str(tmp_path / "work")),
        lute_template_cfg=TemplateConfig(template_name=template, output_path=output),
        **values,
    )


def _template(tmp_path: Path, text: str, name: str = "merge.phil") -> Path:
    path = tmp_path / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_render_writes_the_file_relative_to_work_dir(tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        "experiment={{ lute_config.experiment }}\nrun={{ '%04d' % lute_config.run }}\n"
        "nproc={{ nproc }}\nsymmetry={{ space_group }}\n",
    )
    written = render_templates(_model(tmp_path, str(template), nproc=8))
    output = tmp_path / "work" / "merge" / "params.phil"
    assert written == [output]
    assert output.read_text() == "experiment=TST12345\nrun=0012\nnproc=8\nsymmetry=P1\n"


def test_relative_template_names_use_search_dirs(tmp_path: Path) -> None:
    _template(tmp_path, "n={{ nproc }}")
    model = _model(tmp_path, "merge.phil", output=str(tmp_path / "abs.phil"))
    assert render_templates(model, search_dirs=[tmp_path / "templates"]) == [tmp_path / "abs.phil"]
    assert (tmp_path / "abs.phil").read_text() == "n=4"
    dirs = template_search_dirs(model)
    assert dirs[-1] == Path.cwd()
    assert Path(__file__).parent / "templates" in dirs  # beside the module defining Merge


def test_an_undefined_name_is_an_error_with_its_line(tmp_path: Path) -> None:
    template = _template(tmp_path, "a={{ nproc }}\nb={{ nprocs }}\n")
    with pytest.raises(TemplateError) as caught:
        render_templates(_model(tmp_path, str(template)))
    message = str(caught.value)
    assert "'nprocs' is undefined" in message
    assert "%s:2" % template in message
    assert not (tmp_path / "work").exists()  # nothing written


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    template = _template(tmp_path, "ok\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"merge\.phil:2: template syntax error"):
        rendered_templates(_model(tmp_path, str(template)))


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"'nowhere\.phil' not found; looked in"):
        rendered_templates(_model(tmp_path, "nowhere.phil"))
    with pytest.raises(TemplateError, match="does not exist"):
        rendered_templates(_model(tmp_path, str(tmp_path / "nowhere.phil")))


def test_empty_output_path(tmp_path: Path) -> None:
    template = _template(tmp_path, "x")
    with pytest.raises(TemplateError, match="output_path is empty"):
        rendered_templates(_model(tmp_path, str(template), output=""))


def test_no_template_configured_renders_nothing(tmp_path: Path) -> None:
    assert render_templates(_model(tmp_path, "")) == []


def test_preview_does_not_write(tmp_path: Path) -> None:
    template = _template(tmp_path, "n={{ nproc }}")
    (item,) = rendered_templates(_model(tmp_path, str(template)))
    assert item.text == "n=4" and item.field == "lute_template_cfg"
    assert item.template == template and not item.output.exists()


def test_all_templates_render_before_any_is_written(tmp_path: Path) -> None:
    class Two(Merge):
        second: TemplateConfig = Field(TemplateConfig(template_name="", output_path=""))

    good = _template(tmp_path, "fine", "good.txt")
    bad = _template(tmp_path, "{{ missing }}", "bad.txt")
    model = Two(
        lute_config=AnalysisHeader(work_dir=str(tmp_path / "work")),
        lute_template_cfg=TemplateConfig(template_name=str(good), output_path="good.out"),
        second=TemplateConfig(template_name=str(bad), output_path="bad.out"),
    )
    with pytest.raises(TemplateError):
        render_templates(model)
    assert not (tmp_path / "work" / "good.out").exists()
