"""``lute-exec workflow`` on the one-node cluster: DAGs scheduled by SLURM's dependencies.

Real ``lute-exec`` processes, real ``sbatch``/``squeue``/``scontrol``/``scancel``, the
example DAG files of ``examples/workflows/`` and a real results database.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

from tests.conftest import DEFAULT_SECTIONS, ROOT, SlurmCluster, lute_exec, write_config
from tests.slurm.helpers import all_ended, executions, parameters, wait_rows

pytestmark = pytest.mark.slurm

EXAMPLES = ROOT / "examples" / "workflows"
#: The default sections, each run writing its own file.
SECTIONS = DEFAULT_SECTIONS.replace(
    "TestWriteOutput:\n", 'TestWriteOutput:\n  outfile_name: "{{ work_dir }}/out_r{{ run }}.txt"\n'
)


def workflow(cluster: Optional[SlurmCluster], args: Sequence[str], *, timeout: float = 180) -> Any:
    """``lute-exec workflow ARGS``; the jobs a submission printed (``--json``) are tracked."""
    done = lute_exec(["workflow", *args], timeout=timeout)
    if cluster is not None and done.returncode == 0 and "--json" in args:
        document = json.loads(done.stdout)
        if isinstance(document, dict) and "jobs" in document:
            cluster.track(*(job for jobs in document["jobs"].values() for job in jobs))
    return done


def status(work: Path, workflow_id: int) -> Dict[str, Any]:
    done = lute_exec(["workflow", "status", str(workflow_id), "-w", str(work), "--json"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def shown(state: Dict[str, Any]) -> Dict[str, List[str]]:
    """Node -> the status of each of its executions, as the status shows them."""
    found: Dict[str, List[str]] = {}
    for cell in state["executions"]:
        found.setdefault(cell["node"], []).append(cell["status"])
    return found


def execution_parents(work: Path) -> Dict[int, List[int]]:
    conn = sqlite3.connect(str(work / "lute.db"))
    try:
        rows = conn.execute("SELECT execution_id, parent_id FROM execution_parents").fetchall()
    finally:
        conn.close()
    found: Dict[int, List[int]] = {}
    for child, parent in rows:
        found.setdefault(child, []).append(parent)
    return {child: sorted(parents) for child, parents in found.items()}


def test_a_chain_runs_for_ten_runs_with_one_sbatch_per_node(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, SECTIONS)
    work = short_tmp / "work"
    args = ["submit", str(EXAMPLES / "chain.yaml"), "-c", str(config), "--runs", "1-10"]
    done = workflow(slurm, [*args, "--max-parallel", "4", "--json"])
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    # One job (array) per node, whatever the number of runs.
    assert {node: len(jobs) for node, jobs in submitted["jobs"].items()} == {
        "write": 1,
        "read": 1,
        "summary": 1,
    }
    assert submitted["dependencies"]["read"] == "aftercorr:%s" % submitted["jobs"]["write"][0]
    assert submitted["dependencies"]["summary"] == "afterany:%s" % submitted["jobs"]["read"][0]
    rows = wait_rows(work, lambda rows: len(rows) == 21 and all_ended(rows), timeout=240)
    assert {row["status"] for row in rows} == {"COMPLETED"}, [(r["id"], r["status"]) for r in rows]
    by_id = {row["id"]: row for row in rows}
    write = {row["run"]: row["id"] for row in rows if row["managed_task"] == "WriteTester"}
    read = {row["run"]: row["id"] for row in rows if row["managed_task"] == "ReadTester"}
    [summary] = [row["id"] for row in rows if row["managed_task"] == "Tester"]
    assert sorted(write, key=int) == [str(run) for run in range(1, 11)]
    links = execution_parents(work)
    for run in write:  # run 7's read follows run 7's write, and reads run 7's file
        assert links[read[run]] == [write[run]]
        assert parameters(work, read[run])["in_file"] == str(work / ("out_r%s.txt" % run))
        assert by_id[read[run]]["started"] >= by_id[write[run]]["ended"]
    assert links[summary] == sorted(read.values())
    state = status(work, submitted["workflow"])
    assert state["finished"] and state["counts"] == {"completed": 21}
    table = lute_exec(["workflow", "status", "-w", str(work)])  # the newest workflow
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split() == ["RUN", "write", "read"]
    assert lines[2].split() == ["1", "completed", "completed"]
    assert lines[-2].startswith("summary (once): completed  job ")
    assert lines[-1] == "21 executions: 21 completed; finished"


DAG_WITH_A_FAILURE = """\
workflow: failing
nodes:
  first:
    managed_task: Tester
  broken:
    managed_task: Tester
    after: [first]
    overrides: {Test.throw_error: true}
  blocked:
    managed_task: Tester
    after: [broken]
  either:
    managed_task: Tester
    after: [first, broken]
    trigger: any_success
  cleanup:
    managed_task: Tester
    after: [broken]
    trigger: all_completed
  rescue:
    managed_task: Tester
    after: [broken]
    trigger: any_failed
  needs_all_failed:
    managed_task: Tester
    after: [first, broken]
    trigger: all_failed
"""


def test_a_failed_node_stops_its_children_and_each_rule_decides(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp)
    work = short_tmp / "work"
    dag = short_tmp / "dag.yaml"
    dag.write_text(DAG_WITH_A_FAILURE)
    done = workflow(slurm, ["submit", str(dag), "-c", str(config), "--runs", "12-13", "--json"])
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    assert submitted["dependencies"]["either"].count("?") == 1  # afterok:A?afterok:B
    wait_rows(work, lambda rows: len(rows) == 14 and all(r["status"] != "RUNNING" for r in rows))
    for job in (job for jobs in submitted["jobs"].values() for job in jobs):
        slurm.wait_ended(job)
    state = status(work, submitted["workflow"])
    assert shown(state) == {
        "first": ["completed"] * 2,
        "broken": ["failed"] * 2,
        "blocked": ["upstream failed"] * 2,
        "either": ["completed"] * 2,
        "cleanup": ["completed"] * 2,
        "rescue": ["completed"] * 2,
        "needs_all_failed": ["upstream failed"] * 2,
    }
    assert state["finished"]
    blocked = [cell for cell in state["executions"] if cell["node"] == "blocked"]
    for cell in blocked:  # recorded CANCELLED with the parent that decided it
        assert cell["recorded_status"] == "CANCELLED"
        assert cell["error"].startswith("upstream failed: blocked needs all_success")
        assert "broken run %s FAILED" % cell["run"] in cell["error"]
    rows = {row["id"]: row for row in executions(work)}
    assert all(rows[cell["execution_id"]]["started"] is None for cell in blocked)
    again = status(work, submitted["workflow"])  # a second look changes nothing
    assert all(cell["change"] is None for cell in again["executions"])


@pytest.mark.parametrize("fix", ["the DAG file", "an override"])
def test_resubmit_runs_again_what_did_not_complete_with_the_dag_as_it_is_now(
    slurm: SlurmCluster, short_tmp: Path, fix: str
) -> None:
    """The failure is fixed in the DAG file, or by an override given to resubmit."""
    config = write_config(short_tmp)
    work = short_tmp / "work"
    dag = short_tmp / "dag.yaml"
    dag.write_text(DAG_WITH_A_FAILURE.split("  either:")[0])  # first -> broken -> blocked
    done = workflow(slurm, ["submit", str(dag), "-c", str(config), "--json"])
    assert done.returncode == 0, done.stderr
    first_id = json.loads(done.stdout)["workflow"]
    # blocked's job is cancelled by SLURM; its row stays QUEUED until a status looks
    wait_rows(work, lambda rows: len(rows) == 3 and all_ended(rows[:2]))
    for job in (job for jobs in json.loads(done.stdout)["jobs"].values() for job in jobs):
        slurm.wait_ended(job)
    before = status(work, first_id)
    assert shown(before) == {
        "first": ["completed"],
        "broken": ["failed"],
        "blocked": ["upstream failed"],
    }
    given = []
    if fix == "the DAG file":
        dag.write_text(dag.read_text().replace("    overrides: {Test.throw_error: true}\n", ""))
    else:  # after the node's own: it wins
        given = ["Test.throw_error=false"]
    again = workflow(slurm, ["resubmit", str(first_id), *given, "-w", str(work), "--json"])
    assert again.returncode == 0, again.stderr
    assert "broken: run 12 failed" in again.stderr
    resubmitted = json.loads(again.stdout)
    assert sorted(resubmitted["jobs"]) == ["blocked", "broken"]  # first is kept
    rows = wait_rows(work, lambda rows: len(rows) == 5 and all_ended(rows))
    state = status(work, resubmitted["workflow"])
    assert shown(state) == {
        "first": ["completed"],
        "broken": ["completed"],
        "blocked": ["completed"],
    }
    assert state["workflow"]["resubmission_of"] == first_id
    kept = [cell["execution_id"] for cell in state["executions"] if cell["node"] == "first"]
    assert kept == [
        cell["execution_id"] for cell in before["executions"] if cell["node"] == "first"
    ]
    assert status(work, first_id)["resubmissions"] == [resubmitted["workflow"]]
    assert len(rows) == 5  # the first node did not run again
    nothing = workflow(slurm, ["resubmit", str(resubmitted["workflow"]), "-w", str(work)])
    assert nothing.returncode == 2 and "nothing to run again" in nothing.stderr


def test_an_original_lute_dag_with_a_sweep_runs_unchanged(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, SECTIONS)
    work = short_tmp / "work"
    done = workflow(slurm, ["submit", str(EXAMPLES / "original.yaml"), "-c", str(config), "--json"])
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    assert list(submitted["jobs"]) == ["Tester", "Tester#2", "WriteTester", "ReadTester"]
    rows = wait_rows(work, lambda rows: len(rows) == 5 and all_ended(rows))
    assert {row["status"] for row in rows} == {"COMPLETED"}
    swept = submitted["executions"]["Tester#2"]
    assert sorted(parameters(work, e)["float_var"] for e in swept) == [0.5, 1.5]
    assert execution_parents(work)[submitted["executions"]["WriteTester"][0]] == sorted(swept)
    assert shown(status(work, submitted["workflow"]))["Tester#2"] == ["completed"] * 2


def test_a_sweep_feeds_one_merge_over_every_run_and_point(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, SECTIONS)
    work = short_tmp / "work"
    dag = str(EXAMPLES / "sweep-merge.yaml")
    done = workflow(slurm, ["submit", dag, "-c", str(config), "--runs", "12-13", "--json"])
    assert done.returncode == 0, done.stderr
    submitted = json.loads(done.stdout)
    assert len(submitted["jobs"]["scan"]) == 1 and len(submitted["executions"]["scan"]) == 6
    rows = wait_rows(work, lambda rows: len(rows) == 7 and all_ended(rows))
    assert {row["status"] for row in rows} == {"COMPLETED"}
    points = sorted(
        (row["run"], parameters(work, row["id"])["float_var"])
        for row in rows
        if row["managed_task"] == "Tester"
    )
    assert points == [(run, value) for run in ("12", "13") for value in (0.1, 0.2, 0.5)]
    [merge] = submitted["executions"]["merge"]
    assert execution_parents(work)[merge] == sorted(submitted["executions"]["scan"])


def test_cancel_ends_every_job_that_had_not_ended(slurm: SlurmCluster, short_tmp: Path) -> None:
    config = write_config(short_tmp, SECTIONS)
    work = short_tmp / "work"
    args = ["submit", str(EXAMPLES / "chain.yaml"), "-c", str(config), "--runs", "12-13"]
    done = workflow(slurm, [*args, "--json", "--", "--begin=now+3600"])
    assert done.returncode == 0, done.stderr
    workflow_id = json.loads(done.stdout)["workflow"]
    cancelled = workflow(slurm, ["cancel", str(workflow_id), "-w", str(work)])
    assert cancelled.returncode == 0, cancelled.stderr
    assert "5 not started (recorded CANCELLED)" in cancelled.stdout
    assert {row["status"] for row in executions(work)} == {"CANCELLED"}
    for job in (job for jobs in json.loads(done.stdout)["jobs"].values() for job in jobs):
        assert slurm.wait_ended(job, timeout=30) is not None
    state = status(work, workflow_id)
    assert state["counts"] == {"cancelled": 5} and state["workflow"]["cancelled"]


def test_dry_run_prints_every_script_and_the_graph_and_queues_nothing(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp, SECTIONS)
    args = ["submit", str(EXAMPLES / "chain.yaml"), "-c", str(config), "--runs", "12-13"]
    # An override after the options joins the others (argparse alone would refuse it).
    done = workflow(slurm, [*args, "--dry-run", "Test.str_var=late", "--", "--partition=debug"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("#!/bin/bash") == 3
    runs = [line for line in done.stdout.splitlines() if line.startswith("exec ")]
    # Only the node reading section Test (summary) is given it; each script's header
    # still shows the command line as typed.
    assert [line for line in runs if "Test.str_var=late" in line] == [
        line for line in runs if " -t Tester " in line
    ]
    assert len(runs) == 3 and done.stdout.count("Test.str_var=late") == 4
    assert "#SBATCH --partition=debug" in done.stdout
    assert "#SBATCH --time=10:00" in done.stdout  # the summary node's own option
    assert "--dependency=aftercorr:<write>" in done.stdout
    graph = done.stdout.split("# ---- dependency graph of workflow write-read-summary ----\n")[1]
    assert graph.splitlines()[0].split() == ["write", "2", "executions", "starts", "at", "once"]
    assert "nothing queued or submitted" in done.stderr
    assert not (short_tmp / "work" / "lute.db").exists()


BAD_DAG = """\
workflow: bad
nodes:
  find:
    managed_task: Tester
    after: [merge]
  index:
    managed_task: NoSuchTask
    after: [find]
  merge:
    managed_task: Tester
    after: [find]
"""


def test_a_workflow_with_problems_is_refused_whole_and_queues_nothing(short_tmp: Path) -> None:
    config = write_config(short_tmp)
    dag = short_tmp / "bad.yaml"
    dag.write_text(BAD_DAG)
    done = lute_exec(["workflow", "submit", str(dag), "-c", str(config)])
    assert done.returncode == 2, done.stderr
    assert "a cycle" in done.stderr and "bad.yaml:" in done.stderr
    assert "Traceback" not in done.stderr
    dag.write_text(BAD_DAG.replace("    after: [merge]\n", ""))  # no cycle: the nodes' turn
    config.write_text(config.read_text().replace("float_var: 0.01", "float_var: lots"))
    done = lute_exec(["workflow", "submit", str(dag), "-c", str(config), "--", "--tim=5"])
    assert done.returncode == 2, done.stderr
    problems = done.stderr
    assert "3 problems in the workflow bad (3 nodes checked); nothing was submitted" in problems
    assert "node index (%s:6): no managed task named 'NoSuchTask'" % dag in problems
    assert "node find (%s:4)" % dag in problems and "Test.float_var: wrong type" in problems
    assert "unknown sbatch option 'tim'; did you mean 'time'?" in problems
    assert not (short_tmp / "work" / "lute.db").exists()
    assert not (short_tmp / "work" / "slurm").exists()
    # An override no node reads would be dropped from every script without a word.
    config.write_text(config.read_text().replace("float_var: lots", "float_var: 0.01"))
    dag.write_text(BAD_DAG.replace("    after: [merge]\n", "").replace("NoSuchTask", "Tester"))
    done = lute_exec(["workflow", "submit", str(dag), "-c", str(config), "Tset.float_var=2"])
    assert done.returncode == 2, done.stderr
    assert (
        "command line: cannot set 'Tset.float_var=2': no node of the workflow reads its "
        "section (they read Test, and the header lute_config)" in done.stderr
    )
    assert not (short_tmp / "work" / "lute.db").exists()


def test_the_commands_say_what_is_wrong(short_tmp: Path) -> None:
    missing = lute_exec(["workflow", "status", "-w", str(short_tmp)])
    assert missing.returncode == 2 and "no results database at" in missing.stderr
    extra = lute_exec(["workflow", "status", "-w", str(short_tmp), "--", "--time=5"])
    assert extra.returncode == 2 and "are for `workflow submit`" in extra.stderr
    for action in ("submit", "status", "list", "cancel", "resubmit"):
        helped = lute_exec(["workflow", action, "--help"])
        assert helped.returncode == 0 and "usage: lute-exec workflow %s" % action in helped.stdout


def test_a_node_slurm_rejects_undoes_what_was_already_submitted(
    slurm: SlurmCluster, short_tmp: Path
) -> None:
    config = write_config(short_tmp)
    dag = short_tmp / "dag.yaml"
    dag.write_text(
        "workflow: rejected\nnodes:\n  first: {managed_task: Tester}\n"
        "  second: {managed_task: Tester, after: [first], slurm: {partition: nope}}\n"
    )
    done = workflow(slurm, ["submit", str(dag), "-c", str(config)])
    assert done.returncode == 2, done.stderr
    assert "invalid partition specified: nope" in done.stderr and done.stdout == ""
    work = short_tmp / "work"
    assert executions(work) == []  # first's queued execution deleted too
    conn = sqlite3.connect(str(work / "lute.db"))
    try:
        assert conn.execute("SELECT count(*) FROM workflows").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM submissions").fetchone() == (0,)
    finally:
        conn.close()
    assert list((work / "slurm").glob("*.sh")) == []
    listed = subprocess.run(
        ["squeue", "-h", "-r", "-t", "PD,R", "-o", "%i|%Z"], capture_output=True, text=True
    ).stdout.splitlines()
    assert [line for line in listed if str(short_tmp) in line] == []  # first's job cancelled


EITHER_DAG = """\
workflow: either
nodes:
  left:
    managed_task: Tester
  right:
    managed_task: Tester
  after_a_failure:
    managed_task: Tester
    after: [left, right]
    trigger: %s
"""


def test_max_parallel_over_split_arrays_is_refused_for_a_rule_of_alternatives(
    short_tmp: Path,
) -> None:
    """A node split into several arrays under --max-parallel chains them with
    ``,afterany``; its ``any_failed`` dependency (``?``) cannot take that."""
    from lute.execution.slurm import SlurmClient
    from lute.execution.workflow import WorkflowError, WorkflowRequest, plan_workflow

    class TwoPerArray(SlurmClient):  # a site whose MaxArraySize is 2
        def max_array_size(self) -> int:
            return 2

    config = write_config(short_tmp)
    dag = short_tmp / "either.yaml"
    dag.write_text(EITHER_DAG % "any_failed")
    request = WorkflowRequest(str(dag), str(config), runs="1-3", max_parallel=1)
    with pytest.raises(WorkflowError) as refused:
        plan_workflow(request, client=TwoPerArray())
    assert refused.value.problems == [
        "node after_a_failure (%s:8): --max-parallel 1 over 2 arrays makes each array wait "
        "for the one before (afterany), but their "
        "--dependency=afternotok:<left>?afternotok:<right> (from the trigger rule "
        "any_failed) joins alternatives with '?', and SLURM cannot read '?' and ',' in one "
        "--dependency; drop --max-parallel, or submit fewer points so that they fit in one "
        "array" % dag
    ]
    # all_failed waits for both parents (``:``), which the chain joins without a mix.
    dag.write_text(EITHER_DAG % "all_failed")
    plan = plan_workflow(request, client=TwoPerArray())
    assert plan.dependency("after_a_failure", {"left": ["7"], "right": ["8"]})[0] == (
        "afternotok:7:8"
    )
    assert not (short_tmp / "work").exists()
