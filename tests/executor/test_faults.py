"""Faults around a run: signals, a reader that goes away, stray processes, the log.

Every case runs the real ``lute-exec`` and a real Task process, and checks the record:
the database row, the exit code, the report and the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from tests.conftest import LUTE_EXEC, lute_exec, popen_lute_exec, write_config
from tests.executor.test_run import _wait_for_status, executions

SLOW = ["Test.sleep_seconds=30"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as stat:  # a zombie is gone for our purpose
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _gone(pid: int, within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _report(work: Path, row: Dict[str, Any]) -> Path:
    return work / "reports" / ("%s_%d.html" % (row["managed_task"], row["id"]))


# (who gets the signal, signal, pause before the next one) ...
SEQUENCES: Dict[str, List[Tuple[str, int, float]]] = {
    "SIGHUP to lute-exec": [("exec", signal.SIGHUP, 0)],
    "SIGTERM twice to lute-exec at once": [
        ("exec", signal.SIGTERM, 0),
        ("exec", signal.SIGTERM, 0),
    ],
    "SIGTERM to both (scancel)": [("both", signal.SIGTERM, 0)],
    "scancel twice": [("both", signal.SIGTERM, 0.05), ("both", signal.SIGTERM, 0)],
    "SIGHUP then SIGTERM": [("exec", signal.SIGHUP, 0.01), ("exec", signal.SIGTERM, 0)],
    "SIGINT twice": [("exec", signal.SIGINT, 0.2), ("exec", signal.SIGINT, 0)],
    "SIGTERM to the Task, then lute-exec": [
        ("task", signal.SIGTERM, 0.01),
        ("exec", signal.SIGTERM, 0),
    ],
    "SIGTERM twice to the Task": [("task", signal.SIGTERM, 0), ("task", signal.SIGTERM, 0)],
    "SIGHUP to the Task": [("task", signal.SIGHUP, 0)],
    "SIGINT to the Task, SIGHUP to both": [
        ("task", signal.SIGINT, 0.01),
        ("both", signal.SIGHUP, 0),
    ],
}


@pytest.mark.parametrize("sequence", list(SEQUENCES), ids=list(SEQUENCES))
def test_every_signal_sequence_ends_with_a_true_record(config: Path, sequence: str) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", *SLOW])
    row = _wait_for_status(work, "RUNNING")
    task_pid = row["pid"]
    for who, signum, pause in SEQUENCES[sequence]:
        if who in ("exec", "both"):
            proc.send_signal(signum)
        if who in ("task", "both"):
            try:
                os.kill(task_pid, signum)
            except ProcessLookupError:  # it already ended, of the first signal
                pass
        time.sleep(pause)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("lute-exec hung after %s" % sequence) from None
    [row] = executions(work)
    assert proc.returncode == 130, (proc.returncode, err)  # not killed by the signal
    assert row["status"] == "CANCELLED", (row, err)
    assert row["ended"] is not None
    assert _gone(task_pid), "the Task outlived its run"
    assert "CANCELLED" in _report(work, row).read_text()


def test_a_cancelled_run_records_what_cancelled_it(config: Path) -> None:
    work = config.parent / "work"
    proc = popen_lute_exec(["run", "-c", str(config), "-t", "Tester", *SLOW])
    _wait_for_status(work, "RUNNING")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    [row] = executions(work)
    assert row["status"] == "CANCELLED"
    assert "lute-exec received SIGINT" in row["error"]  # not "cancelled by SIGTERM"


def test_a_timed_out_run_records_its_timeout(short_tmp: Path) -> None:
    config = write_config(short_tmp, timeout=1)
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", *SLOW])
    assert done.returncode == 124
    assert "ran past its timeout of 1 s" in done.stderr
    [row] = executions(short_tmp / "work")
    assert row["status"] == "TIMEDOUT"
    assert row["error"].startswith("timed out after 1 s (task_timeout)")


def test_a_closed_stdout_changes_nothing_about_the_run(config: Path) -> None:
    work = config.parent / "work"
    proc = subprocess.Popen(
        [*LUTE_EXEC, "run", "-c", str(config), "-t", "Tester", "Test.print_lines=200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.readline()
    proc.stdout.close()  # `| head -2`
    assert proc.wait(timeout=60) == 0
    [row] = executions(work)
    assert row["status"] == "COMPLETED" and row["exit_code"] == 0, row
    assert _report(work, row).exists()
    log = (work / "logs" / ("Tester_%d.log" % row["id"])).read_text()
    assert log.count("line ") >= 200 and "Test COMPLETED" in log  # the log has it all


@pytest.mark.parametrize(
    "command",
    [
        ["describe", "Tester"],
        ["list"],
        ["db", "list"],
        ["db", "show", "1"],
        ["--help"],
        ["run", "-c", "CONFIG", "-t", "Tester", "--dry-run"],
        ["submit", "-c", "CONFIG", "-t", "Tester", "--runs", "1-3", "--dry-run"],
    ],
    ids=lambda command: " ".join(command),
)
def test_a_reader_that_stops_reading_gets_no_traceback(config: Path, command: List[str]) -> None:
    lute_exec(["run", "-c", str(config), "-t", "Tester"])
    if command[0] == "db":
        command = [*command, "-w", str(config.parent / "work")]
    command = [str(config) if part == "CONFIG" else part for part in command]
    read, write = os.pipe()
    os.close(read)  # nobody will read: every write fails with EPIPE
    with os.fdopen(write, "wb") as stdout:
        done = subprocess.run(
            [*LUTE_EXEC, *command], stdout=stdout, stderr=subprocess.PIPE, timeout=60
        )
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0


def test_background_children_of_a_task_end_with_it(config: Path) -> None:
    script = config.parent / "leave-a-child.sh"
    pid_file = config.parent / "child.pid"
    script.write_text("#!/bin/sh\nsleep 120 &\necho $! > %s\necho started\nexit 0\n" % pid_file)
    script.chmod(0o755)
    started = time.monotonic()
    done = lute_exec(
        ["run", "-c", str(config), "-t", "BinaryTester", "TestBinary.executable=%s" % script]
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    [row] = executions(config.parent / "work")
    assert row["status"] == "COMPLETED"
    assert took < 8, "the run waited for the child's pipes (%.1f s)" % took
    assert _gone(int(pid_file.read_text())), "the Task's background child outlived the run"


def test_an_endless_line_arrives_in_bounded_pieces(config: Path) -> None:
    script = config.parent / "long-line.sh"
    script.write_text("#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' x\necho\necho after\n")
    script.chmod(0o755)
    done = lute_exec(
        ["run", "-c", str(config), "-t", "BinaryTester", "TestBinary.executable=%s" % script]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [row] = executions(config.parent / "work")
    log = (config.parent / "work" / "logs" / ("BinaryTester_%d.log" % row["id"])).read_text()
    pieces = [line for line in log.splitlines() if "xxxx" in line]
    assert len(pieces) >= 3000000 // (64 << 10)
    assert all(len(line) < (64 << 10) + 100 for line in pieces)
    assert "[line continues]" in pieces[0]
    assert "after" in log


def test_the_log_of_a_failed_run_tells_its_whole_story(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", "Test.throw_error=true"])
    assert done.returncode == 1
    [row] = executions(config.parent / "work")
    log = (config.parent / "work" / "logs" / ("Tester_%d.log" % row["id"])).read_text()
    for expected in ("launched Test", "status: RUNNING", "Traceback", "Test FAILED", "report:"):
        assert expected in log, expected
    assert all(line[:4].isdigit() for line in log.splitlines() if line and line[0] != " ")


def _stubborn(directory: Path) -> Path:
    """A third-party executable that ignores SIGTERM."""
    script = directory / "stubborn.sh"
    script.write_text("#!/bin/bash\ntrap '' TERM\nfor i in $(seq 600); do sleep 0.1; done\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("where", ["command line", "config"])
def test_the_kill_grace_is_settable(short_tmp: Path, where: str) -> None:
    config = write_config(short_tmp, timeout=1)
    args = ["run", "-c", str(config), "-t", "BinaryTester"]
    args.append("TestBinary.executable=%s" % _stubborn(short_tmp))
    if where == "config":
        config.write_text(
            config.read_text().replace("task_timeout:", "kill_grace: 1\ntask_timeout:")
        )
    else:
        args += ["--kill-grace", "1"]
    started = time.monotonic()
    done = lute_exec(args)
    took = time.monotonic() - started
    assert done.returncode == 124, done.stderr
    assert "SIGKILL after 1 s" in done.stderr
    assert took < 8, "the default grace (10 s) was used: %.1f s" % took
    shown = lute_exec([*args[:5], "--dry-run", *args[5:]])
    assert "Kill grace:    1 s" in shown.stdout


def test_the_task_never_sees_the_executors_elog_credentials(short_tmp: Path) -> None:
    dump = short_tmp / "env.txt"
    script = short_tmp / "dump-env.sh"
    script.write_text("#!/bin/sh\nenv > %s\n" % dump)
    script.chmod(0o755)
    config = write_config(short_tmp)
    config.write_text(
        config.read_text().replace(
            "task_timeout:", "elog: {user: someone, password_env: MY_ELOG_SECRET}\ntask_timeout:"
        )
    )
    secrets = {
        "MY_ELOG_SECRET": "hunter2",
        "LUTE_ELOG_USER": "someone",
        "LUTE_ELOG_PASSWORD": "hunter2",
    }
    args = ["run", "-c", str(config), "-t", "BinaryTester", "TestBinary.executable=%s" % script]
    done = lute_exec(args, env=secrets)
    assert done.returncode == 0, done.stderr
    seen = dump.read_text()
    assert "hunter2" not in seen
    assert "LUTE_ELOG_USER" not in seen and "MY_ELOG_SECRET" not in seen
