"""The local report: a page and a JSON record per run in ``<work_dir>/reports/``.

Always written, first, so a run's record is on disk before any network wait. The
page and index HTML (:mod:`lute.io.elog._report_html`) and the index's upkeep
(:mod:`lute.io.elog._report_index`) are imported only when a report is written.
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping, Optional, Sequence, Tuple

from lute.io.elog._files import safe_name, write_text_atomic
from lute.io.elog._reporter import Reporter, ReportItem

__all__ = ["REPORT_FORMAT", "LocalReporter"]

#: Identifies the per-run JSON records this module writes (and the index reads).
REPORT_FORMAT = "lute-report/1"


class LocalReporter(Reporter):
    """Writes the run's report into ``<work_dir>/reports/``.

    Per run: ``<managed_task>_<execution id>.html`` (a page for people) and the same
    name with ``.json`` (the record the page was made from). Then ``index.html`` is
    brought up to date (see :mod:`lute.io.elog._report_index`), newest run first; older
    runs move, ``page_size`` at a time, to pages of their own that it links to. Every file
    is replaced atomically, so a browser or a concurrent run never sees half a page.

    Args:
        work_dir: The work directory.
        lock_timeout: Seconds to wait for another run's index update.
        page_size: Runs on each page of older runs (``index.html`` keeps the newest).
    """

    name = "local report"

    def __init__(
        self, work_dir: str, *, lock_timeout: float = 10.0, page_size: Optional[int] = None
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1, not %r" % page_size)
        self.work_dir = os.path.abspath(work_dir)
        self.reports_dir = os.path.join(self.work_dir, "reports")
        self.lock_timeout = lock_timeout
        self.page_size = page_size  # None: the index's default

    def paths(self, execution: Mapping[str, Any]) -> Tuple[str, str]:
        """The ``(html, json)`` paths of a run's report."""
        name = execution.get("managed_task") or execution.get("task_name") or "run"
        run_id = execution.get("id")
        if run_id is None or str(run_id) == "":
            # Without an id, time and pid still keep concurrent runs apart.
            run_id = "%d-%d" % (int(time.time() * 1000), os.getpid())
        stem = "%s_%s" % (safe_name(str(name)), safe_name(str(run_id)))
        base = os.path.join(self.reports_dir, stem)
        return base + ".html", base + ".json"

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Write the run's page and record, then rebuild the index.

        Raises:
            OSError: The reports directory or a file cannot be written.
        """
        import json

        from lute.io.elog._report_html import run_page
        from lute.io.elog._report_index import update_index

        os.makedirs(self.reports_dir, exist_ok=True)
        record = {
            "format": REPORT_FORMAT,
            "written": time.time(),
            "execution": dict(execution),
            "items": [item.to_dict() for item in items],
        }
        # Round-trip through JSON so the page shows exactly what the record holds
        # (an Enum status becomes its value, a datetime its text...).
        text = json.dumps(record, indent=1, default=str, ensure_ascii=False)
        record = json.loads(text)
        html_path, json_path = self.paths(execution)

        def write() -> None:
            # Page first, then the record the index links from: a listed run has its page.
            write_text_atomic(html_path, run_page(record, self.reports_dir))
            write_text_atomic(json_path, text + "\n")

        update_index(
            self.reports_dir,
            REPORT_FORMAT,
            lock_timeout=self.lock_timeout,
            current=(os.path.basename(json_path), record),
            page_size=self.page_size,
            write=write,
        )

    def update_index(self, *, rebuild: bool = False) -> str:
        """Bring ``index.html`` up to date; returns its path.

        Args:
            rebuild: Read every run record again instead of trusting the index's cache
                (``.index.json``), e.g. after records were edited by hand.
        """
        from lute.io.elog._report_index import update_index

        os.makedirs(self.reports_dir, exist_ok=True)
        return update_index(
            self.reports_dir,
            REPORT_FORMAT,
            lock_timeout=self.lock_timeout,
            rebuild=rebuild,
            page_size=self.page_size,
        )
