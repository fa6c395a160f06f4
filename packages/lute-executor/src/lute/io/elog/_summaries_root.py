"""Summary-plot pages copied to the facility's summaries directory (the eLog shows them).

The original LUTE wrote each ``ElogSummaryPlots`` page to the experiment's summaries
directory (``/sdf/data/lcls/ds/<hutch>/<experiment>/stats/summary`` at LCLS), where the
eLog's summaries tab finds it as ``<display name>/report.html``. Here every page is
written under the work directory first (the local report links it); this reporter then
copies it to ``<root>/<display name>/report.html``, the root coming from
``elog.summaries_root`` or ``LUTE_SUMMARIES_ROOT`` with ``{experiment}`` and ``{hutch}``
(the experiment's first three letters) filled in.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

from lute.io.elog._log import logger
from lute.io.elog._reporter import Reporter, ReportItem

__all__ = ["SummariesReporter"]


class SummariesReporter(Reporter):
    """Copies a run's summary-plot pages to the facility's summaries directory.

    Args:
        root: The directory, possibly with ``{experiment}`` and ``{hutch}``.

    Raises:
        ValueError: ``root`` has a placeholder other than those two.
    """

    name = "summaries directory"

    def __init__(self, root: str) -> None:
        try:
            root.format(experiment="x", hutch="x")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                "the summaries root %r may hold {experiment} and {hutch} only (%s: %s)"
                % (root, type(error).__name__, error)
            ) from None
        self.root = root
        #: Pages written by the last :meth:`report`.
        self.written: list = []  # type: ignore[type-arg]

    def directory(self, experiment: Optional[str]) -> str:
        """The root for a run of ``experiment``."""
        experiment = experiment or "no_experiment"
        return os.path.abspath(
            os.path.expanduser(self.root.format(experiment=experiment, hutch=experiment[:3]))
        )

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Copy each ``plots`` item's page; a page that cannot be copied is logged."""
        from lute.io.elog._files import write_text_atomic
        from lute.io.elog._plots import display_name_parts

        self.written = []
        base = self.directory(execution.get("experiment"))
        for item in items:
            if item.kind != "plots" or not item.path:
                continue
            try:
                target = os.path.join(base, *display_name_parts(str(item.key)), "report.html")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(item.path, encoding="utf-8") as page:
                    write_text_atomic(target, page.read())
            except (OSError, ValueError) as error:
                logger.warning("Summary plot page %s not copied to %s: %s", item.path, base, error)
                continue
            self.written.append(target)
