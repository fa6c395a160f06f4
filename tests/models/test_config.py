"""The YAML config: reading, placeholders, overrides, types, and the error report."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from lute.io.config import (
    COMMAND_LINE,
    ConfigError,
    ConfigProblem,
    apply_overrides,
    check_config,
    load_config,
    load_header,
    parse_override,
    read_config_file,
)
from lute.io.models import tests as test_models
from lute.io.models.base import Field, TaskParameters
from lute.io.models.registry import UnknownModelError

ROOT = Path(__file__).resolve().parents[2]

HEADER = """\
%YAML 1.3
---
title: "Beamtime analysis"
experiment: "TST12345"
run: 12
date: "2026/11/25"
lute_version: 0.1
task_timeout: 600
work_dir: "./lute-work"
...
---
"""


def _write(tmp_path: Path, sections: str, header: str = HEADER, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(sections))
    return path


def _problems(error: ConfigError) -> List[Tuple[Optional[int], str]]:
    return [(problem.line, problem.path) for problem in error.problems]


def _only(error: ConfigError) -> ConfigProblem:
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


# -- reading -------------------------------------------------------------------------


def test_the_example_config_loads(tmp_path: Path) -> None:
    loaded = load_config(ROOT / "examples" / "config.yaml", "Test")
    model = loaded.model
    assert isinstance(model, test_models.TestParameters)
    assert model.compound_var.int_var == 10 and model.compound_var.dict_var == {"a": "b"}
    header = loaded.header
    assert (header.experiment, header.run, header.task_timeout) == ("TST12345", 12, 600)
    assert header.work_dir == str(ROOT / "examples" / "lute-work")
    # FindPeaks/Index are not installed here: noted, not refused.
    assert sorted(note.path for note in loaded.notes) == ["FindPeaks", "Index"]


def test_issue_format_with_yaml_13_directive(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        """\
        Test:
          float_var: 0.5
          str_var: "test"
          compound_var: {int_var: 10, dict_var: {a: "b"}}
          throw_error: false
        FindPeaks:
          out_file: "/data/{{ experiment }}/peaks_r{{ run:04d }}.h5"
        Index:
          in_file: "{{ FindPeaks.out_file }}"
        ...
        """,
    )
    raw = read_config_file(config)
    assert raw.header["experiment"] == "TST12345"
    assert raw.lines[("Index", "in_file")] == 20
    loaded = load_config(config, "Test", ["Test.str_var={{ Index.in_file }}"])
    assert loaded.model.float_var == 0.5
    assert loaded.model.str_var == "/data/TST12345/peaks_r0012.h5"


def test_relative_work_dir_resolves_against_the_config_directory(tmp_path: Path) -> None:
    sub = tmp_path / "configs"
    sub.mkdir()
    config = _write(sub, "Test: {}\n")
    loaded = load_config(config, "Test")
    assert loaded.header.work_dir == str(sub / "lute-work")


def test_missing_work_dir_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _write(tmp_path, "Test: {}\n", header="experiment: X\nrun: 1\n---\n")
    loaded = load_config(config, "Test", ["Test.str_var={{ work_dir }}"])
    assert loaded.header.work_dir == str(tmp_path)
    assert loaded.model.str_var == str(tmp_path)


def test_loading_writes_nothing(tmp_path: Path) -> None:
    config = _write(tmp_path, "TestWriteOutput: {}\nTestReadOutput: {in_file: /x}\n")
    before = sorted(os.listdir(tmp_path))
    load_config(config, "TestWriteOutput")
    load_config(config, "TestReadOutput")
    with pytest.raises(ConfigError):
        load_config(config, "TestReadOutput", ["TestReadOutput.in_file=null"])
    assert sorted(os.listdir(tmp_path)) == before  # no work dir, no database


def test_a_missing_section_uses_the_model_defaults(tmp_path: Path) -> None:
    loaded = load_config(_write(tmp_path, "TestSocket: {}\n"), "Test")
    assert loaded.model.float_var == 0.01 and loaded.section == {}


def test_unknown_task_name_suggests_close_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="did you mean 'Test'"):
        load_config(_write(tmp_path, "Test: {}\n"), "Tets")


def test_explicit_model_is_used_instead_of_lookup(tmp_path: Path) -> None:
    class Custom(TaskParameters):
        value: int = Field(1)

    loaded = load_config(_write(tmp_path, "Custom:\n  value: 5\n"), "Custom", model=Custom)
    assert loaded.model.value == 5


# -- placeholders ----------------------------------------------------------------------


def test_formats_several_per_string_nested_and_in_lists(tmp_path: Path) -> None:
    class Paths(TaskParameters):
        out: str = ""
        group: Dict[str, str] = {}
        files: List[str] = []

    config = _write(
        tmp_path,
        """\
        Paths:
          out: "{{ experiment }}/r{{ run:04d }}/{{run:>5}}|{{ title }}"
          group:
            inner: "run {{ run }} of {{ experiment }}"
          files: ["a_{{ run:03d }}", "{{ Paths.group.inner }}"]
        """,
    )
    model = load_config(config, "Paths", model=Paths).model
    assert model.out == "TST12345/r0012/   12|Beamtime analysis"
    assert model.group == {"inner": "run 12 of TST12345"}
    assert model.files == ["a_012", "run 12 of TST12345"]


def test_whole_value_references_keep_their_type(tmp_path: Path) -> None:
    class Typed(TaskParameters):
        count: int = 0
        numbers: List[int] = []
        label: str = ""
        first: str = ""

    config = _write(
        tmp_path,
        """\
        Other:
          count: 7
          numbers: [1, 2, 3]
          padded: 0012
        Typed:
          count: "{{ Other.count }}"
          numbers: "{{ Other.numbers }}"
          label: "{{ Other.padded }}"
          first: "{{ Other.numbers.0 }}"
        """,
    )
    model = load_config(config, "Typed", model=Typed).model
    assert (model.count, model.numbers, model.label, model.first) == (7, [1, 2, 3], "0012", "1")


def test_environment_variables(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        'Test:\n  str_var: "{{ $LUTE_TEST_BEAMLINE }}-{{ $LUTE_TEST_NUMBER:03d }}"\n',
        header='experiment: "{{ $LUTE_TEST_EXP }}"\nrun: "{{ $LUTE_TEST_NUMBER }}"\n---\n',
    )
    environ = {"LUTE_TEST_BEAMLINE": "mfx", "LUTE_TEST_NUMBER": "5", "LUTE_TEST_EXP": "mfx1"}
    loaded = load_config(config, "Test", environ=environ)
    assert loaded.model.str_var == "mfx-005"
    assert (loaded.header.experiment, loaded.header.run) == ("mfx1", 5)


def test_header_placeholders_from_other_header_values(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        "Test: {}\n",
        header='experiment: "xpp1234"\nrun: 3\nwork_dir: "scratch/{{ experiment }}"\n---\n',
    )
    assert load_config(config, "Test").header.work_dir == str(tmp_path / "scratch" / "xpp1234")


def test_placeholder_problems_are_located_and_explained(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        """\
        A:
          x: "{{ B.y }}"
        B:
          y: "{{ A.x }}"
        Test:
          str_var: "{{ A.x }}"
          float_var: "{{ runn }}"
          print_lines: "{{ $LUTE_SURELY_UNSET_VARIABLE }}"
          exit_code: "{{ run | int }}"
          compound_var:
            dict_var:
              a: "{{ B.nothing }}"
              b: "{{ title:d }}"
              c: "{{ Other.value"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", environ={})
    by_path = {problem.path: problem for problem in caught.value.problems}
    assert by_path["A.x"].line == 13
    assert "in a circle: A.x -> B.y -> A.x" in by_path["A.x"].message
    assert "'runn' is neither a header value nor a section" in by_path["Test.float_var"].message
    assert "did you mean 'run'" in by_path["Test.float_var"].message
    assert "LUTE_SURELY_UNSET_VARIABLE is not set" in by_path["Test.print_lines"].message
    assert "cannot read the placeholder {{ run | int }}" in by_path["Test.exit_code"].message
    assert "B.nothing is not set in this file" in by_path["Test.compound_var.dict_var.a"].message
    assert "cannot format" in by_path["Test.compound_var.dict_var.b"].message
    assert "without a closing" in by_path["Test.compound_var.dict_var.c"].message
    # str_var depends on the circle: reported once, at the circle, not again here.
    assert "Test.str_var" not in by_path
    assert by_path["Test.compound_var.dict_var.a"].line == 23


def test_a_list_cannot_go_inside_text(tmp_path: Path) -> None:
    config = _write(tmp_path, 'O:\n  l: [1]\nTest:\n  str_var: "x{{ O.l }}"\n')
    with pytest.raises(ConfigError, match="is a list and cannot be put inside text"):
        load_config(config, "Test")


def test_placeholders_in_unrelated_sections_are_not_filled(tmp_path: Path) -> None:
    config = _write(tmp_path, 'Test: {}\nElsewhere:\n  x: "{{ $NOT_SET_HERE_EITHER }}"\n')
    assert load_config(config, "Test", environ={}).model.str_var == "test"


# -- types ---------------------------------------------------------------------------


class Kinds(TaskParameters):
    text: str = ""
    number: int = 0
    ratio: float = 0.0
    flag: bool = False
    maybe_text: Optional[str] = None
    texts: List[str] = []
    table: Dict[str, str] = {}


def test_values_keep_the_type_the_model_asks_for(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        """\
        Kinds:
          text: 0012
          number: "0012"
          ratio: 1e-3
          flag: true
          maybe_text: 1.50
          texts: [007, yes, on, 2026-11-25, true]
          table: {a: 01, b: no}
        """,
    )
    model = load_config(config, "Kinds", model=Kinds).model
    assert model.text == "0012" and model.number == 12
    assert model.ratio == 0.001 and model.flag is True
    assert model.maybe_text == "1.50"
    assert model.texts == ["007", "yes", "on", "2026-11-25", "true"]
    assert model.table == {"a": "01", "b": "no"}


def test_placeholder_results_are_typed_by_the_model(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        'Kinds:\n  text: "{{ run:04d }}"\n  number: "{{ run:04d }}"\n  maybe_text: "{{ run }}"\n',
    )
    model = load_config(config, "Kinds", model=Kinds).model
    assert (model.text, model.number, model.maybe_text) == ("0012", 12, "12")


def test_yaml_1_1_surprises_do_not_happen(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        "Test:\n  str_var: no\n  compound_var: {int_var: 010}\n",
        header="experiment: off\nrun: 0012\ndate: 2026-11-25\n---\n",
    )
    loaded = load_config(config, "Test")
    assert loaded.model.str_var == "no"
    assert loaded.model.compound_var.int_var == 10  # not octal 8
    assert (loaded.header.experiment, loaded.header.run, loaded.header.date) == (
        "off",
        12,
        "2026-11-25",
    )


def test_null_leaves_a_computed_default_to_compute(tmp_path: Path) -> None:
    config = _write(tmp_path, "TestWriteOutput:\n  outfile_name: null\n")
    model = load_config(config, "TestWriteOutput").model
    assert model.outfile_name.endswith("test_output_TST12345_r0012.txt")


# -- overrides -----------------------------------------------------------------------


def test_overrides_apply_after_the_file_and_are_typed(tmp_path: Path) -> None:
    config = _write(tmp_path, "Test:\n  float_var: 0.5\n  str_var: a\n")
    loaded = load_config(
        config,
        "Test",
        [
            "Test.float_var=2",
            "Test.str_var=0042",
            "Test.compound_var.int_var=9",
            "Test.compound_var.dict_var={x: y}",
            "Test.throw_error=true",
            "lute_config.run=13",
            "experiment=XPP",
            "Test.float_var=3.5",
        ],
    )
    model = loaded.model
    assert (model.float_var, model.str_var, model.throw_error) == (3.5, "0042", True)
    assert model.compound_var.int_var == 9 and model.compound_var.dict_var == {"x": "y"}
    assert (loaded.header.run, loaded.header.experiment) == (13, "XPP")


def test_overrides_change_what_placeholders_see(tmp_path: Path) -> None:
    config = _write(tmp_path, 'Test:\n  str_var: "r{{ run:04d }}"\n')
    assert load_config(config, "Test", ["run=7"]).model.str_var == "r0007"


def test_parse_override_forms() -> None:
    assert parse_override("Test.a.b=[1, 2]").path == ("Test", "a", "b")
    assert parse_override("Test.a.b=[1, 2]").value == [1, 2]
    assert parse_override("run=0012").path == ("lute_config", "run")
    assert parse_override("run=0012").text == "0012"
    assert parse_override("Test.s=a: b").value == "a: b"
    assert parse_override("Test.s=").value == ""
    assert parse_override("Test.s=#x").value == "#x"
    assert parse_override("Test.s=x=y").value == "x=y"


def test_bad_overrides_are_all_reported(tmp_path: Path) -> None:
    raw = read_config_file(_write(tmp_path, "Test:\n  items: [1]\n"))
    with pytest.raises(ConfigError) as caught:
        apply_overrides(raw, ["nonsense", "Test.float_var.x=1", "lute_config=3", "Test.items.5=1"])
    problems = caught.value.problems
    assert all(problem.file == COMMAND_LINE and problem.line is None for problem in problems)
    messages = " | ".join(problem.message for problem in problems)
    assert "cannot read the override 'nonsense'" in messages
    assert "Test.float_var is a single value" not in messages  # float_var is not in the file
    assert "say which header value" in messages
    assert "the list has no position 5" in messages
    assert len(problems) == 3


def test_override_errors_point_at_the_command_line(tmp_path: Path) -> None:
    config = _write(tmp_path, "Test:\n  float_var: 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", ["Test.float_var=abc", "Test.flaot=1"])
    assert sorted((p.file, p.line, p.path) for p in caught.value.problems) == [
        (COMMAND_LINE, None, "Test.flaot"),
        (COMMAND_LINE, None, "Test.float_var"),
    ]


# -- the error report ------------------------------------------------------------------

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
    assert _problems(caught.value) == [
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
    config = _write(
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
    assert _problems(caught.value) == [
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
    found = _problems(caught.value)
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
        load_config(_write(tmp_path, "Needs:\n  other: 1\n"), "Needs", model=Needs)
    by_path = {p.path: p for p in caught.value.problems}
    missing = by_path["Needs.geometry"]
    assert missing.line == 12  # the section's line: the value is not there
    assert "required value is missing (add 'geometry: ...' under 'Needs:')" in missing.message


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    config = _write(tmp_path, "Test:\n  float_var: [1, 2\n  str_var: x\n")
    with pytest.raises(ConfigError) as caught:
        read_config_file(config)
    problem = _only(caught.value)
    assert problem.line == 14 and "not valid YAML" in problem.message


def test_file_shape_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        read_config_file(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="the file is empty"):
        read_config_file(empty)
    three = _write(tmp_path, "Test: {}\n---\nmore: 1\n", name="three.yaml")
    with pytest.raises(ConfigError, match="found 3 YAML documents"):
        load_config(three, "Test")
    no_separator = tmp_path / "one.yaml"
    no_separator.write_text("experiment: X\nTest:\n  float_var: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(no_separator, "Test")
    problem = _only(caught.value)
    assert (problem.line, problem.path) == (2, "lute_config.Test")
    assert "Task sections go in the second YAML document" in problem.message
    bad_section = _write(tmp_path, "Test: [1, 2]\n", name="bad_section.yaml")
    with pytest.raises(ConfigError, match="a Task section must hold 'parameter: value' lines"):
        load_config(bad_section, "Test")


def test_unknown_sections_strict_and_lenient(tmp_path: Path) -> None:
    config = _write(tmp_path, "Test: {}\nFindPeaks: {}\ntest_socket: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test")
    assert _problems(caught.value) == [(14, "test_socket")]  # looks like TestSocket
    lenient = _write(tmp_path, "Test: {}\nFindPeaks: {}\n", name="ok.yaml")
    assert [n.path for n in load_config(lenient, "Test").notes] == ["FindPeaks"]
    with pytest.raises(ConfigError, match="unknown section 'FindPeaks'"):
        load_config(lenient, "Test", strict=True)


def test_load_header_alone(tmp_path: Path) -> None:
    config = _write(tmp_path, "Test:\n  float_var: broken\n")
    header = load_header(config, ["run=14", "Test.float_var=also broken"])
    assert header.run == 14 and header.experiment == "TST12345"
    with pytest.raises(ConfigError, match=r"lute_config\.task_timeout"):
        load_header(config, ["task_timeout=0"])
