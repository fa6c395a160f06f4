"""``reports/index.html``: the list of every run in a reports directory.

Each run's JSON record stays the source of truth. Reading all of them for every run
would make each run slower than the last (hundreds of runs per experiment), so the
rows the index shows are kept in ``reports/.index.json`` and brought up to date from
the directory listing: records that appeared since are read (normally just the run
being reported), records that were deleted are dropped. A missing, unreadable or
older cache is rebuilt from all the records.

Runs of several ``lute-exec`` processes share the directory; an exclusive ``flock``
on ``reports/.index.lock`` serialises the updates. When the lock cannot be had in
time the index is updated anyway; a row lost that way is found again by the next
run's listing.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from lute.io._log import LazyLogger

logger = LazyLogger("lute.io.elog")

INDEX_FILE = "index.html"
CACHE_FILE = ".index.json"
LOCK_FILE = ".index.lock"
CACHE_FORMAT = "lute-report-index/2"


class DirectoryLock:
    """An exclusive ``flock`` on a file, waited for at most ``timeout`` seconds.

    When the lock cannot be had in time a warning is logged and the caller goes on
    without it.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._fd: Optional[int] = None

    def __enter__(self) -> DirectoryLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, updates may race
            return self
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError:
                if time.monotonic() >= deadline:
                    logger.warning(
                        "Could not lock %s within %.0f s; updating the index without it",
                        self._path,
                        self._timeout,
                    )
                    return self
                time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def update_index(
    reports_dir: str,
    record_format: str,
    *,
    lock_timeout: float,
    current: Optional[Tuple[str, Mapping[str, Any]]] = None,
    rebuild: bool = False,
) -> str:
    """Bring ``index.html`` (and its cache) up to date; returns the index's path.

    Args:
        reports_dir: The reports directory (it must exist).
        record_format: The ``format`` value of run records; other JSON files are skipped.
        lock_timeout: Seconds to wait for another run's update.
        current: ``(json file name, record)`` of the run just written: its row is
            replaced even if the cache already has one.
        rebuild: Read every record again instead of trusting the cache.
    """
    from lute.io import _plots, _report_html

    index_path = os.path.join(reports_dir, INDEX_FILE)
    with DirectoryLock(os.path.join(reports_dir, LOCK_FILE), lock_timeout):
        cache_path = os.path.join(reports_dir, CACHE_FILE)
        rows, skipped = _load_cache(cache_path) if not rebuild else ({}, set())
        names = {
            name
            for name in os.listdir(reports_dir)
            if name.endswith(".json") and not name.startswith(".")
        }
        rows = {name: row for name, row in rows.items() if name in names}
        skipped &= names
        if current is not None:
            rows[current[0]] = _row(current[0], current[1])
        for name in sorted(names - set(rows) - skipped):
            record = _read_record(os.path.join(reports_dir, name), record_format)
            if record is None:
                skipped.add(name)
            else:
                rows[name] = _row(name, record)
        _plots.write_text_atomic(
            cache_path,
            json.dumps({"format": CACHE_FORMAT, "rows": rows, "skipped": sorted(skipped)}),
        )
        _plots.write_text_atomic(index_path, _report_html.index_page_from_rows(_ordered(rows)))
    return index_path


def _load_cache(path: str) -> Tuple[Dict[str, Dict[str, Any]], Set[str]]:
    """The cached rows and skipped names; empty (rebuild) when the cache is unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            cache = json.load(handle)
    except FileNotFoundError:
        return {}, set()
    except (OSError, ValueError) as error:
        logger.debug("Rebuilding the report index: %s is unreadable (%s)", path, error)
        return {}, set()
    if not isinstance(cache, dict) or cache.get("format") != CACHE_FORMAT:
        return {}, set()
    rows = cache.get("rows")
    skipped = cache.get("skipped")
    if not isinstance(rows, dict) or not isinstance(skipped, list):
        return {}, set()
    usable = {name: row for name, row in rows.items() if _is_row(row)}
    return usable, {name for name in skipped if isinstance(name, str)}


def _is_row(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("html"), str)
        and isinstance(row.get("order"), list)
        and len(row["order"]) == 2
    )


def _read_record(path: str, record_format: str) -> Optional[Mapping[str, Any]]:
    """A run record, or ``None`` for a foreign or unreadable JSON file."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as error:
        logger.debug("Skipping unreadable report record %s: %s", path, error)
        return None
    if not isinstance(record, dict) or record.get("format") != record_format:
        return None
    return record


def _row(name: str, record: Mapping[str, Any]) -> Dict[str, Any]:
    """What the index keeps of a record: its rendered row and its place in the order.

    Rows are rendered once, when their record is first seen, so a run re-renders only
    its own row however many runs the index lists.
    """
    from lute.io import _report_html

    execution = record.get("execution") or {}
    written = _report_html.as_epoch(record.get("written")) or 0.0
    started = _report_html.as_epoch(execution.get("started"))
    return {
        "html": _report_html.index_row(name[: -len(".json")] + ".html", record),
        "order": [started if started is not None else written, written],
    }


def _ordered(rows: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """The rendered rows, newest run first (by start time, then by when it was written)."""
    ordered = sorted(rows.values(), key=lambda row: tuple(row["order"]), reverse=True)
    return [row["html"] for row in ordered]
