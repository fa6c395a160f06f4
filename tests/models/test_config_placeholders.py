"""``{{ ... }}`` placeholders: forms, formats, types kept, and their problems."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from lute.io.config import (
    ConfigError,
    load_config,
)
from lute.io.models.base import TaskParameters
from tests.models.config_files import write_sections


def test_formats_several_per_string_nested_and_in_lists(tmp_path: Path) -> None:
    class Paths(TaskParameters):
        out: str = ""
        group: Dict[str, str] = {}
        files: List[str] = []

    config = write_sections(
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

    config = write_sections(
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
    config = write_sections(
        tmp_path,
        'Test:\n  str_var: "{{ $LUTE_TEST_BEAMLINE }}-{{ $LUTE_TEST_NUMBER:03d }}"\n',
        header='experiment: "{{ $LUTE_TEST_EXP }}"\nrun: "{{ $LUTE_TEST_NUMBER }}"\n---\n',
    )
    environ = {"LUTE_TEST_BEAMLINE": "mfx", "LUTE_TEST_NUMBER": "5", "LUTE_TEST_EXP": "mfx1"}
    loaded = load_config(config, "Test", environ=environ)
    assert loaded.model.str_var == "mfx-005"
    assert (loaded.header.experiment, loaded.header.run) == ("mfx1", 5)


def test_header_placeholders_from_other_header_values(tmp_path: Path) -> None:
    config = write_sections(
        tmp_path,
        "Test: {}\n",
        header='experiment: "xpp1234"\nrun: 3\nwork_dir: "scratch/{{ experiment }}"\n---\n',
    )
    assert load_config(config, "Test").header.work_dir == str(tmp_path / "scratch" / "xpp1234")


def test_placeholder_problems_are_located_and_explained(tmp_path: Path) -> None:
    config = write_sections(
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
    config = write_sections(tmp_path, 'O:\n  l: [1]\nTest:\n  str_var: "x{{ O.l }}"\n')
    with pytest.raises(ConfigError, match="is a list and cannot be put inside text"):
        load_config(config, "Test")


def test_placeholders_in_unrelated_sections_are_not_filled(tmp_path: Path) -> None:
    config = write_sections(tmp_path, 'Test: {}\nElsewhere:\n  x: "{{ $NOT_SET_HERE_EITHER }}"\n')
    assert load_config(config, "Test", environ={}).model.str_var == "test"
