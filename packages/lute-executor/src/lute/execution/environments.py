"""Where a Task runs: resolving an environment spec into (interpreter, variables).

An Executor holds one :class:`EnvironmentSpec` plus the variable updates and sourced
scripts added with ``update_environment`` / ``shell_source``. Just before launch they are
resolved once into a :class:`ResolvedEnvironment`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "EnvironmentError_",
    "EnvironmentSpec",
    "EnvironmentUpdate",
    "ResolvedEnvironment",
    "apply_update",
    "resolve_environment",
    "source_script",
]

PATH_MODES = ("prepend", "append", "overwrite")


class EnvironmentError_(RuntimeError):
    """An environment could not be resolved; the message says what to fix."""


@dataclass(frozen=True)
class EnvironmentUpdate:
    """Variables set with ``update_environment``.

    Attributes:
        variables: Names and values.
        update_path: For ``PATH``-like variables: ``prepend`` (default), ``append`` or
            ``overwrite`` the existing value.
    """

    variables: Tuple[Tuple[str, str], ...]
    update_path: str = "prepend"


@dataclass(frozen=True)
class EnvironmentSpec:
    """How to find the Task's environment.

    Attributes:
        kind: ``current`` (the Executor's own interpreter), ``venv``, ``python``
            (a plain interpreter path), ``conda`` (name or prefix), ``script`` (a shell
            script to source) or ``modules`` (``module load`` lines).
        target: Path, name or lines, depending on ``kind``.
    """

    kind: str = "current"
    target: str = ""

    @classmethod
    def current(cls) -> EnvironmentSpec:
        """The Executor's own interpreter and environment."""
        return cls("current", sys.executable)


@dataclass
class ResolvedEnvironment:
    """The interpreter and complete environment a Task is launched with."""

    python: str
    env: Dict[str, str]
    description: str
    sourced: List[str] = field(default_factory=list)


def apply_update(env: Dict[str, str], update: EnvironmentUpdate) -> None:
    """Apply one ``update_environment`` call to ``env`` in place."""
    for name, value in update.variables:
        if name == "PATH" or name.endswith("PATH"):
            existing = env.get(name, "")
            if update.update_path == "prepend" and existing:
                value = value + os.pathsep + existing
            elif update.update_path == "append" and existing:
                value = existing + os.pathsep + value
        env[name] = value


def source_script(script: str, env: Mapping[str, str], *, timeout: float = 120.0) -> Dict[str, str]:
    """Return the environment ``script`` leaves behind when sourced by bash.

    The variables are read from ``env -0`` (NUL-separated) after sourcing: the
    script's output is never evaluated.

    Raises:
        EnvironmentError_: The script is missing or fails.
    """
    parts = shlex.split(script)
    if not parts or not os.path.isfile(parts[0]):
        raise EnvironmentError_("shell_source: script %r does not exist" % (parts[:1] or script))
    command = "source %s >&2 && env -0" % " ".join(shlex.quote(p) for p in parts)
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentError_(
            "shell_source: sourcing %s took longer than %.0f s" % (script, timeout)
        ) from None
    if done.returncode != 0:
        raise EnvironmentError_(
            "shell_source: sourcing %s failed with exit code %d:\n%s"
            % (script, done.returncode, done.stderr.decode(errors="replace").strip())
        )
    result: Dict[str, str] = {}
    for entry in done.stdout.split(b"\0"):
        name, sep, value = entry.decode(errors="replace").partition("=")
        if sep and name:
            result[name] = value
    for name in ("SHLVL", "_", "PWD", "OLDPWD"):  # bash bookkeeping, not the script's
        if name in env:
            result[name] = env[name]
        else:
            result.pop(name, None)
    return result


def resolve_environment(
    spec: EnvironmentSpec,
    *,
    updates: Sequence[EnvironmentUpdate] = (),
    sourced_scripts: Sequence[str] = (),
    base_env: Optional[Mapping[str, str]] = None,
) -> ResolvedEnvironment:
    """Resolve ``spec`` plus updates into an interpreter and its environment."""
    env = dict(os.environ if base_env is None else base_env)
    if spec.kind != "current":
        raise EnvironmentError_("environment kind %r is not supported" % spec.kind)
    python = spec.target or sys.executable
    for script in sourced_scripts:
        env = source_script(script, env)
    for update in updates:
        apply_update(env, update)
    return ResolvedEnvironment(
        python=python,
        env=env,
        description="current interpreter %s" % python,
        sourced=list(sourced_scripts),
    )
