"""Trigger rules as a table: the parents' statuses -> may the node run."""

from __future__ import annotations

from typing import Sequence

import pytest

from lute.io.db import TRIGGER_RULES, trigger_verdict

C, F, X, T, L, Q, R = "COMPLETED", "FAILED", "CANCELLED", "TIMEDOUT", "LOST", "QUEUED", "RUNNING"


@pytest.mark.parametrize(
    ("rule", "statuses", "expected"),
    [
        ("all_success", [C, C], "holds"),
        ("all_success", [C, R], "wait"),
        ("all_success", [F, R], "never"),
        ("all_success", [C, L], "never"),
        ("any_success", [F, C], "holds"),
        ("any_success", [F, R], "wait"),
        ("any_success", [F, X, T], "never"),
        ("all_completed", [F, C, X], "holds"),
        ("all_completed", [F, Q], "wait"),
        ("always", [T, L], "holds"),
        ("all_failed", [F, X], "holds"),
        ("all_failed", [F, R], "wait"),
        ("all_failed", [F, C], "never"),
        ("any_failed", [C, T], "holds"),
        ("any_failed", [C, R], "wait"),
        ("any_failed", [C, C], "never"),
    ],
)
def test_verdicts(rule: str, statuses: Sequence[str], expected: str) -> None:
    assert trigger_verdict(rule, statuses) == expected


@pytest.mark.parametrize("rule", list(TRIGGER_RULES))
def test_a_root_may_always_run(rule: str) -> None:
    assert trigger_verdict(rule, []) == "holds"


def test_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown trigger rule 'sometimes'"):
        trigger_verdict("sometimes", [C])
