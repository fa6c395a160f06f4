"""Values get the type the model asks for, by YAML 1.2 rules."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from lute.io.config import (
    load_config,
)
from lute.io.models.base import TaskParameters
from tests.models.config_files import write_sections


class Kinds(TaskParameters):
    text: str = ""
    number: int = 0
    ratio: float = 0.0
    flag: bool = False
    maybe_text: Optional[str] = None
    texts: List[str] = []
    table: Dict[str, str] = {}


def test_values_keep_the_type_the_model_asks_for(tmp_path: Path) -> None:
    config = write_sections(
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
    config = write_sections(
        tmp_path,
        'Kinds:\n  text: "{{ run:04d }}"\n  number: "{{ run:04d }}"\n  maybe_text: "{{ run }}"\n',
    )
    model = load_config(config, "Kinds", model=Kinds).model
    assert (model.text, model.number, model.maybe_text) == ("0012", 12, "12")


def test_yaml_1_1_surprises_do_not_happen(tmp_path: Path) -> None:
    config = write_sections(
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
    config = write_sections(tmp_path, "TestWriteOutput:\n  outfile_name: null\n")
    model = load_config(config, "TestWriteOutput").model
    assert model.outfile_name.endswith("test_output_TST12345_r0012.txt")
