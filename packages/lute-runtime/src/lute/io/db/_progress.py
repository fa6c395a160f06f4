"""How a Task's progress is stored: one message row of level ``PROGRESS``. Private to
:mod:`lute.io.db`.

The Executor keeps one such row per execution, the latest progress, replaced (a new row,
a new id) as the Task reports more: readers that poll messages by id (``lute-exec
follow``) see each change, and everyone else finds the last progress without a schema of
its own. The text is readable as it is (``42% (420/1000)``, or ``42.5%`` for a fraction)
and :func:`parse_progress` reads it back.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

__all__ = ["PROGRESS_LEVEL", "count_text", "parse_progress", "progress_text"]

#: The ``level`` of the message row that holds an execution's progress.
PROGRESS_LEVEL = "PROGRESS"

_TEXT = re.compile(r"(?P<percent>[0-9.]+)%(?: \((?P<done>[^/()]+)/(?P<total>[^/()]+)\))?\Z")


def count_text(value: float) -> str:
    """A count as people write it (``420``, not ``420.0``); a fraction with %g."""
    return "%d" % value if float(value).is_integer() and abs(value) < 1e15 else "%g" % value


def progress_text(done: float, total: Optional[float] = None) -> str:
    """The stored text of a progress: ``"42% (420/1000)"``, or ``"42.5%"`` (a fraction).

    The percentage is rounded down where rounding would say 100% too early.

    Args:
        done: The fraction done (``total=None``), else how many of ``total`` are done.
        total: How many items there are, or ``None``.
    """
    fraction = done if not total else done / total
    fraction = min(max(fraction, 0.0), 1.0)
    if not total:
        percent = "%.3g%%" % (fraction * 100)
        return "99.9%" if percent == "100%" and fraction < 1.0 else percent
    return "%d%% (%s/%s)" % (int(fraction * 100), count_text(done), count_text(total))


def parse_progress(text: str) -> Optional[Dict[str, Any]]:
    """``{"fraction", "done", "total", "text"}`` from a stored progress text (``None``
    when it is not one); ``done`` and ``total`` are ``None`` for a bare fraction."""
    match = _TEXT.match(text)
    if match is None:
        return None
    try:
        fraction = float(match.group("percent")) / 100
        done = float(match.group("done")) if match.group("done") else None
        total = float(match.group("total")) if match.group("total") else None
    except ValueError:
        return None
    if done is not None and total:  # exact, where the percentage is rounded
        fraction = min(max(done / total, 0.0), 1.0)
    return {"fraction": fraction, "done": done, "total": total, "text": text}
