"""Tasklets: placeholders filled from the parameters, outputs merged into the result."""

from __future__ import annotations

from typing import Any, List

import pytest

from lute.execution.errors import ExecutorError
from lute.execution.tasklets import Tasklet, fill_placeholders, merge_output, run_tasklets
from lute.tasks.dataclasses import TaskResult, TaskStatus

PARAMETERS = {"lute_config": {"run": 12, "experiment": "TST"}, "n": 3, "nested": {"x": 1.5}}


def test_a_whole_placeholder_keeps_the_parameters_type() -> None:
    assert fill_placeholders("{lute_config.run}", PARAMETERS) == 12
    assert fill_placeholders("{nested.x}", PARAMETERS) == 1.5
    assert fill_placeholders("{nested}", PARAMETERS) == {"x": 1.5}


def test_placeholders_inside_text_are_formatted_into_it() -> None:
    assert fill_placeholders("run {lute_config.run} of {lute_config.experiment}", PARAMETERS) == (
        "run 12 of TST"
    )
    assert fill_placeholders("no placeholder", PARAMETERS) == "no placeholder"
    assert fill_placeholders(7, PARAMETERS) == 7


@pytest.mark.parametrize("argument", ["{missing}", "{lute_config.runn}", "{n.deeper}"])
def test_a_placeholder_naming_no_parameter_is_an_error(argument: str) -> None:
    with pytest.raises(ExecutorError, match="names parameter"):
        fill_placeholders(argument, PARAMETERS)


@pytest.mark.parametrize(
    ("existing", "output", "merged"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ("", {"b": 2}, {"b": 2}),
        (None, "text", "text"),
        (["x"], "y", ["x", "y"]),
        ("x", "y", ["x", "y"]),
    ],
)
def test_outputs_merge_into_what_is_there(existing: Any, output: Any, merged: Any) -> None:
    assert merge_output(existing, output) == merged


def test_run_tasklets_runs_only_its_phase_in_order_and_merges() -> None:
    calls: List[Any] = []
    lines: List[str] = []
    tasklets = [
        Tasklet(
            lambda run: calls.append(("before", run)),
            ("{lute_config.run}",),
            "before",
            False,
            False,
        ),
        Tasklet(lambda n: {"n": n}, ("{n}",), "after", False, True),
        Tasklet(lambda: "payload", (), "after", True, False),
    ]
    result, changed = run_tasklets(
        tasklets, "before", PARAMETERS, None, task_name="Test", say=lines.append
    )
    assert (result, changed, calls) == (None, False, [("before", 12)])
    result, changed = run_tasklets(
        tasklets, "after", PARAMETERS, None, task_name="Test", say=lines.append
    )
    assert changed and result == TaskResult("Test", TaskStatus.COMPLETED, {"n": 3}, "payload")
    assert len(lines) == 3 and lines[1].startswith("tasklet <lambda>(3) after the Task")
