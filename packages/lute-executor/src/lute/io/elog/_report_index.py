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
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from lute.io.elog._files import write_text_atomic
from lute.io.elog._log import logger

INDEX_FILE = "index.html"
#: The index's own files, in a directory of their own: writing them leaves the reports
#: directory's modification time alone, so that time says whether records came or went.
STATE_DIR = ".index"
CACHE_FILE = os.path.join(STATE_DIR, "index.json")
LOCK_FILE = os.path.join(STATE_DIR, "lock")
CACHE_FORMAT = "lute-report-index/5"
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
    write: Optional[Callable[[], None]] = None,
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
        write: Writes the current run's page and record; called once the index has
            looked whether anything else changed the directory, before the lock is
            waited for.
    """
    page_size = page_size or PAGE_SIZE
    os.makedirs(os.path.join(reports_dir, STATE_DIR), exist_ok=True)
    # Whether nothing but the index wrote the directory since the index was last saved:
    # looked at before this run writes its own files, which are then the only change.
    before = None if rebuild else _Index.load(reports_dir, page_size)
    untouched = before is not None and before.mtime == _mtime(reports_dir)
    # A run reported for the first time cannot be on a page of older runs.
    existed = current is not None and os.path.exists(os.path.join(reports_dir, current[0]))
    if write is not None:
        write()  # the run's page and record are on disk before any wait for the lock
    with DirectoryLock(os.path.join(reports_dir, LOCK_FILE), lock_timeout) as lock:
        if before is not None and before.signature == _signature(
            os.path.join(reports_dir, CACHE_FILE)
        ):
            index: Optional[_Index] = before  # no update saved it since: no need to read it
        else:
            index = None if rebuild else _Index.load(reports_dir, page_size)
        trusted = (
            untouched
            and lock.held
            and index is not None
            and before is not None
            and index.mtime == before.mtime  # and no other update saved it since
        )
        if trusted:
            # The cache is the truth: no listing (its cost grows with the runs), only the
            # current run's row changes.
            assert index is not None
            if current is not None and not index.take(current, lock.held, existed):
                index = None
        if not trusted or index is None:
            names = _record_names(reports_dir)
            if index is not None and not index.follow(names, current, lock.held, existed):
                index = None  # a paged row went away: the pages are numbered again
            if index is None:
                index = _Index(reports_dir, page_size)
                if current is not None:
                    index.head[current[0]] = _row(current[0], current[1])
            index.read_new(names, record_format)
        if lock.held:  # pages are written once: never by two updates at a time
            index.seal_full_pages()
        index.save(lock.held)
    return os.path.join(reports_dir, INDEX_FILE)


def _record_names(reports_dir: str) -> Set[str]:
    """Every run record of the directory: a full listing."""
    return {
        name
        for name in os.listdir(reports_dir)
        if name.endswith(".json") and not name.startswith(".")
    }


def _signature(path: str) -> Optional[Tuple[int, int, int]]:
    """The file's inode, size and modification time: changed by every atomic rewrite."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _mtime(directory: str) -> Optional[int]:
    try:
        return os.stat(directory).st_mtime_ns
    except OSError:
        return None


class _Index:
    """The cached index of one reports directory: the newest rows and the paged ones."""

    def __init__(self, reports_dir: str, page_size: int) -> None:
        self.reports_dir = reports_dir
        self.page_size = page_size
        #: Rows listed on index.html, by record file name.
        self.head: Dict[str, Row] = {}
        #: Pages of older runs, oldest first: {"count": n, "first": t, "last": t}, and
        #: "names" once the page's record names were needed (read from its own cache).
        self.pages: List[Dict[str, Any]] = []
        self.skipped: Set[str] = set()
        #: The reports directory's modification time when the index last wrote to it
        #: (``None``: unknown, e.g. saved without the lock).
        self.mtime: Optional[int] = None
        #: What the cache file was when this was read from it (see :func:`_signature`).
        self.signature: Optional[Tuple[int, int, int]] = None

    @classmethod
    def load(cls, reports_dir: str, page_size: int) -> Optional[_Index]:
        """The cached index, or None when there is none usable (then rebuild)."""
        path = os.path.join(reports_dir, CACHE_FILE)
        signature = _signature(path)
        cache = _load_json(path)
        if (
            not isinstance(cache, dict)
            or cache.get("format") != CACHE_FORMAT
            or cache.get("page_size") != page_size
        ):
            return None
        head, pages, skipped = cache.get("head"), cache.get("pages"), cache.get("skipped")
        mtime = cache.get("mtime")
        if not (
            isinstance(head, dict)
            and isinstance(skipped, list)
            and isinstance(pages, list)
            and all(_is_page(page) for page in pages)
        ):
            return None
        index = cls(reports_dir, page_size)
        index.head = {name: row for name, row in head.items() if _is_row(row)}
        index.pages = [dict(page) for page in pages]
        index.signature = signature
        index.skipped = {name for name in skipped if isinstance(name, str)}
        index.mtime = mtime if isinstance(mtime, int) else None
        return index

    def names(self) -> Optional[Set[str]]:
        """Every record the index knows of (listed, paged or skipped); ``None`` when a
        page's own cache is missing or damaged (then rebuild)."""
        names = set(self.head) | self.skipped
        for number in range(1, len(self.pages) + 1):
            paged = self._names_of(number)
            if paged is None:
                return None
            names.update(paged)
        return names

    def _names_of(self, number: int) -> Optional[List[str]]:
        """The record names on page ``number``, read from its cache the first time."""
        page = self.pages[number - 1]
        if "names" not in page:
            rows = self._page_rows(number)
            if rows is None:
                return None
            page["names"] = sorted(rows)
        return page["names"]  # type: ignore[no-any-return]

    def follow(
        self,
        names: Set[str],
        current: Optional[Tuple[str, Mapping[str, Any]]],
        locked: bool,
        existed: bool,
    ) -> bool:
        """Forget deleted records and take the current run's row; False: rebuild needed
        (also when a page would be rewritten without the lock)."""
        for number in range(1, len(self.pages) + 1):
            paged = self._names_of(number)
            if paged is None or not names.issuperset(paged):
                return False
        self.head = {name: row for name, row in self.head.items() if name in names}
        self.skipped &= names
        return current is None or self.take(current, locked, existed)

    def take(self, current: Tuple[str, Mapping[str, Any]], locked: bool, existed: bool) -> bool:
        """Give the current run its row (a paged run's page is rewritten); False:
        rebuild needed (its page would be rewritten without the lock, or is damaged).

        ``existed``: the run's record was there before this report; a record seen for
        the first time is never on a page, whose names need not be read then.
        """
        name, record = current
        number = None
        if existed and name not in self.head:
            for page_number in range(1, len(self.pages) + 1):
                paged = self._names_of(page_number)
                if paged is None:
                    return False
                if name in paged:
                    number = page_number
                    break
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
        known = self.names() or set()
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
            self.pages.append({"count": 0, "names": [], "first": 0.0, "last": 0.0})
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
        page.update(count=len(rows), names=sorted(rows), first=min(starts), last=max(starts))
        write_text_atomic(os.path.join(self.reports_dir, _page_cache(number)), json.dumps(rows))
        write_text_atomic(
            os.path.join(self.reports_dir, _page_file(number)),
            index_page_from_rows(_ordered(rows), archive_of=_page_label(page)),
        )

    def save(self, locked: bool) -> None:
        """Write ``index.html`` and the cache; remove pages that no longer exist.

        With the lock held, the reports directory's modification time after those
        writes is kept in the cache: the next update lists the directory only if
        something else changed it since.
        """
        from lute.io.elog._report_html import index_page_from_rows

        older = [
            (_page_file(number), _page_label(page))
            for number, page in reversed(list(enumerate(self.pages, 1)))
        ]
        total = len(self.head) + sum(page["count"] for page in self.pages)
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
        self.mtime = _mtime(self.reports_dir) if locked else None
        cache = {
            "format": CACHE_FORMAT,
            "page_size": self.page_size,
            "head": self.head,
            "pages": [
                {key: page[key] for key in ("count", "first", "last")} for page in self.pages
            ],
            "skipped": sorted(self.skipped),
            "mtime": self.mtime,
        }
        write_text_atomic(os.path.join(self.reports_dir, CACHE_FILE), json.dumps(cache))


def _page_file(number: int) -> str:
    """The page of older runs number ``number`` (1: the oldest)."""
    return "index-%d.html" % number


def _page_cache(number: int) -> str:
    """The rendered rows of that page."""
    return os.path.join(STATE_DIR, "index-%d.json" % number)


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
        and isinstance(page.get("count"), int)
        and isinstance(page.get("first"), (int, float))
        and isinstance(page.get("last"), (int, float))
    )


def _page_label(page: Mapping[str, Any]) -> str:
    from lute.io.elog._report_html import format_time

    count = page["count"]
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
