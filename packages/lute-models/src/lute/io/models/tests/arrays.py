"""Parameters of ``TestSocket`` (managed task ``SocketTester``): arrays sent over IPC."""

from __future__ import annotations

from lute.io.models._fields import Field
from lute.io.models.base import TaskParameters

__all__ = ["TestSocketParameters"]


class TestSocketParameters(TaskParameters):
    """Parameters of ``TestSocket``: how many random arrays to send, and how large."""

    array_size: int = Field(10000, gt=0, description="Numbers per array.")
    num_arrays: int = Field(10, ge=0, description="Arrays to send.")
