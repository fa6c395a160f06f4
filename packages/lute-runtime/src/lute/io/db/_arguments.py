"""Checking the arguments of :class:`lute.io.db.Database` methods. Private to ``lute.io.db``.

Each check returns the value as it is stored, or raises :class:`DatabaseError` naming the
argument, so a bad call fails before any transaction starts.
"""

from __future__ import annotations

import datetime
import math
import numbers
import os
from typing import Any, Mapping, Optional, Union

from lute.io.db._connect import DatabaseError
from lute.io.db._values import clean_text, dump_json, to_json_data, utc_from_epoch

__all__ = [
    "RunLike",
    "StatusLike",
    "TimeLike",
    "count",
    "execution_key",
    "job_id",
    "json_column",
    "optional_int",
    "optional_text",
    "required_name",
    "signal_name",
    "time_bound",
]

RunLike = Union[str, int]
StatusLike = Any  # a status name or a TaskStatus-like enum
TimeLike = Union[datetime.datetime, float, int]  # timezone-aware, or POSIX seconds


def execution_key(value: Any, what: str = "execution_id") -> int:
    """An execution (or submission, result) id: an int, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatabaseError(f"{what} must be an int, got {value!r}")
    return int(value)


def required_name(value: Any, what: str) -> str:
    """``value`` as a non-empty name (a managed task or Task name)."""
    if not isinstance(value, str) or not value.strip():
        raise DatabaseError(f"{what} must be a non-empty string, got {value!r}")
    return clean_text(value)


def optional_text(value: Any, what: str) -> Optional[str]:
    """``value`` as text (a path is accepted), or ``None``."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise DatabaseError(f"{what} must be a string or None, got {value!r}")
    return clean_text(value)


def optional_int(value: Any, what: str) -> Optional[int]:
    """``value`` as an int (not a bool), or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatabaseError(f"{what} must be an int or None, got {value!r}")
    return int(value)


def signal_name(value: Any) -> Optional[str]:
    """Signal given as a name (``"SIGKILL"``) or number (9), stored by name."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            import signal  # only signals given by number need the names

            return signal.Signals(abs(value)).name
        except ValueError:
            return f"SIG{abs(value)}"
    return optional_text(value, "signal")


def json_column(value: Optional[Mapping[str, Any]], what: str) -> Optional[str]:
    """A mapping as the JSON text of its column, or ``None``."""
    if value is None:
        return None
    data = to_json_data(value, what)
    if not isinstance(data, dict):
        raise DatabaseError(f"{what} must be a mapping, got {type(value).__name__}")
    return dump_json(data)


def count(value: Any, what: str) -> int:
    """A non-negative int (a number of messages, a limit, an offset)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DatabaseError(f"{what} must be a non-negative int, got {value!r}")
    return int(value)


def job_id(value: Any, what: str = "slurm_job_id") -> Optional[int]:
    """A SLURM job id given as an int or its digits (``"1234"``), or ``None``."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise DatabaseError(f"{what} must be a SLURM job id (an int, or its digits), got {value!r}")


def time_bound(value: Any, what: str) -> Optional[str]:
    """A time filter as the stored text: a timezone-aware datetime, or POSIX seconds.

    A naive datetime is refused: whether it meant local time or UTC cannot be told.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise DatabaseError(
                f"{what} must be a timezone-aware datetime (e.g. with tzinfo=timezone.utc) "
                f"or POSIX seconds, got the naive {value!r}"
            )
        moment = value.astimezone(datetime.timezone.utc)
        return moment.isoformat(timespec="microseconds")
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return utc_from_epoch(value, what)
    raise DatabaseError(f"{what} must be a timezone-aware datetime or POSIX seconds, got {value!r}")
