"""Checking the arguments of :class:`lute.io.db.Database` methods. Private to ``lute.io.db``.

Each check returns the value as it is stored, or raises :class:`DatabaseError` naming the
argument, so a bad call fails before any transaction starts.
"""

from __future__ import annotations

import os
import signal as _signal
from typing import Any, Mapping, Optional, Union

from lute.io.db._connect import DatabaseError
from lute.io.db._values import clean_text, dump_json, to_json_data

__all__ = [
    "RunLike",
    "StatusLike",
    "json_column",
    "optional_int",
    "optional_text",
    "required_name",
    "signal_name",
]

RunLike = Union[str, int]
StatusLike = Any  # a status name or a TaskStatus-like enum


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
            return _signal.Signals(abs(value)).name
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
