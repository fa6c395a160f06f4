"""The local HTML/JSON report: run pages, records, the index and its pages of older runs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

import pytest

from lute.io.elog import (
    LocalReporter,
    ReportItem,
    plots_directory,
    summarise,
)
from lute.io.elog._report_index import CACHE_FORMAT
from lute.tasks.dataclasses import ElogSummaryPlots, TaskResult, TaskStatus

XSS = '<script>alert("x")</script>'


def result(summary: Any) -> TaskResult:
    return TaskResult(task_name="Test", task_status=TaskStatus.COMPLETED, summary=summary)


def make_execution(work_dir: str, **overrides: Any) -> Dict[str, Any]:
    execution: Dict[str, Any] = {
        "id": 1,
        "managed_task": "Tester",
        "task_name": "Test",
        "experiment": "xpp12345",
        "run": 12,
        "status": TaskStatus.COMPLETED,
        "started": 1_700_000_000.0,
        "ended": 1_700_000_075.0,
        "exit_code": 0,
        "error": None,
        "host": "node01",
        "work_dir": work_dir,
        "log_path": os.path.join(work_dir, "logs", "Tester_1.log"),
        "parameters": {"float_var": 0.01, "detector": {"name": "jungfrau", "gains": [1, 2]}},
        "duration_s": 75.0,
    }
    execution.update(overrides)
    return execution


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# -- local report ----------------------------------------------------------------------


def test_run_page_shows_status_times_values_and_plots(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    plots_dir = plots_directory(work_dir, "xpp12345", 12)
    items = summarise(
        result([{"n_hits": "12"}, "all good", ElogSummaryPlots("Det/Hits", "<p>h</p>")]),
        plots_dir=plots_dir,
    )
    reporter = LocalReporter(work_dir)
    execution = make_execution(work_dir)
    reporter.report(execution=execution, items=items)

    html_path, json_path = reporter.paths(execution)
    assert html_path == os.path.join(work_dir, "reports", "Tester_1.html")
    page = read(html_path)
    assert 'class="badge"' in page and ">COMPLETED</span>" in page
    assert "<th>n_hits</th>" in page and ">12</td>" in page
    assert "<p>all good</p>" in page
    assert "1 min 15 s" in page
    assert 'src="../summary_plots/xpp12345/12/Det/Hits/report.html"' in page
    assert "<th>detector.name</th>" in page and "jungfrau" in page
    assert "Tester_1.log" in page
    assert 'href="index.html"' in page

    record = json.loads(read(json_path))
    assert record["execution"]["status"] == "COMPLETED"
    assert [ReportItem.from_dict(i) for i in record["items"]] == items


def test_values_are_html_escaped(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    execution = make_execution(
        work_dir,
        managed_task="Tester" + XSS,
        status=TaskStatus.FAILED,
        error="Traceback ...\nValueError: " + XSS,
        parameters={"name" + XSS: XSS},
    )
    items = [ReportItem.keyvalue(XSS, XSS), ReportItem.text(XSS)]
    reporter = LocalReporter(work_dir)
    reporter.report(execution=execution, items=items)

    page = read(reporter.paths(execution)[0])
    index = read(os.path.join(work_dir, "reports", "index.html"))
    for html_text in (page, index):
        assert "<script>" not in html_text
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 5
    assert '<pre class="traceback">' in page and ">FAILED</span>" in page


def test_index_lists_runs_newest_first(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reporter = LocalReporter(work_dir)
    base = 1_700_000_000.0
    runs = [
        (1, "Alpha", base, TaskStatus.COMPLETED),
        (2, "Gamma", base + 20, TaskStatus.FAILED),
        (3, "Beta", "2023-11-14T22:13:30Z", TaskStatus.TIMEDOUT),  # base + 10, as ISO text
    ]
    for run_id, name, started, status in runs:
        execution = make_execution(
            work_dir, id=run_id, managed_task=name, started=started, status=status
        )
        reporter.report(execution=execution, items=[])

    index = read(os.path.join(work_dir, "reports", "index.html"))
    positions = [index.index('href="%s_%d.html"' % (name, run_id)) for run_id, name, _, _ in runs]
    assert positions[1] < positions[2] < positions[0]  # Gamma, Beta, Alpha
    assert "3 runs" in index
    assert ">TIMEDOUT</span>" in index and ">FAILED</span>" in index


def test_index_ignores_foreign_and_broken_json(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    os.makedirs(reports)
    with open(os.path.join(reports, "notes.json"), "w") as handle:
        json.dump({"hello": "world"}, handle)
    with open(os.path.join(reports, "broken.json"), "w") as handle:
        handle.write("{ not json")
    LocalReporter(work_dir).report(execution=make_execution(work_dir), items=[])
    index = read(os.path.join(reports, "index.html"))
    assert "1 run," in index and "notes" not in index and "broken" not in index
    assert not [name for name in os.listdir(reports) if name.endswith(".part")]


def test_run_without_id_or_times_still_gets_a_report(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    execution = {"managed_task": "Odd/Name", "status": "CANCELLED"}
    reporter = LocalReporter(work_dir)
    reporter.report(execution=execution, items=[ReportItem.text("cancelled by user")])
    html_path = reporter.paths(execution)[0]
    assert os.path.basename(html_path).startswith("Odd_Name_")
    index = read(os.path.join(work_dir, "reports", "index.html"))
    assert ">CANCELLED</span>" in index


def _report_runs(work_dir: str, ids: List[int], **options: Any) -> LocalReporter:
    reporter = LocalReporter(work_dir, **options)
    for run_id in ids:
        reporter.report(
            execution=make_execution(work_dir, id=run_id, started=1_700_000_000 + run_id),
            items=[],
        )
    return reporter


def test_index_follows_records_added_or_deleted_behind_its_back(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    reporter = _report_runs(work_dir, [1, 2, 3])
    # A record the index never heard of (its run lost the race for the lock) ...
    with open(os.path.join(reports, "Tester_2.json")) as handle:
        record = json.load(handle)
    record["execution"].update(id=9, started=1_700_000_009)
    with open(os.path.join(reports, "Tester_9.json"), "w") as handle:
        json.dump(record, handle)
    # ... and one deleted to prune the index.
    os.remove(os.path.join(reports, "Tester_1.json"))
    _report_runs(work_dir, [4])
    index = read(os.path.join(reports, "index.html"))
    assert "4 runs" in index
    assert 'href="Tester_9.html"' in index and 'href="Tester_1.html"' not in index
    assert index.index("Tester_9.html") < index.index("Tester_4.html")  # newest first
    assert reporter.update_index() == os.path.join(reports, "index.html")


def test_index_reads_only_new_records(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, [1, 2])
    # An older record edited by hand is not re-read on every run ...
    path = os.path.join(reports, "Tester_1.json")
    with open(path) as handle:
        record = json.load(handle)
    record["execution"]["status"] = "TIMEDOUT"
    with open(path, "w") as handle:
        json.dump(record, handle)
    _report_runs(work_dir, [3])
    assert ">TIMEDOUT</span>" not in read(os.path.join(reports, "index.html"))
    # ... until a rebuild is asked for.
    LocalReporter(work_dir).update_index(rebuild=True)
    index = read(os.path.join(reports, "index.html"))
    assert ">TIMEDOUT</span>" in index and "3 runs" in index


def test_index_cache_damaged_or_from_elsewhere_is_rebuilt(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, [1, 2])
    cache = os.path.join(reports, ".index", "index.json")
    for damage in ("{ not json", json.dumps({"format": "other/9", "rows": {}}), "[]"):
        with open(cache, "w") as handle:
            handle.write(damage)
        _report_runs(work_dir, [3])
        index = read(os.path.join(reports, "index.html"))
        assert "3 runs" in index and 'href="Tester_1.html"' in index
        with open(cache) as handle:
            assert json.load(handle)["format"] == CACHE_FORMAT


def test_a_run_reported_again_replaces_its_index_row(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reporter = _report_runs(work_dir, [1])
    execution = make_execution(work_dir, id=1, status=TaskStatus.FAILED)
    reporter.report(execution=execution, items=[])
    index = read(os.path.join(work_dir, "reports", "index.html"))
    assert "1 run," in index and ">FAILED</span>" in index and ">COMPLETED</span>" not in index


_WRITER = """
import sys, time
from lute.io.elog import LocalReporter, ReportItem
work_dir, writer, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start_at - time.time()))  # start together, to collide on the index
reporter = LocalReporter(work_dir)
for n in range(5):
    run_id = writer * 10 + n
    reporter.report(
        execution={"id": run_id, "managed_task": "Par", "status": "COMPLETED",
                   "started": 1_700_000_000 + run_id},
        items=[ReportItem.keyvalue("rank", str(run_id))],
    )
"""


def test_concurrent_runs_all_reach_the_index(tmp_path: Any) -> None:
    # Each rebuild must see every record written before it; without the lock a
    # slower rebuild can replace the index with one that misses a newer run.
    work_dir = str(tmp_path)
    start_at = time.time() + 1.0
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, work_dir, str(w), str(start_at)])
        for w in range(4)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    index = read(os.path.join(work_dir, "reports", "index.html"))
    missing = [
        run_id
        for run_id in (w * 10 + n for w in range(4) for n in range(5))
        if 'href="Par_%d.html"' % run_id not in index
    ]
    assert missing == []
    assert "20 runs" in index


def test_index_rebuild_waits_for_another_runs_lock(tmp_path: Any) -> None:
    fcntl = pytest.importorskip("fcntl")
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    os.makedirs(reports)
    reporter = LocalReporter(work_dir)
    execution = make_execution(work_dir)
    index_path = os.path.join(reports, "index.html")
    errors: List[BaseException] = []

    def run() -> None:
        try:
            reporter.report(execution=execution, items=[])
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    os.makedirs(os.path.join(reports, ".index"), exist_ok=True)
    with open(os.path.join(reports, ".index", "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run is rebuilding the index
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + 30
        while not os.path.exists(reporter.paths(execution)[1]):  # record written: next is the lock
            assert time.monotonic() < deadline, "the run's record was never written"
            time.sleep(0.01)
        worker.join(timeout=0.3)
        assert worker.is_alive() and not os.path.exists(index_path)
    worker.join(timeout=30)
    assert not worker.is_alive() and errors == []
    assert 'href="Tester_1.html"' in read(index_path)


def test_a_lock_never_released_does_not_hang_the_run(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fcntl = pytest.importorskip("fcntl")
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    os.makedirs(reports)
    os.makedirs(os.path.join(reports, ".index"), exist_ok=True)
    with open(os.path.join(reports, ".index", "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
            LocalReporter(work_dir, lock_timeout=0.2).report(
                execution=make_execution(work_dir), items=[]
            )
    assert "Could not lock" in caplog.text
    assert 'href="Tester_1.html"' in read(os.path.join(reports, "index.html"))


# -- paging ----------------------------------------------------------------------------
def _listed(path: str) -> List[int]:
    """Run ids an index page lists, in page order."""
    import re

    return [int(found) for found in re.findall(r'href="Tester_(\d+)\.html"', read(path))]


def test_older_runs_move_to_pages_of_their_own(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, list(range(1, 11)), page_size=3)
    # index.html keeps 3 to 5 rows: sealed at 6 rows (1-3) and again at 6 rows (4-6)
    assert _listed(os.path.join(reports, "index.html")) == [10, 9, 8, 7]
    assert _listed(os.path.join(reports, "index-2.html")) == [6, 5, 4]
    assert _listed(os.path.join(reports, "index-1.html")) == [3, 2, 1]
    assert not os.path.exists(os.path.join(reports, "index-3.html"))
    index = read(os.path.join(reports, "index.html"))
    assert "10 runs" in index
    assert index.index('href="index-2.html"') < index.index('href="index-1.html"')
    assert "3 runs started" in index
    assert 'href="index.html"' in read(os.path.join(reports, "index-1.html"))


def test_a_full_page_is_not_written_again(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    page = os.path.join(work_dir, "reports", "index-1.html")
    _report_runs(work_dir, list(range(1, 7)), page_size=3)
    before = os.stat(page)
    _report_runs(work_dir, [7, 8], page_size=3)
    after = os.stat(page)
    # every write replaces the file (a new inode): the page was left alone
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_paged_run_reported_again_is_updated_on_its_page(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    reporter = _report_runs(work_dir, list(range(1, 8)), page_size=3)
    again = make_execution(work_dir, id=2, started=1_700_000_002, status=TaskStatus.FAILED)
    reporter.report(execution=again, items=[])
    assert ">FAILED</span>" in read(os.path.join(reports, "index-1.html"))
    assert ">FAILED</span>" not in read(os.path.join(reports, "index.html"))
    assert _listed(os.path.join(reports, "index-1.html")) == [3, 2, 1]
    assert "7 runs" in read(os.path.join(reports, "index.html"))


def test_a_paged_record_deleted_renumbers_the_pages(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, list(range(1, 10)), page_size=3)
    assert os.path.exists(os.path.join(reports, "index-2.html"))
    for run_id in (1, 2, 5):
        os.remove(os.path.join(reports, "Tester_%d.json" % run_id))
    _report_runs(work_dir, [10], page_size=3)
    # 7 runs left: one full page (3, 4, 6), the newest four on index.html
    assert _listed(os.path.join(reports, "index.html")) == [10, 9, 8, 7]
    assert _listed(os.path.join(reports, "index-1.html")) == [6, 4, 3]
    assert not os.path.exists(os.path.join(reports, "index-2.html"))
    assert not os.path.exists(os.path.join(reports, ".index", "index-2.json"))
    assert "7 runs" in read(os.path.join(reports, "index.html"))


def test_rebuilding_gives_the_pages_the_updates_made(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    reporter = _report_runs(work_dir, list(range(1, 12)), page_size=3)
    names = ["index.html", "index-1.html", "index-2.html"]
    incremental = {name: read(os.path.join(reports, name)) for name in names}
    reporter.update_index(rebuild=True)
    assert {name: read(os.path.join(reports, name)) for name in names} == incremental


def test_a_changed_page_size_rebuilds_the_index(tmp_path: Any) -> None:
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, list(range(1, 10)), page_size=3)
    LocalReporter(work_dir, page_size=4).update_index()
    assert _listed(os.path.join(reports, "index.html")) == [9, 8, 7, 6, 5]
    assert _listed(os.path.join(reports, "index-1.html")) == [4, 3, 2, 1]
    assert not os.path.exists(os.path.join(reports, "index-2.html"))
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        LocalReporter(work_dir, page_size=0)


def test_without_the_lock_no_page_is_written(tmp_path: Any) -> None:
    fcntl = pytest.importorskip("fcntl")
    work_dir = str(tmp_path)
    reports = os.path.join(work_dir, "reports")
    _report_runs(work_dir, list(range(1, 6)), page_size=3)  # the next run would seal a page
    os.makedirs(os.path.join(reports, ".index"), exist_ok=True)
    with open(os.path.join(reports, ".index", "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        LocalReporter(work_dir, lock_timeout=0.1, page_size=3).report(
            execution=make_execution(work_dir, id=6, started=1_700_000_006), items=[]
        )
        assert not os.path.exists(os.path.join(reports, "index-1.html"))
        assert _listed(os.path.join(reports, "index.html")) == [6, 5, 4, 3, 2, 1]
    _report_runs(work_dir, [7], page_size=3)  # holds the lock: the page is written now
    assert _listed(os.path.join(reports, "index-1.html")) == [3, 2, 1]
    assert _listed(os.path.join(reports, "index.html")) == [7, 6, 5, 4]


def test_an_untouched_directory_is_not_listed_again(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's index update costs the same however many runs came before: no listing."""
    from lute.io.elog import _report_index

    listings: List[str] = []
    real = _report_index._record_names

    def counting(reports_dir: str) -> Any:
        listings.append(reports_dir)
        return real(reports_dir)

    monkeypatch.setattr(_report_index, "_record_names", counting)
    work_dir = str(tmp_path)
    _report_runs(work_dir, [1])
    assert len(listings) == 1  # a new index: built from a listing
    _report_runs(work_dir, list(range(2, 30)), page_size=5)  # a new page size: one rebuild
    assert len(listings) == 2
    # Something else writes the directory: the next run lists it again, once.
    with open(os.path.join(work_dir, "reports", "notes.txt"), "w") as handle:
        handle.write("a person's notes")
    _report_runs(work_dir, [30, 31], page_size=5)
    assert len(listings) == 3
