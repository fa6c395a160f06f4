"""``reports/index.html``: the list of every run in a reports directory.

Each run's JSON record stays the source of truth. Reading all of them for every run
would make each run slower than the last (hundreds of runs per experiment), so the
rows the index shows are kept in ``reports/.index.json`` and brought up to date from
the directory listing: records that appeared since are read (normally just the run
being reported). A missing, unreadable or older cache is rebuilt from all the records.

The index is paged, so that updating it costs about the same however many runs came
before: ``index.html`` lists the newest runs (from ``page_size`` to twice as many), and
when it would list twice ``page_size``, its oldest ``page_size`` runs move to a page
of their own, ``index-<n>.html`` (``n`` = 1 for the oldest), whose rows are kept in
``.index-<n>.json`` and which is not written again. A run reported again whose row is
on such a page has that page rewritten; a record deleted from the directory whose row
is on such a page renumbers the pages, so the whole index is rebuilt.

Runs of several ``lute-exec`` processes share the directory; an exclusive ``flock``
on ``reports/.index.lock`` serialises the updates. When the lock cannot be had in
time the index is updated anyway, but no page of older runs is written (the next
update that holds the lock does it); a row lost that way is found again by the next
run's listing.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from lute.io.elog._files import write_text_atomic
from lute.io.elog._log import logger

INDEX_FILE = "index.html"
CACHE_FILE = ".index.json"
LOCK_FILE = ".index.lock"
CACHE_FORMAT = "lute-report-index/3"
#: Runs on each page of older runs; ``index.html`` lists this many to twice as many.
PAGE_SIZE = 200

Row = Dict[str, Any]


class DirectoryLock:
    """An exclusive ``flock`` on a file, waited for at most ``timeout`` seconds.

    When the lock cannot be had in time a warning is logged and the caller goes on
    without it.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._fd: Optional[int] = None
        #: Whether the lock is held (False after a timeout, or where flock is missing).
        self.held = False

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
                self.held = True
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
        self.held = False


def update_index(
    reports_dir: str,
    record_format: str,
    *,
    lock_timeout: float,
    current: Optional[Tuple[str, Mapping[str, Any]]] = None,
    rebuild: bool = False,
    page_size: Optional[int] = None,
) -> str:
    """Bring ``index.html`` (its pages and their caches) up to date; returns its path.

    Args:
        reports_dir: The reports directory (it must exist).
        record_format: The ``format`` value of run records; other JSON files are skipped.
        lock_timeout: Seconds to wait for another run's update.
        current: ``(json file name, record)`` of the run just written: its row is
            replaced even if the cache already has one.
        rebuild: Read every record again instead of trusting the cache.
        page_size: Runs per page of older runs (default :data:`PAGE_SIZE`).
    """
    page_size = page_size or PAGE_SIZE
    with DirectoryLock(os.path.join(reports_dir, LOCK_FILE), lock_timeout) as lock:
        names = {
            name
            for name in os.listdir(reports_dir)
            if name.endswith(".json") and not name.startswith(".")
        }
        index = None if rebuild else _Index.load(reports_dir, page_size)
        if index is not None and not index.follow(names, current, lock.held):
            index = None  # a paged row went away: the pages are numbered again
        if index is None:
            index = _Index(reports_dir, page_size)
            if current is not None:
                index.head[current[0]] = _row(current[0], current[1])
        index.read_new(names, record_format)
        if lock.held:  # pages are written once: never by two updates at a time
            index.seal_full_pages()
        index.save()
    return os.path.join(reports_dir, INDEX_FILE)


class _Index:
    """The cached index of one reports directory: the newest rows and the paged ones."""

    def __init__(self, reports_dir: str, page_size: int) -> None:
        self.reports_dir = reports_dir
        self.page_size = page_size
        #: Rows listed on index.html, by record file name.
        self.head: Dict[str, Row] = {}
        #: Pages of older runs, oldest first: {"names": [...], "first": t, "last": t}.
        self.pages: List[Dict[str, Any]] = []
        self.skipped: Set[str] = set()

    @classmethod
    def load(cls, reports_dir: str, page_size: int) -> Optional[_Index]:
        """The cached index, or None when there is none usable (then rebuild)."""
        path = os.path.join(reports_dir, CACHE_FILE)
        cache = _load_json(path)
        if (
            not isinstance(cache, dict)
            or cache.get("format") != CACHE_FORMAT
            or cache.get("page_size") != page_size
        ):
            return None
        head, pages, skipped = cache.get("head"), cache.get("pages"), cache.get("skipped")
        if not (
            isinstance(head, dict)
            and isinstance(skipped, list)
            and isinstance(pages, list)
            and all(_is_page(page) for page in pages)
        ):
            return None
        index = cls(reports_dir, page_size)
        index.head = {name: row for name, row in head.items() if _is_row(row)}
        index.pages = pages
        index.skipped = {name for name in skipped if isinstance(name, str)}
        return index

    def follow(
        self, names: Set[str], current: Optional[Tuple[str, Mapping[str, Any]]], locked: bool
    ) -> bool:
        """Forget deleted records and take the current run's row; False: rebuild needed
        (also when a page would be rewritten without the lock)."""
        paged = {
            name: number for number, page in enumerate(self.pages, 1) for name in page["names"]
        }
        if any(name not in names for name in paged):
            return False
        self.head = {name: row for name, row in self.head.items() if name in names}
        self.skipped &= names
        if current is None:
            return True
        name, record = current
        number = paged.get(name)
        if number is None:
            self.head[name] = _row(name, record)
            self.skipped.discard(name)
            return True
        rows = self._page_rows(number) if locked else None
        if rows is None:  # a paged run reported again: its page is rewritten, or all
            return False
        rows[name] = _row(name, record)
        self._set_page(number, rows)
        return True

    def read_new(self, names: Set[str], record_format: str) -> None:
        """Read the records the index does not know yet."""
        known = set(self.head) | self.skipped
        for page in self.pages:
            known.update(page["names"])
        for name in sorted(names - known):
            record = _read_record(os.path.join(self.reports_dir, name), record_format)
            if record is None:
                self.skipped.add(name)
            else:
                self.head[name] = _row(name, record)

    def seal_full_pages(self) -> None:
        """While the head holds twice ``page_size`` rows, move its oldest ``page_size``
        rows to a page of their own."""
        while len(self.head) >= 2 * self.page_size:
            oldest = sorted(self.head, key=lambda name: _order(self.head[name]))
            rows = {name: self.head.pop(name) for name in oldest[: self.page_size]}
            self.pages.append({"names": [], "first": 0.0, "last": 0.0})
            self._set_page(len(self.pages), rows)

    def _page_rows(self, number: int) -> Optional[Dict[str, Row]]:
        rows = _load_json(os.path.join(self.reports_dir, _page_cache(number)))
        if not isinstance(rows, dict) or not all(_is_row(row) for row in rows.values()):
            return None
        return rows

    def _set_page(self, number: int, rows: Dict[str, Row]) -> None:
        """Give page ``number`` these rows and write its files."""
        from lute.io.elog._report_html import index_page_from_rows

        starts = [_order(row)[0] for row in rows.values()]
        page = self.pages[number - 1]
        page.update(names=sorted(rows), first=min(starts), last=max(starts))
        write_text_atomic(os.path.join(self.reports_dir, _page_cache(number)), json.dumps(rows))
        write_text_atomic(
            os.path.join(self.reports_dir, _page_file(number)),
            index_page_from_rows(_ordered(rows), archive_of=_page_label(page)),
        )

    def save(self) -> None:
        """Write ``index.html`` and the cache; remove pages that no longer exist."""
        from lute.io.elog._report_html import index_page_from_rows

        older = [
            (_page_file(number), _page_label(page))
            for number, page in reversed(list(enumerate(self.pages, 1)))
        ]
        total = len(self.head) + sum(len(page["names"]) for page in self.pages)
        cache = {
            "format": CACHE_FORMAT,
            "page_size": self.page_size,
            "head": self.head,
            "pages": self.pages,
            "skipped": sorted(self.skipped),
        }
        write_text_atomic(os.path.join(self.reports_dir, CACHE_FILE), json.dumps(cache))
        write_text_atomic(
            os.path.join(self.reports_dir, INDEX_FILE),
            index_page_from_rows(_ordered(self.head), total=total, older=older),
        )
        number = len(self.pages) + 1
        while _remove_if_present(
            os.path.join(self.reports_dir, _page_file(number)),
            os.path.join(self.reports_dir, _page_cache(number)),
        ):
            number += 1


def _page_file(number: int) -> str:
    """The page of older runs number ``number`` (1: the oldest)."""
    return "index-%d.html" % number


def _page_cache(number: int) -> str:
    """The rendered rows of that page."""
    return ".index-%d.json" % number


def _load_json(path: str) -> Any:
    """The JSON document in ``path``; None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.debug("Rebuilding the report index: %s is unreadable (%s)", path, error)
        return None


def _remove_if_present(*paths: str) -> bool:
    """Remove the files that exist; True if there was any."""
    found = False
    for path in paths:
        try:
            os.unlink(path)
            found = True
        except FileNotFoundError:
            pass
    return found


def _is_page(page: Any) -> bool:
    return (
        isinstance(page, dict)
        and isinstance(page.get("names"), list)
        and all(isinstance(name, str) for name in page["names"])
        and isinstance(page.get("first"), (int, float))
        and isinstance(page.get("last"), (int, float))
    )


def _page_label(page: Mapping[str, Any]) -> str:
    from lute.io.elog._report_html import format_time

    count = len(page["names"])
    return "%d run%s started %s to %s" % (
        count,
        "" if count == 1 else "s",
        format_time(page["first"]),
        format_time(page["last"]),
    )


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
    from lute.io.elog._report_html import as_epoch, index_row

    execution = record.get("execution") or {}
    written = as_epoch(record.get("written")) or 0.0
    started = as_epoch(execution.get("started"))
    return {
        "html": index_row(name[: -len(".json")] + ".html", record),
        "order": [started if started is not None else written, written],
    }


def _order(row: Mapping[str, Any]) -> Tuple[float, float]:
    """A row's place: its run's start time, then when its record was written."""
    started, written = row["order"]
    return float(started), float(written)


def _ordered(rows: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """The rendered rows, newest run first."""
    return [row["html"] for row in sorted(rows.values(), key=_order, reverse=True)]
