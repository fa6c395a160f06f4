"""Task-side entry point: ``python -m lute.tasks.run``.

Started by an Executor in the Task's environment. It connects to the Executor over the
channel named in the environment (``LUTE_IPC_ADDRESS`` …), receives the Task's name and
validated parameters, rebuilds the parameters, runs the Task and exits with a code that
reflects the outcome:

==== ==========================================================
code meaning
==== ==========================================================
0    COMPLETED (or STOPPED)
1    FAILED: the Task raised or set FAILED
2    the Task could not be set up (no Executor, unknown Task, bad parameters)
124  TIMEDOUT (set by the Task itself)
130  CANCELLED (SIGTERM/SIGINT)
==== ==========================================================

``python -m lute.tasks.run --probe [--task NAME]`` prints, as JSON, what an Executor needs
to know about this environment before launching a Task in it.

The Task ends when its Executor does, however the Executor ends (``kill -9``, the OOM
killer, a lost node):

* on Linux the kernel sends SIGTERM when the parent process dies (``PR_SET_PDEATHSIG``,
  asked for first thing); if the Executor named by ``LUTE_EXECUTOR_PID`` is already gone
  by then, the Task stops at once (exit code 130);
* over a Unix or TCP channel (MPI ranks, whose parent is the launcher; ranks on other
  hosts), the end of the Executor's connection cancels the Task: SIGTERM to itself, so
  the Task's cancellation path runs, and ``os._exit(130)`` if it has not ended
  :data:`LOST_GRACE` seconds later. ZMQ has no end of stream: there only the first
  mechanism works.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

from lute.settings import EXECUTOR_PID, TASK_NAME, SettingError

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Mapping, Optional, Tuple, Type

#: Set by the Executor to the Task's name, so the Task's module can be imported while
#: the Executor is still validating the parameters.
ENV_TASK_NAME = TASK_NAME.name

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
EXIT_TIMEDOUT = 124
EXIT_CANCELLED = 130

#: Seconds a Task whose Executor is gone has to end after its SIGTERM (a third-party
#: program gets 10 s to end after its own); then the process exits with EXIT_CANCELLED.
LOST_GRACE = 15.0
#: prctl(2) option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def exit_code_for(status: Any) -> int:
    """Process exit code for a final :class:`~lute.tasks.dataclasses.TaskStatus`."""
    name = getattr(status, "value", str(status))
    return {
        "COMPLETED": EXIT_COMPLETED,
        "STOPPED": EXIT_COMPLETED,
        "CANCELLED": EXIT_CANCELLED,
        "TIMEDOUT": EXIT_TIMEDOUT,
    }.get(name, EXIT_FAILED)


def build_parameters(handoff: Mapping[str, Any], task_class: Type[Any]) -> Any:
    """Rebuild the Task's parameters from the Executor's hand-off document.

    The stdlib surrogate is used unless the Task class sets
    ``wants_pydantic_parameters = True`` and the named model is importable here.
    """
    from lute.io.parameters import TaskParameters

    data = handoff.get("parameters") or {}
    model_ref = handoff.get("model") or ""
    if model_ref and getattr(task_class, "wants_pydantic_parameters", False):
        module_name, _, class_name = model_ref.partition(":")
        try:
            model = getattr(importlib.import_module(module_name), class_name)
        except ImportError:
            pass  # no lute-models here: the surrogate serves
        else:
            return model.model_validate(data)
    return TaskParameters.from_wire(data, model_name=model_ref.rpartition(":")[2])


def _keyword_parameters(function: Any) -> Tuple[Tuple[str, ...], bool]:
    """Names ``function`` accepts by keyword, and whether it takes ``**kwargs``.

    Read from the code object where there is one: ``inspect`` costs more to import
    than the rest of the Task start-up.
    """
    code = getattr(function, "__code__", None)
    if code is None or getattr(function, "__wrapped__", None) is not None:
        import inspect

        parameters = inspect.signature(function).parameters.values()
        names = tuple(
            p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        return names, any(p.kind == p.VAR_KEYWORD for p in parameters)
    count = code.co_argcount + code.co_kwonlyargcount
    return tuple(code.co_varnames[:count]), bool(code.co_flags & 0x08)  # CO_VARKEYWORDS


def instantiate(task_class: Type[Any], params: Any, handoff: Mapping[str, Any]) -> Any:
    """Construct the Task, passing only the keyword arguments its ``__init__`` accepts."""
    from lute.io.parameters import RowIds

    offered: Dict[str, Any] = {
        "params": params,
        "row_ids": RowIds.from_wire(handoff.get("row_ids")),
        "argv": handoff.get("argv"),
        "run_directory": handoff.get("run_directory"),
    }
    accepted, takes_any = _keyword_parameters(task_class.__init__)
    kwargs = {
        key: value
        for key, value in offered.items()
        if key == "params" or takes_any or key in accepted
    }
    task = task_class(**kwargs)
    if "row_ids" not in kwargs:
        task._row_ids = offered["row_ids"]  # older Tasks without the argument still get it
    return task


def python_version() -> str:
    """``platform.python_version()`` read from ``sys.version``, as platform does.

    Importing :mod:`platform` costs about 2 ms of every start-up. Its CPython and PyPy
    parsers take the first word of ``sys.version`` (``3.13.0rc1``, ``3.12.3+``) and add
    a missing patch level; ``sys.version_info`` would lose such suffixes.
    """
    version = sys.version.split(None, 1)[0]
    if version.count(".") == 1:
        version += ".0"
    return version


def probe(task_name: Optional[str], import_task: bool = True) -> Dict[str, Any]:
    """Describe this environment for an Executor's pre-flight check.

    Args:
        task_name: The Task to check (None: the environment only).
        import_task: Import the Task (a probe process); False only locates its module
            (the Executor probing its own interpreter, see :func:`lute.tasks.locate_task`).
    """
    from importlib.util import find_spec

    from lute.execution.ipc import PROTOCOL_VERSION
    from lute.runtime_version import __version__

    info: Dict[str, Any] = {
        "python": python_version(),
        "executable": sys.executable,
        "lute_runtime": __version__,
        "protocol": PROTOCOL_VERSION,
        "zmq": find_spec("zmq") is not None,
        "mpi4py": find_spec("mpi4py") is not None,
        "pydantic": find_spec("pydantic") is not None,
    }
    if task_name:
        try:
            from lute import tasks

            if import_task:
                task_class = tasks.import_task(task_name)
                where = task_class.__module__ + "." + task_class.__qualname__
            else:
                module, _, qualname = tasks.locate_task(task_name).partition(":")
                where = module.strip() + "." + qualname.strip()
            info["task"] = {"importable": True, "class": where}
        except Exception as error:  # report any failure: the probe must not crash
            info["task"] = {"importable": False, "error": "%s: %s" % (type(error).__name__, error)}
    return info


class _Preloaded:
    """The Task class imported before the hand-off, or the error importing it raised."""

    def __init__(self, name: Optional[str]) -> None:
        self.name = name
        self.task_class: Optional[Type[Any]] = None
        self.error: Optional[BaseException] = None
        if not name:
            return
        try:
            from lute.tasks import import_task

            self.task_class = import_task(name)
        except Exception as error:  # reported after the hand-off, through the Executor
            self.error = error

    def get(self, name: str) -> Type[Any]:
        """The class of Task ``name``: the preloaded one, else imported now."""
        if name != self.name:
            from lute.tasks import import_task

            return import_task(name)
        if self.error is not None:
            raise self.error
        assert self.task_class is not None
        return self.task_class


def end_with_parent() -> bool:
    """Have the kernel send SIGTERM when the parent dies; check the Executor is there.

    Linux only (``prctl(PR_SET_PDEATHSIG)`` through ctypes); elsewhere a no-op. The
    signal covers what happens from now on; a parent that died before (between the
    fork and now) is found by the check: with ``LUTE_EXECUTOR_PID`` set, the parent
    should be that process. A different parent is fine when an MPI launcher started
    us, or when the Executor still exists (a wrapper process in between).

    Returns:
        False when the Executor that started this process is already gone.
    """
    import signal

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the channel watch remains
            pass
    try:
        executor = EXECUTOR_PID.get()
    except SettingError:
        return True  # garbled: nothing to check against
    from lute.tasks import _context

    if executor is None or os.getppid() == executor or _context.launched_by_mpi():
        return True
    try:
        os.kill(executor, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, as another user
        pass
    return True


def _warn(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # the Executor, and the reading end of our stderr, may be gone


def _exit_later(seconds: float) -> None:
    import time

    time.sleep(seconds)
    os._exit(EXIT_CANCELLED)


def cancel_when_lost(error: Exception) -> None:
    """``on_lost`` of the Task's channel: the Executor is gone, so cancel the Task.

    SIGTERM to this process runs the Task's cancellation path (CANCELLED, exit code
    130); a process still alive :data:`LOST_GRACE` seconds later exits anyway.
    """
    import signal
    import threading

    _warn("lute task runner: %s; cancelling the Task" % error)
    threading.Thread(
        target=_exit_later, args=(LOST_GRACE,), name="lute-lost-exit", daemon=True
    ).start()
    os.kill(os.getpid(), signal.SIGTERM)


def _close(communicator: Any) -> None:
    """Close the channel; its failure does not matter once the Executor is gone."""
    from lute.execution.ipc import IPCError

    try:
        communicator.close()
    except IPCError:
        if getattr(communicator, "executor_lost", None) is None:
            raise


def _parse_args(argv: Optional[List[str]]) -> Any:
    import argparse  # the Executor starts us without arguments: skip argparse then

    parser = argparse.ArgumentParser(
        prog="python -m lute.tasks.run",
        description="Run one LUTE Task on behalf of an Executor (started by lute-exec).",
    )
    parser.add_argument("--task", help="Task name (default: the one sent by the Executor)")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="print this environment's capabilities as JSON and exit",
    )
    return parser.parse_args(argv)


def _fail_setup(communicator: Any, detail: str) -> int:
    from lute.execution.ipc import Message

    sys.stderr.write(detail if detail.endswith("\n") else detail + "\n")
    try:
        communicator.send(Message(contents=detail, signal="TASK_FAILED"))
    finally:
        _close(communicator)
    return EXIT_SETUP


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    task_override: Optional[str] = None
    if arguments:
        args = _parse_args(arguments)
        if args.probe:
            import json

            print(json.dumps(probe(args.task)))
            return 0
        task_override = args.task

    if not end_with_parent():
        _warn(
            "lute task runner: the Executor (pid %s) that started this Task is gone; "
            "stopping" % EXECUTOR_PID.raw()
        )
        return EXIT_CANCELLED

    # The Task's module (often heavy: numpy, h5py ...) is imported while the Executor
    # still validates the parameters; the hand-off below waits for that validation.
    # Module-level code therefore runs before the chdir to ``run_directory``.
    preloaded = _Preloaded(task_override or TASK_NAME.get())

    from lute.execution.ipc import IPCError, connect
    from lute.tasks import _context

    try:
        communicator = connect(rank=_context.launcher_rank(), on_lost=cancel_when_lost)
    except IPCError as error:
        sys.stderr.write("lute task runner: cannot reach the Executor: %s\n" % error)
        return EXIT_SETUP
    _context.set_communicator(communicator)
    handoff = communicator.hello_reply
    task_name = task_override or handoff.get("task_name")
    try:
        if not task_name:
            raise ValueError("the Executor sent no task name and --task was not given")
        run_directory = handoff.get("run_directory")
        if run_directory:
            os.chdir(run_directory)  # the model's run_directory option
        task_class = preloaded.get(str(task_name))
        task = instantiate(task_class, build_parameters(handoff, task_class), handoff)
    except Exception:
        import traceback

        return _fail_setup(
            communicator,
            "Task %r could not be set up in %s (pid %d):\n%s"
            % (task_name, sys.executable, os.getpid(), traceback.format_exc()),
        )
    # What exists now (modules, the Task, its parameters) lives until the process ends:
    # spare the cyclic collector from scanning it again during the run and at exit.
    gc.freeze()
    try:
        result = task.run()
    finally:
        _close(communicator)
        _context.set_communicator(None)
    return exit_code_for(result.task_status)


if __name__ == "__main__":
    sys.exit(main())
