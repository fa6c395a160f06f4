"""Reading a config file: its two documents, their lines, and files that are not configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lute.io.config import (
    ConfigError,
    load_config,
    read_config_file,
)
from tests.models.config_files import only, write_sections


def test_issue_format_with_yaml_13_directive(tmp_path: Path) -> None:
    config = write_sections(
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


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  float_var: [1, 2\n  str_var: x\n")
    with pytest.raises(ConfigError) as caught:
        read_config_file(config)
    problem = only(caught.value)
    assert problem.line == 14 and "not valid YAML" in problem.message


def test_file_shape_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        read_config_file(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="the file is empty"):
        read_config_file(empty)
    three = write_sections(tmp_path, "Test: {}\n---\nmore: 1\n", name="three.yaml")
    with pytest.raises(ConfigError, match="found 3 YAML documents"):
        load_config(three, "Test")
    no_separator = tmp_path / "one.yaml"
    no_separator.write_text("experiment: X\nTest:\n  float_var: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(no_separator, "Test")
    problem = only(caught.value)
    assert (problem.line, problem.path) == (2, "lute_config.Test")
    assert "Task sections go in the second YAML document" in problem.message
    bad_section = write_sections(tmp_path, "Test: [1, 2]\n", name="bad_section.yaml")
    with pytest.raises(ConfigError, match="a Task section must hold 'parameter: value' lines"):
        load_config(bad_section, "Test")


def test_binary_garbage_is_a_config_error_naming_the_byte(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"title: x\nrun: 1\n\x89PNG\r\n\x1a\n\x00\xff")
    for read in (read_config_file, lambda path: load_config(path, "Test")):
        with pytest.raises(ConfigError) as caught:
            read(garbage)
        problem = only(caught.value)
        assert (problem.file, problem.line, problem.path) == (str(garbage), 3, "")
        assert problem.message == (
            "cannot read the config file: it is not UTF-8 text (byte 0x89 at offset 16); "
            "a config is a YAML text file"
        )
    assert str(caught.value).startswith("1 problem in %s:\n  %s:3: " % (garbage, garbage))


def test_the_offset_of_a_bad_byte_is_counted_in_the_whole_file(tmp_path: Path) -> None:
    late = tmp_path / "late.yaml"
    late.write_bytes(b"title: x\n" + b"# padding\n" * 2000 + b"run: \xe9\n")
    with pytest.raises(ConfigError) as caught:
        read_config_file(late)
    problem = only(caught.value)
    assert problem.line == 2002
    assert "(byte 0xe9 at offset 20014)" in problem.message


def test_control_characters_are_a_yaml_error_with_their_line(tmp_path: Path) -> None:
    config = write_sections(tmp_path, "Test:\n  str_var: a\x00b\n")
    with pytest.raises(ConfigError) as caught:
        read_config_file(config)
    problem = only(caught.value)
    assert problem.line == 13
    assert problem.message == (
        "this is not valid YAML: unacceptable character #x0000: special characters are not allowed"
    )


def test_windows_and_old_mac_line_ends_read_like_unix_ones(tmp_path: Path) -> None:
    unix = write_sections(tmp_path, "Test:\n  str_var: |\n    a\n    b\n", name="unix.yaml")
    text = unix.read_text()
    for name, newline in (("dos.yaml", "\r\n"), ("mac.yaml", "\r")):
        other = tmp_path / name
        other.write_bytes(text.replace("\n", newline).encode())
        raw = read_config_file(other)
        assert raw.sections == read_config_file(unix).sections == {"Test": {"str_var": "a\nb\n"}}
        assert raw.lines == read_config_file(unix).lines
