"""The header before validation: what it knows, what it leaves to validation, no pydantic."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

from lute.io.config import (
    ConfigError,
    EarlyHeader,
    RawConfig,
    early_header,
    load_config,
    read_config_file,
)
from tests.models.config_files import write_sections

SECTIONS = """\
Test:
  float_var: 0.5
Paths:
  env: "/envs/from-a-section"
"""


def _config(tmp_path: Path, header: str, sections: str = SECTIONS) -> Path:
    return write_sections(tmp_path, sections, header=textwrap.dedent(header) + "---\n")


def _early(
    path: Path,
    overrides: Sequence[str] = (),
    names: Sequence[str] = ("Tester", "Test"),
    environ: Dict[str, str] = {},  # noqa: B006 - never changed
) -> EarlyHeader:
    return early_header(read_config_file(path), overrides, names=names, environ=environ)


def _problems(path: Path, overrides: Sequence[str] = ()) -> List[str]:
    """What the full load reports, from the path and from the file as read: the same."""
    texts = []
    for source in (path, read_config_file(path)):
        with pytest.raises(ConfigError) as caught:
            load_config(source, "Test", overrides, environ={})
        texts.append(str(caught.value))
    assert texts[0] == texts[1]
    return [str(problem) for problem in caught.value.problems]


# -- what is known ---------------------------------------------------------------------


def test_header_values_for_the_executor(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        experiment: TST1
        work_dir: ./work
        mpi_ranks: 4
        task_environments:
          Test: {conda: psana}
          Tester: {venv: ./env, keep: [PYTHONPATH]}
          Other: {python: /usr/bin/python3}
        """,
    )
    early = _early(path)
    assert early.config_dir == str(tmp_path)
    assert early.work_dir == str(tmp_path / "work")
    assert (early.mpi_ranks, early.mpi_ranks_set) == (4, True)
    # The names' entries in the order asked for, relative paths as written.
    assert early.task_environments == {
        "Tester": {"venv": "./env", "keep": ["PYTHONPATH"]},
        "Test": {"conda": "psana"},
    }
    assert list(early.task_environments) == ["Tester", "Test"]
    assert early.resolve_path("./env") == str(tmp_path / "env")
    assert early.resolve_path("/abs/env") == "/abs/env"
    assert early.resolve_path("~/env") == os.path.expanduser("~/env")
    assert _early(path, names=["Nobody"]).task_environments == {}
    assert _early(path, names=None).task_environments == {  # type: ignore[arg-type]
        "Test": {"conda": "psana"},
        "Tester": {"venv": "./env", "keep": ["PYTHONPATH"]},
        "Other": {"python": "/usr/bin/python3"},
    }
    # The same values as validation gives.
    header = load_config(read_config_file(path), "Test").header
    assert header.work_dir == early.work_dir and header.mpi_ranks == early.mpi_ranks
    assert header.task_environments["Tester"] == early.task_environments["Tester"]


def test_a_header_without_them(tmp_path: Path) -> None:
    early = _early(_config(tmp_path, "experiment: TST1\n"))
    assert early == EarlyHeader(str(tmp_path), None, None, False, {})


def test_a_relative_config_path_gives_an_absolute_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "configs").mkdir()
    _config(tmp_path / "configs", "work_dir: ../work\n")
    monkeypatch.chdir(tmp_path)
    early = _early(Path("configs") / "config.yaml")
    assert early.config_dir == str(tmp_path / "configs")
    assert early.work_dir == str(tmp_path / "work")


def test_overrides_apply_to_ranks_and_environments(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        mpi_ranks: 2
        task_environments:
          Tester: {venv: /envs/a}
        """,
    )
    early = _early(
        path,
        [
            "mpi_ranks=8",
            "lute_config.mpi_ranks=3",  # later ones win
            "lute_config.task_environments.Tester.venv=/envs/b",
            "lute_config.task_environments.Test={conda: psana}",
            "work_dir=/scratch/run",
            "Test.float_var=2",
        ],
    )
    assert (early.mpi_ranks, early.mpi_ranks_set) == (3, True)
    assert early.task_environments == {"Tester": {"venv": "/envs/b"}, "Test": {"conda": "psana"}}
    assert early.work_dir == "/scratch/run"
    replaced = _early(path, ["lute_config.task_environments={Tester: {python: /usr/bin/python3}}"])
    assert replaced.task_environments == {"Tester": {"python": "/usr/bin/python3"}}


def test_an_override_can_set_ranks_the_file_does_not(tmp_path: Path) -> None:
    path = _config(tmp_path, "experiment: TST1\n")
    assert _early(path, ["mpi_ranks=6"]).mpi_ranks == 6
    # A Task parameter of that name is not the header's.
    assert _early(path, ["Test.mpi_ranks=6"]).mpi_ranks_set is False


def test_placeholders_that_need_no_model_are_filled(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        experiment: TST1
        work_dir: "scratch/{{ experiment }}"
        mpi_ranks: "{{ $LUTE_TEST_RANKS }}"
        task_environments:
          Tester: {venv: "/envs/{{ experiment }}/{{ $LUTE_TEST_ENV }}"}
          Test: {venv: "{{ Paths.env }}", keep: ["{{ work_dir }}"]}
        """,
    )
    environ = {"LUTE_TEST_RANKS": "0004", "LUTE_TEST_ENV": "py38"}
    early = _early(path, environ=environ)
    assert early.work_dir == str(tmp_path / "scratch" / "TST1")
    assert (early.mpi_ranks, early.mpi_ranks_set) == (4, True)
    assert early.task_environments == {
        "Tester": {"venv": "/envs/TST1/py38"},
        # {{ work_dir }} is the resolved work directory, as validation fills it.
        "Test": {"venv": "/envs/from-a-section", "keep": [str(tmp_path / "scratch" / "TST1")]},
    }
    header = load_config(read_config_file(path), "Test", environ=environ).header
    assert header.task_environments["Test"] == early.task_environments["Test"]
    # An override changes what the placeholders see.
    assert _early(path, ["experiment=XPP"], environ=environ).task_environments == {
        "Tester": {"venv": "/envs/XPP/py38"},
        "Test": {"venv": "/envs/from-a-section", "keep": [str(tmp_path / "scratch" / "XPP")]},
    }


def test_a_placeholder_can_stand_for_all_environments(tmp_path: Path) -> None:
    sections = SECTIONS + "Envs:\n  Tester: {venv: /envs/x}\n  Other: {venv: /envs/y}\n"
    path = _config(tmp_path, 'task_environments: "{{ Envs }}"\n', sections)
    assert _early(path).task_environments == {"Tester": {"venv": "/envs/x"}}
    broken = sections.replace("/envs/y", "'{{ $LUTE_TEST_UNSET }}'")
    path = _config(tmp_path, 'task_environments: "{{ Envs }}"\n', broken)
    assert _early(path).task_environments is None  # part of it failed: validation says so


# -- what is left to validation ----------------------------------------------------------


@pytest.mark.parametrize(
    "ranks",
    ["0", "-2", "abc", "true", "2.0", "'0x4'", "' 4'", '"4\\n"', "[2]", "'{{ $LUTE_TEST_UNSET }}'"],
)
def test_ranks_validation_must_judge_are_unknown(tmp_path: Path, ranks: str) -> None:
    path = _config(tmp_path, "mpi_ranks: %s\n" % ranks)
    early = _early(path)
    assert (early.mpi_ranks, early.mpi_ranks_set) == (None, True)
    assert early.task_environments == {}  # the rest is still known


def test_null_ranks_are_set_but_give_no_number(tmp_path: Path) -> None:
    early = _early(_config(tmp_path, "mpi_ranks: null\n"))
    assert (early.mpi_ranks, early.mpi_ranks_set) == (None, True)


def test_invalid_ranks_are_still_reported_by_validation(tmp_path: Path) -> None:
    path = _config(tmp_path, "experiment: TST1\nmpi_ranks: 0\n")
    assert _early(path).mpi_ranks is None
    assert _problems(path) == [
        "%s:2: lute_config.mpi_ranks: must be greater than 0, got 0 (a number)" % path
    ]


@pytest.mark.parametrize("value", ["null", "[a, b]", "'text'", "'{{ $LUTE_TEST_UNSET }}'"])
def test_environments_that_are_not_a_mapping_are_unknown(tmp_path: Path, value: str) -> None:
    path = _config(tmp_path, "work_dir: /w\ntask_environments: %s\n" % value)
    early = _early(path)
    assert early.task_environments is None
    assert early.work_dir == "/w"
    assert any("task_environments" in problem for problem in _problems(path))


def test_a_placeholder_without_a_value_yet_leaves_only_its_own_value_unknown(
    tmp_path: Path,
) -> None:
    path = _config(
        tmp_path,
        """\
        experiment: TST1
        work_dir: "/scratch/{{ date }}"
        mpi_ranks: 2
        task_environments:
          Tester: {venv: "/envs/{{ $LUTE_TEST_UNSET }}"}
          Test: {venv: /envs/ok}
        """,
    )
    early = _early(path, names=["Test"])
    # date is not in the file: its default is the model's (today), known after validation.
    assert early.work_dir is None
    assert (early.mpi_ranks, early.task_environments) == (2, {"Test": {"venv": "/envs/ok"}})
    assert _early(path, names=["Tester", "Test"]).task_environments is None
    assert _early(path, names=None).task_environments is None  # type: ignore[arg-type]
    # Validation knows the default; the unset variable is reported, with its line.
    assert _problems(path) == [
        "%s:5: lute_config.task_environments.Tester.venv: {{ $LUTE_TEST_UNSET }}: the "
        "environment variable LUTE_TEST_UNSET is not set" % path
    ]


def test_placeholders_in_a_circle_are_unknown(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """\
        experiment: "{{ title }}"
        title: "{{ experiment }}"
        work_dir: "/w/{{ experiment }}"
        """,
    )
    assert _early(path).work_dir is None
    assert len(_problems(path)) == 1


def test_a_config_with_problems_gives_nothing(tmp_path: Path) -> None:
    header = "work_dir: /w\nmpi_ranks: 2\ntask_environments: {Tester: {venv: /e}}\n"
    unknown = EarlyHeader(str(tmp_path), None, None, True, None)
    twice = _config(tmp_path, header, SECTIONS + "Test:\n  float_var: 1\n")
    assert _early(twice) == unknown
    assert _problems(twice) == ["%s:9: Test: 'Test' is given twice (first on line 5)" % twice]
    path = _config(tmp_path, header)
    for overrides in (["nonsense"], ["lute_config.mpi_ranks.x=1"], ["Test.float_var.x=1"]):
        assert _early(path, overrides) == unknown, overrides
        assert all(
            problem.startswith("command line: ") for problem in _problems(path, overrides)
        ), overrides


def test_the_config_as_read_is_not_changed(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "experiment: X\ntask_environments: {Tester: {venv: '{{ experiment }}'}}\n",
    )
    raw = read_config_file(path)
    before = copy.deepcopy(raw)
    early_header(raw, ["experiment=Y", "lute_config.task_environments.Test.venv=/z"], environ={})
    assert raw == before


# -- read once, without pydantic -------------------------------------------------------


def test_a_run_reads_its_config_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lute.io.config import _read

    reads = []
    read_text = _read._read_text
    monkeypatch.setattr(_read, "_read_text", lambda path: reads.append(path) or read_text(path))
    path = _config(tmp_path, "mpi_ranks: 2\ntask_environments: {Tester: {venv: /e}}\n")
    overrides = ["mpi_ranks=3", "Test.float_var=1.5"]
    raw = read_config_file(path)
    early = early_header(raw, overrides, names=["Tester"])
    loaded = load_config(raw, "Test", overrides)
    assert len(reads) == 1
    assert (early.mpi_ranks, loaded.header.mpi_ranks, loaded.model.float_var) == (3, 3, 1.5)
    assert isinstance(loaded.raw, RawConfig) and loaded.raw.header["mpi_ranks"] == 3


@pytest.mark.parametrize("cache", ["0", "1"])
def test_reading_and_the_early_header_import_no_pydantic(tmp_path: Path, cache: str) -> None:
    path = _config(
        tmp_path,
        "experiment: X\nmpi_ranks: '{{ $LUTE_TEST_RANKS }}'\n"
        "task_environments: {Tester: {venv: '/e/{{ experiment }}'}}\n",
    )
    code = textwrap.dedent(
        """\
        import sys
        from lute.io.config import apply_overrides, early_header, read_config_file
        raw = read_config_file(sys.argv[1])
        raw = read_config_file(sys.argv[1])  # the second one from the cache, if it is on
        apply_overrides(raw, ["run=3", "Test.float_var=2"])
        early = early_header(raw, ["experiment=Y"], names=["Tester"])
        heavy = [name for name in ("pydantic", "lute.io.models.base") if name in sys.modules]
        print(early.mpi_ranks, early.task_environments["Tester"]["venv"], heavy)
        """
    )
    environ = dict(os.environ, LUTE_CONFIG_CACHE=cache, LUTE_TEST_RANKS="5")
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "/e/Y", "[]"]
