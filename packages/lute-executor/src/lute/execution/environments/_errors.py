"""The error raised when an environment cannot be resolved, probed or used.

A module of its own so that every module of the package (conda discovery, bash, the
resolution, the probe) raises the same class without importing the package itself.
"""

__all__ = ["EnvironmentError_", "EnvironmentSpecError"]


class EnvironmentSpecError(RuntimeError):
    """An environment could not be resolved or used; the message says what to fix."""


# The class's first name, used by existing code and by the docs.
EnvironmentError_ = EnvironmentSpecError
