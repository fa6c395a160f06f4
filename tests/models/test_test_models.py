"""The test models drive the runtime's built-in test Tasks, through the wire form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lute.io.config import load_config
from lute.io.db import Database
from lute.io.models import tests as test_models
from lute.io.models.base import AnalysisHeader
from lute.io.models.wire import to_wire_json
from lute.io.parameters import TaskParameters as Surrogate
from lute.tasks import test as test_tasks  # module import: pytest must not collect Test*
from lute.tasks.dataclasses import TaskStatus


def _surrogate(model: Any) -> Surrogate:
    return Surrogate.from_wire(json.loads(to_wire_json(model)), model_name=type(model).__name__)


def _header(work_dir: Path) -> AnalysisHeader:
    return AnalysisHeader(experiment="TST12345", run=12, work_dir=str(work_dir))


def test_fields_and_defaults_are_the_agreed_ones(tmp_path: Path) -> None:
    header = _header(tmp_path)
    dumped = test_models.TestParameters(lute_config=header).model_dump(exclude={"lute_config"})
    assert dumped == {
        "float_var": 0.01,
        "str_var": "test",
        "compound_var": {"int_var": 1, "dict_var": {"a": "b"}},
        "throw_error": False,
        "sleep_seconds": 0.0,
        "print_lines": 0,
        "exit_code": None,
        "segfault": False,
    }
    socket = test_models.TestSocketParameters(lute_config=header)
    assert (socket.array_size, socket.num_arrays) == (10000, 10)
    mpi = test_models.MPITestParameters(lute_config=header)
    assert (mpi.total_items, mpi.fail_on_rank, mpi.hang_on_rank, mpi.sleep_seconds) == (
        1000,
        None,
        None,
        0,
    )
    assert test_models.TestWriteOutputParameters(lute_config=header).num_values == 100


def test_test_task_echoes_the_config_values(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "experiment: TST12345\nrun: 12\n---\nTest:\n  float_var: 0.5\n  str_var: '0042'\n"
        "  compound_var: {int_var: 10}\n"
    )
    model = load_config(config, "Test").model
    result = test_tasks.Test(params=_surrogate(model)).run()
    assert result.task_status == TaskStatus.COMPLETED
    assert result.summary == {"float_var": "0.5", "str_var": "0042", "int_var": "10"}


def test_test_task_fails_when_asked(tmp_path: Path) -> None:
    model = test_models.TestParameters(lute_config=_header(tmp_path), throw_error=True)
    assert test_tasks.Test(params=_surrogate(model)).run().task_status == TaskStatus.FAILED


def test_socket_task_with_small_arrays(tmp_path: Path) -> None:
    model = test_models.TestSocketParameters(
        lute_config=_header(tmp_path), array_size=2, num_arrays=3
    )
    result = test_tasks.TestSocket(params=_surrogate(model)).run()
    assert result.task_status == TaskStatus.COMPLETED
    assert len(result.payload["checksums"]) == 3


def test_write_then_read_through_the_results_database(tmp_path: Path) -> None:
    header = _header(tmp_path)
    write_model = test_models.TestWriteOutputParameters(lute_config=header, num_values=20)
    written = test_tasks.TestWriteOutput(params=_surrogate(write_model)).run()
    assert written.task_status == TaskStatus.COMPLETED
    assert written.payload == str(tmp_path / "test_output_TST12345_r0012.txt")
    with Database(header.database_path()) as db:  # what the Executor records
        ids = db.start_execution(
            managed_task="WriteTester",
            task_name="TestWriteOutput",
            experiment=header.experiment,
            run=header.run,
            parameters=json.loads(to_wire_json(write_model)),
        )
        db.add_result(ids.execution_id, written.summary, written.payload, "COMPLETED")
        db.set_status(ids.execution_id, "COMPLETED", exit_code=0)
    read_model = test_models.TestReadOutputParameters(lute_config=header)
    assert read_model.in_file == written.payload
    read = test_tasks.TestReadOutput(params=_surrogate(read_model)).run()
    assert read.task_status == TaskStatus.COMPLETED
    assert read.payload["count"] == 20
