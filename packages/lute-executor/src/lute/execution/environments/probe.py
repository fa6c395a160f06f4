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
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from lute._records import FrozenRecord
from lute.execution.environments import ResolvedEnvironment
from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._shell import run_bounded

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
CACHE_FORMAT = 1
# Variables that change what an interpreter can import; part of the cache key.
KEY_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
    "PYTHONPLATLIBDIR",
    "HOME",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)
# Differences in these rule out probing in the Executor's own process.
_IMPORT_VARIABLES = KEY_VARIABLES[:6]
_MARK = "LUTE-PROBE "
_TAIL = 2000

# Runs in the Task's interpreter. Written for any Python from 2.7 on, so that a too-old
# interpreter is reported as such rather than as a syntax error; the Task name comes
# in as sys.argv[1] (never pasted into the code).
_BOOTSTRAP = r"""
import json, sys
out = {"version": list(sys.version_info[:3]), "executable": sys.executable,
       "path": [p for p in sys.path if p]}
def main():
    if sys.version_info < (3, 8):
        out["stage"] = "old_python"
        return
    import importlib.util, io, runpy, traceback
    try:
        found = importlib.util.find_spec("lute.tasks.run") is not None
    except ImportError:
        found = False
    except Exception:
        out["stage"] = "probe_failed"
        out["error"] = traceback.format_exc()[-%(tail)d:]
        return
    if not found:
        out["stage"] = "no_runtime"
        return
    argv = ["lute.tasks.run", "--probe"]
    if len(sys.argv) > 1 and sys.argv[1]:
        argv += ["--task", sys.argv[1]]
    captured = io.StringIO()
    saved = sys.stdout, sys.argv
    sys.stdout, sys.argv = captured, argv
    try:
        runpy.run_module("lute.tasks.run", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        out["exit"] = stop.code if stop.code is None or isinstance(stop.code, int) else 1
    except BaseException:
        out["stage"] = "probe_failed"
        out["error"] = traceback.format_exc()[-%(tail)d:]
        return
    finally:
        sys.stdout, sys.argv = saved
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    try:
        out["probe"] = json.loads(lines[-1])
        out["stage"] = "ok"
    except Exception:
        out["stage"] = "probe_failed"
        out["error"] = ("no JSON from --probe (exit %%r):\n" %% out.get("exit")
                        + captured.getvalue()[-%(tail)d:])
main()
sys.stdout.write("\n%(mark)s" + json.dumps(out) + "\n")
""" % {"tail": _TAIL, "mark": _MARK}


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


def default_cache_dir() -> str:
    """Where probe results are kept: ``$XDG_CACHE_HOME/lute/probes`` or ``~/.cache/...``."""
    from lute._paths import cache_dir

    return cache_dir("probes")


_memory: Dict[str, Tuple[List[Any], Dict[str, Any]]] = {}
_memory_lock = threading.Lock()


def clear_probe_cache(*, disk: bool = False, cache_dir: Optional[str] = None) -> None:
    """Forget cached probe results (in memory; on disk too when ``disk``)."""
    with _memory_lock:
        _memory.clear()
    if disk:
        directory = cache_dir or default_cache_dir()
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                if name.startswith("probe-") and name.endswith(".json"):
                    try:
                        os.unlink(os.path.join(directory, name))
                    except OSError:
                        pass


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
        raw = _probe_in_process(task_name)
        return _evaluate(raw, resolved, task_name, time.perf_counter() - started, in_process=True)

    key = _cache_key(python, resolved.env, task_name) if use_cache else None
    directory = cache_dir or default_cache_dir()
    if key is not None:
        hit = _cache_get(key, directory)
        if hit is not None:
            return _evaluate(hit, resolved, task_name, 0.0, cached=True)
    raw = _probe_subprocess(resolved, task_name, timeout)
    result = _evaluate(raw, resolved, task_name, time.perf_counter() - started)
    if key is not None:  # only environments that passed every check are cached
        _cache_put(key, directory, raw)
    return result


# The probe -----------------------------------------------------------------------------
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


def _probe_in_process(task_name: str) -> Dict[str, Any]:
    raw: Dict[str, Any] = {
        "version": list(sys.version_info[:3]),
        "executable": sys.executable,
        "path": [],
    }
    try:
        from lute.tasks.run import probe

        # The Task is located, not imported: its code runs only in the Task's process,
        # which reports an import error itself (the run ends FAILED with the traceback).
        raw["probe"] = probe(task_name or None, import_task=False)
    except Exception:  # reported like a failing probe process
        import traceback

        raw.update(stage="probe_failed", error=traceback.format_exc()[-_TAIL:])
    else:
        raw["stage"] = "ok"
    return raw


def _probe_subprocess(
    resolved: ResolvedEnvironment, task_name: str, timeout: float
) -> Dict[str, Any]:
    python = resolved.python
    try:
        done = run_bounded([python, "-c", _BOOTSTRAP, task_name], resolved.env, timeout)
    except subprocess.TimeoutExpired:
        raise EnvironmentSpecError(
            "probing %s (environment: %s) took longer than %.0f s: does importing Task %r "
            "block?" % (python, resolved.description, timeout, task_name)
        ) from None
    except OSError as error:
        raise EnvironmentSpecError(
            "Task interpreter %s cannot be run (environment: %s): %s; recreate the environment"
            % (python, resolved.description, error)
        ) from None
    stdout = done.stdout.decode(errors="replace")
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARK):
            try:
                data: Dict[str, Any] = json.loads(line[len(_MARK) :])
            except ValueError:
                break
            return data
    stderr = done.stderr.decode(errors="replace").strip()
    raise EnvironmentSpecError(
        "Task interpreter %s is broken (environment: %s): it exited with code %d before "
        "describing itself; recreate the environment.\n%s"
        % (python, resolved.description, done.returncode, (stderr or stdout)[-_TAIL:])
    )


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


# The cache ------------------------------------------------------------------------------
def _stat_signature(path: str) -> Optional[List[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _cache_key(python: str, env: Dict[str, str], task_name: str) -> Optional[str]:
    real = os.path.realpath(python)
    signature = _stat_signature(real)
    if signature is None:
        return None
    bin_dir = os.path.dirname(os.path.abspath(python))
    parts = {
        "format": CACHE_FORMAT,
        "python": os.path.abspath(python),
        "real": real,
        "stat": signature,
        # a venv's configuration decides its sys.path
        "pyvenv": [
            _stat_signature(os.path.join(d, "pyvenv.cfg"))
            for d in (bin_dir, os.path.dirname(bin_dir))
        ],
        "task": task_name,
        "env": {name: env.get(name) for name in KEY_VARIABLES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _path_signature(paths: List[str]) -> List[Any]:
    """mtime of every ``sys.path`` entry (``None`` if missing): adding a package changes it."""
    signature: List[Any] = []
    for path in paths:
        try:
            signature.append([path, os.stat(path).st_mtime_ns])
        except OSError:
            signature.append([path, None])
    return signature


def _cache_get(key: str, directory: str) -> Optional[Dict[str, Any]]:
    with _memory_lock:
        entry = _memory.get(key)
    if entry is None:
        try:
            with open(os.path.join(directory, "probe-%s.json" % key)) as handle:
                stored = json.load(handle)
            entry = (stored["paths"], stored["raw"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    paths, raw = entry
    if not isinstance(raw, dict) or _path_signature([p for p, _ in paths]) != paths:
        return None
    with _memory_lock:
        _memory[key] = entry
    return raw


def _cache_put(key: str, directory: str, raw: Dict[str, Any]) -> None:
    paths = _path_signature([str(p) for p in raw.get("path", [])])
    with _memory_lock:
        _memory[key] = (paths, raw)
    try:
        from lute._paths import write_private_json

        write_private_json(
            os.path.join(directory, "probe-%s.json" % key),
            {"paths": paths, "raw": raw},
            dir_mode=0o777,  # as before: the umask decides
        )
    except OSError:
        pass  # the disk cache is an optimisation: an unwritable cache directory is fine
