"""sbatch options: names, values, the command line's syntax, and the layers' precedence."""

from __future__ import annotations

import pytest

from lute.execution.slurm._options import (
    OPTION_KINDS,
    Option,
    check_value,
    layer_from_mapping,
    merge,
    parse_command_line,
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("partition", "milano"),
        ("time", "30"),
        ("time", "1:30"),
        ("time", "01:00:00"),
        ("time", "2-12"),
        ("time", "2-12:30"),
        ("time", "2-12:30:00"),
        ("time", "UNLIMITED"),
        ("ntasks", "4"),
        ("nodes", "2-4"),
        ("mem", "4G"),
        ("mem-per-cpu", "4000"),
        ("signal", "B:USR1@120"),
        ("exclusive", None),
        ("exclusive", "user"),
        ("oversubscribe", None),
        ("dependency", "afterok:12"),
    ],
)
def test_good_values_pass(name: str, value: str) -> None:
    assert check_value(name, value) is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("partiton", "x", "unknown sbatch option 'partiton'; did you mean 'partition'?"),
        ("time", "1h", "--time: expected a time limit"),
        ("time", "1:2:3:4", "--time: expected a time limit"),
        ("ntasks", "0", "--ntasks: expected a whole number above 0, got '0'"),
        ("ntasks", "four", "--ntasks: expected a whole number above 0"),
        ("nodes", "2-x", "--nodes: expected a node count"),
        ("mem", "4 GB", "--mem: expected a size"),
        ("signal", "USR1@@1", "--signal: expected"),
        ("oversubscribe", "yes", "--oversubscribe takes no value"),
        ("partition", None, "--partition needs a value"),
        ("partition", "a\nb", "one non-empty line"),
        ("array", "0-3", "--array is set by lute-exec submit: lute-exec submit makes the array"),
        ("output", "x.out", "--output is set by lute-exec submit"),
        ("wrap", "true", "--wrap is set by lute-exec submit"),
    ],
)
def test_bad_values_say_what_is_wrong(name: str, value: str, says: str) -> None:
    problem = check_value(name, value)
    assert problem is not None and says in problem


def test_the_table_knows_sbatch_s_common_options() -> None:
    for name in ("account", "qos", "cpus-per-task", "gpus", "mem", "time", "nodes", "ntasks"):
        assert name in OPTION_KINDS


def test_command_line_syntax() -> None:
    layer, problems = parse_command_line(
        ["--time=1:00:00", "--partition", "milano", "-n", "4", "-c2", "-s", "--exclusive"]
    )
    assert problems == []
    assert {name: option.value for name, option in layer.items() if option} == {
        "time": "1:00:00",
        "partition": "milano",
        "ntasks": "4",
        "cpus-per-task": "2",
        "oversubscribe": None,
        "exclusive": None,
    }
    assert {option.source for option in layer.values() if option} == {"command line"}


def test_command_line_problems_name_the_option() -> None:
    _layer, problems = parse_command_line(["--tme=5", "-Z", "stray", "--ntasks=x"])
    assert [text for _where, text in problems] == [
        "unknown sbatch option 'tme'; did you mean 'time'?",
        "-Z: unknown sbatch option '-Z'",
        "'stray': not an sbatch option (options go after `--`, Task.param=value before it)",
        "--ntasks: expected a whole number above 0, got 'x'",
    ]


def test_mappings_read_yaml_values() -> None:
    where = {}
    layer, problems = layer_from_mapping(
        {"cpus_per_task": 2, "exclusive": True, "time": "1:00:00", "qos": None, "mem": 4.0},
        lambda key: where.setdefault(key, "file:%s" % key),
    )
    assert problems == []
    assert layer["cpus-per-task"] == Option("cpus-per-task", "2", "file:cpus_per_task")
    assert layer["exclusive"] == Option("exclusive", None, "file:exclusive")
    assert layer["mem"] == Option("mem", "4", "file:mem")
    assert layer["qos"] is None  # removes a lower layer's


def test_mapping_problems_come_with_their_source() -> None:
    _layer, problems = layer_from_mapping(
        {"partiton": "x", "ntasks": [1, 2], "time": "soon"}, lambda key: "here (%s)" % key
    )
    assert problems == [
        ("here (partiton)", "unknown sbatch option 'partiton'; did you mean 'partition'?"),
        ("here (ntasks)", "an sbatch option takes one value, got [1, 2]"),
        (
            "here (time)",
            "--time: expected a time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
            "D-HH:MM:SS or UNLIMITED, got 'soon'",
        ),
    ]


def test_merge_lays_higher_layers_over_lower_ones() -> None:
    low = {"partition": Option("partition", "a", "low"), "qos": Option("qos", "x", "low")}
    high = {"partition": Option("partition", "b", "high"), "qos": None}
    merged = merge([low, high])
    assert merged == {"partition": Option("partition", "b", "high")}
    assert Option("time", "5", "x").argument() == "--time=5"
    assert Option("exclusive", None, "x").argument() == "--exclusive"
