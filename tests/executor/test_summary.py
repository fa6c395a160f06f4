"""Summaries to report items, summary-plot pages, and the report item itself."""

from __future__ import annotations

import logging
import os
from typing import Any, List

import pytest

from lute.io.elog import ReportItem, plots_directory, render_summary_plots, summarise
from lute.tasks.dataclasses import ElogSummaryPlots, TaskResult, TaskStatus


def result(summary: Any) -> TaskResult:
    return TaskResult(task_name="Test", task_status=TaskStatus.COMPLETED, summary=summary)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# -- summarise --------------------------------------------------------------------------


def test_dict_summary_gives_key_values(tmp_path: Any) -> None:
    items = summarise(result({"n_hits": 12, "rate": 0.5, "note": None}), plots_dir=str(tmp_path))
    assert items == [
        ReportItem("keyvalue", "n_hits", "12"),
        ReportItem("keyvalue", "rate", "0.5"),
        ReportItem("keyvalue", "note", "None"),
    ]


@pytest.mark.parametrize("empty", [None, "", [], (), {}])
def test_empty_summaries_give_nothing(empty: Any, tmp_path: Any) -> None:
    assert summarise(result(empty), plots_dir=str(tmp_path)) == []


def test_no_result_gives_nothing(tmp_path: Any) -> None:
    assert summarise(None, plots_dir=str(tmp_path)) == []


def test_text_and_other_values(tmp_path: Any) -> None:
    assert summarise(result("done"), plots_dir=str(tmp_path)) == [ReportItem.text("done")]
    assert summarise(result(3.5), plots_dir=str(tmp_path)) == [ReportItem.text("3.5")]


def test_mixed_nested_list_is_processed_item_by_item(tmp_path: Any) -> None:
    plots_dir = str(tmp_path / "plots")
    summary = [
        "first line",
        {"a": 1},
        ("inner", ["deeper", {"b": "2"}], None, ""),
        ElogSummaryPlots("Tab/Sub tab", "<p>fig</p>"),
        42,
    ]
    items = summarise(result(summary), plots_dir=plots_dir)
    page = os.path.join(plots_dir, "Tab", "Sub tab", "report.html")
    assert items == [
        ReportItem.text("first line"),
        ReportItem.keyvalue("a", "1"),
        ReportItem.text("inner"),
        ReportItem.text("deeper"),
        ReportItem.keyvalue("b", "2"),
        ReportItem("plots", "Tab/Sub tab", page, page),
        ReportItem.text("42"),
    ]
    assert "<p>fig</p>" in read(page)


def test_a_list_containing_itself_does_not_recurse_forever(tmp_path: Any) -> None:
    loop: List[Any] = ["x"]
    loop.append(loop)
    items = summarise(result(loop), plots_dir=str(tmp_path))
    assert items[0] == ReportItem.text("x")
    assert len(items) == 2 and "recursive" in items[1].value


def test_unrenderable_plots_become_a_text_item(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    summary = [{"k": "v"}, ElogSummaryPlots("Bad", object()), ElogSummaryPlots("../up", "<p/>")]
    with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
        items = summarise(result(summary), plots_dir=str(tmp_path))
    assert items[0] == ReportItem.keyvalue("k", "v")
    assert [i.kind for i in items[1:]] == ["text", "text"]
    assert "builtins.object" in items[1].value
    assert ".." in items[2].value
    assert caplog.text.count("could not be rendered") == 2
    assert not os.path.exists(os.path.join(str(tmp_path), "..", "up"))


# -- summary-plot pages ----------------------------------------------------------------


def test_html_string_figures_are_written_in_one_page(tmp_path: Any) -> None:
    plots = ElogSummaryPlots("Run <12>", ["<div id='a'>A</div>", "<div id='b'>B</div>"])
    path = render_summary_plots(plots, str(tmp_path))
    assert path == os.path.join(str(tmp_path), "Run <12>", "report.html")
    page = read(path)
    assert page.index("id='a'") < page.index("id='b'")
    assert "<title>Run &lt;12&gt;</title>" in page


def test_rendering_again_replaces_the_page(tmp_path: Any) -> None:
    render_summary_plots(ElogSummaryPlots("Tab", "<p>old</p>"), str(tmp_path))
    path = render_summary_plots(ElogSummaryPlots("Tab", "<p>new</p>"), str(tmp_path))
    assert "new" in read(path) and "old" not in read(path)
    assert os.listdir(os.path.dirname(path)) == ["report.html"]  # no temporary files left


@pytest.mark.parametrize("name", ["", " / ", "..", "a/../b", "./a"])
def test_bad_display_names_are_refused(name: str, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="display_name"):
        render_summary_plots(ElogSummaryPlots(name, "<p/>"), str(tmp_path))


def test_display_name_must_be_text(tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="display_name must be a str"):
        render_summary_plots(ElogSummaryPlots(3, "<p/>"), str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ElogSummaryPlots"):
        render_summary_plots("not plots", str(tmp_path))  # type: ignore[arg-type]


def test_objects_with_repr_html_are_rendered(tmp_path: Any) -> None:
    class Table:
        def _repr_html_(self) -> str:
            return "<table><tr><td>cell</td></tr></table>"

    path = render_summary_plots(ElogSummaryPlots("T", Table()), str(tmp_path))
    assert "<td>cell</td>" in read(path)


def test_matplotlib_figure_is_embedded_as_png(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1, 2], [1, 0, 1])
    path = render_summary_plots(ElogSummaryPlots("Hits", [figure, "<p>note</p>"]), str(tmp_path))
    page = read(path)
    assert '<img alt="figure" src="data:image/png;base64,iVBOR' in page
    assert "<p>note</p>" in page


def test_plotly_figure_is_embedded_with_its_library_once(tmp_path: Any) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    figures = [go.Figure(go.Scatter(y=[1, 3, 2])), go.Figure(go.Bar(y=[2, 1]))]
    page = read(render_summary_plots(ElogSummaryPlots("Plotly", figures), str(tmp_path)))
    assert page.count("Plotly.newPlot") == 2
    assert page.count("plotly.js v") == 1  # the library's banner: embedded once, offline


def test_bokeh_figure_is_embedded(tmp_path: Any) -> None:
    plotting = pytest.importorskip("bokeh.plotting")
    figure = plotting.figure(width=200, height=200)
    figure.line([0, 1, 2], [1, 0, 1])
    page = read(render_summary_plots(ElogSummaryPlots("Bokeh", figure), str(tmp_path)))
    assert "Bokeh" in page and "embed_items" in page


def test_plots_directory_layout(tmp_path: Any) -> None:
    base = os.path.join(str(tmp_path), "summary_plots")
    assert plots_directory(str(tmp_path), "xpp12345", 12) == os.path.join(base, "xpp12345", "12")
    assert plots_directory(str(tmp_path), None, None) == os.path.join(
        base, "no_experiment", "no_run"
    )
    assert plots_directory(str(tmp_path), "../evil", "1/2") == os.path.join(base, "_evil", "1_2")


# -- report items ------------------------------------------------------------------------


def test_report_item_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="kind"):
        ReportItem("table", None, "x")
    with pytest.raises(TypeError, match="value must be a str"):
        ReportItem("text", None, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="path"):
        ReportItem("plots", "Tab", "")
    item = ReportItem.plots("Tab", "/p/report.html")
    assert ReportItem.from_dict(item.to_dict()) == item
    assert "Tab" in repr(item)
