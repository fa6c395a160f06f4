"""Looking a managed task up never changes the shared definition it is found as."""

from __future__ import annotations

from typing import Dict

import pytest

from lute import managed_tasks
from lute.execution.executor import Executor
from lute.managed_tasks import Tester, get_managed_task


class _EntryPoint:
    def __init__(self, value: object) -> None:
        self.value = value

    def load(self) -> object:
        return self.value


def test_two_names_of_one_installed_executor_do_not_change_each_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = Executor("Test")
    points: Dict[str, object] = {"SiteTester": _EntryPoint(shared), "Alias": _EntryPoint(shared)}
    monkeypatch.setattr(managed_tasks, "_entry_points", lambda: points)

    first = get_managed_task("SiteTester")
    second = get_managed_task("Alias")
    assert (first.name, second.name) == ("SiteTester", "Alias")
    assert get_managed_task("SiteTester").name == "SiteTester"  # not the last one looked up
    assert shared.name == "Test"  # the facility's object is untouched
    assert first.task_name == second.task_name == "Test"


def test_a_built_in_is_itself_under_its_own_name() -> None:
    assert get_managed_task("Tester") is Tester and Tester.name == "Tester"
    point = get_managed_task("Tester_0")
    assert point.name == "Tester_0" and point is not Tester
    assert Tester.name == "Tester"
