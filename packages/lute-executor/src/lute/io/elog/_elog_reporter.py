"""The eLog reporter: a run's status counters and its eLog entry, posted over HTTP.

:class:`ElogReporter` builds what is sent (the counters document, the entry's form
fields and attachments) and posts it with :mod:`lute.io.elog._http`, which is
imported only when something is posted. Its configuration is read by
:mod:`lute.io.elog._elog_config`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from lute.io.elog._elog_config import (
    DEFAULT_ENTRY_PATH,
    DEFAULT_RUN_TABLE_PATH,
    invalid,
    reporter_options,
    status_options,
)
from lute.io.elog._files import safe_name
from lute.io.elog._log import logger
from lute.io.elog._reporter import Reporter, ReportItem

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.models.header import ElogSettings

__all__ = ["ERROR_LINES_IN_ENTRY", "MAX_ATTACHMENT_BYTES", "ElogReporter", "post_run_status"]

#: Attachments larger than this are left out of the eLog entry (they stay local).
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
#: Lines of a traceback put into the eLog entry; the local report keeps all of it.
ERROR_LINES_IN_ENTRY = 20


class ElogReporter(Reporter):
    """Posts a run's outcome to the facility's eLog over HTTP.

    Two independent parts, each used when its URL is given:

    - *counters*: ``POST`` of JSON ``[{"key": ..., "value": ...}, ...]`` to the job's
      update URL (``JID_UPDATE_COUNTERS``): ``"<managed task> status"`` and every
      key/value of the result;
    - *entry*: ``POST`` of a ``multipart/form-data`` eLog entry (``log_text``,
      ``log_title``, ``log_tags`` and the summary-plot pages as ``files``) to
      ``<elog_url><entry_path>`` with HTTP Basic auth when credentials are given (or a
      Kerberos token, :class:`~lute.io.elog._kerberos.KerberosAuth`); then, when the
      result has key/values and the run is known, a JSON ``POST`` of them to the run
      table (``<elog_url><run_table_path>?run_num=<run>``), as the original LUTE did.

    When the run starts, :meth:`started` posts ``"<managed task> status": "RUNNING"`` to
    the counters.

    Failures are retried a bounded number of times when they may be transient
    (HTTP 5xx/408/429, connection refused; time-outs only for the counters, since
    repeating an entry could post it twice), then logged as a warning. Nothing is
    raised: the local report is the record of the run.

    Args:
        counters_url: URL receiving the counters, or ``None``.
        elog_url: eLog base URL, or ``None`` for no entries.
        entry_path: Path template below ``elog_url`` with ``{experiment}``.
        auth: ``(user, password)`` for HTTP Basic auth of the entries, or a
            :class:`~lute.io.elog._kerberos.KerberosAuth`.
        tags: Tags of the entries.
        timeout: Seconds allowed to connect and for each read of one request.
        attempts: Tries per request (at least 1).
        backoff: Seconds before the second try, doubled before each further one.
        run_table: Post the result's key/values to the run table too.
        run_table_path: Path template of the run-table endpoint, with ``{experiment}``.

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
        auth: Any = None,
        tags: Sequence[str] = ("LUTE",),
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        run_table: bool = False,
        run_table_path: str = DEFAULT_RUN_TABLE_PATH,
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
        self.run_table = bool(run_table)
        self.run_table_path = run_table_path
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
        return cls.from_settings(None, environ)

    @classmethod
    def from_settings(
        cls, settings: Optional[ElogSettings], environ: Mapping[str, str] = os.environ
    ) -> Optional[ElogReporter]:
        """The reporter a config's ``elog`` block and the environment ask for, or ``None``.

        The config's values win over the environment's (see
        :mod:`lute.io.elog._elog_config` for each): ``url``, ``post`` (``False``: no
        entries), ``user``, ``password_env`` (the variable holding the password; it
        must be set) and ``timeout``. The rest comes from the variables of
        :meth:`from_environ`.

        Args:
            settings: The header's validated ``elog`` block; ``None`` is the same as
                :meth:`from_environ`.
            environ: The environment.

        Raises:
            ValueError: A value cannot be used, or ``password_env`` names a variable
                that is not set; the message names the variable.
        """
        options = reporter_options(settings, environ)
        return None if options is None else cls._from_options(options)

    @classmethod
    def _from_options(cls, options: Mapping[str, Any]) -> ElogReporter:
        """The reporter of :func:`~lute.io.elog._elog_config.reporter_options`' result.

        Raises:
            ValueError: The options fail the constructor's checks, worded like the rest.
        """
        try:
            return cls(**options)
        except ValueError as error:
            raise invalid(error) from None

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
            shown = safe_name(str(item.key or "plots").replace("/", "-")) + ".html"
            files.append(("files", item.path, shown))
        return files

    # -- sending -----------------------------------------------------------------

    def post_counters(self, counters: Sequence[Mapping[str, str]]) -> bool:
        """POST a counters document; returns whether it was accepted (warns if not)."""
        if not self.counters_url:
            return False
        from lute.io.elog._http import ElogPostError, post_json

        try:
            post_json(
                self.counters_url,
                list(counters),
                what="eLog run status update",
                timeout=self.timeout,
                attempts=self.attempts,
                backoff=self.backoff,
                idempotent=True,
            )
        except ElogPostError as error:
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
        from lute.io.elog._http import ElogPostError, encode_multipart, post

        try:
            body, content_type = encode_multipart(fields, files)
            post(
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
        except (ElogPostError, OSError) as error:
            self._failed(str(error))
            return False
        return True

    def run_table_url(self, experiment: str, run: Any) -> str:
        """The run-table endpoint of ``experiment``, with ``run_num=<run>``."""
        from urllib.parse import quote, urlencode

        if not self.elog_url:
            raise ValueError("this reporter posts nothing to the eLog (no eLog URL)")
        path = self.run_table_path.format(experiment=quote(experiment, safe=""))
        return "%s%s?%s" % (self.elog_url, path, urlencode({"run_num": str(run)}))

    def post_run_table(self, experiment: str, run: Any, values: Mapping[str, Any]) -> bool:
        """POST run parameters (``{"column": value}``) to the eLog's run table."""
        from lute.io.elog._http import ElogPostError, post_json

        try:
            post_json(
                self.run_table_url(experiment, run),
                {str(key): value for key, value in values.items()},
                what="eLog run table update",
                auth=self.auth,
                timeout=self.timeout,
                attempts=self.attempts,
                backoff=self.backoff,
                idempotent=True,  # the same values again change nothing
            )
        except ElogPostError as error:
            self._failed(str(error))
            return False
        return True

    def started(self, *, execution: Mapping[str, Any]) -> None:
        """The run has started: ``"<managed task> status": "RUNNING"`` to the counters.

        Posted from a thread of its own, so that a slow eLog never delays the Task's
        launch; :meth:`report` waits for it first, so the end status is posted last.
        """
        if not self.counters_url:
            return
        import threading

        document = self.counters({**execution, "status": "RUNNING"}, ())

        def post() -> None:
            try:
                self.post_counters(document)
            except Exception as error:  # a reporting bug must not fail the run
                logger.warning("eLog status update failed unexpectedly", exc_info=True)
                self.last_errors.append("unexpected error: %s" % error)

        self._started = threading.Thread(target=post, name="lute-elog-running", daemon=True)
        self._started.start()

    def wait_started(self, timeout: Optional[float] = None) -> None:
        """Wait until the RUNNING update of :meth:`started` is done (or ``timeout``)."""
        thread = getattr(self, "_started", None)
        if thread is not None:
            thread.join(timeout)

    def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
        """Post the counters, the entry and the run table of a run; failures are logged,
        never raised."""
        # The RUNNING update goes first (bounded: a stuck one cannot hold the record).
        self.wait_started(self.timeout * self.attempts + 1)
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
                    self._post_run_table(str(experiment), execution.get("run"), items)
        except Exception as error:  # a reporting bug must not fail the run either
            logger.warning("eLog reporting failed unexpectedly", exc_info=True)
            self.last_errors.append("unexpected error: %s" % error)

    def _post_run_table(self, experiment: str, run: Any, items: Sequence[ReportItem]) -> None:
        values = {str(item.key): item.value for item in items if item.kind == "keyvalue"}
        if self.run_table and values and run not in (None, ""):
            self.post_run_table(experiment, run, values)

    def _failed(self, message: str) -> None:
        self.last_errors.append(message)
        logger.warning("eLog: %s (the local report has the full record)", message)


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
    options = status_options(environ)
    if options is None:
        return False
    reporter = ElogReporter(**options)
    document = [{"key": str(k), "value": str(v)} for k, v in counters.items()]
    return reporter.post_counters(document)
