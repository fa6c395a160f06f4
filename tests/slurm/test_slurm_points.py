"""Runs and sweeps expanded into points, each with its overrides."""

from __future__ import annotations

from typing import Any, Tuple

import pytest

from lute.execution.slurm._errors import SubmitError
from lute.execution.slurm._points import (
    axes_from_block,
    axis_from_sweep,
    axis_from_zip,
    combine_axes,
    expand_points,
    parse_runs,
    value_text,
)


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("12", ["12"]),
        ("12-15,20", ["12", "13", "14", "15", "20"]),
        ("1-9:4", ["1", "5", "9"]),
        ("3,1-3", ["3", "1", "2"]),
        ("dark,12", ["dark", "12"]),
    ],
)
def test_runs(text: str, runs: list) -> None:  # type: ignore[type-arg]
    assert parse_runs(text) == runs


@pytest.mark.parametrize("text", ["", "12-", "5-3", "1-9:0", "1,,2", "a b"])
def test_bad_runs_are_refused(text: str) -> None:
    with pytest.raises(SubmitError, match="--runs"):
        parse_runs(text)


def test_sweep_values_split_at_top_level_commas() -> None:
    axis = axis_from_sweep('Test.str_var="a,b",c,[1, 2],{x: 1}')
    assert axis.keys == ("Test.str_var",)
    assert axis.values == (('"a,b"',), ("c",), ("[1, 2]",), ("{x: 1}",))
    assert axis_from_sweep("run=1,2").keys == ("lute_config.run",)


@pytest.mark.parametrize("text", ["Test.float_var", "=1,2", "Test.float_var=1,,2"])
def test_bad_sweeps_are_refused(text: str) -> None:
    with pytest.raises(SubmitError, match="--sweep"):
        axis_from_sweep(text)


def test_zip_takes_lists_side_by_side() -> None:
    axis = axis_from_zip(["Test.float_var=0.1,0.2", "Test.str_var=a,b"])
    assert axis is not None
    assert axis.keys == ("Test.float_var", "Test.str_var")
    assert axis.values == (("0.1", "a"), ("0.2", "b"))
    assert axis_from_zip([]) is None
    with pytest.raises(SubmitError, match=r"as long: Test\.float_var has 2, Test\.str_var has 3"):
        axis_from_zip(["Test.float_var=0.1,0.2", "Test.str_var=a,b,c"])


def test_points_are_runs_times_the_product_of_the_axes() -> None:
    axes = [axis_from_sweep("Test.float_var=0.1,0.2"), axis_from_sweep("Test.str_var=a,b,c")]
    points = expand_points(["12", "13"], axes)
    assert len(points) == 12
    assert [p.index for p in points] == list(range(12))
    assert points[0].overrides == (
        "lute_config.run=12",
        "Test.float_var=0.1",
        "Test.str_var=a",
    )
    assert points[1].values == ("Test.float_var=0.1", "Test.str_var=b")
    assert points[6].run == "13" and points[6].label == "p0"
    assert points[11].label == "p5"
    assert [p.label for p in expand_points(["1", "2"], [])] == ["", ""]
    assert [p.label for p in expand_points(None, axes[:1])] == ["p0", "p1"]
    [single] = expand_points(None, [])
    assert single.overrides == () and single.label == ""


def _where(path: Tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def test_config_blocks_give_axes_with_their_source_text() -> None:
    block = {
        "sweep": {"Test.str_var": ["0012", 3], "Test.float_var": [0.5]},
        "zip": [{"Test.a": [1, 2], "Test.b": [True, None]}],
    }
    texts = {("lute_config", "slurm", "sweep", "Test.str_var", 1): "3"}
    axes, problems = axes_from_block(block, ("lute_config", "slurm"), texts, _where)
    assert problems == []
    assert [axis.keys for axis in axes] == [
        ("Test.str_var",),
        ("Test.float_var",),
        ("Test.a", "Test.b"),
    ]
    assert axes[0].values == (('"0012"',), ("3",))
    assert axes[2].values == (("1", "true"), ("2", "null"))


def test_config_block_problems() -> None:
    block = {"sweep": {"Test.x": [], "bad key": [1]}, "zip": {"Test.a": [1], "Test.b": [1, 2]}}
    _axes, problems = axes_from_block(block, ("lute_config", "slurm"), {}, _where)
    assert problems == [
        ("lute_config.slurm.sweep.Test.x", "expected a non-empty list of values"),
        ("lute_config.slurm.sweep.bad key", "'bad key' is not a parameter (Task.param)"),
        (
            "lute_config.slurm.zip",
            "zipped lists must be as long as one another: Test.a has 1, Test.b has 2",
        ),
    ]


def test_higher_levels_win_per_parameter() -> None:
    command_line = [axis_from_sweep("Test.float_var=1,2")]
    header, _ = axes_from_block(
        {"sweep": {"Test.float_var": [7], "Test.str_var": ["a", "b"]}}, ("h",), {}, _where
    )
    axes = combine_axes([command_line, header])
    assert [axis.keys for axis in axes] == [("Test.float_var",), ("Test.str_var",)]
    assert axes[0].values == (("1",), ("2",))
    with pytest.raises(SubmitError, match="swept twice"):
        combine_axes([[axis_from_sweep("Test.x=1"), axis_from_sweep("Test.x=2")]])


def test_value_texts_read_back_as_the_same_value() -> None:
    from lute.io.config import parse_override

    for value in ["text", 'with "quotes" and {{ run }}', 0.1, 12, True, None, [1, "a"], {"k": 2}]:
        assert parse_override("Test.x=%s" % value_text(value)).value == value
