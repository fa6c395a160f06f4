"""What a run needs from its managed task: the interface ``BaseExecutor`` provides.

Kept apart from the run and the definitions themselves, so that every part of a run can
name the type without importing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional, Protocol, Sequence

from lute.execution.environments import EnvironmentSpec, ResolvedEnvironment
from lute.execution.tasklets import Tasklet

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc import Message
    from lute.io.config import EarlyHeader

__all__ = ["ManagedTaskDefinition"]


class ManagedTaskDefinition(Protocol):
    """What a run needs from its managed task (``BaseExecutor`` provides it)."""

    name: str

    @property
    def task_name(self) -> str: ...

    @property
    def config_section(self) -> str: ...

    @property
    def timeout(self) -> Optional[float]: ...

    @property
    def transport(self) -> str: ...

    @property
    def use_zmq(self) -> Optional[bool]: ...

    @property
    def kill_grace(self) -> float: ...

    @property
    def multi_rank(self) -> bool: ...

    @property
    def tasklets(self) -> Sequence[Tasklet]: ...

    def hooks_for(self, event: str) -> Sequence[Callable[[Any, Message], Optional[bool]]]: ...

    def resolve_environment(
        self, spec: Optional[EnvironmentSpec] = None
    ) -> ResolvedEnvironment: ...

    def task_argv(self, python: str, parameters: Any, path: Optional[str] = None) -> List[str]: ...

    def early_task_argv(
        self, resolved: ResolvedEnvironment, early: EarlyHeader
    ) -> Optional[List[str]]: ...
