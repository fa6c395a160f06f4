"""Trigger rules written as sbatch --dependency values."""

from __future__ import annotations

from typing import Optional

import pytest

from lute.execution.workflow._dependencies import NodeJobs, dependency

RUNS = ("12", "13", "14")
A = NodeJobs("a", ["101"], RUNS)
B = NodeJobs("b", ["102"], RUNS)
SWEEP = NodeJobs("sweep", ["103", "104"])  # two arrays: not aligned with anything
ONCE = NodeJobs("calib", ["105"])


@pytest.mark.parametrize(
    ("rule", "child_runs", "parents", "expected"),
    [
        ("all_success", RUNS, [A, B], "aftercorr:101:102"),
        ("any_success", RUNS, [A, B], "aftercorr:101?aftercorr:102"),
        ("all_success", RUNS, [A, SWEEP], "afterany:101:103:104"),
        ("any_success", RUNS, [SWEEP], "afterany:103:104"),
        ("all_completed", RUNS, [A, B], "afterany:101:102"),
        ("always", None, [A], "afterany:101"),
        ("all_failed", RUNS, [A, B], "afternotok:101:102"),
        ("any_failed", RUNS, [A, SWEEP], "afternotok:101?afternotok:103:104"),
        ("all_success", None, [A, B], "afterok:101:102"),
        ("any_success", None, [SWEEP, ONCE], "afterok:103:104?afterok:105"),
        ("all_success", RUNS, [ONCE], "afterany:105"),
        ("all_success", ("12",), [NodeJobs("a", ["7"], ("12",))], "afterok:7"),
    ],
)
def test_dependency_values(
    rule: str, child_runs: Optional[tuple], parents: list, expected: str
) -> None:
    value, words = dependency(rule, NodeJobs("child", [], child_runs), parents)
    assert value == expected
    assert words.endswith("(%s)" % rule)


def test_root_has_no_dependency() -> None:
    assert dependency("all_success", NodeJobs("root", []), []) == (None, "starts at once")


def test_words_say_when_each_run_checks_its_parents() -> None:
    _value, aligned = dependency("all_success", NodeJobs("c", [], RUNS), [A])
    _value, coarse = dependency("all_failed", NodeJobs("c", [], RUNS), [A])
    assert "same run's task of a" in aligned
    assert "each run then checks its own parents" in coarse
