"""Turning Python values into what the results database stores. Private to ``lute.io.db``.

Everything here is pure (no SQL), so the normalisation rules can be tested on their own
and reused by the eLog report, which must show summaries the same way.
"""

from __future__ import annotations

import datetime
import enum
import json
import math
import numbers
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from lute._records import FrozenRecord
from lute.io.db._connect import DatabaseError

__all__ = [
    "STATUSES",
    "SUPERVISED_STATUSES",
    "TERMINAL_STATUSES",
    "PlotsRef",
    "clean_text",
    "decode_json",
    "decode_payload",
    "dump_json",
    "encode_payload",
    "flatten_parameters",
    "format_summary",
    "normalise_status",
    "run_columns",
    "to_json_data",
    "utc_from_epoch",
    "utc_now",
]

STATUSES = (
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "TIMEDOUT",
    "CANCELLED",
    "STOPPED",
    "QUEUED",
    "LOST",
)
# Mirrors lute.tasks.dataclasses.TaskStatus.is_terminal: STOPPED may still resume and
# QUEUED has not started.
TERMINAL_STATUSES = frozenset(("COMPLETED", "FAILED", "TIMEDOUT", "CANCELLED", "LOST"))
# The statuses of an execution that an Executor supervises (it may be LOST).
SUPERVISED_STATUSES = frozenset(("PENDING", "RUNNING", "STOPPED"))

_DIGITS = re.compile(r"[0-9]+\Z")


class PlotsRef(FrozenRecord):
    """Plots already rendered to an HTML file, as stored in a result row.

    The Executor converts an ``ElogSummaryPlots`` summary into one of these before
    recording it; any object with ``display_name`` and ``path`` attributes is accepted too.
    Immutable and hashable.

    Attributes:
        display_name: Name of the report tab (``/`` separates nested tabs).
        path: Path of the HTML file.
    """

    _FIELDS = ("display_name", "path")
    __slots__ = ("display_name", "path")
    display_name: str
    path: str

    def __init__(self, display_name: str, path: str) -> None:
        self._set_fields(display_name, path)


# ----------------------------------------------------------------------- time, text


def utc_now() -> str:
    """Current UTC time as ISO-8601 with microseconds, e.g. ``2024-05-01T12:00:00.000001+00:00``."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def utc_from_epoch(seconds: Any, what: str) -> str:
    """Convert POSIX seconds to the same ISO-8601 form as :func:`utc_now`.

    Raises:
        DatabaseError: ``seconds`` is not a finite real number.
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, numbers.Real)
        or not math.isfinite(seconds)
    ):
        raise DatabaseError(f"{what}: time must be finite POSIX seconds, got {seconds!r}")
    moment = datetime.datetime.fromtimestamp(float(seconds), datetime.timezone.utc)
    return moment.isoformat(timespec="microseconds")


def clean_text(text: str) -> str:
    """``text`` made storable: SQLite rejects strings that are not valid UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from undecodable file names
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# ----------------------------------------------------------------------- statuses, runs


def normalise_status(status: Any, what: str) -> str:
    """The stored name of a status given as a string or a ``TaskStatus``-like enum.

    Raises:
        DatabaseError: Not one of :data:`STATUSES`.
    """
    name = status
    if isinstance(status, enum.Enum):
        name = status.value if isinstance(status.value, str) else status.name
    if isinstance(name, str) and name.upper() in STATUSES:
        return name.upper()
    raise DatabaseError(f"{what}: unknown status {status!r}; expected one of {STATUSES}")


def run_columns(run: Any) -> Tuple[Optional[str], Optional[int]]:
    """The ``(run, run_number)`` columns for a run given as text or an integer.

    ``run`` keeps the text as given (``"0012"``); ``run_number`` holds its integer value
    when it is all decimal digits (or was an int), else NULL.

    Raises:
        DatabaseError: ``run`` is neither ``None``, ``str`` nor ``int``.
    """
    if run is None:
        return None, None
    if isinstance(run, bool) or not isinstance(run, (str, int)):
        raise DatabaseError(f"run must be a str or an int, got {type(run).__name__} {run!r}")
    if isinstance(run, int):
        return str(run), int(run)
    return clean_text(run), int(run) if _DIGITS.match(run) else None


# ----------------------------------------------------------------------- JSON


def dump_json(data: Any) -> str:
    """Compact JSON text (NaN/Infinity allowed, as Python's ``json`` writes them)."""
    return json.dumps(data, separators=(",", ":"))


def decode_json(text: Optional[str]) -> Any:
    """Inverse of :func:`dump_json`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


def to_json_data(value: Any, path: str) -> Any:
    """A JSON-compatible copy of ``value`` (parameters, environment, versions).

    Besides JSON's own types it converts what validated models commonly hold: enums
    (their value), paths, dates/times (ISO text), sets (lists), pydantic models
    (``model_dump(mode="json")``) and numpy values (``tolist()``).

    Raises:
        DatabaseError: A value has no JSON form; the message names its dotted path.
    """
    if value is None or isinstance(value, (bool, int, float)):
        # bool/int/float subclasses (e.g. IntEnum) are written by json as the base type.
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        out: Dict[str, Any] = {}
        # Keys and items through the mapping protocol, not .items(): on the parameter
        # surrogate a field named "items" would shadow the method.
        pairs = value.items() if type(value) is dict else ((k, value[k]) for k in value)
        for key, item in pairs:
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                where = path or "value"
                raise DatabaseError(
                    f"{where}: key {key!r} of type {type(key).__name__} cannot be a JSON object key"
                )
            name = key if isinstance(key, str) else json.dumps(key)
            out[name] = to_json_data(item, f"{path}.{name}" if path else name)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json_data(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [to_json_data(item, path + "[]") for item in value]
        try:
            return sorted(items)
        except TypeError:  # mixed types: keep iteration order
            return items
    if isinstance(value, enum.Enum):
        return to_json_data(value.value, path)
    if isinstance(value, os.PathLike):
        return clean_text(str(os.fspath(value)))
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if callable(getattr(value, "model_dump", None)):
        return to_json_data(value.model_dump(mode="json"), path)
    if callable(getattr(value, "tolist", None)):
        return to_json_data(value.tolist(), path)
    where = path or "value"
    raise DatabaseError(
        f"{where}: value {value!r} of type {type(value).__name__} cannot be stored as JSON"
    )


def flatten_parameters(model: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """``(path, JSON value)`` per leaf of a JSON-compatible model.

    Nested objects are walked with ``.`` between names (``compound_var.int_var``); lists
    and empty objects are leaves, stored whole.
    """
    rows: List[Tuple[str, str]] = []

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, item in node.items():
            path = prefix + key
            if isinstance(item, dict) and item:
                walk(item, path + ".")
            else:
                rows.append((path, dump_json(item)))

    walk(model, "")
    return rows


# ----------------------------------------------------------------------- results


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def encode_payload(payload: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """``(text, type name, encoding)`` of a result payload.

    JSON text (encoding ``"json"``) when ``json`` can serialise it, else its ``repr``
    (encoding ``"repr"``). A ``None`` payload is stored as three NULLs.
    """
    if payload is None:
        return None, None, None
    try:
        return dump_json(payload), _type_name(payload), "json"
    except (TypeError, ValueError, OverflowError, RecursionError):
        pass
    try:
        text = repr(payload)
    except Exception as exc:  # a broken __repr__ must not lose the whole result
        text = f"<{_type_name(payload)} object; repr() failed: {exc}>"
    return clean_text(text), _type_name(payload), "repr"


def decode_payload(text: Optional[str], encoding: Optional[str]) -> Any:
    """Inverse of :func:`encode_payload`: decoded JSON, or the repr text as stored."""
    if text is None:
        return None
    if encoding == "json":
        return json.loads(text)
    return text


def _plots_path(item: Any) -> Optional[str]:
    if isinstance(item, PlotsRef):
        return item.path
    path = getattr(item, "path", None)
    if hasattr(item, "display_name") and isinstance(path, (str, os.PathLike)):
        return str(os.fspath(path))
    return None


def _summary_rows(item: Any, rows: List[Tuple[str, str]], open_lists: Set[int]) -> None:
    plots = _plots_path(item)
    if plots is not None:
        rows.append(("plots", plots))
    elif item is None:
        rows.append(("none", ""))
    elif isinstance(item, str):
        rows.append(("text", item))
    elif isinstance(item, bool):
        rows.append(("bool", str(item)))
    elif isinstance(item, numbers.Number):
        rows.append(("number", str(item)))
    elif isinstance(item, dict):
        rows.append(("dict", ";".join(f"{key}: {value}" for key, value in item.items())))
    elif isinstance(item, (list, tuple)):
        if id(item) in open_lists:  # a list that contains itself
            rows.append(("object", "[...]"))
            return
        open_lists.add(id(item))
        for element in item:
            _summary_rows(element, rows, open_lists)
        open_lists.discard(id(item))
    else:
        rows.append(("object", str(item)))


def format_summary(summary: Any) -> List[Tuple[str, str]]:
    """Normalise a result summary into ``(kind, text)`` rows, one per stored item.

    - ``None`` → ``("none", "")``; ``str`` → ``("text", s)``
    - ``bool`` → ``("bool", "True")``; other numbers → ``("number", str(n))``
    - ``dict`` → ``("dict", "Rate: 0.05;Total: 10")`` (``key: str(value)`` joined by ``;``)
    - :class:`PlotsRef` (or anything with ``display_name`` and ``path``) →
      ``("plots", path)``
    - ``list``/``tuple`` → its items in order, nested ones flattened; an empty one gives
      ``[("none", "")]`` so that every result has at least one row
    - anything else → ``("object", str(value))``

    Args:
        summary: The ``TaskResult.summary`` (after the Executor rendered any plots).

    Returns:
        The rows, in order.
    """
    rows: List[Tuple[str, str]] = []
    _summary_rows(summary, rows, set())
    if not rows:
        rows.append(("none", ""))
    return [(kind, clean_text(text)) for kind, text in rows]
