"""Parameters of ``Test`` (managed task ``Tester``): echoed back by the Task."""

from __future__ import annotations

from typing import Dict, Optional

from pydantic import BaseModel, ConfigDict

from lute.io.models._fields import Field
from lute.io.models.base import TaskParameters

__all__ = ["CompoundVar", "TestParameters"]


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
