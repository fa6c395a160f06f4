"""Command-line overrides: their forms, their order, and their problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from lute.io.config import (
    COMMAND_LINE,
    ConfigError,
    apply_overrides,
    load_config,
    parse_override,
    read_config_file,
)
from tests.models.config_files import write_sections


def test_overrides_apply_after_the_file_and_are_typed(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  float_var: 0.5\n  str_var: a\n")
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
    config = write_sections(tmp_path, 'Test:\n  str_var: "r{{ run:04d }}"\n')
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
    raw = read_config_file(write_sections(tmp_path, "Test:\n  items: [1]\n"))
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
    config = write_sections(tmp_path, "Test:\n  float_var: 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", ["Test.float_var=abc", "Test.flaot=1"])
    assert sorted((p.file, p.line, p.path) for p in caught.value.problems) == [
        (COMMAND_LINE, None, "Test.flaot"),
        (COMMAND_LINE, None, "Test.float_var"),
    ]


def test_a_bare_name_of_the_task_s_parameter_is_shown_how_to_write_it(tmp_path: Path) -> None:
    """``float_var=2`` is a header value; when the Task has that parameter, say so."""
    config = write_sections(tmp_path, "Test:\n  float_var: 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", ["float_var=2", "runn=3"])
    messages = sorted(p.message for p in caught.value.problems)
    assert messages[0] == (
        "unknown parameter 'float_var' for the header; 'float_var' is a parameter of this "
        "Task: write Test.float_var=..."
    )
    assert messages[1].startswith("unknown parameter 'runn' for the header; did you mean 'run'")


def test_an_override_of_a_section_the_run_does_not_read_is_refused(tmp_path: Path) -> None:
    """Applied to a section nobody validates, it would be dropped without a word."""
    config = write_sections(tmp_path, "Test:\n  float_var: 0.5\nTest_7:\n  float_var: 0.7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", ["Tset.float_var=2", "Test.float_var=abc", "run=3"])
    problems = {p.path: p for p in caught.value.problems}
    assert sorted((p.file, path) for path, p in problems.items()) == [
        (COMMAND_LINE, "Test.float_var"),  # the others are reported with it
        (COMMAND_LINE, "Tset.float_var"),
    ]
    assert problems["Tset.float_var"].message == (
        "cannot set 'Tset.float_var=2': this run reads only section 'Test' and the header "
        "(lute_config)"
    )
    # A sweep point reads its own section: the base section's name is the likely slip.
    with pytest.raises(ConfigError) as caught:
        load_config(config, "Test", ["Test.float_var=2"], section="Test_7")
    [problem] = caught.value.problems
    assert problem.message == (
        "cannot set 'Test.float_var=2': a sweep point reads its own section 'Test_7', not "
        "'Test': write Test_7.float_var=..."
    )
    point = load_config(config, "Test", ["Test_7.float_var=2", "run=3"], section="Test_7")
    assert (point.model.float_var, point.header.run) == (2.0, 3)
