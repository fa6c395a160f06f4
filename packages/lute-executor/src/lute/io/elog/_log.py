"""A named logger that imports :mod:`logging` only when something is logged.

Reporting logs only when something goes wrong; importing :mod:`logging` (with
``traceback``, ``string`` and ``weakref``) costs about 2 ms of every ``lute-exec run``.
The messages, levels, names and handlers are those of the real logger.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["LazyLogger", "logger"]


class LazyLogger:
    """Stands in for ``logging.getLogger(name)``; the real logger is fetched on first use."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Optional[Any] = None

    def _real(self) -> Any:
        if self._logger is None:
            import logging

            self._logger = logging.getLogger(self.name)
        return self._logger

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """``Logger.debug``."""
        self._real().debug(msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """``Logger.info``."""
        self._real().info(msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """``Logger.warning``."""
        self._real().warning(msg, *args, stacklevel=2, **kwargs)


#: The logger of every module of :mod:`lute.io.elog`: one name for users' logging set-up.
logger = LazyLogger("lute.io.elog")
