"""Loggers for Task code whose records reach the Executor, with their level.

The original LUTE's ``get_logger``, standard library only::

    from lute.execution.logging import get_logger

    logger = get_logger(__name__)
    logger.warning("only %d peaks found", count)

Inside a Task run by ``lute-exec`` each record travels over the run's IPC channel as a
``TASK_LOG`` message: the Executor shows it on its console and writes it to the run's
log file and to the database's messages, with its level. An Executor older than
``TASK_LOG`` gets the record as a plain message (``WARNING:name: text``) instead; outside
an Executor (a notebook, a unit test) records go to stderr.
"""

from __future__ import annotations

import logging
import sys

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict

__all__ = ["LUTE_TASK_LOG_FORMAT", "STD_PYTHON_LOG_FORMAT", "ExecutorHandler", "get_logger"]

#: The stdlib's default layout, for loggers of the Executor side (``is_task=False``).
STD_PYTHON_LOG_FORMAT = "%(levelname)s:%(name)s:%(message)s"
#: What a record looks like where it cannot travel as a ``TASK_LOG`` (stderr, an older
#: Executor): the level and the logger's name stay readable in the text.
LUTE_TASK_LOG_FORMAT = "%(levelname)s:%(name)s: %(message)s"
SIGNAL = "TASK_LOG"


def record_document(record: logging.LogRecord, text: str) -> Dict[str, Any]:
    """What a ``TASK_LOG`` message carries: plain data, readable by any Executor."""
    return {
        "level": record.levelname,
        "levelno": record.levelno,
        "name": record.name,
        "message": text,
        "time": record.created,
    }


class ExecutorHandler(logging.Handler):
    """Sends each record to the Executor of this process's Task (or to stderr)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from lute.execution.ipc import Message
            from lute.tasks import _context

            text = record.getMessage()
            if record.exc_info:
                text = "%s\n%s" % (text, logging.Formatter().formatException(record.exc_info))
            communicator = _context.get_communicator()
            if communicator is None:
                sys.stderr.write(LUTE_TASK_LOG_FORMAT % _fields(record, text) + "\n")
                sys.stderr.flush()
            elif getattr(communicator, "accepts", None) is not None and communicator.accepts(
                SIGNAL
            ):
                _context.report(Message(record_document(record, text), SIGNAL))
            else:  # an Executor that does not know TASK_LOG: the record as text
                _context.report(Message(LUTE_TASK_LOG_FORMAT % _fields(record, text)))
        except Exception:
            self.handleError(record)


def _fields(record: logging.LogRecord, text: str) -> Dict[str, Any]:
    return {"levelname": record.levelname, "name": record.name, "message": text}


def get_logger(name: str, is_task: bool = True) -> logging.Logger:
    """A logger whose records reach the Executor (``is_task=False``: a plain one).

    As in the original LUTE: the level is DEBUG, or INFO under ``python -O``; the logger
    does not propagate to the root logger; calling this again for the same name does not
    add a second handler. The chattiest libraries' loggers (matplotlib, numpy, pyFAI) are
    quietened.

    Args:
        name: The logger's name, usually ``__name__``.
        is_task: ``False`` for code running on the Executor side: its records go to
            stderr in the standard layout, not over IPC.
    """
    _quieten_libraries()
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG if __debug__ else logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        if getattr(handler, "_lute_handler", False):
            logger.removeHandler(handler)
    new: logging.Handler
    if is_task:
        new = ExecutorHandler()
    else:
        new = logging.StreamHandler()
        new.setFormatter(logging.Formatter(STD_PYTHON_LOG_FORMAT))
    setattr(new, "_lute_handler", True)  # noqa: B010  (marks the handler as ours)
    logger.addHandler(new)
    return logger


def _quieten_libraries() -> None:
    for other_name, other in list(logging.root.manager.loggerDict.items()):
        if isinstance(other, logging.PlaceHolder):
            continue
        if "matplotlib" in other_name:
            other.disabled = True
        elif "pyFAI" in other_name or "numpy" in other_name:
            other.setLevel(logging.CRITICAL)
