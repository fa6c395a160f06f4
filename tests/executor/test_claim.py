"""``lute-exec run --claim ID --db PATH``: the batch job's claim, checked and recorded.

Real ``lute-exec`` processes on a real database; the rows are queued as ``lute-exec
workflow submit`` queues them (a workflow, its nodes, each execution's parents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from lute.io.db import Database
from tests.conftest import lute_exec, write_config


def _workflow(db: Database, parent_status: str) -> Dict[str, int]:
    """write (WriteTester) -> read (ReadTester) for run 12, the write already ended."""
    workflow = db.create_workflow("chain")
    db.add_workflow_node(
        workflow, "write", position=0, managed_task="WriteTester", trigger_rule="all_success"
    )
    db.add_workflow_node(
        workflow,
        "read",
        position=1,
        managed_task="ReadTester",
        trigger_rule="all_success",
        parents=["write"],
    )
    common = dict(experiment="TST12345", run=12)
    write = db.queue_execution(
        managed_task="WriteTester", task_name="TestWriteOutput", parameters={}, **common
    ).execution_id
    read = db.queue_execution(
        managed_task="ReadTester",
        task_name="TestReadOutput",
        parameters={"in_file": "<result of TestWriteOutput (node write), at run time>"},
        **common,
    ).execution_id
    db.link_workflow_executions(workflow, "write", {write: []})
    db.link_workflow_executions(workflow, "read", {read: [write]})
    db.claim_queued(write)
    db.set_status(write, parent_status)
    return {"write": write, "read": read}


def test_a_node_whose_upstream_failed_is_recorded_and_not_run(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    db_path = str(short_tmp / "work" / "lute.db")
    (short_tmp / "work").mkdir()
    with Database(db_path) as db:
        ids = _workflow(db, "FAILED")
    args = ["run", "-c", str(config), "-t", "ReadTester", "--claim", str(ids["read"])]
    done = lute_exec([*args, "--db", db_path])
    assert done.returncode == 130, done.stderr
    assert "execution %d recorded CANCELLED, not run: upstream failed" % ids["read"] in done.stderr
    assert "write run 12 FAILED" in done.stderr and "Traceback" not in done.stderr
    with Database(db_path, readonly=True) as db:
        record = db.execution(ids["read"])
        assert record.status == "CANCELLED" and record.started is None
        assert record.error.startswith("upstream failed: read needs all_success")
        assert db.results(ids["read"]) == []


def test_a_config_that_no_longer_validates_is_recorded_on_the_row(short_tmp: Path) -> None:
    config = write_config(short_tmp, "TestReadOutput: {in_file: 12, extra: 1}\n")
    db_path = str(short_tmp / "work" / "lute.db")
    (short_tmp / "work").mkdir()
    with Database(db_path) as db:
        ids = _workflow(db, "COMPLETED")
    args = ["run", "-c", str(config), "-t", "ReadTester", "--claim", str(ids["read"])]
    done = lute_exec([*args, "--db", db_path])
    assert done.returncode == 2, done.stderr
    with Database(db_path, readonly=True) as db:
        record = db.execution(ids["read"])
    assert record.status == "FAILED"
    assert record.error.startswith("the job did not start the run: the config did not validate")
    assert "extra" in record.error


def test_db_needs_claim(config: Path) -> None:
    done = lute_exec(["run", "-c", str(config), "-t", "Tester", "--db", "/tmp/x.db"])
    assert done.returncode == 2
    assert "--db names the database of --claim's execution; give --claim too" in done.stderr


def test_a_chain_of_claims_fills_the_upstream_value_and_records_it(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    db_path = str(short_tmp / "work" / "lute.db")
    (short_tmp / "work").mkdir()
    with Database(db_path) as db:
        workflow = db.create_workflow("chain")
        for position, (node, managed) in enumerate(
            (("write", "WriteTester"), ("read", "ReadTester"))
        ):
            db.add_workflow_node(
                workflow,
                node,
                position=position,
                managed_task=managed,
                trigger_rule="all_success",
                parents=["write"] if node == "read" else [],
            )
        write = db.queue_execution(
            managed_task="WriteTester",
            task_name="TestWriteOutput",
            experiment="TST12345",
            run=12,
            parameters={},
        ).execution_id
        read = db.queue_execution(
            managed_task="ReadTester",
            task_name="TestReadOutput",
            experiment="TST12345",
            run=12,
            parameters={"in_file": "<pending>"},
        ).execution_id
        db.link_workflow_executions(workflow, "write", {write: []})
        db.link_workflow_executions(workflow, "read", {read: [write]})
    for managed, execution in (("WriteTester", write), ("ReadTester", read)):
        args = ["run", "-c", str(config), "-t", managed, "--claim", str(execution)]
        done = lute_exec([*args, "--db", db_path])
        assert done.returncode == 0, done.stderr
    with Database(db_path, readonly=True) as db:
        assert [db.execution(i).status for i in (write, read)] == ["COMPLETED", "COMPLETED"]
        written = db.parameters(write)["outfile_name"]
        assert db.parameters(read)["in_file"] == written


def test_an_original_debug_exit_in_a_job_records_its_row_cancelled(short_tmp: Path) -> None:
    """The job turns into a dry run: its QUEUED row would otherwise wait for ever."""
    config = write_config(short_tmp)
    db_path = str(short_tmp / "work" / "lute.db")
    (short_tmp / "work").mkdir()
    with Database(db_path) as db:
        queued = db.queue_execution(
            managed_task="Tester", task_name="Test", parameters={}, experiment="TST", run=1
        ).execution_id
    args = ["run", "-c", str(config), "-t", "Tester", "--claim", str(queued), "--db", db_path]
    done = lute_exec(args, env={"LUTE_DEBUG_EXIT_AT_YAML": "1"})
    assert done.returncode == 130, done.stderr
    assert "execution %d is recorded CANCELLED" % queued in done.stderr
    assert "Traceback" not in done.stderr and "Command:" in done.stdout
    with Database(db_path, readonly=True) as db:
        record = db.execution(queued)
        assert record.status == "CANCELLED" and record.started is None
        assert record.error == (
            "the job did not start the run: LUTE_DEBUG_EXIT_AT_YAML made it a dry run "
            "(the original LUTE's debug exit)"
        )
    # Asked for by a person: a dry run of a queued execution leaves its row to the job.
    looked = lute_exec([*args, "--dry-run"], env={"LUTE_DEBUG_EXIT_AT_YAML": "1"})
    assert looked.returncode == 0 and looked.stderr == "", looked.stderr
