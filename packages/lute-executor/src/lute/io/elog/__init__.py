"""Result reporting: the local HTML/JSON report, summary-plot pages and the eLog.

The Executor ends every run by turning the Task's result into report items and
handing them, with a description of the run, to each reporter::

    items = summarise(result, plots_dir=plots_directory(work_dir, experiment, run))
    report_all(make_reporters(work_dir), execution=execution, items=items)

:class:`LocalReporter` always writes ``<work_dir>/reports/``; :class:`ElogReporter`
is added when the environment configures the eLog (see ``docs/reporting.md``).
A failing eLog never raises: it logs a warning, and the local report has it all.

Importing this module is cheap on purpose (the Executor's start-up is measured):
HTTP, JSON and HTML code and any plotting library are imported only when used.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from lute.io.elog._log import LazyLogger

if TYPE_CHECKING:  # pragma: no cover
    from lute.tasks.dataclasses import ElogSummaryPlots, TaskResult

__all__ = [
    "DEFAULT_ELOG_URL",
    "DEFAULT_ENTRY_PATH",
    "ElogReporter",
    "LocalReporter",
    "ReportItem",
    "Reporter",
    "make_reporters",
    "plots_directory",
    "post_run_status",
    "render_summary_plots",
    "report_all",
    "summarise",
]

logger = LazyLogger(__name__)

#: Base URL used when eLog entries are switched on (``LUTE_ELOG_ENTRIES=1``) without
#: ``LUTE_ELOG_URL``.
DEFAULT_ELOG_URL = "https://pswww.slac.stanford.edu/ws-auth/lgbk"
#: Path of the new-entry endpoint below the base URL; ``{experiment}`` is filled in.
DEFAULT_ENTRY_PATH = "/lbapi/elog/{experiment}/new_elog_entry"
#: Identifies the per-run JSON records this module writes (and the index reads).
REPORT_FORMAT = "lute-report/1"
#: Attachments larger than this are left out of the eLog entry (they stay local).
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
#: Lines of a traceback put into the eLog entry; the local report keeps all of it.
ERROR_LINES_IN_ENTRY = 20

ITEM_KINDS = ("text", "keyvalue", "plots")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class ReportItem:
    """One line of a run's report.

    Attributes:
        kind: ``"text"`` (a line of text), ``"keyvalue"`` (a named value) or
            ``"plots"`` (a summary-plot page).
        key: The name of a key/value, or the display name of a plot page; else ``None``.
        value: The text, the value, or (for plots) the page's path.
        path: For plots, the page's path; else ``None``.
    """

    __slots__ = ("key", "kind", "path", "value")

    def __init__(
        self, kind: str, key: Optional[str], value: str, path: Optional[str] = None
    ) -> None:
        if kind not in ITEM_KINDS:
            raise ValueError("ReportItem kind must be one of %s, got %r" % (ITEM_KINDS, kind))
        if not isinstance(value, str):
            raise TypeError("ReportItem value must be a str, got %s" % type(value).__name__)
        if key is not None and not isinstance(key, str):
            raise TypeError("ReportItem key must be a str or None, got %s" % type(key).__name__)
        if kind == "plots" and not path:
            raise ValueError("a 'plots' ReportItem needs the path of its page")
        self.kind = kind
        self.key = key
        self.value = value
        self.path = path

    @classmethod
    def text(cls, value: str) -> ReportItem:
        """A line of text."""
        return cls("text", None, value)

    @classmethod
    def keyvalue(cls, key: str, value: str) -> ReportItem:
        """A named value."""
        return cls("keyvalue", key, value)

    @classmethod
    def plots(cls, display_name: str, path: str) -> ReportItem:
        """A summary-plot page written at ``path``."""
        return cls("plots", display_name, path, path)

    def to_dict(self) -> Dict[str, Optional[str]]:
        """The item as a JSON-ready dictionary."""
        return {"kind": self.kind, "key": self.key, "value": self.value, "path": self.path}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportItem:
        """The inverse of :meth:`to_dict`."""
        return cls(data["kind"], data.get("key"), data["value"], data.get("path"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReportItem):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.kind, self.key, self.value, self.path))

    def __repr__(self) -> str:
        return "ReportItem(kind=%r, key=%r, value=%r, path=%r)" % (
            self.kind,
            self.key,
            self.value,
            self.path,
        )


# ----------------------------------------------------------------------------------
# Summary -> report items


def _safe_name(text: str, limit: int = 100) -> str:
    """``text`` reduced to characters that are safe in a file name everywhere."""
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text.strip())
    safe = safe.strip(".")[:limit]
    return safe or "_"


def plots_directory(work_dir: str, experiment: Optional[str], run: Any) -> str:
    """Where a run's summary-plot pages go: ``<work_dir>/summary_plots/<experiment>/<run>``.

    Args:
        work_dir: The work directory.
        experiment: Experiment name (``no_experiment`` when empty).
        run: Run number or name (``no_run`` when ``None`` or empty).

    Returns:
        The absolute directory path (not created here).
    """
    exp_part = _safe_name(str(experiment)) if experiment else "no_experiment"
    run_part = _safe_name(str(run)) if run is not None and str(run) != "" else "no_run"
    return os.path.join(os.path.abspath(work_dir), "summary_plots", exp_part, run_part)


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
    from lute.io.elog import _plots

    if not hasattr(plots, "display_name") or not hasattr(plots, "figures"):
        raise TypeError("expected an ElogSummaryPlots, got %s" % type(plots).__name__)
    parts = _plots.display_name_parts(plots.display_name)
    page = _plots.render_page(plots.display_name, plots.figures)
    target_dir = os.path.join(os.path.abspath(directory), *parts)
    os.makedirs(target_dir, exist_ok=True)
    path = os.path.join(target_dir, "report.html")
    _plots.write_text_atomic(path, page)
    return path


def summarise(result: Optional[TaskResult], *, plots_dir: str) -> List[ReportItem]:
    """Turn a Task's result summary into report items.

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
        The items, in the order of the summary.
    """
    from lute.tasks.dataclasses import ElogSummaryPlots

    items: List[ReportItem] = []
    if result is None:
        return items
    open_lists: Set[int] = set()

    def visit(value: Any) -> None:
        if value is None or (isinstance(value, str) and value == ""):
            return
        if isinstance(value, str):
            items.append(ReportItem.text(value))
        elif isinstance(value, Mapping):
            items.extend(ReportItem.keyvalue(str(k), str(v)) for k, v in value.items())
        elif isinstance(value, ElogSummaryPlots):
            items.append(_render_item(value, plots_dir))
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
    return items


def _render_item(plots: ElogSummaryPlots, plots_dir: str) -> ReportItem:
    try:
        path = render_summary_plots(plots, plots_dir)
    except Exception as error:
        name = getattr(plots, "display_name", "?")
        logger.warning("Summary plots %r could not be rendered: %s", name, error)
        return ReportItem.text("Summary plots %r could not be rendered: %s" % (name, error))
    return ReportItem.plots(str(plots.display_name), path)


# ----------------------------------------------------------------------------------
# Reporters


class Reporter:
    """Something that records the outcome of a run (a file, a web service...)."""

    #: Short name used in log messages.
    name = "reporter"

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Record one finished run.

        Args:
            execution: The run: ``id``, ``managed_task``, ``task_name``, ``experiment``,
                ``run``, ``status``, ``started``, ``ended``, ``exit_code``, ``error``
                (traceback or ``None``), ``host``, ``work_dir``, ``log_path``,
                ``parameters`` (the model as JSON data) and ``duration_s``. Missing
                keys are shown as unknown.
            items: The report items of the Task's result (see :func:`summarise`).
        """
        raise NotImplementedError


def report_all(
    reporters: Sequence[Reporter], *, execution: Mapping[str, Any], items: Sequence[ReportItem]
) -> None:
    """Call every reporter in turn; one that fails is logged and does not stop the others.

    Args:
        reporters: Typically :func:`make_reporters`' list (local report first).
        execution: See :meth:`Reporter.report`.
        items: See :meth:`Reporter.report`.
    """
    for reporter in reporters:
        try:
            reporter.report(execution=execution, items=items)
        except Exception:
            logger.warning("The %s failed to record the run", reporter.name, exc_info=True)


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
        stem = "%s_%s" % (_safe_name(str(name)), _safe_name(str(run_id)))
        base = os.path.join(self.reports_dir, stem)
        return base + ".html", base + ".json"

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Write the run's page and record, then rebuild the index.

        Raises:
            OSError: The reports directory or a file cannot be written.
        """
        import json

        from lute.io.elog import _plots, _report_html, _report_index

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
        # Page first, then the record the index links from: a listed run has its page.
        _plots.write_text_atomic(html_path, _report_html.run_page(record, self.reports_dir))
        _plots.write_text_atomic(json_path, text + "\n")
        _report_index.update_index(
            self.reports_dir,
            REPORT_FORMAT,
            lock_timeout=self.lock_timeout,
            current=(os.path.basename(json_path), record),
            page_size=self.page_size,
        )

    def update_index(self, *, rebuild: bool = False) -> str:
        """Bring ``index.html`` up to date; returns its path.

        Args:
            rebuild: Read every run record again instead of trusting the index's cache
                (``.index.json``), e.g. after records were edited by hand.
        """
        from lute.io.elog import _report_index

        os.makedirs(self.reports_dir, exist_ok=True)
        return _report_index.update_index(
            self.reports_dir,
            REPORT_FORMAT,
            lock_timeout=self.lock_timeout,
            rebuild=rebuild,
            page_size=self.page_size,
        )


class ElogReporter(Reporter):
    """Posts a run's outcome to the facility's eLog over HTTP.

    Two independent parts, each used when its URL is given:

    - *counters*: ``POST`` of JSON ``[{"key": ..., "value": ...}, ...]`` to the job's
      update URL (``JID_UPDATE_COUNTERS``): ``"<managed task> status"`` and every
      key/value of the result;
    - *entry*: ``POST`` of a ``multipart/form-data`` eLog entry (``log_text``,
      ``log_title``, ``log_tags`` and the summary-plot pages as ``files``) to
      ``<elog_url><entry_path>`` with HTTP Basic auth when credentials are given.

    Failures are retried a bounded number of times when they may be transient
    (HTTP 5xx/408/429, connection refused; time-outs only for the counters, since
    repeating an entry could post it twice), then logged as a warning. Nothing is
    raised: the local report is the record of the run.

    Args:
        counters_url: URL receiving the counters, or ``None``.
        elog_url: eLog base URL, or ``None`` for no entries.
        entry_path: Path template below ``elog_url`` with ``{experiment}``.
        auth: ``(user, password)`` for HTTP Basic auth of the entries.
        tags: Tags of the entries.
        timeout: Seconds allowed to connect and for each read of one request.
        attempts: Tries per request (at least 1).
        backoff: Seconds before the second try, doubled before each further one.

    Raises:
        ValueError: A URL is not ``http(s)``, ``entry_path`` lacks ``{experiment}``,
            neither URL is given, or ``timeout``/``attempts`` are out of range.
    """

    name = "eLog reporter"

    def __init__(
        self,
        *,
        counters_url: Optional[str] = None,
        elog_url: Optional[str] = None,
        entry_path: str = DEFAULT_ENTRY_PATH,
        auth: Optional[Tuple[str, str]] = None,
        tags: Sequence[str] = ("LUTE",),
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if not counters_url and not elog_url:
            raise ValueError("ElogReporter needs a counters URL, an eLog URL or both")
        for label, url in (("counters URL", counters_url), ("eLog URL", elog_url)):
            if url and not url.lower().startswith(("http://", "https://")):
                raise ValueError(
                    "the %s must start with http:// or https://, got %r" % (label, url)
                )
        if "{experiment}" not in entry_path:
            raise ValueError("the eLog entry path must contain '{experiment}', got %r" % entry_path)
        if not timeout > 0:
            raise ValueError("the eLog request timeout must be > 0 seconds, got %r" % timeout)
        if attempts < 1:
            raise ValueError("the eLog request attempts must be >= 1, got %r" % attempts)
        self.counters_url = counters_url or None
        self.elog_url = elog_url.rstrip("/") if elog_url else None
        self.entry_path = entry_path if entry_path.startswith("/") else "/" + entry_path
        self.auth = auth
        self.tags = [tag for tag in tags if tag]
        self.timeout = float(timeout)
        self.attempts = int(attempts)
        self.backoff = max(0.0, float(backoff))
        #: Messages of the failures of the last :meth:`report` (empty when all went well).
        self.last_errors: List[str] = []

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Optional[ElogReporter]:
        """The reporter the environment asks for, or ``None`` if it asks for none.

        Variables: ``JID_UPDATE_COUNTERS`` (counters URL), ``LUTE_ELOG_URL`` (base URL;
        turns entries on), ``LUTE_ELOG_ENTRIES`` (``1``: entries on, with the default
        URL if ``LUTE_ELOG_URL`` is unset; ``0``: entries off), ``LUTE_ELOG_ENTRY_PATH``,
        ``LUTE_ELOG_USER``/``LUTE_ELOG_PASSWORD``, ``LUTE_ELOG_TAGS`` (space separated),
        ``LUTE_ELOG_TIMEOUT`` (seconds), ``LUTE_ELOG_ATTEMPTS``.

        Raises:
            ValueError: A variable has a value that cannot be used; the message names it.
        """
        counters_url = environ.get("JID_UPDATE_COUNTERS", "").strip() or None
        elog_url = environ.get("LUTE_ELOG_URL", "").strip() or None
        switch = environ.get("LUTE_ELOG_ENTRIES")
        if switch is not None:
            flag = switch.strip().lower()
            if flag in _TRUE:
                elog_url = elog_url or DEFAULT_ELOG_URL
            elif flag in _FALSE:
                elog_url = None
            else:
                raise ValueError("LUTE_ELOG_ENTRIES must be 1 or 0, got %r" % switch)
        if not counters_url and not elog_url:
            return None

        user = environ.get("LUTE_ELOG_USER") or None
        password = environ.get("LUTE_ELOG_PASSWORD")
        if user and password is None:
            raise ValueError("LUTE_ELOG_USER is set but LUTE_ELOG_PASSWORD is not")
        if password and not user:
            raise ValueError("LUTE_ELOG_PASSWORD is set but LUTE_ELOG_USER is not")
        tags = environ.get("LUTE_ELOG_TAGS", "LUTE").split()
        try:
            return cls(
                counters_url=_checked_url(counters_url, "JID_UPDATE_COUNTERS"),
                elog_url=_checked_url(elog_url, "LUTE_ELOG_URL"),
                entry_path=environ.get("LUTE_ELOG_ENTRY_PATH") or DEFAULT_ENTRY_PATH,
                auth=(user, password or "") if user else None,
                tags=tags,
                timeout=_env_number(environ, "LUTE_ELOG_TIMEOUT", 10.0, float),
                attempts=int(_env_number(environ, "LUTE_ELOG_ATTEMPTS", 3, int)),
            )
        except ValueError as error:
            raise ValueError("eLog configuration from the environment: %s" % error) from None

    # -- what is sent ------------------------------------------------------------

    def counters(
        self, execution: Mapping[str, Any], items: Sequence[ReportItem]
    ) -> List[Dict[str, str]]:
        """The counters document of a run: its status, then the result's key/values."""
        name = execution.get("managed_task") or execution.get("task_name") or "LUTE"
        document = [{"key": "%s status" % name, "value": str(execution.get("status"))}]
        document.extend(
            {"key": str(item.key), "value": item.value} for item in items if item.kind == "keyvalue"
        )
        return document

    def entry_url(self, experiment: str) -> str:
        """The new-entry endpoint of ``experiment``."""
        from urllib.parse import quote

        if not self.elog_url:
            raise ValueError("this reporter posts no eLog entries (no eLog URL)")
        return self.elog_url + self.entry_path.format(experiment=quote(experiment, safe=""))

    def entry_fields(
        self, execution: Mapping[str, Any], items: Sequence[ReportItem]
    ) -> List[Tuple[str, str]]:
        """The form fields of a run's eLog entry: ``log_text``, ``log_title``, ``log_tags``."""
        from lute.io.elog._report_html import format_duration

        name = execution.get("managed_task") or execution.get("task_name") or "run"
        status = str(execution.get("status"))
        lines = ["LUTE managed task %s (Task %s): %s" % (name, execution.get("task_name"), status)]
        facts = []
        for label, key in (("experiment", "experiment"), ("run", "run"), ("host", "host")):
            if execution.get(key) not in (None, ""):
                facts.append("%s %s" % (label, execution.get(key)))
        if execution.get("duration_s") is not None:
            facts.append("duration %s" % format_duration(execution.get("duration_s")))
        if execution.get("exit_code") is not None:
            facts.append("exit code %s" % execution.get("exit_code"))
        if facts:
            lines.append(", ".join(facts))
        if execution.get("log_path"):
            lines.append("Log: %s" % execution.get("log_path"))
        keyvalues = [item for item in items if item.kind == "keyvalue"]
        if keyvalues:
            lines.append("")
            lines.extend("%s: %s" % (item.key, item.value) for item in keyvalues)
        texts = [item.value for item in items if item.kind == "text"]
        if texts:
            lines.append("")
            lines.extend(texts)
        for item in items:
            if item.kind == "plots":
                lines.append("Summary plots: %s (attached)" % item.key)
        error = execution.get("error")
        if error:
            tail = str(error).rstrip().splitlines()[-ERROR_LINES_IN_ENTRY:]
            lines.extend(["", "Error:", *tail])
        title = "LUTE %s" % name
        if execution.get("run") not in (None, ""):
            title += " run %s" % execution.get("run")
        fields = [("log_text", "\n".join(lines)), ("log_title", "%s: %s" % (title, status))]
        if self.tags:
            fields.append(("log_tags", " ".join(self.tags)))
        return fields

    def attachments(self, items: Sequence[ReportItem]) -> List[Tuple[str, str, str]]:
        """``(field, path, file name)`` of the plot pages that exist and are not too big."""
        files = []
        for item in items:
            if item.kind != "plots" or not item.path:
                continue
            try:
                size = os.path.getsize(item.path)
            except OSError:
                logger.warning("Summary plot page %s is missing; not attached", item.path)
                continue
            if size > MAX_ATTACHMENT_BYTES:
                logger.warning(
                    "Summary plot page %s is %.0f MB, over the %.0f MB attachment limit; "
                    "not attached (it stays in the local report)",
                    item.path,
                    size / 1e6,
                    MAX_ATTACHMENT_BYTES / 1e6,
                )
                continue
            # Every page is called report.html: name the attachment after its tab.
            shown = _safe_name(str(item.key or "plots").replace("/", "-")) + ".html"
            files.append(("files", item.path, shown))
        return files

    # -- sending -----------------------------------------------------------------

    def post_counters(self, counters: Sequence[Mapping[str, str]]) -> bool:
        """POST a counters document; returns whether it was accepted (warns if not)."""
        if not self.counters_url:
            return False
        from lute.io.elog import _http as _elog_http

        try:
            _elog_http.post_json(
                self.counters_url,
                list(counters),
                what="eLog run status update",
                timeout=self.timeout,
                attempts=self.attempts,
                backoff=self.backoff,
                idempotent=True,
            )
        except _elog_http.ElogPostError as error:
            self._failed(str(error))
            return False
        return True

    def post_entry(
        self,
        experiment: str,
        fields: Sequence[Tuple[str, str]],
        files: Sequence[Tuple[str, str, str]] = (),
    ) -> bool:
        """POST an eLog entry; returns whether it was accepted (warns if not)."""
        from lute.io.elog import _http as _elog_http

        try:
            body, content_type = _elog_http.encode_multipart(fields, files)
            _elog_http.post(
                self.entry_url(experiment),
                body,
                content_type,
                what="eLog entry",
                auth=self.auth,
                timeout=self.timeout,
                attempts=self.attempts,
                backoff=self.backoff,
                idempotent=False,
            )
        except (_elog_http.ElogPostError, OSError) as error:
            self._failed(str(error))
            return False
        return True

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Post the counters and the entry of a run; failures are logged, never raised."""
        self.last_errors = []
        try:
            if self.counters_url:
                self.post_counters(self.counters(execution, items))
            if self.elog_url:
                experiment = execution.get("experiment")
                if not experiment:
                    self._failed("the run has no experiment, so no eLog entry was posted")
                else:
                    fields = self.entry_fields(execution, items)
                    self.post_entry(str(experiment), fields, self.attachments(items))
        except Exception as error:  # a reporting bug must not fail the run either
            logger.warning("eLog reporting failed unexpectedly", exc_info=True)
            self.last_errors.append("unexpected error: %s" % error)

    def _failed(self, message: str) -> None:
        self.last_errors.append(message)
        logger.warning("eLog: %s (the local report has the full record)", message)


def _checked_url(url: Optional[str], variable: str) -> Optional[str]:
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("%s must be an http:// or https:// URL, got %r" % (variable, url))
    return url


def _env_number(environ: Mapping[str, str], variable: str, default: float, kind: type) -> float:
    raw = environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError("%s must be %s, got %r" % (variable, what, raw)) from None
    if value <= 0:
        raise ValueError("%s must be greater than 0, got %r" % (variable, raw))
    return float(value)


def post_run_status(
    counters: Mapping[str, Any], *, environ: Mapping[str, str] = os.environ
) -> bool:
    """POST ``counters`` to the job's status URL (``JID_UPDATE_COUNTERS``), if any.

    For updates while a run is under way (``{"Tester status": "RUNNING"}``); the
    end-of-run counters are posted by :class:`ElogReporter`.

    Args:
        counters: Key/values; keys and values are sent as text.
        environ: The environment to configure from.

    Returns:
        Whether the update was accepted; ``False`` when no URL is configured or the
        POST failed (which is logged as a warning).
    """
    url = environ.get("JID_UPDATE_COUNTERS", "").strip()
    if not url:
        return False
    reporter = ElogReporter(
        counters_url=_checked_url(url, "JID_UPDATE_COUNTERS"),
        timeout=_env_number(environ, "LUTE_ELOG_TIMEOUT", 10.0, float),
        attempts=int(_env_number(environ, "LUTE_ELOG_ATTEMPTS", 3, int)),
    )
    document = [{"key": str(k), "value": str(v)} for k, v in counters.items()]
    return reporter.post_counters(document)


def make_reporters(work_dir: str, environ: Mapping[str, str] = os.environ) -> List[Reporter]:
    """The reporters of a run: the local report always, the eLog when configured.

    Args:
        work_dir: The work directory (reports go to ``<work_dir>/reports``).
        environ: The environment to read the eLog configuration from.

    Returns:
        ``[LocalReporter]`` or ``[LocalReporter, ElogReporter]``, local first so the
        local report is on disk before any network wait.

    Raises:
        ValueError: The eLog environment is set but unusable; the message names the
            variable (better at start-up than a silently missing eLog entry).
    """
    reporters: List[Reporter] = [LocalReporter(work_dir)]
    elog = ElogReporter.from_environ(environ)
    if elog is not None:
        reporters.append(elog)
    return reporters
