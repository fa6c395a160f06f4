"""Workflows: DAGs of managed tasks, submitted to SLURM and scheduled by its dependencies.

See ``docs/workflows.md``. The private modules, one job each (none imports this one):

- ``_model`` -- a workflow's nodes, who follows whom (plain data, pure functions);
- ``_parse`` -- reading a DAG file, in this project's form or the original ``!LUTE_DAG``.
"""

from __future__ import annotations

from lute.execution.workflow._model import TRIGGER_RULES, Dag, Node
from lute.execution.workflow._parse import load_dag

__all__ = ["TRIGGER_RULES", "Dag", "Node", "load_dag"]
