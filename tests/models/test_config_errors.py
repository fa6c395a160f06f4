"""The error report: every problem at once, with its file, line and parameter path."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from lute.io.config import (
    ConfigError,
    check_config,
    load_config,
)
from lute.io.models.base import Field, TaskParameters
from tests.models.config_files import problem_lines, write_sections

SEVERAL_MISTAKES = """\
%YAML 1.3
---
title: "Bad"
experiment: "TST12345"
runn: 12
task_timeout: -5
...
---
Test:
  float_var: abc
  flaot_var: 1.0
  compound_var:
    int_var: "x{{ missing }}"
    dict_var: [1, 2]
  print_lines: 3
  print_lines: 4
Tset:
  a: 1
TestSocket:
  array_size: 0
TestReadOutput: {}
TestWriteOutput:
  outfile_name: "{{ $LUTE_DEFINITELY_UNSET }}"
...
"""


def test_every_mistake_is_reported_with_line_and_path(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(SEVERAL_MISTAKES)
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", environ={})
    assert problem_lines(caught.value) == [
        (5, "lute_config.runn"),
        (6, "lute_config.task_timeout"),
        (10, "Test.float_var"),
        (11, "Test.flaot_var"),
        (13, "Test.compound_var.int_var"),
        (14, "Test.compound_var.dict_var"),
        (16, "Test.print_lines"),
        (17, "Tset"),
    ]
    text = str(caught.value)
    assert text.startswith("8 problems in %s:" % config)
    for expected in (
        "bad.yaml:5: lute_config.runn: unknown parameter 'runn' for the header; "
        "did you mean 'run'?",
        "bad.yaml:6: lute_config.task_timeout: must be greater than 0, got -5 (a number)",
        "bad.yaml:10: Test.float_var: wrong type: expected a number, got 'abc' (text)",
        "bad.yaml:11: Test.flaot_var: unknown parameter 'flaot_var' for this Task; "
        "did you mean 'float_var'",
        "bad.yaml:13: Test.compound_var.int_var: {{ missing }}: 'missing' is neither",
        "bad.yaml:14: Test.compound_var.dict_var: wrong type: expected a mapping",
        "bad.yaml:16: Test.print_lines: 'print_lines' is given twice (first on line 15)",
        "bad.yaml:17: Tset: unknown section 'Tset': no Task has that name; did you mean 'Test'?",
    ):
        assert expected in text


def test_check_config_reports_every_section(tmp_path: Path) -> None:
    config = write_sections(
        tmp_path,
        """\
        Test:
          float_var: abc
        TestSocket:
          array_size: 0
        TestReadOutput: {}
        TestWriteOutput:
          outfile_name: "{{ $LUTE_DEFINITELY_UNSET }}"
        Elsewhere: {}
        ...
        """,
    )
    with pytest.raises(ConfigError) as caught:
        check_config(config, environ={})
    assert problem_lines(caught.value) == [
        (13, "Test.float_var"),
        (15, "TestSocket.array_size"),
        (16, "TestReadOutput.in_file"),  # no database yet: the hint is given
        (18, "TestWriteOutput.outfile_name"),
        (19, "Elsewhere"),  # every section must be a known Task here
    ]
    messages = {p.path: p.message for p in caught.value.problems}
    assert (
        "run TestWriteOutput (managed task WriteTester) first" in messages["TestReadOutput.in_file"]
    )
    assert "LUTE_DEFINITELY_UNSET is not set" in messages["TestWriteOutput.outfile_name"]


def test_header_errors_are_reported_once_in_check_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(SEVERAL_MISTAKES)
    with pytest.raises(ConfigError) as caught:
        check_config(config, environ={})
    found = problem_lines(caught.value)
    assert found.count((5, "lute_config.runn")) == 1
    assert (20, "TestSocket.array_size") in found
    # Computed defaults wait for a valid header: no extra noise about them.
    assert [item for item in found if item[1].startswith("TestReadOutput")] == []
    assert [item for item in found if item[1].startswith("TestWriteOutput")] == [
        (23, "TestWriteOutput.outfile_name")  # the unset variable, nothing else
    ]


def test_missing_required_value(tmp_path: Path) -> None:
    class Needs(TaskParameters):
        geometry: str = Field(..., description="Detector geometry file.")

    with pytest.raises(ConfigError) as caught:
        load_config(write_sections(tmp_path, "Needs:\n  other: 1\n"), "Needs", model=Needs)
    by_path = {p.path: p for p in caught.value.problems}
    missing = by_path["Needs.geometry"]
    assert missing.line == 12  # the section's line: the value is not there
    assert "required value is missing (add 'geometry: ...' under 'Needs:')" in missing.message


def test_unknown_sections_strict_and_lenient(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test: {}\nFindPeaks: {}\ntest_socket: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test")
    assert problem_lines(caught.value) == [(14, "test_socket")]  # looks like TestSocket
    lenient = write_sections(tmp_path, "Test: {}\nFindPeaks: {}\n", name="ok.yaml")
    assert [n.path for n in load_config(lenient, "Test").notes] == ["FindPeaks"]
    with pytest.raises(ConfigError, match="unknown section 'FindPeaks'"):
        load_config(lenient, "Test", strict=True)


def test_installed_tasks_are_listed_only_for_a_name_no_built_in_task_has(
    tmp_path: Path,
) -> None:
    """Listing installed Tasks reads every distribution's entry points: a config of
    built-in Tasks' sections (sweep points included) is checked without it."""
    from lute.io.config import read_config_file
    from lute.io.config._validate import structure_problems

    listed = []

    def known() -> List[str]:
        listed.append(1)
        return ["Test", "TestSocket", "FindPeaks"]

    built_in = read_config_file(
        str(write_sections(tmp_path, "Test: {}\nTest_7: {}\nTestSocket: {}\n"))
    )
    errors, notes, _ = structure_problems(built_in, known, ["Test"], True)
    assert (errors, notes, listed) == ([], [], [])
    installed = read_config_file(
        str(write_sections(tmp_path, "Test: {}\nFindPeaks: {}\n", name="plugin.yaml"))
    )
    errors, notes, _ = structure_problems(installed, known, ["Test"], True)
    assert (errors, notes, listed) == ([], [], [1])  # FindPeaks is an installed Task here
