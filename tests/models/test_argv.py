"""Third-party parameters -> argument lists: every flag style, run for real where useful."""

from __future__ import annotations

import enum
import subprocess
from pathlib import Path
from typing import Any, List, Optional

import pytest

from lute.io.models import tests as test_models
from lute.io.models.argv import ArgvError, to_argv
from lute.io.models.base import AnalysisHeader, Field, ThirdPartyParameters


def _header(tmp_path: Path) -> AnalysisHeader:
    return AnalysisHeader(experiment="TST12345", run=12, work_dir=str(tmp_path))


class Mode(enum.Enum):
    FAST = "fast"


class Program(ThirdPartyParameters):
    executable: str = "/bin/echo"
    p: int = Field(5, flag_type="-")
    param: str = Field("x", flag_type="--")
    p_arg1: str = Field("input.h5", flag_type="")
    verbose: bool = Field(True, flag_type="--")
    quiet: bool = Field(False, flag_type="--")
    v: bool = Field(True, flag_type="-")
    skipped: Optional[str] = Field(None, flag_type="--")
    empty: str = Field("", flag_type="--")
    zero: int = Field(0, flag_type="--")
    mode: Mode = Field(Mode.FAST, flag_type="--")
    where: Path = Field(Path("/tmp/out"), flag_type="--")
    note: str = Field("for a template", is_flag=False)


def test_each_flag_style_in_field_order(tmp_path: Path) -> None:
    argv = to_argv(Program(lute_config=_header(tmp_path)))
    assert argv == [
        "/bin/echo",
        "-p",
        "5",
        "--param",
        "x",
        "input.h5",
        "--verbose",
        "-v",
        "--zero",
        "0",
        "--mode",
        "fast",
        "--where",
        "/tmp/out",
    ]


class EqProgram(Program):
    class Config(Program.Config):
        short_flags_use_eq = True
        long_flags_use_eq = True


def test_eq_styles_from_model_options(tmp_path: Path) -> None:
    argv = to_argv(EqProgram(lute_config=_header(tmp_path)))
    assert argv[1:5] == ["-p=5", "--param=x", "input.h5", "--verbose"]
    assert "--zero=0" in argv and "--verbose=True" not in argv


class OnlyShortEq(Program):
    class Config(Program.Config):
        short_flags_use_eq = True


def test_short_and_long_eq_options_are_independent(tmp_path: Path) -> None:
    argv = to_argv(OnlyShortEq(lute_config=_header(tmp_path)))
    assert argv[1:4] == ["-p=5", "--param", "x"]


class PerField(ThirdPartyParameters):
    executable: str = "prog"
    level: int = Field(3, flag_type="--", flag_use_eq=True)
    plain: int = Field(4, flag_type="--")


def test_per_field_eq_overrides_the_model_option(tmp_path: Path) -> None:
    assert to_argv(PerField(lute_config=_header(tmp_path))) == [
        "prog",
        "--level=3",
        "--plain",
        "4",
    ]


class Lists(ThirdPartyParameters):
    executable: str = "prog"
    spread: List[str] = Field(["a", "b"], flag_type="--")
    repeat: List[int] = Field([1, 2], flag_type="-", list_style="repeat")
    joined: List[str] = Field(["x", "y"], flag_type="--", list_style="join", list_sep=":")
    none: List[str] = Field([], flag_type="--")
    p_arg_files: List[str] = Field(["f1", "f2"])


def test_list_styles(tmp_path: Path) -> None:
    assert to_argv(Lists(lute_config=_header(tmp_path))) == [
        "prog",
        "--spread",
        "a",
        "b",
        "-repeat",
        "1",
        "-repeat",
        "2",
        "--joined",
        "x:y",
        "f1",
        "f2",
    ]


class EqLists(Lists):
    class Config(Lists.Config):
        short_flags_use_eq = True
        long_flags_use_eq = True


def test_list_styles_in_eq_style(tmp_path: Path) -> None:
    argv = to_argv(EqLists(lute_config=_header(tmp_path)))
    assert argv == ["prog", "--spread=a,b", "-repeat=1", "-repeat=2", "--joined=x:y", "f1", "f2"]


class SeedNames(ThirdPartyParameters):
    """No flag_type anywhere: the seed's naming rule decides."""

    executable: str = "prog"
    n: int = 2
    threads: int = 8
    p_arg1: str = "pos"
    out_file: str = Field("o.h5", rename_param="out-file")


def test_seed_naming_rule_without_flag_type(tmp_path: Path) -> None:
    assert to_argv(SeedNames(lute_config=_header(tmp_path))) == [
        "prog",
        "-n",
        "2",
        "--threads",
        "8",
        "pos",
        "--out-file",
        "o.h5",
    ]


class Extras(ThirdPartyParameters):
    class Config(ThirdPartyParameters.Config):
        extra = "allow"

    executable: str = "prog"


def test_undeclared_keys_go_to_the_templates_not_the_command_line(tmp_path: Path) -> None:
    """As in the original LUTE: keys the model does not declare are for its config-file
    templates (mappings too), never arguments; declared fields keep the flag rules."""
    from lute.io.models.templates import template_context

    model = Extras(lute_config=_header(tmp_path), j=4, block_size=16, phil={"a": {"b": 1}})
    assert to_argv(model) == ["prog"]
    context = template_context(model)
    assert (context["j"], context["block_size"], context["phil"]) == (4, 16, {"a": {"b": 1}})


def test_a_mapping_value_is_a_clear_error(tmp_path: Path) -> None:
    class WithDict(ThirdPartyParameters):
        executable: str = "prog"
        table: Any = Field(None, flag_type="--")

    with pytest.raises(ArgvError, match="'table' is a mapping"):
        to_argv(WithDict(lute_config=_header(tmp_path), table={"a": 1}))


def test_bad_markers_are_clear_errors(tmp_path: Path) -> None:
    class BadFlag(ThirdPartyParameters):
        executable: str = "prog"
        x: int = Field(1, flag_type="+")

    class BadList(ThirdPartyParameters):
        executable: str = "prog"
        xs: List[int] = Field([1], list_style="zip")

    with pytest.raises(ArgvError, match="flag_type must be"):
        to_argv(BadFlag(lute_config=_header(tmp_path)))
    with pytest.raises(ArgvError, match="list_style must be"):
        to_argv(BadList(lute_config=_header(tmp_path)))


def test_missing_executable(tmp_path: Path) -> None:
    with pytest.raises(ArgvError, match="no executable"):
        to_argv(Program(lute_config=_header(tmp_path), executable=""))


def test_values_with_spaces_stay_one_argument(tmp_path: Path) -> None:
    argv = to_argv(Program(lute_config=_header(tmp_path), param="two words; rm -rf /"))
    assert argv[3:5] == ["--param", "two words; rm -rf /"]


def test_test_binary_model_runs_for_real(tmp_path: Path) -> None:
    model = test_models.TestBinaryParameters(lute_config=_header(tmp_path))
    argv = to_argv(model)
    assert argv == [
        "/bin/echo",
        "-p",
        "1",
        "--param",
        "long",
        "--level=3",
        "--verbose",
        "--items",
        "a",
        "b",
        "--out-file",
        "result.txt",
        "positional",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == " ".join(argv[1:]) + "\n"
