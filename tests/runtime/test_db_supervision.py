"""Who supervises an execution, and LOST when that Executor is gone.

The decision itself (``lost_reason``) is tested as the pure function it is; the rest on
real SQLite files with real Executor processes that are killed.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from lute.io.db import (
    HEARTBEAT_INTERVAL,
    HEARTBEAT_LIMIT,
    Database,
    DatabaseError,
    Supervisor,
    _supervision,
    default_db_path,
    this_process,
)
from lute.io.db._supervision import UNKNOWN, lost_reason, machine, probe_process
from tests.runtime.db_helpers import run_at_once

HERE = "boot-a/pid:[1]"
NOW = 1_000_000.0


def reason(
    status: str = "RUNNING",
    key: Optional[str] = HERE + "/500",
    heartbeat: Optional[float] = NOW,
    probe: Optional[Dict[int, Optional[str]]] = None,
    here: Optional[str] = HERE,
    pid: Optional[int] = 42,
) -> Optional[str]:
    processes = {42: "500"} if probe is None else probe
    return lost_reason(
        status,
        "node7",
        pid,
        key,
        heartbeat,
        here=here,
        probe=lambda p: processes.get(p),
        now=NOW,
    )


# ------------------------------------------------------------------ the decision


@pytest.mark.parametrize(
    "status", ["QUEUED", "COMPLETED", "FAILED", "TIMEDOUT", "CANCELLED", "LOST"]
)
def test_only_supervised_statuses_can_be_lost(status: str) -> None:
    assert reason(status, probe={}, heartbeat=0.0) is None


@pytest.mark.parametrize("status", ["PENDING", "RUNNING", "STOPPED"])
def test_same_machine_gone_pid_is_lost_whatever_the_heartbeat(status: str) -> None:
    assert reason(status, probe={}) == "its Executor (pid 42 on node7) is gone: no such process"


def test_same_machine_reused_pid_is_lost() -> None:
    assert reason(probe={42: "777"}) == (
        "its Executor (pid 42 on node7) is gone: pid 42 now belongs to another process"
    )


def test_same_machine_live_process_is_never_lost_even_without_heartbeats() -> None:
    assert reason(heartbeat=NOW - 10 * HEARTBEAT_LIMIT) is None
    assert reason(heartbeat=None) is None


def test_other_machine_is_judged_by_the_heartbeat() -> None:
    for key in ("boot-b/pid:[1]/500", "boot-a/pid:[2]/500", None):
        assert reason(key=key, probe={}, heartbeat=NOW - HEARTBEAT_LIMIT) is None
        assert reason(key=key, probe={}, heartbeat=NOW - 300) == (
            "its Executor (pid 42 on node7) is gone: no heartbeat for 300 s (limit 120 s)"
        )
        assert reason(key=key, probe={}, heartbeat=None) is None


def test_without_proc_here_the_heartbeat_decides() -> None:
    assert reason(here=None, probe={}, heartbeat=NOW - 1) is None
    assert "no heartbeat for 121 s" in str(reason(here=None, probe={}, heartbeat=NOW - 121))


def test_a_process_that_cannot_be_inspected_falls_back_to_the_heartbeat() -> None:
    assert reason(probe={42: UNKNOWN}, heartbeat=NOW - 5) is None
    assert "no heartbeat" in str(reason(probe={42: UNKNOWN}, heartbeat=NOW - 500))


def test_rows_without_a_supervisor_are_never_lost() -> None:
    assert reason(pid=None, probe={}, heartbeat=0.0) is None


def test_a_heartbeat_from_a_clock_ahead_is_alive() -> None:
    assert reason(key=None, heartbeat=NOW + 3600) is None


def test_the_limits_leave_room_for_many_missed_beats() -> None:
    assert 0 < HEARTBEAT_INTERVAL * 10 <= HEARTBEAT_LIMIT


# ------------------------------------------------------------------ this process, /proc


def test_this_process_names_host_pid_start_and_key() -> None:
    me = this_process()
    assert (me.host, me.pid) == (socket.gethostname(), os.getpid())
    if machine() is None:  # pragma: no cover - not Linux
        assert me.key is None
        return
    assert me.key == f"{machine()}/{probe_process(os.getpid())}"
    started = datetime.datetime.fromisoformat(str(me.started))
    age = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    assert -2 < age < 24 * 3600
    assert this_process() is me  # cached


def test_another_process_has_another_key() -> None:
    code = "from lute.io.db import this_process as t; p = t(); print(p.pid, p.key)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pid, key = out.stdout.split()
    assert int(pid) != os.getpid() and key != this_process().key
    if machine() is not None:
        assert key.rpartition("/")[0] == machine()


@pytest.mark.skipif(machine() is None, reason="needs Linux /proc")
def test_probe_tells_live_zombie_and_gone_processes() -> None:
    assert probe_process(os.getpid()) == this_process().key.rpartition("/")[2]  # type: ignore[union-attr]
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while probe_process(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # exited but not reaped yet: a zombie counts as gone
    assert probe_process(child.pid) is None
    child.wait()
    assert probe_process(child.pid) is None


def test_probe_of_a_hidden_process_is_unknown(monkeypatch: Any) -> None:
    def refused(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(_supervision, "_stat", lambda pid: None)
    monkeypatch.setattr(_supervision.os, "kill", refused)
    assert probe_process(12345) == UNKNOWN


# ------------------------------------------------------------------ real files, real processes

EXECUTOR = """
import sys, time
from lute.io.db import Database
db = Database(sys.argv[1])
ids = db.start_execution(managed_task="Tester", task_name="Test", experiment="x", run=1,
                         parameters={"a": 1})
db.set_status(ids.execution_id, "RUNNING", pid=1234)
print(ids.execution_id, flush=True)
time.sleep(600)
"""


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return default_db_path(str(tmp_path))


@pytest.fixture
def db(db_path: str) -> Iterator[Database]:
    database = Database(db_path)
    yield database
    database.close()


class Executor:
    """A real process that records an execution, then waits to be killed."""

    def __init__(self, db_path: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", EXECUTOR, db_path], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.execution_id = int(self.proc.stdout.readline())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def executors(db_path: str) -> Iterator[List[Executor]]:
    started: List[Executor] = []
    yield started
    for executor in started:
        if executor.proc.poll() is None:
            executor.kill()


def stored(db_path: str, execution_id: int) -> Any:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT status, error, ended, heartbeat FROM executions WHERE id = ?", (execution_id,)
        ).fetchone()
    finally:
        conn.close()


def start(db: Database, **kwargs: Any) -> int:
    options: Dict[str, Any] = dict(
        managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={}
    )
    options.update(kwargs)
    return db.start_execution(**options).execution_id


def test_start_execution_records_this_process_as_supervisor(db: Database) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    record = db.execution(start(db))
    me = this_process()
    assert (record.supervisor_host, record.supervisor_pid, record.supervisor_start) == (
        me.host,
        me.pid,
        me.started,
    )
    assert record.heartbeat_at is not None and record.heartbeat_at >= before
    assert record.heartbeat_at.tzinfo is not None
    assert record.status == "PENDING"


def test_heartbeat_moves_forward_and_needs_a_known_execution(db: Database) -> None:
    execution_id = start(db)
    first = db.execution(execution_id).heartbeat
    time.sleep(0.01)
    db.heartbeat(execution_id)
    assert db.execution(execution_id).heartbeat > first  # type: ignore[operator]
    with pytest.raises(DatabaseError, match="no execution with id 99"):
        db.heartbeat(99)
    with pytest.raises(DatabaseError, match="execution_id must be an int"):
        db.heartbeat("1")  # type: ignore[arg-type]


def test_killed_executor_reads_as_lost_and_the_next_write_records_it(
    db: Database, db_path: str, executors: List[Executor]
) -> None:
    executor = Executor(db_path)
    executors.append(executor)
    alive = Executor(db_path)
    executors.append(alive)
    assert db.execution(executor.execution_id).status == "RUNNING"
    executor.kill()

    lost = db.execution(executor.execution_id)
    pid = executor.proc.pid
    why = f"its Executor (pid {pid} on {socket.gethostname()}) is gone: no such process"
    assert (lost.status, lost.error, lost.is_terminal) == ("LOST", why, True)
    assert lost.ended == lost.heartbeat and lost.duration is not None
    with Database(db_path, readonly=True) as ro:
        assert ro.execution(executor.execution_id).status == "LOST"
        assert [e.id for e in ro.executions(status="LOST")] == [executor.execution_id]
        assert [e.id for e in ro.executions(status="RUNNING")] == [alive.execution_id]
    # Readers did not write.
    assert stored(db_path, executor.execution_id)[:2] == ("RUNNING", None)

    newer = start(db)
    status, error, ended, heartbeat = stored(db_path, executor.execution_id)
    assert (status, error, ended) == ("LOST", why, heartbeat)
    assert stored(db_path, alive.execution_id)[0] == "RUNNING"
    assert db.execution(newer).status == "PENDING"
    assert db.mark_lost() == []
    alive.kill()
    assert db.mark_lost() == [alive.execution_id]


def test_reused_pid_on_this_machine_is_lost(db: Database) -> None:
    me = this_process()
    if me.key is None:  # pragma: no cover - not Linux
        pytest.skip("needs Linux /proc")
    impostor = Supervisor(me.host, me.pid, None, me.key.rpartition("/")[0] + "/1")
    execution_id = start(db, supervisor=impostor)
    record = db.execution(execution_id)
    assert record.status == "LOST"
    assert record.error == (
        f"its Executor (pid {me.pid} on {me.host}) is gone: pid {me.pid} now belongs to "
        "another process"
    )


def age_heartbeat(db_path: str, execution_id: int, seconds: float) -> None:
    then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute(
            "UPDATE executions SET heartbeat = ? WHERE id = ?",
            (then.isoformat(timespec="microseconds"), execution_id),
        )
    finally:
        conn.close()


def test_executor_on_another_host_is_judged_by_its_heartbeat(db: Database, db_path: str) -> None:
    elsewhere = Supervisor("node9", 4242, None, "another-boot/pid:[1]/99")
    execution_id = start(db, supervisor=elsewhere)
    db.set_status(execution_id, "RUNNING")
    age_heartbeat(db_path, execution_id, HEARTBEAT_LIMIT - 30)
    assert db.execution(execution_id).status == "RUNNING"
    age_heartbeat(db_path, execution_id, HEARTBEAT_LIMIT + 30)
    record = db.execution(execution_id)
    assert record.status == "LOST"
    assert record.error == (
        "its Executor (pid 4242 on node9) is gone: no heartbeat for 150 s (limit 120 s)"
    )
    db.heartbeat(execution_id)  # it was alive after all: reads as RUNNING again
    assert db.execution(execution_id).status == "RUNNING"
    age_heartbeat(db_path, execution_id, HEARTBEAT_LIMIT + 30)
    assert db.mark_lost() == [execution_id]
    db.heartbeat(execution_id)  # too late: recorded LOST stays LOST until a final status
    assert db.execution(execution_id).status == "LOST"


def test_messages_beat_too(db: Database, db_path: str) -> None:
    execution_id = start(db, supervisor=Supervisor("node9", 4242, None, None))
    age_heartbeat(db_path, execution_id, HEARTBEAT_LIMIT + 30)
    db.add_messages(execution_id, [(time.time(), 0, "still here")])
    assert db.execution(execution_id).status == "PENDING"


def test_the_supervisor_writes_its_real_final_status_over_lost(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "RUNNING")
    db.set_status(execution_id, "LOST", error="SLURM says the job is gone")
    lost = db.execution(execution_id)
    assert (lost.status, lost.ended) == ("LOST", lost.heartbeat)
    db.set_status(execution_id, "RUNNING")  # a late non-terminal status changes nothing
    assert db.execution(execution_id).status == "LOST"
    time.sleep(0.01)
    db.set_status(execution_id, "COMPLETED", exit_code=0)
    final = db.execution(execution_id)
    assert (final.status, final.exit_code, final.error) == ("COMPLETED", 0, None)
    assert final.ended > lost.ended  # type: ignore[operator]


def test_another_writer_replacing_lost_keeps_its_end(db: Database, db_path: str) -> None:
    execution_id = start(db, supervisor=Supervisor("node9", 4242, None, None))
    age_heartbeat(db_path, execution_id, HEARTBEAT_LIMIT + 30)
    assert db.mark_lost() == [execution_id]
    lost = db.execution(execution_id)
    db.set_status(execution_id, "CANCELLED", signal="SIGTERM")
    final = db.execution(execution_id)
    assert (final.status, final.signal, final.ended, final.error) == (
        "CANCELLED",
        "SIGTERM",
        lost.ended,
        lost.error,
    )


def test_lost_never_replaces_a_recorded_end(db: Database) -> None:
    execution_id = start(db)
    db.set_status(execution_id, "COMPLETED", exit_code=0)
    db.set_status(execution_id, "LOST", error="too late")
    record = db.execution(execution_id)
    assert (record.status, record.error) == ("COMPLETED", None)


SWEEPER = """
import sys
from lute.io.db import Database
with Database(sys.argv[1]) as db:
    db.start_execution(managed_task="M", task_name="T", experiment=None, run=None, parameters={})
"""


def test_many_writers_record_a_lost_execution_once(
    db: Database, db_path: str, executors: List[Executor]
) -> None:
    executor = Executor(db_path)
    executors.append(executor)
    executor.kill()
    assert run_at_once(SWEEPER, [db_path], 6) == [(0, "", "")] * 6
    status, error, _, _ = stored(db_path, executor.execution_id)
    assert status == "LOST" and error.count("is gone") == 1
    assert len(db.executions(limit=None)) == 7
