"""The probe program: what a Task's interpreter reports about itself, and how it is asked.

:data:`BOOTSTRAP` runs ``python -m lute.tasks.run --probe`` inside the Task's interpreter
(``python -c``, so no process is spent on a wrapper); :func:`probe_subprocess` runs it
with the resolved environment; :func:`probe_in_process` asks the same questions in
the Executor's own process. Both return the raw findings (a JSON-compatible dict with a
``stage``); judging them is :func:`lute.execution.environments.probe.preflight`'s job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict

from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._shell import run_bounded
from lute.execution.environments._specs import ResolvedEnvironment

__all__ = ["BOOTSTRAP", "probe_in_process", "probe_subprocess"]

# Marks the line holding the findings on the probe's stdout (a Task may print too).
_MARK = "LUTE-PROBE "
# At most this many characters of a traceback or output go into an error message.
_TAIL = 2000

# Runs in the Task's interpreter. Written for any Python from 2.7 on, so that a too-old
# interpreter is reported as such rather than as a syntax error; the Task name comes
# in as sys.argv[1] (never pasted into the code).
BOOTSTRAP = r"""
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


def probe_in_process(task_name: str) -> Dict[str, Any]:
    """The findings for the Executor's own interpreter, without spawning a process."""
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


def probe_subprocess(
    resolved: ResolvedEnvironment, task_name: str, timeout: float
) -> Dict[str, Any]:
    """The findings of :data:`BOOTSTRAP` run by ``resolved``'s interpreter, in its environment.

    Raises:
        EnvironmentSpecError: The interpreter cannot be started, hangs past ``timeout``
            (its process group is killed) or exits without describing itself.
    """
    python = resolved.python
    try:
        done = run_bounded([python, "-c", BOOTSTRAP, task_name], resolved.env, timeout)
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
