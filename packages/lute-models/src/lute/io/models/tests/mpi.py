"""Parameters of ``MPITest`` (managed task ``MPITester``): a distributed sum; and of
``TestMultiNodeCommunication`` (``MultiNodeCommunicationTester``): every rank reports."""

from __future__ import annotations

from typing import Literal, Optional

from lute.io.models._fields import Field
from lute.io.models.base import TaskParameters

__all__ = ["MPITestParameters", "TestMultiNodeCommunicationParameters"]


class MPITestParameters(TaskParameters):
    """Parameters of ``MPITest``: a distributed sum; options to fail or hang on a rank."""

    total_items: int = Field(1000, gt=0, description="Sum 0 .. total_items-1 across ranks.")
    fail_on_rank: Optional[int] = Field(None, ge=0, description="Raise on this rank.")
    hang_on_rank: Optional[int] = Field(None, ge=0, description="Hang forever on this rank.")
    sleep_seconds: float = Field(0.0, ge=0, description="Seconds every rank sleeps.")


class TestMultiNodeCommunicationParameters(TaskParameters):
    """Parameters of ``TestMultiNodeCommunication``: what each rank sends its Executor."""

    send_obj: Literal["plot", "array"] = Field(
        "array", description="What each rank sends: 'array' (numbers) or 'plot' (a figure)."
    )
    arr_size: Optional[int] = Field(None, gt=0, description="Numbers in the array (default 512).")
