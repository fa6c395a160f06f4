"""Managed tasks of beamstats: the names ``lute-exec run -t`` accepts.

A managed task is an Executor: which Task it runs, and how (environment, hooks,
tasklets). Each is registered under ``lute.managed_tasks`` in pyproject.toml.
"""

from __future__ import annotations

from lute.execution.executor import Executor

BeamStatsRunner = Executor("BeamStats")
"""Runs ``BeamStats`` in lute-exec's own environment."""
