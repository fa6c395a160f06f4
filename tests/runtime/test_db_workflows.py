"""Workflows in the database: nodes, linked executions, each execution's upstream."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from lute.io.db import Database, DatabaseError, default_db_path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_db_path(str(tmp_path)))
    yield database
    database.close()


def queue(db: Database, run: int, **kwargs: Any) -> int:
    options: Dict[str, Any] = dict(
        managed_task="Tester", task_name="Test", experiment="xpp1234", run=run, parameters={}
    )
    options.update(kwargs)
    return db.queue_execution(**options).execution_id


def chain(db: Database, runs: List[int]) -> Dict[str, Any]:
    """find -> index (per run) -> merge (once), every execution linked."""
    workflow = db.create_workflow("sfx", dag_path="/w/sfx.yaml", config_path="/w/c.yaml")
    db.add_workflow_node(
        workflow, "find", position=0, managed_task="Tester", trigger_rule="all_success"
    )
    db.add_workflow_node(
        workflow,
        "index",
        position=1,
        managed_task="Tester",
        trigger_rule="all_success",
        parents=["find"],
        dependency="aftercorr:101",
    )
    db.add_workflow_node(
        workflow,
        "merge",
        position=2,
        managed_task="Tester",
        trigger_rule="any_success",
        parents=["index"],
        run_dependent=False,
    )
    find = {run: queue(db, run) for run in runs}
    index = {run: queue(db, run) for run in runs}
    merge = queue(db, 0)
    db.link_workflow_executions(workflow, "find", {find[run]: [] for run in runs})
    db.link_workflow_executions(workflow, "index", {index[run]: [find[run]] for run in runs})
    db.link_workflow_executions(workflow, "merge", {merge: list(index.values())})
    return {"workflow": workflow, "find": find, "index": index, "merge": merge}


def test_nodes_and_executions_in_order(db: Database) -> None:
    made = chain(db, [12, 13])
    nodes = db.workflow_nodes(made["workflow"])
    assert [(n.node, n.parents, n.run_dependent) for n in nodes] == [
        ("find", (), True),
        ("index", ("find",), True),
        ("merge", ("index",), False),
    ]
    assert nodes[1].dependency == "aftercorr:101" and nodes[2].trigger_rule == "any_success"
    linked = db.workflow_executions(made["workflow"])
    assert [node for node, _record in linked] == ["find", "find", "index", "index", "merge"]
    assert all(record.status == "QUEUED" for _node, record in linked)
    record = db.workflow(made["workflow"])
    assert (record.name, record.dag_path, record.cancelled) == ("sfx", "/w/sfx.yaml", None)
    assert [w.id for w in db.workflows(name="sfx")] == [made["workflow"]]


def test_upstream_follows_the_same_run_and_reports_statuses(db: Database) -> None:
    made = chain(db, [12, 13])
    db.claim_queued(made["find"][12])
    db.set_status(made["find"][12], "FAILED")
    upstream = db.upstream(made["index"][12])
    assert upstream is not None
    assert (upstream.node, upstream.trigger_rule) == ("index", "all_success")
    assert upstream.parents == ((made["find"][12], "find", "12", "FAILED"),)
    merge = db.upstream(made["merge"])
    assert merge is not None and [p[0] for p in merge.parents] == list(made["index"].values())
    assert db.upstream(made["find"][12]) is not None and not db.upstream(made["find"][12]).parents
    assert db.upstream(queue(db, 14)) is None  # not in a workflow
    assert db.execution_parents([made["index"][13], made["find"][13]]) == {
        made["index"][13]: [made["find"][13]]
    }


def test_a_resubmission_links_to_the_original_and_keeps_completed_executions(db: Database) -> None:
    made = chain(db, [12])
    db.claim_queued(made["find"][12])
    db.set_status(made["find"][12], "COMPLETED")
    again = db.create_workflow("sfx", resubmission_of=made["workflow"])
    db.add_workflow_node(
        again, "find", position=0, managed_task="Tester", trigger_rule="all_success"
    )
    db.add_workflow_node(
        again,
        "index",
        position=1,
        managed_task="Tester",
        trigger_rule="all_success",
        parents=["find"],
    )
    rerun = queue(db, 12)
    db.link_workflow_executions(again, "find", {made["find"][12]: []})  # kept as it was
    db.link_workflow_executions(again, "index", {rerun: [made["find"][12]]})
    assert db.workflow(again).resubmission_of == made["workflow"]
    upstream = db.upstream(rerun)
    assert upstream is not None and upstream.workflow_id == again
    assert upstream.parents[0][3] == "COMPLETED"
    with pytest.raises(DatabaseError, match="no workflow with id 999"):
        db.create_workflow("sfx", resubmission_of=999)


def test_discarding_a_failed_submission_leaves_nothing(db: Database) -> None:
    made = chain(db, [12, 13])
    assert db.discard_workflow(made["workflow"]) == 5
    with pytest.raises(DatabaseError, match="no workflow with id"):
        db.workflow(made["workflow"])
    assert db.executions() == []
    with sqlite3.connect(db.path) as conn:
        for table in ("workflow_nodes", "workflow_executions", "execution_parents"):
            assert conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0] == 0


def test_cancel_is_recorded_once(db: Database) -> None:
    made = chain(db, [12])
    db.mark_workflow_cancelled(made["workflow"])
    first = db.workflow(made["workflow"]).cancelled
    db.mark_workflow_cancelled(made["workflow"])
    assert first is not None and db.workflow(made["workflow"]).cancelled == first


def test_bad_arguments_are_named(db: Database) -> None:
    workflow = db.create_workflow("w")
    with pytest.raises(DatabaseError, match="unknown trigger rule 'sometimes'"):
        db.add_workflow_node(workflow, "a", position=0, managed_task="T", trigger_rule="sometimes")
    with pytest.raises(DatabaseError, match="'b' follows 'a', not recorded"):
        db.add_workflow_node(
            workflow, "b", position=0, managed_task="T", trigger_rule="all_success", parents=["a"]
        )
    db.add_workflow_node(workflow, "a", position=0, managed_task="T", trigger_rule="all_success")
    with pytest.raises(DatabaseError, match="has a node 'a' already"):
        db.add_workflow_node(
            workflow, "a", position=1, managed_task="T", trigger_rule="all_success"
        )
    with pytest.raises(DatabaseError, match="has no node 'zz'"):
        db.link_workflow_executions(workflow, "zz", {})
    with pytest.raises(DatabaseError, match="link executions to node 'a'"):
        db.link_workflow_executions(workflow, "a", {12345: []})
    with pytest.raises(DatabaseError, match="no workflow with id 77"):
        db.workflow_nodes(77)


def test_a_queued_execution_whose_upstream_failed_is_refused_and_recorded(db: Database) -> None:
    made = chain(db, [12, 13])
    db.claim_queued(made["find"][12])
    db.set_status(made["find"][12], "FAILED")
    reason = db.refuse_if_upstream_failed(made["index"][12])
    assert reason is not None and reason.startswith("upstream failed: index needs all_success")
    assert "find run 12 FAILED" in reason
    record = db.execution(made["index"][12])
    assert (record.status, record.error) == ("CANCELLED", reason)
    assert db.refuse_if_upstream_failed(made["index"][12]) is None  # not QUEUED any more
    # Run 13's parent has not ended: SLURM started the job too early.
    early = db.refuse_if_upstream_failed(made["index"][13])
    assert early is not None and early.startswith("upstream not ended when the job started")
    # The merge needs any index step: run 13's completes.
    db.claim_queued(made["find"][13])
    db.set_status(made["find"][13], "COMPLETED")
    assert db.refuse_if_upstream_failed(made["find"][13]) is None
    assert db.refuse_if_upstream_failed(queue(db, 14)) is None  # in no workflow


def test_the_merge_runs_when_any_parent_completed(db: Database) -> None:
    made = chain(db, [12, 13])
    for run, status in ((12, "FAILED"), (13, "COMPLETED")):
        db.claim_queued(made["index"][run])
        db.set_status(made["index"][run], status)
    assert db.refuse_if_upstream_failed(made["merge"]) is None
    assert db.execution(made["merge"]).status == "QUEUED"
