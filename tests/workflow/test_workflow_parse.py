"""Reading DAG files: both forms, every problem at once with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import List

import pytest

from lute.execution.workflow import load_dag
from lute.io.config import ConfigError


def _write(tmp_path: Path, text: str, name: str = "sfx.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def _problems(path: str) -> List[str]:
    with pytest.raises(ConfigError) as caught:
        load_dag(path)
    return [str(problem) for problem in caught.value.problems]


def test_lute_form_nodes_parents_and_options(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        workflow: sfx
        nodes:
          find_peaks: {managed_task: PeakFinder, slurm: {ntasks: 4}}
          powder: {managed_task: Powder}
          index:
            managed_task: Indexer
            after: [find_peaks, powder]
            trigger: any_success
            overrides: {IndexCrystFEL.tolerance: 5, IndexCrystFEL.fast: true}
          merge:
            managed_task: Merger
            after: index
            run_dependent: false
            slurm: --ntasks=8 --time=10
          scan:
            managed_task: Tester
            sweep: {Test.float_var: [0.5, 1.5], Test.str_var: [a, b]}
            zip: true
        """,
    )
    dag = load_dag(path)
    assert dag.name == "sfx" and dag.form == "lute"
    assert list(dag.nodes) == ["find_peaks", "powder", "index", "merge", "scan"]
    assert dag.roots() == ["find_peaks", "powder", "scan"]
    index = dag.nodes["index"]
    assert index.parents == ("find_peaks", "powder") and index.trigger == "any_success"
    assert index.overrides == ("IndexCrystFEL.tolerance=5", "IndexCrystFEL.fast=true")
    assert index.line == 6
    assert dag.nodes["find_peaks"].slurm == {"ntasks": 4}
    assert dag.nodes["merge"].slurm == "--ntasks=8 --time=10"
    assert dag.nodes["merge"].parents == ("index",)
    assert dag.after_runs("merge") and not dag.after_runs("index")
    scan = dag.nodes["scan"]
    assert scan.sweep == {"Test.float_var": (0.5, 1.5), "Test.str_var": ("a", "b")}
    assert scan.zip_sweep
    assert dag.order().index("merge") > dag.order().index("index")
    assert sorted(dag.descendants("powder")) == ["index", "merge"]


def test_original_form_tree_tags_and_sweep(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        !LUTE_DAG
        task_name: PeakFinder
        slurm_params: "--ntasks=4"
        next:
        - task_name: Indexer
          next:
          - !ALL_COMPLETED
            task_name: Cleanup
            next: []
        - !param_sweep
          task_name: Tester
          param_matrix: {float_var: [1, 2, 3]}
          slurm_params: "--job-name=sweep_{float_var}"
          next:
          - !ANY_SUCCESS
            task_name: Merger
            run_dependent: false
        """,
        name="original.dag",
    )
    dag = load_dag(path)
    assert dag.form == "original" and dag.name == "original"
    assert list(dag.nodes) == ["PeakFinder", "Indexer", "Cleanup", "Tester", "Merger"]
    assert dag.nodes["Cleanup"].trigger == "all_completed"
    assert dag.nodes["Cleanup"].parents == ("Indexer",)
    sweep = dag.nodes["Tester"]
    assert sweep.sweep == {"float_var": (1, 2, 3)} and sweep.slurm_replaces
    assert dag.nodes["PeakFinder"].slurm == "--ntasks=4"
    assert not dag.nodes["PeakFinder"].slurm_replaces
    merger = dag.nodes["Merger"]
    assert merger.trigger == "any_success" and not merger.run_dependent


def test_original_form_list_root_and_alias_merge(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        !LUTE_DAG
        - task_name: Xtc1Reader
          next:
          - &merge
            task_name: Merger
            next: []
        - task_name: Xtc2Writer
          next:
          - *merge
        - task_name: Xtc2Writer
        """,
    )
    dag = load_dag(path)
    assert dag.roots() == ["Xtc1Reader", "Xtc2Writer", "Xtc2Writer#2"]
    assert dag.nodes["Merger"].parents == ("Xtc1Reader", "Xtc2Writer")


def test_every_problem_at_once_with_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        nodes:
          a: {managed_task: Tester, after: [c]}
          b: {managed_task: Tester, after: [a], trigger: sometimes}
          c: {managed_task: Tester, after: [b], run_dependnt: false}
          d: {managed_task: Tester, after: [nope]}
          e: {after: [a]}
        """,
    )
    problems = _problems(path)
    text = "\n".join(problems)
    assert (
        "sfx.yaml:3: b.trigger: unknown trigger rule 'sometimes': use one of all_success, "
        "any_success, all_completed, all_failed, any_failed, always" in text
    )
    assert "sfx.yaml:4: c.run_dependnt: unknown key" in text
    assert "did you mean 'run_dependent'?" in text
    assert "sfx.yaml:6: e: a node needs a managed_task" in text
    assert "sfx.yaml:5: d.after: no node named 'nope'" in text
    assert "sfx.yaml:2: a: a cycle: a (line 2), b (line 3), c (line 4) -> a" in text
    assert len(problems) == 5
    # A misspelt rule is named with the one meant.
    Path(path).write_text(Path(path).read_text().replace("sometimes", "all_sucess"))
    assert (
        "sfx.yaml:3: b.trigger: unknown trigger rule 'all_sucess': did you mean 'all_success'? "
        "The rules are all_success, any_success," in "\n".join(_problems(path))
    )


def test_facility_branches_are_refused_by_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        !LUTE_DAG
        - !run_type
          DARK: []
          DATA: {task_name: Indexer, next: []}
        - !branch_daq2
          daq2: {task_name: SmallDataProducer2}
          daq1: {task_name: SmallDataProducer}
        """,
    )
    problems = _problems(path)
    assert len(problems) == 2
    assert "sfx.yaml:2: !run_type: !run_type chooses a branch" in problems[0]
    assert "sfx.yaml:5: !branch_daq2: !branch_daq2 chooses a branch" in problems[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the DAG file is empty"),
        ("task_name: Tester\n", "starts with the tag !LUTE_DAG"),
        ("nodes: {a: {managed_task: [x]}}\n", "expected a name"),
        ("nodes: {}\n", "the workflow has no nodes"),
        ("!LUTE_DAG\ntask_name: A\nnext: {task_name: B}\n", "expected a list of nodes"),
        ("!LUTE_DAG\n!param_sweep\n", "not valid YAML"),
        ("!LUTE_DAG\n- !SOMETIMES {task_name: A}\n", "unknown tag !SOMETIMES"),
        ("!LUTE_DAG\n- !param_sweep {task_name: A}\n", "a !param_sweep needs a param_matrix"),
        ("nodes: {a: {managed_task: A, sweep: {x: 3}}}\n", "non-empty list of values"),
        ("nodes:\n  a: {managed_task: A\n", "not valid YAML"),
        ("nodes: {a: {managed_task: !!python/name:os.system A}}\n", "unexpected tag"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text) if text else str(tmp_path / "empty.yaml")
    if not text:
        (tmp_path / "empty.yaml").write_text("")
    assert any(expected in problem for problem in _problems(path)), _problems(path)


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00nodes")
    assert "cannot read the DAG file" in _problems(str(tmp_path / "binary.yaml"))[0]
    assert "cannot read the DAG file" in _problems(str(tmp_path / "missing.yaml"))[0]
