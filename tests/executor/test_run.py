"""End-to-end runs of real managed tasks through the real ``lute-exec`` command."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.conftest import lute_exec, popen_lute_exec, write_config


def executions(work: Path) -> List[Dict[str, Any]]:
    db = work / "lute.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM executions ORDER BY id")]
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # the Executor is creating the schema right now
            return []
        raise
    finally:
        conn.close()


def db_json(work: Path, *args: str) -> Any:
    done = lute_exec(["db", *args, "-w", str(work), "--json"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tester_completes_and_records_everything(config: Path) -> None:
    work = config.parent / "work"
    done = lute_exec(["run", "-c", str(config), "-t", "Tester"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "float_var=0.01" in done.stderr  # plain messages shown live
    assert "COMPLETED" in done.stderr
    [row] = executions(work)
    assert row["status"] == "COMPLETED"
    assert row["exit_code"] == 0
    assert row["managed_task"] == "Tester" and row["task_name"] == "Test"
    shown = db_json(work, "show", str(row["id"]))
    assert shown["parameters"]["float_var"] == 0.01
    summaries = [r["summary"] for r in shown["results"]]
    assert any("float_var: 0.01" in s for s in summaries)
    report = work / "reports" / ("Tester_%d.html" % row["id"])
    assert "report: %s" % report in done.stderr
    assert "COMPLETED" in report.read_text()
    [log] = (work / "logs").iterdir()
    assert log.name == "Tester_%d.log" % row["id"] and row["log_path"] == str(log)
    logged = log.read_text().splitlines()
    # The run's whole story, each line stamped with the local time and its zone.
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ Tester \| "
    assert logged and all(re.match(stamp, line) for line in logged), logged
    told = [line.split(" | ", 1)[1] for line in logged]
    assert told[0].startswith("launched Test (pid ")
    assert "status: RUNNING" in told and "float_var=0.01 str_var='test'" in told
    assert "status: COMPLETED" in told


def test_overrides_apply_after_the_file(config: Path) -> None:
    done = lute_exec(
        [
            "run",
            "-c",
            str(config),
            "-t",
            "Tester",
            "Test.float_var=2.5",
            "Test.compound_var.int_var=7",
        ]
    )
    assert done.returncode == 0, done.stderr
    assert "float_var=2.5" in done.stderr
    assert "compound_var.int_var=7" in done.stderr


def test_task_that_raises_is_failed_with_its_traceback(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.throw_error=true"])
    assert done.returncode == 1
    [row] = executions(config.parent / "work")
    assert row["status"] == "FAILED"
    assert "RuntimeError: Testing Error!" in row["error"]
    assert "Traceback" in row["error"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [("Test.exit_code=3", "exit code 3"), ("Test.segfault=true", "SIGSEGV")],
)
def test_abrupt_process_death_is_failed(config: Path, override: str, expected: str) -> None:
    started = time.monotonic()
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", override])
    assert done.returncode == 1
    assert time.monotonic() - started < 60
    [row] = executions(config.parent / "work")
    assert row["status"] == "FAILED"
    assert expected in row["error"]


def _wait_for_status(work: Path, status: str, deadline: float = 60) -> Dict[str, Any]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        rows = executions(work)
        if rows and rows[-1]["status"] == status and rows[-1]["pid"]:
            return rows[-1]
        time.sleep(0.05)
    raise AssertionError("execution never reached %s: %r" % (status, executions(work)))


def test_sigkill_from_outside_is_noticed(config: Path) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=60"])
    row = _wait_for_status(work, "RUNNING")
    os.kill(row["pid"], signal.SIGKILL)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    [row] = executions(work)
    assert row["status"] == "FAILED"
    assert "SIGKILL" in row["error"]


def test_timeout_stops_the_task(short_tmp: Path) -> None:
    config = write_config(short_tmp, timeout=1)
    started = time.monotonic()
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=60"])
    assert done.returncode == 124, done.stderr
    assert time.monotonic() - started < 30
    [row] = executions(short_tmp / "work")
    assert row["status"] == "TIMEDOUT"


def test_ctrl_c_is_forwarded_and_recorded_cancelled(config: Path) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.sleep_seconds=60"])
    _wait_for_status(work, "RUNNING")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    [row] = executions(work)
    assert row["status"] == "CANCELLED"


def test_config_with_several_errors_reports_all_and_writes_nothing(short_tmp: Path) -> None:
    sections = (
        "Test:\n  float_var: not-a-number\n  compound_var: {int_var: 1.5}\n  bogus_param: 3\n...\n"
    )
    config = write_config(short_tmp, sections)
    done = lute_exec(["run", "-c", str(config), "-t", "Tester"])
    assert done.returncode == 2
    for fragment in ("float_var", "compound_var.int_var", "bogus_param", str(config)):
        assert fragment in done.stderr, done.stderr
    assert not (short_tmp / "work").exists()


def test_unknown_managed_task_suggests_close_names(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "Testerr"])
    assert done.returncode == 2
    assert "Tester" in done.stderr


def test_dry_run_prints_the_launch_and_writes_nothing(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", "--dry-run"])
    assert done.returncode == 0, done.stderr
    assert "-m lute.tasks.run" in done.stdout
    assert "PATH=" in done.stdout
    assert not (config.parent / "work").exists()


def test_write_then_read_through_the_database(config: Path) -> None:
    work = config.parent / "work"
    done = lute_exec(["run", "-c", str(config), "-t", "WriteTester"])
    assert done.returncode == 0, done.stderr
    done = lute_exec(["run", "-c", str(config), "-t", "ReadTester"])
    assert done.returncode == 0, done.stderr
    assert "read 50 values" in done.stderr
    statuses = [row["status"] for row in executions(work)]
    assert statuses == ["COMPLETED", "COMPLETED"]


def test_read_without_a_previous_write_is_a_config_error(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "ReadTester"])
    assert done.returncode == 2
    assert "TestWriteOutput" in done.stderr


def test_socket_tester_delivers_every_array(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "SocketTester"])
    assert done.returncode == 0, done.stderr
    [row] = executions(config.parent / "work")
    shown = db_json(config.parent / "work", "show", str(row["id"]))
    payload = shown["results"][0]["payload"]
    assert len(payload["checksums"]) == 20


def test_binary_tester_runs_the_executable(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "BinaryTester"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running third-party executable: /bin/echo" in done.stderr


def test_eight_concurrent_runs_share_one_database(config: Path) -> None:
    procs = [popen_lute_exec(["run", "-c", str(config), "-t", "Tester"]) for _ in range(8)]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    rows = executions(config.parent / "work")
    assert len(rows) == 8
    assert {row["status"] for row in rows} == {"COMPLETED"}


def test_list_describe_version_help() -> None:
    listed = lute_exec(["list"])
    assert listed.returncode == 0
    for name in ("Tester", "SocketTester", "WriteTester", "ReadTester", "BinaryTester"):
        assert name in listed.stdout
    described = lute_exec(["describe", "Tester"])
    assert described.returncode == 0, described.stderr
    assert "float_var" in described.stdout
    assert lute_exec(["--version"]).stdout.startswith("lute-exec ")
    helped = lute_exec(["--help"])
    assert "examples:" in helped.stdout
    assert "environment:" in helped.stdout and "LUTE_CONFIG_CACHE      0: parse" in helped.stdout
    # all listed, though built on demand
    for command in ("run", "list", "describe", "db", "submit", "status", "cancel", "resubmit"):
        assert "\n    %s " % command in helped.stdout
    assert "--dry-run" in lute_exec(["run", "--help"]).stdout
    unknown = lute_exec(["runn"])
    assert unknown.returncode == 2
    assert "invalid choice: 'runn' (choose from 'run', 'list', 'describe', 'db', " in unknown.stderr


def test_bad_config_leaves_no_task_process_behind(short_tmp: Path) -> None:
    # The Task's interpreter starts while the config is validated; a bad config ends it.
    from tests.executor.test_mpi import processes_with_marker

    config = write_config(short_tmp, "Test:\n  float_var: nope\n...\n")
    marker = "bad-config-%d" % os.getpid()
    done = lute_exec(["run", "-c", str(config), "-t", "Tester"], env={"LUTE_TEST_MARKER": marker})
    assert done.returncode == 2
    assert processes_with_marker(marker) == []
    assert not (short_tmp / "work").exists()


def test_db_command_shows_tables_for_people(config: Path) -> None:
    work = config.parent / "work"
    assert lute_exec(["run", "-c", str(config), "-t", "Tester"]).returncode == 0
    listed = lute_exec(["db", "list", "-w", str(work)])
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:6] == ["ID", "MANAGED", "TASK", "EXPERIMENT", "RUN", "STATUS"]
    assert row.split()[:6] == ["1", "Tester", "Test", "TST12345", "12", "COMPLETED"]
    shown = lute_exec(["db", "show", "1", "-w", str(work)])
    assert shown.returncode == 0, shown.stderr
    assert "status:       COMPLETED" in shown.stdout
    assert "float_var: 0.01" in shown.stdout
    missing = lute_exec(["db", "list", "-w", str(config.parent / "nowhere")])
    assert missing.returncode == 2
    assert "lute.db" in missing.stderr


def test_ctrl_c_before_the_task_runs_exits_130_and_records_nothing(short_tmp: Path) -> None:
    slow = short_tmp / "slow-setup.sh"
    started = short_tmp / "setup-started"
    slow.write_text("touch %s\nsleep 60\n" % started)
    config = write_config(short_tmp)
    config.write_text(
        config.read_text().replace(
            "task_timeout:", "task_environments: {Tester: {script: %s}}\ntask_timeout:" % slow
        )
    )
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester"])
    deadline = time.monotonic() + 60
    while not started.exists():  # wait until it is sourcing the slow script
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted before the Task was running" in err
    assert executions(short_tmp / "work") == []
