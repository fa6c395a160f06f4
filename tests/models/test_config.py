"""Loading a config: one Task, the header alone, from a path or from the file as read."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from lute.io.config import (
    ConfigError,
    check_config,
    load_config,
    load_header,
    read_config_file,
)
from lute.io.models import tests as test_models
from lute.io.models.base import Field, TaskParameters
from lute.io.models.registry import UnknownModelError
from tests.models.config_files import ROOT, problem_lines, write_sections


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


def test_relative_work_dir_resolves_against_the_config_directory(tmp_path: Path) -> None:
    sub = tmp_path / "configs"
    sub.mkdir()
    config = write_sections(sub, "Test: {}\n")
    loaded = load_config(config, "Test")
    assert loaded.header.work_dir == str(sub / "lute-work")


def test_missing_work_dir_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_sections(tmp_path, "Test: {}\n", header="experiment: X\nrun: 1\n---\n")
    loaded = load_config(config, "Test", ["Test.str_var={{ work_dir }}"])
    assert loaded.header.work_dir == str(tmp_path)
    assert loaded.model.str_var == str(tmp_path)


def test_loading_writes_nothing(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "TestWriteOutput: {}\nTestReadOutput: {in_file: /x}\n")
    before = sorted(os.listdir(tmp_path))
    load_config(config, "TestWriteOutput")
    load_config(config, "TestReadOutput")
    with pytest.raises(ConfigError):
        load_config(config, "TestReadOutput", ["TestReadOutput.in_file=null"])
    assert sorted(os.listdir(tmp_path)) == before  # no work dir, no database


def test_a_missing_section_uses_the_model_defaults(tmp_path: Path) -> None:
    loaded = load_config(write_sections(tmp_path, "TestSocket: {}\n"), "Test")
    assert loaded.model.float_var == 0.01 and loaded.section == {}


def test_unknown_task_name_suggests_close_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="did you mean 'Test'"):
        load_config(write_sections(tmp_path, "Test: {}\n"), "Tets")


def test_explicit_model_is_used_instead_of_lookup(tmp_path: Path) -> None:
    class Custom(TaskParameters):
        value: int = Field(1)

    loaded = load_config(write_sections(tmp_path, "Custom:\n  value: 5\n"), "Custom", model=Custom)
    assert loaded.model.value == 5


def test_load_header_alone(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  float_var: broken\n")
    header = load_header(config, ["run=14", "Test.float_var=also broken"])
    assert header.run == 14 and header.experiment == "TST12345"
    with pytest.raises(ConfigError, match=r"lute_config\.task_timeout"):
        load_header(config, ["task_timeout=0"])


def test_the_file_as_read_is_loaded_without_reading_it_again(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  float_var: 0.5\nTestSocket: {}\n")
    raw = read_config_file(config)
    before = copy.deepcopy(raw)
    config.unlink()
    loaded = load_config(raw, "Test", ["Test.str_var=given", "run=13"])
    assert (loaded.model.float_var, loaded.model.str_var, loaded.header.run) == (0.5, "given", 13)
    assert loaded.header.work_dir == str(tmp_path / "lute-work")  # still the file's directory
    assert loaded.raw.path == config and loaded.raw.header["run"] == 13
    assert load_header(raw, ["run=14"]).run == 14
    assert check_config(raw) == []
    assert raw == before  # overrides went to a copy


def test_problems_of_the_file_as_read_name_its_lines(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  float_var: abc\n  str_var: a\n  str_var: b\n")
    raw = read_config_file(config)
    for load in (
        lambda source: load_config(source, "Test"),
        check_config,
    ):
        with pytest.raises(ConfigError) as from_path:
            load(config)
        with pytest.raises(ConfigError) as from_raw:
            load(raw)
        assert str(from_raw.value) == str(from_path.value)
        assert problem_lines(from_raw.value) == [(13, "Test.float_var"), (15, "Test.str_var")]
