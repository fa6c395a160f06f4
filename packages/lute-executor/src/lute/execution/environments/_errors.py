"""The error raised when an environment cannot be resolved or used.

Its own module so that :mod:`lute.execution.environments` and the private modules it
builds on (``_conda``, ``_shell``) can all raise it without importing one another.
"""

__all__ = ["EnvironmentError_"]


class EnvironmentError_(RuntimeError):
    """An environment could not be resolved or used; the message says what to fix."""


# Users import (and see in tracebacks and pickles) the public path, as before the split.
EnvironmentError_.__module__ = "lute.execution.environments"
