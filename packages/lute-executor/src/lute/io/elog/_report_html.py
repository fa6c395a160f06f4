"""HTML for the local report: one page per run and the index of all runs.

Every value that comes from a run (parameters, summary values, tracebacks, names)
goes through :func:`lute.io.elog._html.escape`; only summary-plot pages, which a Task writes on
purpose as HTML, are shown as HTML, and those inside their own ``<iframe>``.
"""

from __future__ import annotations

import datetime
import json
import os
import urllib.parse
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from lute.io.elog._html import escape

__all__ = ["as_epoch", "format_duration", "format_time", "index_page", "run_page"]

_STATUS_COLOURS = {
    "COMPLETED": "#1b7f3b",
    "FAILED": "#b3261e",
    "TIMEDOUT": "#b35c00",
    "CANCELLED": "#5f6368",
    "STOPPED": "#1a5fb4",
    "RUNNING": "#1a5fb4",
    "PENDING": "#5f6368",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 70em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; vertical-align: top; padding: .25em .8em .25em 0;
         border-bottom: 1px solid #eee; }
th { color: #555; font-weight: 600; }
td.value, td code { font-family: ui-monospace, monospace; white-space: pre-wrap;
                    word-break: break-word; }
.badge { display: inline-block; padding: .1em .6em; border-radius: .8em; color: #fff;
         font-size: .85em; font-weight: 600; letter-spacing: .03em; }
pre.traceback { background: #fbeaea; border-left: 4px solid #b3261e; padding: .8em;
                overflow-x: auto; }
iframe.plots { width: 100%; height: 32em; border: 1px solid #ddd; }
.muted { color: #777; }
a { color: #1a5fb4; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def as_epoch(value: Any) -> Optional[float]:
    """A point in time as seconds since the epoch, or ``None`` if it is not one.

    Accepts numbers (already epoch seconds), :class:`datetime.datetime` and ISO 8601
    strings; naive times are taken as local time.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):  # fromisoformat accepts "Z" only from 3.11 on
            text = text[:-1] + "+00:00"
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return None


def format_time(value: Any) -> str:
    """A point in time for people: local ``YYYY-MM-DD HH:MM:SS`` and the zone's name (as
    ``lute-exec db`` shows it), or the value as given."""
    epoch = as_epoch(value)
    if epoch is None:
        return "" if value is None else str(value)
    return datetime.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def format_duration(seconds: Any) -> str:
    """``12.3 s``, ``4 min 05 s`` or ``2 h 03 min``; empty when unknown."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return "" if seconds is None else str(seconds)
    if seconds < 60:
        return "%.1f s" % seconds
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return "%d min %02d s" % (minutes, secs)
    hours, minutes = divmod(minutes, 60)
    return "%d h %02d min" % (hours, minutes)


def _badge(status: Any) -> str:
    text = str(status) if status is not None else "UNKNOWN"
    colour = _STATUS_COLOURS.get(text.upper(), "#5f6368")
    return '<span class="badge" style="background:%s">%s</span>' % (colour, _e(text))


def _href(target: str, start: str) -> str:
    """A link from a page in ``start`` to ``target``: relative when possible, so the
    report folder can be moved or served over HTTP together with the work directory."""
    try:
        relative = os.path.relpath(target, start)
    except ValueError:  # another drive (Windows)
        return "file://" + urllib.parse.quote(os.path.abspath(target))
    return urllib.parse.quote(relative.replace(os.sep, "/"))


def _flatten(value: Any, prefix: str = "") -> Iterable[Tuple[str, Any]]:
    """Nested parameter dictionaries as ``("outer.inner", value)`` rows."""
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            yield from _flatten(inner, "%s.%s" % (prefix, key) if prefix else str(key))
    else:
        yield prefix, value


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _kind(item: Mapping[str, Any]) -> str:
    return str(item.get("kind"))


def _table(rows: Sequence[Tuple[str, str]], *, raw_values: bool = False) -> str:
    """A two-column table; values are escaped unless ``raw_values`` (built here)."""
    body = "\n".join(
        '<tr><th>%s</th><td class="value">%s</td></tr>' % (_e(key), v if raw_values else _e(v))
        for key, v in rows
    )
    return "<table>\n%s\n</table>" % body


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n%s\n</body>\n</html>\n"
        % (_e(title), _STYLE, body)
    )


def run_page(record: Mapping[str, Any], reports_dir: str) -> str:
    """The report page of one run.

    Args:
        record: The run's JSON record: ``{"execution": {...}, "items": [...]}``.
        reports_dir: Directory the page is written to (links are relative to it).

    Returns:
        The page's HTML.
    """
    execution: Mapping[str, Any] = record.get("execution") or {}
    items: List[Mapping[str, Any]] = list(record.get("items") or [])
    name = execution.get("managed_task") or execution.get("task_name") or "run"
    parts = [
        '<p class="muted"><a href="index.html">&larr; all runs</a></p>',
        "<h1>%s %s</h1>" % (_e(name), _badge(execution.get("status"))),
    ]

    overview: List[Tuple[str, str]] = []

    def add(label: str, value: Any, *, raw: bool = False) -> None:
        if value is None or value == "":
            return
        overview.append((_e(label), value if raw else _e(value)))

    add("Managed task", execution.get("managed_task"))
    add("Task", execution.get("task_name"))
    add("Execution id", execution.get("id"))
    add("Experiment", execution.get("experiment"))
    add("Run", execution.get("run"))
    add("Started", format_time(execution.get("started")))
    add("Ended", format_time(execution.get("ended")))
    add("Duration", format_duration(execution.get("duration_s")))
    add("Exit code", execution.get("exit_code"))
    add("Host", execution.get("host"))
    add("Work directory", execution.get("work_dir"))
    log_path = execution.get("log_path")
    if log_path:
        link = '<a href="%s">%s</a>' % (_e(_href(str(log_path), reports_dir)), _e(log_path))
        add("Log", link, raw=True)
    parts.append(_table(overview, raw_values=True))
    # A failed run's reader wants the reason first.
    error = execution.get("error")
    if error:
        parts.append('<h2>Error</h2>\n<pre class="traceback">%s</pre>' % _e(error))
    warnings = execution.get("warnings") or ()
    if warnings:
        parts.append(
            "<h2>Warnings</h2>\n<ul>%s</ul>" % "".join("<li>%s</li>" % _e(w) for w in warnings)
        )

    keyvalues = [(str(i.get("key")), str(i.get("value"))) for i in items if _kind(i) == "keyvalue"]
    texts = [str(i.get("value")) for i in items if _kind(i) == "text"]
    plots = [i for i in items if _kind(i) == "plots"]
    if keyvalues or texts:
        parts.append("<h2>Summary</h2>")
        if keyvalues:
            parts.append(_table(keyvalues))
        parts.extend("<p>%s</p>" % _e(text) for text in texts)
    for plot in plots:
        path = str(plot.get("path") or plot.get("value") or "")
        href = _e(_href(path, reports_dir))
        parts.append(
            '<h2>Plots: %s</h2>\n<p><a href="%s">open in its own page</a> '
            '<span class="muted">%s</span></p>\n'
            '<iframe class="plots" loading="lazy" src="%s" title="%s"></iframe>'
            % (_e(plot.get("key")), href, _e(path), href, _e(plot.get("key")))
        )

    messages = execution.get("messages") or ()
    if messages:
        received = execution.get("messages_received") or len(messages)
        parts.append(
            '<h2>Messages</h2>\n<p class="muted">%d received%s</p>\n<pre>%s</pre>'
            % (
                received,
                "" if received <= len(messages) else "; the last %d:" % len(messages),
                _e("\n".join(_message_line(message) for message in messages)),
            )
        )

    parameters = execution.get("parameters")
    if isinstance(parameters, Mapping) and parameters:
        rows = [(key, _value_text(value)) for key, value in _flatten(parameters)]
        parts.append("<h2>Parameters</h2>\n" + _table(rows))

    title = "%s %s" % (name, execution.get("status") or "")
    return _page(title.strip(), "\n".join(parts))


def _message_line(message: Any) -> str:
    """``time [rank N] text`` of a stored message (a mapping or a tuple)."""
    if isinstance(message, Mapping):
        time_, rank, text = message.get("time"), message.get("rank"), message.get("text")
    else:
        time_, rank, text = message
    return "%s %s%s" % (format_time(time_), "" if rank is None else "[rank %s] " % rank, text)


def index_page(entries: Sequence[Tuple[str, Mapping[str, Any]]]) -> str:
    """The index of runs, in the order given (newest first is the caller's job).

    Args:
        entries: ``(page file name, record)`` of each run.

    Returns:
        The page's HTML.
    """
    return index_page_from_rows([index_row(page, record) for page, record in entries])


def index_row(page: str, record: Mapping[str, Any]) -> str:
    """One run's ``<tr>`` in the index (``record`` needs only its ``execution``)."""
    execution: Dict[str, Any] = dict(record.get("execution") or {})
    link = '<a href="%s">%s</a>' % (
        _e(urllib.parse.quote(page)),
        _e(execution.get("managed_task") or execution.get("task_name") or page),
    )
    cells = (
        _e(format_time(execution.get("started"))),
        link,
        _e(execution.get("task_name")),
        _e(execution.get("experiment")),
        _e(execution.get("run")),
        _badge(execution.get("status")),
        _e(format_duration(execution.get("duration_s"))),
        _e(execution.get("id")),
    )
    return "<tr>%s</tr>" % "".join("<td>%s</td>" % cell for cell in cells)


def index_page_from_rows(
    rows: Sequence[str],
    *,
    total: Optional[int] = None,
    older: Sequence[Tuple[str, str]] = (),
    archive_of: Optional[str] = None,
) -> str:
    """An index page around rows made by :func:`index_row`, in the order given.

    Args:
        rows: The rows of this page, newest first.
        total: Runs in the whole index (default: ``len(rows)``, a single page).
        older: ``(page file, label)`` of each page of older runs, newest first.
        archive_of: For a page of older runs, a description of its runs; the page
            then links back to ``index.html``.
    """
    header = (
        "<tr><th>Started</th><th>Managed task</th><th>Task</th><th>Experiment</th>"
        "<th>Run</th><th>Status</th><th>Duration</th><th>Id</th></tr>"
    )
    if rows:
        table = "<table>\n%s\n%s\n</table>" % (header, "\n".join(rows))
    else:
        table = '<p class="muted">No runs yet.</p>'
    total = len(rows) if total is None else total
    count = "%d run%s" % (total, "" if total == 1 else "s")
    if archive_of is not None:
        title = "LUTE runs: %s" % archive_of
        intro = (
            '<p class="muted"><a href="index.html">&larr; newest runs</a></p>\n'
            '<h1>LUTE runs</h1>\n<p class="muted">%s, newest first</p>' % _e(archive_of)
        )
    elif older:
        title = "LUTE runs"
        intro = (
            '<h1>LUTE runs</h1>\n<p class="muted">%s; the %d newest first, older runs '
            '<a href="#older">on pages of their own</a></p>' % (count, len(rows))
        )
    else:
        title = "LUTE runs"
        intro = '<h1>LUTE runs</h1>\n<p class="muted">%s, newest first</p>' % count
    parts = [intro, table]
    if older:
        links = "\n".join(
            '<li><a href="%s">%s</a></li>' % (_e(urllib.parse.quote(page)), _e(label))
            for page, label in older
        )
        parts.append('<h2 id="older">Older runs</h2>\n<ul>\n%s\n</ul>' % links)
    return _page(title, "\n".join(parts))
