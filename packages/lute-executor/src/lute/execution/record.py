"""The record of a run: its result, messages and final status, then its reports.

Called once per run, after the Task's process has ended and the "after" tasklets ran.
"""

from __future__ import annotations

import signal
import time
from typing import Any, List, Mapping

from lute.execution.launch import LaunchPlan
from lute.execution.outcome import describe_exit
from lute.execution.run_state import RunState
from lute.tasks.dataclasses import ElogSummaryPlots, TaskResult, TaskStatus

__all__ = ["REPORTED_MESSAGES", "record_outcome"]

#: The last messages of a run its report shows.
REPORTED_MESSAGES = 50


def record_outcome(state: RunState, plan: LaunchPlan) -> None:
    """Record how the run ended: result, messages, final status, then the reports.

    A failing reporter is logged and never changes the Task's outcome.
    """
    from lute.io.elog import format_duration, plots_directory, render_summary, report_all

    db = state.db
    console = state.console
    status = state.status
    assert db is not None and state.execution_id is not None
    if state.result is None and status == TaskStatus.COMPLETED:
        known = plan.result_from_parameters()
        if known is not None:
            state.result = TaskResult(
                state.task_name, status, known.summary or "", known.payload, known.impl_schemas
            )
    items: List[Any] = []
    if state.result is not None:
        state.result.task_status = status
        plots_dir = plots_directory(
            plan.work_dir,
            plan.experiment,
            plan.run_number,
            "%s_%d" % (state.managed_task, state.execution_id),
        )
        items, pages = render_summary(state.result, plots_dir=plots_dir)
        if not state.result_recorded:
            db.add_result(
                state.execution_id,
                _summary_for_db(state.result.summary, pages),
                state.result.payload,
                task_status=status.value,
            )
            state.result_recorded = True
        if state.described is not None:
            state.described.task_result = state.result
    state.flush_messages()
    for error in state.undecodable:  # the bytes, to decode where their modules exist
        db.add_undecodable_result(state.execution_id, error.to_bytes(), str(error))
    for warning in state.warnings:
        db.add_warning(state.execution_id, warning)
    db.set_status(
        state.execution_id,
        status.value,
        exit_code=state.returncode,
        signal=None
        if state.returncode is None or state.returncode >= 0
        else signal.Signals(-state.returncode).name,
        error=state.error if status != TaskStatus.COMPLETED else None,
    )
    for reporter in plan.reporters:
        if hasattr(reporter, "paths"):  # the local report: its page is part of the record
            page = reporter.paths({"managed_task": state.managed_task, "id": state.execution_id})
            db.set_paths(state.execution_id, report_path=page[0])
    record = db.execution(state.execution_id).to_dict()
    record["messages"] = [
        {"time": m.time, "rank": m.rank, "text": m.text}
        for m in db.last_messages(state.execution_id, REPORTED_MESSAGES)
    ]
    record.update(
        log_path=state.log_path,
        parameters=plan.wire_parameters,
        duration_s=round(time.time() - state.started, 3),
    )
    # A failing reporter is logged and never changes the Task's outcome.
    report_all(plan.reporters, execution=record, items=items)
    _report_lost(state, plan)

    how = "in %s (%s)" % (
        format_duration(record["duration_s"]),
        describe_exit(state.returncode or 0),
    )
    if state.error and status != TaskStatus.COMPLETED:
        how += ": %s" % state.error.strip().splitlines()[-1]
    console.verdict(state.task_name, status.value, how)
    console.line(
        "log: %s; database: %s (execution %d)" % (state.log_path, plan.db_path, state.execution_id)
    )
    if record.get("report_path"):
        console.line("report: %s" % record["report_path"])


def _report_lost(state: RunState, plan: LaunchPlan) -> None:
    """Write the local report of each run found LOST, so the index shows it as it is."""
    from lute.io.elog import report_all

    local = [reporter for reporter in plan.reporters if hasattr(reporter, "paths")]
    db = state.db
    assert db is not None
    for execution_id in state.lost_elsewhere:
        lost = db.execution(execution_id)
        if lost.work_dir != plan.work_dir:  # its report belongs to another work directory
            continue
        for reporter in local:
            db.set_paths(execution_id, report_path=reporter.paths(lost.to_dict())[0])
        report_all(local, execution=db.execution(execution_id).to_dict(), items=[])


def _summary_for_db(summary: Any, pages: Mapping[int, str]) -> Any:
    """The summary as stored: each plot is replaced by the path of its own page."""
    from lute.io.db import PlotsRef

    def convert(value: Any) -> Any:
        if isinstance(value, ElogSummaryPlots):
            return PlotsRef(value.display_name, pages.get(id(value), ""))
        if isinstance(value, (list, tuple)):
            return type(value)(convert(v) for v in value)
        return value

    return convert(summary)
