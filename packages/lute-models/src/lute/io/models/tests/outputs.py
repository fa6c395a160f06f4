"""Parameters of ``TestWriteOutput`` and ``TestReadOutput`` (``WriteTester``, ``ReadTester``).

The reader's default is the writer's recorded result, found in the results database.
"""

from __future__ import annotations

from lute.io.models._fields import Field
from lute.io.models.base import TaskParameters
from lute.io.models.validators import from_result, template_default

__all__ = ["TestReadOutputParameters", "TestWriteOutputParameters"]


class TestWriteOutputParameters(TaskParameters):
    """Parameters of ``TestWriteOutput``: writes ``num_values`` numbers to a file."""

    outfile_name: str = template_default(
        "{work_dir}/test_output_{experiment}_r{run:04d}.txt",
        description="File to write (default: in the work directory, named by experiment/run).",
    )
    num_values: int = Field(100, ge=0, description="How many numbers to write.")


class TestReadOutputParameters(TaskParameters):
    """Parameters of ``TestReadOutput``: reads the file ``TestWriteOutput`` wrote."""

    in_file: str = from_result(
        "TestWriteOutput",
        hint="run TestWriteOutput (managed task WriteTester) first",
        description="File to read (default: the result of TestWriteOutput for this run).",
    )
