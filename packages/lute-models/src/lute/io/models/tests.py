"""Parameter models of the built-in test Tasks (``lute.tasks.test``, ``lute.tasks.mpi_test``).

Each is found by its Task's name (``Test`` -> ``TestParameters``). The managed tasks
``Tester``, ``SocketTester``, ``WriteTester``, ``ReadTester``, ``BinaryTester`` and
``MPITester`` run them.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from pydantic import BaseModel, ConfigDict

from lute.io.models._fields import Field
from lute.io.models.base import TaskParameters, ThirdPartyParameters
from lute.io.models.validators import from_result, template_default

__all__ = [
    "CompoundVar",
    "MPITestParameters",
    "TestBinaryParameters",
    "TestParameters",
    "TestReadOutputParameters",
    "TestSocketParameters",
    "TestWriteOutputParameters",
]


class CompoundVar(BaseModel):
    """A nested group of parameters."""

    model_config = ConfigDict(extra="forbid")

    int_var: int = Field(1, description="An integer.")
    dict_var: Dict[str, str] = Field(
        default_factory=lambda: {"a": "b"}, description="A mapping of text to text."
    )


class TestParameters(TaskParameters):
    """Parameters of ``Test``: echoed back; options to sleep, print, fail or crash."""

    float_var: float = Field(0.01, description="A number, echoed back.")
    str_var: str = Field("test", description="Text, echoed back.")
    compound_var: CompoundVar = Field(
        default_factory=CompoundVar, description="A nested group, echoed back."
    )
    throw_error: bool = Field(False, description="Raise an exception inside the Task.")
    sleep_seconds: float = Field(0.0, ge=0, description="Seconds to sleep while running.")
    print_lines: int = Field(0, ge=0, description="Lines to print to standard output.")
    exit_code: Optional[int] = Field(
        None, description="Leave abruptly mid-run with this exit code (crash tests)."
    )
    segfault: bool = Field(False, description="Die of a segmentation fault (crash tests).")


class TestSocketParameters(TaskParameters):
    """Parameters of ``TestSocket``: how many random arrays to send, and how large."""

    array_size: int = Field(10000, gt=0, description="Numbers per array.")
    num_arrays: int = Field(10, ge=0, description="Arrays to send.")


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


class TestBinaryParameters(ThirdPartyParameters):
    """Parameters of ``TestBinary``: ``/bin/echo`` prints the command line it is given.

    With the defaults the program is run as::

        /bin/echo -p 1 --param long --level=3 --verbose --items a b --out-file result.txt positional
    """

    executable: str = Field("/bin/echo", description="The program to run.", is_flag=False)
    p: int = Field(1, flag_type="-", description="A short flag: -p VALUE.")
    param: str = Field("long", flag_type="--", description="A long flag: --param VALUE.")
    level: int = Field(
        3, flag_type="--", flag_use_eq=True, description="A long flag in = style: --level=VALUE."
    )
    verbose: bool = Field(True, flag_type="--", description="An on/off flag: --verbose.")
    items: List[str] = Field(
        default_factory=lambda: ["a", "b"],
        flag_type="--",
        description="A list after one flag: --items A B.",
    )
    out_name: str = Field(
        "result.txt",
        flag_type="--",
        rename_param="out-file",
        description="A flag named differently from the field: --out-file VALUE.",
    )
    p_arg1: str = Field("positional", flag_type="", description="A positional argument.")
    note: str = Field(
        "not passed to the program", is_flag=False, description="A field that is not a flag."
    )


class MPITestParameters(TaskParameters):
    """Parameters of ``MPITest``: a distributed sum; options to fail or hang on a rank."""

    total_items: int = Field(1000, gt=0, description="Sum 0 .. total_items-1 across ranks.")
    fail_on_rank: Optional[int] = Field(None, ge=0, description="Raise on this rank.")
    hang_on_rank: Optional[int] = Field(None, ge=0, description="Hang forever on this rank.")
    sleep_seconds: float = Field(0.0, ge=0, description="Seconds every rank sleeps.")
