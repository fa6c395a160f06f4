"""``lute-exec db list`` and ``db show``: search the record as users expect."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any, List

import pytest

from lute.execution.run_state import MAX_STORED_MESSAGES
from lute.io.db import Database
from tests.conftest import install_flood_package, lute_exec, popen_lute_exec, write_config
from tests.executor.test_faults import _alive
from tests.executor.test_run import _wait_for_status, executions


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory with five executions: two experiments, runs, Tasks, statuses."""
    base = tmp_path_factory.mktemp("db-cli")
    config = write_config(base)
    runs = [
        ["Tester"],
        ["Tester", "Test.throw_error=true"],
        ["Tester", "run=13"],
        ["WriteTester", "experiment=OTHER42"],
        ["Tester", "run=0012", "experiment=OTHER42"],
    ]
    for args in runs:
        done = lute_exec(["run", "-c", str(config), "-t", *args])
        assert done.returncode in (0, 1), done.stderr
    return config


def ids(*args: str) -> List[int]:
    done = lute_exec(["db", "list", *args, "--json"])
    assert done.returncode == 0, done.stderr
    return [row["id"] for row in json.loads(done.stdout)]


def test_every_filter(recorded: Path) -> None:
    c = ["-c", str(recorded)]
    assert ids(*c) == [5, 4, 3, 2, 1]
    assert ids(*c, "--experiment", "OTHER42") == [5, 4]
    assert ids(*c, "--run", "12") == [5, 4, 2, 1]  # 0012 is run 12
    assert ids(*c, "--managed", "WriteTester") == [4]
    assert ids(*c, "--task", "Test", "--experiment", "TST12345") == [3, 2, 1]
    assert ids(*c, "--status", "FAILED") == [2]
    assert ids(*c, "--status", "failed", "COMPLETED", "-n", "2") == [5, 4]
    assert ids(*c, "--since", "1h") == [5, 4, 3, 2, 1]
    assert ids(*c, "--until", "1h") == []
    assert ids(*c, "--since", "2999-01-01") == []


def test_the_work_dir_is_found_from_the_config(recorded: Path) -> None:
    assert ids("-w", str(recorded.parent / "work")) == [5, 4, 3, 2, 1]
    env = dict(LUTE_CONFIGPATH=str(recorded))
    done = lute_exec(["db", "list", "--json"], env=env, cwd=Path("/"))
    assert [row["id"] for row in json.loads(done.stdout)] == [5, 4, 3, 2, 1]
    nowhere = lute_exec(["db", "list"], env={"LUTE_CONFIGPATH": ""}, cwd=recorded.parent)
    assert nowhere.returncode == 2
    assert "pass -w WORK_DIR, --db FILE or -c CONFIG" in nowhere.stderr


def test_the_listing_has_durations_summaries_and_zoned_times(recorded: Path) -> None:
    text = lute_exec(["db", "list", "-c", str(recorded)], env={"TZ": "America/Los_Angeles"}).stdout
    header, *rows = text.splitlines()
    assert header.split() == [
        "ID", "MANAGED", "TASK", "EXPERIMENT", "RUN", "STATUS", "STARTED", "TOOK", "EXIT",
        "SUMMARY",
    ]  # fmt: skip
    assert " PST " in rows[0] or " PDT " in rows[0]
    assert any("float_var: 0.01" in row for row in rows)
    assert any("RuntimeError: Testing Error!" in row for row in rows)  # a FAILED run's why
    assert all(" s " in row for row in rows)


def test_show_has_messages_paths_and_counts(recorded: Path) -> None:
    shown = json.loads(lute_exec(["db", "show", "1", "-c", str(recorded), "--json"]).stdout)
    work = recorded.parent / "work"
    assert shown["log_path"] == str(work / "logs" / "Tester_1.log")
    assert shown["report_path"] == str(work / "reports" / "Tester_1.html")
    assert shown["messages_received"] == len(shown["messages"]) >= 2
    assert shown["messages"][0]["text"].startswith("float_var=0.01")
    text = lute_exec(["db", "show", "1", "-c", str(recorded)]).stdout
    assert "log:" in text and "report:" in text and "messages: " in text
    assert "float_var=0.01" in text
    report = (work / "reports" / "Tester_1.html").read_text()  # the report has them too
    assert "<h2>Messages</h2>" in report and "float_var=0.01" in report


def test_db_subcommands_have_their_own_help() -> None:
    listed = lute_exec(["db", "list", "--help"]).stdout
    shown = lute_exec(["db", "show", "--help"]).stdout
    assert "--experiment" in listed and "--experiment" not in shown
    assert "--messages" in shown and "--messages" not in listed
    assert lute_exec(["db", "list", "7", "-w", "."]).returncode == 2  # no silent extra argument


def test_messages_reach_the_database_while_the_task_runs(config: Path) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=20"])
    row = _wait_for_status(work, "RUNNING")
    deadline = time.monotonic() + 10
    messages: List[Any] = []
    while time.monotonic() < deadline and not any("sleeping" in m["text"] for m in messages):
        shown = lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"])
        messages = json.loads(shown.stdout)["messages"] if shown.returncode == 0 else []
        time.sleep(0.2)
    assert any("sleeping 20 s" in m["text"] for m in messages), messages
    assert proc.poll() is None  # still running: the messages were not written at the end
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)


def test_a_killed_executor_leaves_a_lost_run_not_a_running_one(config: Path) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=30"])
    row = _wait_for_status(work, "RUNNING")
    os.kill(proc.pid, signal.SIGKILL)  # the OOM killer, a node failure
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while _alive(row["pid"]):  # the Task does not run on unsupervised
        assert time.monotonic() < deadline, "the Task outlived its Executor"
        time.sleep(0.05)
    [listed] = json.loads(lute_exec(["db", "list", "-w", str(work), "--json"]).stdout)
    assert listed["status"] == "LOST", listed
    assert "is gone" in listed["error"]
    shown = lute_exec(["db", "show", str(row["id"]), "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    assert "status: LOST" in [" ".join(line.split()) for line in shown.stdout.splitlines()]
    as_json = json.loads(
        lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--json"]).stdout
    )
    assert as_json["status"] == "LOST" and "is gone" in as_json["error"]
    assert executions(work)[0]["status"] == "RUNNING"  # readers only read
    # The next run writes it down, and reports it.
    done = lute_exec(["run", "-c", str(config), "-t", "Tester"])
    assert done.returncode == 0, done.stderr
    stored = {r["id"]: r["status"] for r in executions(work)}
    assert stored[row["id"]] == "LOST"
    index = (work / "reports" / "index.html").read_text()
    assert "Tester_%d.html" % row["id"] in index
    assert "LOST" in (work / "reports" / ("Tester_%d.html" % row["id"])).read_text()


def test_follow_streams_a_run_from_another_process_and_exits_with_its_code(config: Path) -> None:
    work = config.parent / "work"
    run = popen_lute_exec(
        ["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=2", "Test.throw_error=true"]
    )
    row = _wait_for_status(work, "RUNNING")
    started = time.monotonic()
    followed = lute_exec(["follow", str(row["id"]), "-w", str(work)], timeout=60)
    run.communicate(timeout=60)
    assert followed.returncode == 1  # the run's exit code: FAILED
    assert "sleeping 2 s" in followed.stdout
    assert "status: RUNNING" in followed.stdout and "Test FAILED in" in followed.stdout
    assert time.monotonic() - started < 30
    # After the end: the whole story at once, same exit code.
    again = lute_exec(["follow", "--last", "-w", str(work), "--json"])
    assert again.returncode == 1
    events = [json.loads(line) for line in again.stdout.splitlines()]
    assert events[0]["event"] == "execution" and events[-1]["event"] == "end"
    assert any(e["event"] == "message" and "sleeping" in e["text"] for e in events)


def test_top_once_json(config: Path) -> None:
    work = config.parent / "work"
    lute_exec(["run", "-c", str(config), "-t", "Tester"])
    run = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=20"])
    _wait_for_status(work, "RUNNING")
    deadline = time.monotonic() + 10
    while True:  # until the Task's message is in the database (written within 0.25 s)
        rows = json.loads(lute_exec(["top", "--once", "--json", "-w", str(work)]).stdout)
        if rows[0]["last_message"] and "sleeping" in rows[0]["last_message"]:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    assert [row["status"] for row in rows] == ["RUNNING", "COMPLETED"]
    assert rows[0]["heartbeat_age"] is not None and rows[0]["heartbeat_age"] < 15
    assert "sleeping 20 s" in rows[0]["last_message"]
    text = lute_exec(["top", "--once", "-w", str(work)]).stdout
    assert "LAST MESSAGE" in text and "CANCELLED" in text


def test_messages_over_the_cap_are_counted_not_stored(short_tmp: Path) -> None:
    """A Task sending 7 tiny messages more than the cap: the cap is stored, 7 counted."""
    site = install_flood_package(short_tmp / "site")
    config = write_config(short_tmp, "Flood: {}\n")
    sent = MAX_STORED_MESSAGES + 7
    done = lute_exec(
        ["run", "-c", str(config), "-t", "FloodRunner", "Flood.count=%d" % sent],
        env={"PYTHONPATH": str(site)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    work = short_tmp / "work"
    [row] = executions(work)
    with Database(str(work / "lute.db"), readonly=True) as db:
        stored = db.messages(row["id"])
        record = db.execution(row["id"])
    floods = [m for m in stored if "of the flood" in m.text]
    assert len(stored) == MAX_STORED_MESSAGES
    assert floods[0].text == "message 0 of the flood"
    assert record.messages_received == sent + len(stored) - len(floods)
    assert record.messages_dropped == 7  # counted, not stored
    text = lute_exec(["db", "show", str(row["id"]), "-w", str(work), "--messages", "1"]).stdout
    assert (
        "messages: %d received (7 not stored: over the cap); the last 1:"
        % (record.messages_received)
        in text.splitlines()
    )


def test_follow_stamps_status_changes_with_their_stored_times(recorded: Path) -> None:
    """Following an ended run later shows when it ended, not when follow looked."""
    work = recorded.parent / "work"
    shown = json.loads(lute_exec(["db", "show", "1", "--json", "-w", str(work)]).stdout)
    time.sleep(1.2)  # the wall clock moves on past the stored end
    followed = lute_exec(["follow", "1", "-w", str(work)])
    assert followed.returncode == 0, followed.stderr
    [line] = [line for line in followed.stdout.splitlines() if "| status: COMPLETED" in line]
    from lute.execution.cli._where import local_time

    assert line.startswith(local_time(shown["ended"]) + " "), (line, shown["ended"])
    events = lute_exec(["follow", "1", "--json", "-w", str(work)]).stdout.splitlines()
    [status] = [json.loads(e) for e in events if '"event": "status"' in e]
    assert status["time"] == shown["ended"]
