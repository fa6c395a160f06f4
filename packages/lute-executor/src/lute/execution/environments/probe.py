"""Pre-flight check of a Task's environment, run before anything is recorded RUNNING.

:func:`preflight` asks the Task's interpreter what it has (``python -m lute.tasks.run
--probe``, run through a small bootstrap that also works on interpreters too old for
LUTE) and checks it: Python >= 3.8, lute-runtime importable, an IPC protocol this
Executor speaks, the Task importable. Each failure raises
:class:`~lute.execution.environments.EnvironmentSpecError` naming the fix.

Successful probes are cached in memory and on disk (``$XDG_CACHE_HOME/lute/probes`` or
``~/.cache/lute/probes``), keyed by the interpreter (path, target, size, mtime, its
``pyvenv.cfg``), the Task name and the variables that change imports; an entry is used
only while every directory on the interpreter's ``sys.path`` keeps the mtime it had,
so installing or removing a package invalidates it. A hit spawns no process. The
Executor's own interpreter is probed in-process, where the Task's module is only located
(:func:`lute.tasks.locate_task`), never imported: Task code does not run in the Executor.

This module judges the findings and builds the :class:`ProbeResult`; asking the
interpreter is ``_probe_program``'s job, keeping the findings ``_probe_cache``'s.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from lute._records import FrozenRecord
from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._probe_cache import (
    KEY_VARIABLES,
    cache_get,
    cache_key,
    cache_put,
    clear_probe_cache,
    default_cache_dir,
)
from lute.execution.environments._probe_program import probe_in_process, probe_subprocess
from lute.execution.environments._specs import ResolvedEnvironment

__all__ = [
    "MIN_TASK_PYTHON",
    "ProbeResult",
    "clear_probe_cache",
    "default_cache_dir",
    "install_command",
    "preflight",
]

MIN_TASK_PYTHON = (3, 8)
DEFAULT_TIMEOUT = 60.0
# Differences in these rule out probing in the Executor's own process.
_IMPORT_VARIABLES = KEY_VARIABLES[:6]


class ProbeResult(FrozenRecord):
    """What a Task's environment offers, as checked by :func:`preflight`.

    Read-only and hashable.

    Attributes:
        python: The interpreter probed (as it will be launched).
        executable: ``sys.executable`` reported by that interpreter.
        python_version: e.g. ``"3.8.18"``.
        lute_runtime: Version of lute-runtime there.
        protocol: IPC protocol version of lute-runtime there.
        zmq: ``pyzmq`` importable there (the Executor may offer ZMQ).
        mpi4py: ``mpi4py`` importable there.
        pydantic: ``pydantic`` importable there.
        task_name: The Task checked (empty: none).
        task_importable: The Task's class could be imported there.
        task_class: ``module.Class`` of the Task, when importable.
        in_process: Probed inside the Executor (its own interpreter): no process spawned.
        cached: Taken from the probe cache: no process spawned.
        seconds: Time the probe took (0 for a cache hit).
        warnings: Things worth showing that do not stop the launch.
    """

    __match_args__ = (
        "python",
        "executable",
        "python_version",
        "lute_runtime",
        "protocol",
        "zmq",
        "mpi4py",
        "pydantic",
        "task_name",
        "task_importable",
        "task_class",
        "in_process",
        "cached",
        "seconds",
        "warnings",
    )
    _FIELDS = __match_args__
    __slots__ = _FIELDS

    python: str
    executable: str
    python_version: str
    lute_runtime: str
    protocol: int
    zmq: bool
    mpi4py: bool
    pydantic: bool
    task_name: str
    task_importable: bool
    task_class: Optional[str]
    in_process: bool
    cached: bool
    seconds: float
    warnings: Tuple[str, ...]

    def __init__(
        self,
        python: str,
        executable: str,
        python_version: str,
        lute_runtime: str,
        protocol: int,
        zmq: bool,
        mpi4py: bool,
        pydantic: bool,
        task_name: str,
        task_importable: bool,
        task_class: Optional[str] = None,
        in_process: bool = False,
        cached: bool = False,
        seconds: float = 0.0,
        warnings: Tuple[str, ...] = (),
    ) -> None:
        self._set_fields(
            python,
            executable,
            python_version,
            lute_runtime,
            protocol,
            zmq,
            mpi4py,
            pydantic,
            task_name,
            task_importable,
            task_class,
            in_process,
            cached,
            seconds,
            warnings,
        )


def install_command(python: str, requirement: str) -> str:
    """The command that installs ``requirement`` for ``python`` (pip, or uv for pip-less venvs)."""
    py, req = shlex.quote(python), shlex.quote(requirement)
    return "`%s -m pip install %s` (or `uv pip install -p %s %s`)" % (py, req, py, req)


def preflight(
    resolved: ResolvedEnvironment,
    task_name: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    use_cache: bool = True,
    cache_dir: Optional[str] = None,
) -> ProbeResult:
    """Check that ``task_name`` can run in ``resolved``; describe what is there.

    Args:
        resolved: The Task's interpreter and environment.
        task_name: Task to check for importability (``""``: check the environment only).
        timeout: Seconds allowed to the probe process.
        use_cache: Use and fill the probe cache.
        cache_dir: Cache directory (default: :func:`default_cache_dir`).

    Raises:
        EnvironmentSpecError: The interpreter is missing, broken or older than Python 3.8;
            lute-runtime is missing or speaks another IPC protocol; the Task is not
            importable there. The message names the command that fixes it.
    """
    python = resolved.python
    _check_interpreter(resolved)
    started = time.perf_counter()
    if _same_as_executor(resolved):
        raw = probe_in_process(task_name)
        return _evaluate(raw, resolved, task_name, time.perf_counter() - started, in_process=True)

    key = cache_key(python, resolved.env, task_name) if use_cache else None
    directory = cache_dir or default_cache_dir()
    if key is not None:
        hit = cache_get(key, directory)
        if hit is not None:
            return _evaluate(hit, resolved, task_name, 0.0, cached=True)
    raw = probe_subprocess(resolved, task_name, timeout)
    result = _evaluate(raw, resolved, task_name, time.perf_counter() - started)
    if key is not None:  # only environments that passed every check are cached
        cache_put(key, directory, raw)
    return result


# Checks ---------------------------------------------------------------------------------
def _check_interpreter(resolved: ResolvedEnvironment) -> None:
    python = resolved.python
    where = "(environment: %s)" % resolved.description
    if not os.path.lexists(python):
        raise EnvironmentSpecError(
            "Task interpreter %s does not exist %s; create the environment or fix its path"
            % (python, where)
        )
    if not os.path.exists(python):
        raise EnvironmentSpecError(
            "Task interpreter %s is a broken link to %s %s; recreate the environment"
            % (python, os.path.realpath(python), where)
        )
    if os.path.isdir(python) or not os.access(python, os.X_OK):
        raise EnvironmentSpecError(
            "Task interpreter %s is not an executable file %s" % (python, where)
        )


def _same_as_executor(resolved: ResolvedEnvironment) -> bool:
    if os.path.abspath(resolved.python) != os.path.abspath(sys.executable):
        return False
    return all(resolved.env.get(name) == os.environ.get(name) for name in _IMPORT_VARIABLES)


def _evaluate(
    raw: Dict[str, Any],
    resolved: ResolvedEnvironment,
    task_name: str,
    seconds: float,
    *,
    in_process: bool = False,
    cached: bool = False,
) -> ProbeResult:
    """Check the probe's findings; build the result or raise the error naming the fix."""
    from lute.execution.ipc import PROTOCOL_VERSION
    from lute.runtime_version import __version__ as executor_runtime

    python = resolved.python
    where = "(environment: %s)" % resolved.description
    fix = install_command(python, "lute-runtime==%s" % executor_runtime)
    version = ".".join(str(part) for part in raw.get("version", ()))
    stage = raw.get("stage")
    if stage == "old_python":
        raise EnvironmentSpecError(
            "Task interpreter %s is Python %s %s: LUTE Tasks need Python >= %d.%d; point the "
            "environment at a newer interpreter" % (python, version, where, *MIN_TASK_PYTHON)
        )
    if stage == "no_runtime":
        raise EnvironmentSpecError(
            "lute-runtime is not installed for %s %s: install it with %s" % (python, where, fix)
        )
    if stage != "ok":
        raise EnvironmentSpecError(
            "lute-runtime for %s %s is broken or older than this Executor's (%s): its probe "
            "failed. Reinstall it with %s\n%s"
            % (python, where, executor_runtime, fix, str(raw.get("error", "")).strip())
        )
    probe: Dict[str, Any] = raw.get("probe") or {}
    task_runtime = str(probe.get("lute_runtime", "unknown"))
    protocol = probe.get("protocol")
    if protocol != PROTOCOL_VERSION:
        if isinstance(protocol, int) and protocol > PROTOCOL_VERSION:
            advice = (
                "install the matching lute-runtime there with %s, or upgrade lute-executor here"
                % fix
            )
        else:
            advice = "upgrade it there with %s" % fix
        raise EnvironmentSpecError(
            "lute-runtime %s for %s %s speaks IPC protocol %s, this Executor (lute-runtime %s) "
            "speaks %d: %s"
            % (task_runtime, python, where, protocol, executor_runtime, PROTOCOL_VERSION, advice)
        )
    task = probe.get("task") or {}
    if task_name and not task.get("importable"):
        raise EnvironmentSpecError(
            "Task %r is not importable by %s %s: %s. Install the package that provides it "
            "there (`%s -m pip install <package>`); a facility package registers its Tasks "
            "under the 'lute.tasks' entry-point group"
            % (task_name, python, where, task.get("error", "no details"), shlex.quote(python))
        )
    warnings: List[str] = []
    if task_runtime != executor_runtime:
        warnings.append(
            "lute-runtime %s for %s differs from the Executor's %s (same IPC protocol %d)"
            % (task_runtime, python, executor_runtime, PROTOCOL_VERSION)
        )
    return ProbeResult(
        python=python,
        executable=str(probe.get("executable") or raw.get("executable") or python),
        python_version=str(probe.get("python") or version),
        lute_runtime=task_runtime,
        protocol=int(protocol),
        zmq=bool(probe.get("zmq")),
        mpi4py=bool(probe.get("mpi4py")),
        pydantic=bool(probe.get("pydantic")),
        task_name=task_name,
        task_importable=bool(task.get("importable")),
        task_class=task.get("class"),
        in_process=in_process,
        cached=cached,
        seconds=seconds,
        warnings=tuple(warnings),
    )
