"""What every reporter shares: :class:`ReportItem`, :class:`Reporter` and :func:`report_all`.

A run's result becomes a list of report items (see :mod:`lute.io.elog._summary`);
each reporter records the run and its items in its own way, and :func:`report_all`
calls them in turn so that one failing reporter never costs the others.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

from lute.io.elog._log import logger

__all__ = ["ITEM_KINDS", "ReportItem", "Reporter", "report_all", "report_started"]

#: The kinds of :class:`ReportItem`.
ITEM_KINDS = ("text", "keyvalue", "plots")


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
            items: The report items of the Task's result (see :func:`lute.io.elog.summarise`).
        """
        raise NotImplementedError

    def started(self, *, execution: Mapping[str, Any]) -> None:
        """The run was recorded and its Task is being launched (default: nothing).

        Args:
            execution: ``id``, ``managed_task``, ``task_name``, ``experiment``, ``run``.
        """


def report_started(reporters: Sequence[Reporter], *, execution: Mapping[str, Any]) -> None:
    """Tell every reporter that a run starts (the eLog shows it RUNNING); one that fails
    is logged and changes nothing."""
    for reporter in reporters:
        try:
            reporter.started(execution=execution)
        except Exception:
            logger.warning("The %s failed to record the run's start", reporter.name, exc_info=True)


def report_all(
    reporters: Sequence[Reporter], *, execution: Mapping[str, Any], items: Sequence[ReportItem]
) -> None:
    """Call every reporter in turn; one that fails is logged and does not stop the others.

    Args:
        reporters: Typically :func:`lute.io.elog.make_reporters`' list (local report first).
        execution: See :meth:`Reporter.report`.
        items: See :meth:`Reporter.report`.
    """
    for reporter in reporters:
        try:
            reporter.report(execution=execution, items=items)
        except Exception:
            logger.warning("The %s failed to record the run", reporter.name, exc_info=True)
