"""Parameter model of BeamStats: what its section of the config may hold.

Used where lute-exec runs (it needs lute-models, that is pydantic); the Task gets the
validated values as ``self._task_parameters``. ``lute-exec describe BeamStats`` lists them.
"""

from __future__ import annotations

from lute.io.models.base import Field, TaskParameters

__all__ = ["BeamStatsParameters"]


class BeamStatsParameters(TaskParameters):
    """Parameters of ``BeamStats``: the simulated beam and the histogram."""

    shots: int = Field(5000, gt=0, description="Shots to simulate.")
    mean_intensity: float = Field(100.0, gt=0, description="Mean pulse intensity.")
    jitter: float = Field(0.08, ge=0, description="Shot-to-shot spread, as sigma / mean.")
    bins: int = Field(40, gt=0, description="Bins of the histogram.")
    seed: int = Field(0, description="Seed of the simulation (same seed, same shots).")
