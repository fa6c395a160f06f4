"""Result reporting: the local HTML/JSON report, summary-plot pages and the eLog.

The Executor ends every run by turning the Task's result into report items and
handing them, with a description of the run, to each reporter::

    items = summarise(result, plots_dir=plots_directory(work_dir, experiment, run, "Tester_3"))
    report_all(make_reporters(work_dir, elog=header.elog), execution=execution, items=items)

:class:`LocalReporter` always writes ``<work_dir>/reports/``; :class:`ElogReporter`
is added when the config's ``elog`` block or the environment configures the eLog
(see ``docs/reporting.md``). A failing eLog never raises: it logs a warning, and the
local report has it all. The package keeps the seed's name ``lute.io.elog`` although
the local report is most of it: user code imports it by that name.

Importing this package is cheap on purpose (the Executor's start-up is measured):
each name below is imported from its module on first use, and HTTP, JSON and HTML
code and any plotting library only when a report is written or posted.

Modules: ``_reporter`` (:class:`ReportItem`, :class:`Reporter`, :func:`report_all`),
``_summary`` (summary → items, plot pages), ``_local_reporter``, ``_elog_reporter``,
``_elog_config`` (environment and config settings), ``_http`` (POSTs with retries),
``_kerberos`` (GSSAPI tokens, the optional extra), ``_summaries_root`` (plot pages
copied to the facility's summaries directory),
``_report_html`` / ``_report_index`` (the local report's pages), ``_plots`` (figures
as HTML), ``_files``, ``_html`` and ``_log``.
"""

from __future__ import annotations

import os

from lute._lazy import lazy_attributes

# Annotations only (PEP 563); ``typing`` is not imported at run time (see lute._lazy).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Mapping, Optional

    from lute.io.elog._elog_config import DEFAULT_ELOG_URL, DEFAULT_ENTRY_PATH
    from lute.io.elog._elog_reporter import ERROR_LINES_IN_ENTRY as ERROR_LINES_IN_ENTRY
    from lute.io.elog._elog_reporter import MAX_ATTACHMENT_BYTES as MAX_ATTACHMENT_BYTES
    from lute.io.elog._elog_reporter import ElogReporter, post_run_status
    from lute.io.elog._local_reporter import REPORT_FORMAT as REPORT_FORMAT
    from lute.io.elog._local_reporter import LocalReporter
    from lute.io.elog._log import logger as logger
    from lute.io.elog._reporter import ITEM_KINDS as ITEM_KINDS
    from lute.io.elog._reporter import Reporter, ReportItem, report_all, report_started
    from lute.io.elog._summaries_root import SummariesReporter
    from lute.io.elog._summary import (
        plots_directory,
        render_summary,
        render_summary_plots,
        summarise,
    )
    from lute.io.models.header import ElogSettings

__all__ = [
    "DEFAULT_ELOG_URL",
    "DEFAULT_ENTRY_PATH",
    "ElogReporter",
    "LocalReporter",
    "ReportItem",
    "Reporter",
    "SummariesReporter",
    "format_duration",
    "make_reporters",
    "plots_directory",
    "post_run_status",
    "render_summary",
    "render_summary_plots",
    "report_all",
    "report_started",
    "summarise",
]

# name -> the module (below this package) that defines it
_MODULES = {
    "DEFAULT_ELOG_URL": "_elog_config",
    "DEFAULT_ENTRY_PATH": "_elog_config",
    "ERROR_LINES_IN_ENTRY": "_elog_reporter",
    "ElogReporter": "_elog_reporter",
    "ITEM_KINDS": "_reporter",
    "LocalReporter": "_local_reporter",
    "MAX_ATTACHMENT_BYTES": "_elog_reporter",
    "REPORT_FORMAT": "_local_reporter",
    "ReportItem": "_reporter",
    "Reporter": "_reporter",
    "logger": "_log",
    "plots_directory": "_summary",
    "post_run_status": "_elog_reporter",
    "render_summary": "_summary",
    "render_summary_plots": "_summary",
    "report_all": "_reporter",
    "report_started": "_reporter",
    "SummariesReporter": "_summaries_root",
    "summarise": "_summary",
    "format_duration": "_report_html",
}

__getattr__ = lazy_attributes(
    __name__, {name: "%s.%s" % (__name__, module) for name, module in _MODULES.items()}
)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_MODULES))


def make_reporters(
    work_dir: str,
    environ: Mapping[str, str] = os.environ,
    *,
    elog: Optional[ElogSettings] = None,
) -> List[Reporter]:
    """The reporters of a run: the local report always, the eLog when configured.

    Args:
        work_dir: The work directory (reports go to ``<work_dir>/reports``).
        environ: The environment to read the eLog configuration from.
        elog: The config's validated ``elog`` block, whose values win over the
            environment's (see :meth:`ElogReporter.from_settings`); ``None``: the
            environment alone.

    Returns:
        ``[LocalReporter]``, then a :class:`SummariesReporter` when a facility summaries
        directory is configured, then an ``ElogReporter`` when the eLog is: local first
        so the local report is on disk before any network wait.

    Raises:
        ValueError: The eLog settings are unusable; the message names the variable
            (better at start-up than a silently missing eLog entry).
    """
    from lute.io.elog._elog_config import reporter_options, summaries_root
    from lute.io.elog._local_reporter import LocalReporter

    reporters: List[Reporter] = [LocalReporter(work_dir)]
    root = summaries_root(elog, environ)
    if root is not None:
        from lute.io.elog._summaries_root import SummariesReporter

        reporters.append(SummariesReporter(root))
    options = reporter_options(elog, environ)
    if options is not None:  # the HTTP reporter's module is imported by runs that post only
        from lute.io.elog._elog_reporter import ElogReporter

        reporters.append(ElogReporter._from_options(options))
    return reporters
