"""A Task's result summary as report items, and its summary-plot pages.

:func:`summarise` walks ``TaskResult.summary`` (dicts, plots, text, nested lists)
into :class:`~lute.io.elog._reporter.ReportItem` objects; each ``ElogSummaryPlots``
is rendered by :func:`render_summary_plots` into a page of its own below the run's
:func:`plots_directory`. The rendering code (:mod:`lute.io.elog._plots`) is
imported only when a page is written.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from lute.io.elog._files import safe_name, write_text_atomic
from lute.io.elog._log import logger
from lute.io.elog._reporter import ReportItem

if TYPE_CHECKING:  # pragma: no cover
    from lute.tasks.dataclasses import ElogSummaryPlots, TaskResult

__all__ = ["plots_directory", "render_summary", "render_summary_plots", "summarise"]


def plots_directory(
    work_dir: str, experiment: Optional[str], run: Any, execution: Optional[str] = None
) -> str:
    """Where summary-plot pages go: ``<work_dir>/summary_plots/<experiment>/<run>/<execution>``.

    Every execution has a directory of its own, so running a Task again never changes
    the plots an older report shows.

    Args:
        work_dir: The work directory.
        experiment: Experiment name (``no_experiment`` when empty).
        run: Run number or name (``no_run`` when ``None`` or empty).
        execution: The execution's name, ``<managed task>_<execution id>`` (``None``:
            the run's directory itself).

    Returns:
        The absolute directory path (not created here).
    """
    exp_part = safe_name(str(experiment)) if experiment else "no_experiment"
    run_part = safe_name(str(run)) if run is not None and str(run) != "" else "no_run"
    parts = [os.path.abspath(work_dir), "summary_plots", exp_part, run_part]
    if execution:
        parts.append(safe_name(execution))
    return os.path.join(*parts)


def render_summary_plots(plots: ElogSummaryPlots, directory: str) -> str:
    """Write the figures of ``plots`` as one HTML page and return its path.

    The page is ``<directory>/<display_name>/report.html``; each ``/`` in the display
    name is a directory level (a nested tab in the eLog's summaries).

    Args:
        plots: The Task's :class:`~lute.tasks.dataclasses.ElogSummaryPlots`.
        directory: Base directory of the run's summary plots (created if missing).

    Returns:
        Absolute path of the written page.

    Raises:
        TypeError: ``plots`` is not an ``ElogSummaryPlots`` or holds a figure of a
            kind that cannot be rendered.
        ValueError: The display name is empty or contains ``.``/``..`` components.
        OSError: The page cannot be written.
    """
    from lute.io.elog._plots import display_name_parts, render_page

    if not hasattr(plots, "display_name") or not hasattr(plots, "figures"):
        raise TypeError("expected an ElogSummaryPlots, got %s" % type(plots).__name__)
    parts = display_name_parts(plots.display_name)
    page = render_page(plots.display_name, plots.figures)
    target_dir = os.path.join(os.path.abspath(directory), *parts)
    os.makedirs(target_dir, exist_ok=True)
    path = os.path.join(target_dir, "report.html")
    write_text_atomic(path, page)
    return path


def summarise(result: Optional[TaskResult], *, plots_dir: str) -> List[ReportItem]:
    """Turn a Task's result summary into report items (see :func:`render_summary`)."""
    return render_summary(result, plots_dir=plots_dir)[0]


def render_summary(
    result: Optional[TaskResult], *, plots_dir: str
) -> Tuple[List[ReportItem], Dict[int, str]]:
    """Turn a Task's result summary into report items, rendering its plot pages.

    ``Dict`` → one ``keyvalue`` item per entry (keys and values as ``str``);
    ``ElogSummaryPlots`` → its page is rendered under ``plots_dir`` and a ``plots``
    item points at it; ``list``/``tuple`` → item by item (nested ones too);
    ``str`` → a ``text`` item; ``None``/``""`` → nothing; anything else →
    ``text`` of ``str(x)``. A plot page that cannot be rendered becomes a ``text``
    item saying why (and a logged warning): a report is never lost to a figure.

    Args:
        result: The Task's result (``None`` gives no items).
        plots_dir: Base directory of this run's summary plots, see
            :func:`plots_directory`.

    Returns:
        The items, in the order of the summary, and the page written for each
        ``ElogSummaryPlots`` object of the summary, by ``id()`` (``""`` for a page that
        could not be rendered): the one walk of the summary that the database record
        and the reports both use.
    """
    from lute.tasks.dataclasses import ElogSummaryPlots

    items: List[ReportItem] = []
    pages: Dict[int, str] = {}
    if result is None:
        return items, pages
    open_lists: Set[int] = set()

    def visit(value: Any) -> None:
        if value is None or (isinstance(value, str) and value == ""):
            return
        if isinstance(value, str):
            items.append(ReportItem.text(value))
        elif isinstance(value, Mapping):
            items.extend(ReportItem.keyvalue(str(k), str(v)) for k, v in value.items())
        elif isinstance(value, ElogSummaryPlots):
            item = _render_item(value, plots_dir)
            items.append(item)
            pages[id(value)] = item.path or ""
        elif isinstance(value, (list, tuple)):
            if id(value) in open_lists:  # a list that contains itself
                items.append(ReportItem.text("<recursive summary list left out>"))
                return
            open_lists.add(id(value))
            for element in value:
                visit(element)
            open_lists.discard(id(value))
        else:
            items.append(ReportItem.text(str(value)))

    visit(result.summary)
    return items, pages


def _render_item(plots: ElogSummaryPlots, plots_dir: str) -> ReportItem:
    try:
        path = render_summary_plots(plots, plots_dir)
    except Exception as error:
        name = getattr(plots, "display_name", "?")
        logger.warning("Summary plots %r could not be rendered: %s", name, error)
        return ReportItem.text("Summary plots %r could not be rendered: %s" % (name, error))
    return ReportItem.plots(str(plots.display_name), path)
