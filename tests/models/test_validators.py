"""Computed defaults: from other parameters and from a real SQLite results database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

import pydantic
import pytest

from lute.io.db import Database, PendingResult, pending_results
from lute.io.models import tests as test_models
from lute.io.models.base import AnalysisHeader, Field, TaskParameters
from lute.io.models.describe import describe_model
from lute.io.models.validators import (
    from_parameters,
    from_result,
    lookup_result,
    template_default,
)


def _header(work_dir: Path, run: Any = 12, experiment: str = "TST12345") -> AnalysisHeader:
    return AnalysisHeader(experiment=experiment, run=run, work_dir=str(work_dir))


def _record(
    work_dir: Path,
    task_name: str,
    payload: Any,
    *,
    run: Any = 12,
    experiment: str = "TST12345",
    status: str = "COMPLETED",
    parameters: Optional[Dict[str, Any]] = None,
) -> int:
    """Write one execution with a result, as the Executor does."""
    with Database(os.path.join(str(work_dir), "lute.db")) as db:
        ids = db.start_execution(
            managed_task="Manager",
            task_name=task_name,
            experiment=experiment,
            run=run,
            parameters=parameters or {"p": 1},
        )
        db.add_result(ids.execution_id, {"note": "x"}, payload=payload, task_status=status)
        db.set_status(ids.execution_id, status, exit_code=0 if status == "COMPLETED" else 1)
        return ids.execution_id


# -- from other parameters ------------------------------------------------------------


def test_write_output_default_from_header(tmp_path: Path) -> None:
    model = test_models.TestWriteOutputParameters(lute_config=_header(tmp_path, run="7"))
    assert model.outfile_name == str(tmp_path / "test_output_TST12345_r0007.txt")


def test_a_given_value_wins_over_the_default(tmp_path: Path) -> None:
    model = test_models.TestWriteOutputParameters(
        lute_config=_header(tmp_path), outfile_name="/elsewhere.txt"
    )
    assert model.outfile_name == "/elsewhere.txt"


class Derived(TaskParameters):
    stem: str = Field("peaks", description="Stem.")
    out: str = template_default(
        "{lute_config.work_dir}/{stem}_{experiment}_r{run:04d}.h5", description="Output."
    )
    size: int = template_default("{count}")  # names a later parameter: not visible yet
    count: int = 3


def test_template_sees_earlier_fields_and_header(tmp_path: Path) -> None:
    model = Derived(lute_config=_header(tmp_path), size=1)
    assert model.out == str(tmp_path / "peaks_TST12345_r0012.h5")


def test_template_naming_an_unknown_or_later_name(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"refers to \{count\}"):
        Derived(lute_config=_header(tmp_path))


def test_template_with_a_format_the_value_cannot_take(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="cannot format 'dark' with ':04d'"):
        Derived(lute_config=_header(tmp_path, run="dark"), size=1)


def test_computed_value_is_validated_against_the_type(tmp_path: Path) -> None:
    class Typed(TaskParameters):
        count: int = template_default("{run}")

    assert Typed(lute_config=_header(tmp_path, run=12)).count == 12
    with pytest.raises(pydantic.ValidationError, match="valid integer"):
        Typed(lute_config=_header(tmp_path, run="dark"))


def test_invalid_header_gives_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        test_models.TestWriteOutputParameters.model_validate(
            {"lute_config": {"work_dir": str(tmp_path), "task_timeout": -1}}
        )
    messages = [error["msg"] for error in caught.value.errors()]
    assert any("the header (lute_config) has errors" in message for message in messages)


def test_describe_shows_the_computed_default() -> None:
    text = describe_model(test_models.TestWriteOutputParameters)
    assert "from template '{work_dir}/test_output_{experiment}_r{run:04d}.txt'" in text


# -- from the results database ---------------------------------------------------------


def test_read_output_finds_the_write_result(tmp_path: Path) -> None:
    _record(tmp_path, "TestWriteOutput", "/old/path.txt")
    _record(tmp_path, "TestWriteOutput", "/data/r12.txt")
    _record(tmp_path, "TestWriteOutput", "/data/r13.txt", run=13)
    _record(tmp_path, "TestWriteOutput", "/data/other.txt", experiment="OTHER")
    _record(tmp_path, "TestWriteOutput", "/data/failed.txt", status="FAILED")
    model = test_models.TestReadOutputParameters(lute_config=_header(tmp_path))
    assert model.in_file == "/data/r12.txt"
    run13 = test_models.TestReadOutputParameters(lute_config=_header(tmp_path, run="0013"))
    assert run13.in_file == "/data/r13.txt"


def test_read_output_without_database_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        test_models.TestReadOutputParameters(lute_config=_header(tmp_path))
    message = str(caught.value)
    assert "no results database at %s" % (tmp_path / "lute.db") in message
    assert "run TestWriteOutput (managed task WriteTester) first" in message
    assert not (tmp_path / "lute.db").exists()  # looking did not create it


def test_read_output_without_matching_result_names_the_fix(tmp_path: Path) -> None:
    _record(tmp_path, "TestWriteOutput", "/data/r11.txt", run=11)
    with pytest.raises(pydantic.ValidationError) as caught:
        test_models.TestReadOutputParameters(lute_config=_header(tmp_path))
    message = str(caught.value)
    assert "no COMPLETED result of Task TestWriteOutput for experiment 'TST12345' run 12" in message
    assert "run TestWriteOutput (managed task WriteTester) first" in message


def test_an_upstream_result_still_to_come_stands_in_as_a_placeholder(tmp_path: Path) -> None:
    _record(tmp_path, "TestWriteOutput", "/data/r12-old.txt")  # an earlier run's: not used
    with pending_results({"TestWriteOutput": "write"}) as handed:
        model = test_models.TestReadOutputParameters(lute_config=_header(tmp_path))
        other = test_models.TestWriteOutputParameters(lute_config=_header(tmp_path))
    assert isinstance(model.in_file, PendingResult)
    assert model.in_file == "<result of TestWriteOutput (node write), at run time>"
    assert (model.in_file.task_name, model.in_file.node) == ("TestWriteOutput", "write")
    assert handed == [model.in_file]
    assert other.outfile_name.endswith("test_output_TST12345_r0012.txt")
    # Outside the block the database answers again.
    assert test_models.TestReadOutputParameters(lute_config=_header(tmp_path)).in_file == (
        "/data/r12-old.txt"
    )


def test_a_pending_result_of_another_task_is_still_looked_up(tmp_path: Path) -> None:
    with pending_results({"Optimize": "opt"}), pytest.raises(pydantic.ValidationError) as caught:
        test_models.TestReadOutputParameters(lute_config=_header(tmp_path))
    assert "no results database at" in str(caught.value)


def test_explicit_value_skips_the_database(tmp_path: Path) -> None:
    model = test_models.TestReadOutputParameters(lute_config=_header(tmp_path), in_file="/given")
    assert model.in_file == "/given"


class Keyed(TaskParameters):
    geometry: str = from_result("Optimize", key="files.geometry")
    summary_text: str = from_result("Optimize", attribute="summary")
    any_run: str = from_result("Optimize", key="files.geometry", same_run=False, status=None)
    width: float = from_parameters("Optimize", "fit.width")


def test_keys_attributes_and_parameters(tmp_path: Path) -> None:
    _record(
        tmp_path,
        "Optimize",
        {"files": {"geometry": "/g.geom"}},
        parameters={"fit": {"width": 0.5}, "lute_config": {"run": 12}},
    )
    model = Keyed(lute_config=_header(tmp_path))
    assert (model.geometry, model.summary_text, model.width) == ("/g.geom", "note: x", 0.5)
    other_run = Keyed(
        lute_config=_header(tmp_path, run=99), geometry="a", summary_text="b", width=1.0
    )
    assert other_run.any_run == "/g.geom"


def test_a_missing_key_is_reported(tmp_path: Path) -> None:
    _record(tmp_path, "Optimize", {"files": {}}, parameters={"fit": {}})
    with pytest.raises(pydantic.ValidationError) as caught:
        Keyed(lute_config=_header(tmp_path))
    message = str(caught.value)
    assert "the result of Optimize has no 'files.geometry'" in message
    assert "the parameters of Optimize has no 'fit.width'" in message


def test_lookup_result_inside_a_seed_style_validator(tmp_path: Path) -> None:
    from pydantic import validator

    class SeedRead(TaskParameters):
        in_file: str = Field("", description="Input.")

        @validator("in_file", always=True)
        def from_db(cls, in_file: str, values: Dict[str, Any]) -> str:
            if in_file:
                return in_file
            return lookup_result(values["lute_config"], "Writer").payload

    _record(tmp_path, "Writer", "/w.txt")
    assert SeedRead(lute_config=_header(tmp_path)).in_file == "/w.txt"


def test_a_foreign_file_is_a_validation_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "lute.db").write_text("not a database")
    with pytest.raises(pydantic.ValidationError, match=r"lute\.db"):
        test_models.TestReadOutputParameters(lute_config=_header(tmp_path))


def test_from_result_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="attribute must be"):
        from_result("X", attribute="status")


def test_from_parameters_without_an_execution(tmp_path: Path) -> None:
    _record(tmp_path, "Optimize", {"files": {"geometry": "/g"}}, run=11)
    with pytest.raises(pydantic.ValidationError) as caught:
        Keyed(lute_config=_header(tmp_path), geometry="g", summary_text="s", any_run="a")
    assert "no COMPLETED execution of Task Optimize for experiment 'TST12345' run 12" in str(
        caught.value
    )
