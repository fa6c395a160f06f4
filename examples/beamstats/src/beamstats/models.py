"""Parameter model of BeamStats: what its section of the config may hold.

Used where lute-exec runs (it needs lute-models, that is pydantic); the Task gets the
validated values as ``self._task_parameters``. ``lute-exec describe BeamStats`` lists them.
"""

from __future__ import annotations

from lute.io.models.base import Field, TaskParameters

__all__ = ["BeamStatsParameters"]


class BeamStatsParameters(TaskParameters):
    """Parameters of ``BeamStats``."""

    greeting: str = Field("Hello", description="What the Task says.")
    repeat: int = Field(1, gt=0, description="How many times it says it.")
