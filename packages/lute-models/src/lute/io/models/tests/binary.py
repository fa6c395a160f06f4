"""Parameters of ``TestBinary`` (managed task ``BinaryTester``): every flag style; and of
``TestBinaryErr`` (``BinaryErrTester``): a program that fails."""

from __future__ import annotations

from typing import List

from lute.io.models._fields import Field
from lute.io.models.base import ThirdPartyParameters

__all__ = ["TestBinaryErrParameters", "TestBinaryParameters"]


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


class TestBinaryErrParameters(ThirdPartyParameters):
    """Parameters of ``TestBinaryErr``: a program that exits with a non-zero code.

    As the original LUTE's: ``p_arg1`` (the number of threads of its test program) is
    passed as the one positional argument: ``/bin/false 1``.
    """

    executable: str = Field(
        "/bin/false", description="A program that exits with a non-zero code.", is_flag=False
    )
    p_arg1: int = Field(1, description="Number of threads (a positional argument).")
