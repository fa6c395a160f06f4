"""Built-in Tasks for testing LUTE itself (and a newcomer's first run).

- ``Test``: echoes its parameters; can sleep, print, raise, exit abruptly or crash.
- ``TestSocket``: sends ``num_arrays`` random arrays of ``array_size`` items, then a
  result holding a checksum of each, so a receiver can prove every message arrived.
- ``TestWriteOutput`` / ``TestReadOutput``: the first writes a file and reports its path
  as the result; the second is given that path (from the database) and reads it.
- ``TestBinary`` / ``TestBinaryErr``: a third-party program run from its model's flags;
  the second's program exits with a non-zero code.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from lute.execution.ipc import Message
from lute.tasks.task import Task, ThirdPartyTask

# Annotations only (PEP 563); the modules only some Tasks need are imported where used:
# the Executor's pre-flight imports this module to check that a Task exists.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, List

__all__ = [
    "Test",
    "TestBinary",
    "TestBinaryErr",
    "TestReadOutput",
    "TestSocket",
    "TestWriteOutput",
    "array_checksum",
]


def array_checksum(values: Any) -> str:
    """SHA-256 of an array's raw bytes (numpy array, ``array.array`` or bytes-like)."""
    import hashlib

    return hashlib.sha256(memoryview(values).cast("B")).hexdigest()


class Test(Task):
    """Echo the parameters back; optionally sleep, print, fail or crash."""

    def _run(self) -> None:
        params = self._task_parameters
        self._report_to_executor(
            Message(contents="float_var=%r str_var=%r" % (params.float_var, params.str_var))
        )
        self._report_to_executor(
            Message(
                contents="compound_var.int_var=%r compound_var.dict_var=%r"
                % (params.compound_var.int_var, dict(params.compound_var.dict_var))
            )
        )
        for line in range(getattr(params, "print_lines", 0)):
            print("Test output line %d" % line, flush=True)
        sleep_seconds = float(getattr(params, "sleep_seconds", 0.0))
        if sleep_seconds > 0:
            self._report_to_executor(Message(contents="sleeping %.3g s" % sleep_seconds))
            time.sleep(sleep_seconds)
        exit_code = getattr(params, "exit_code", None)
        if exit_code is not None:
            sys.stdout.flush()
            os._exit(int(exit_code))
        if getattr(params, "segfault", False):
            import ctypes

            ctypes.string_at(0)  # dereferences NULL: the process dies of SIGSEGV
        if params.throw_error:
            raise RuntimeError("Testing Error! (throw_error is set)")

    def _post_run(self) -> None:
        params = self._task_parameters
        self._result.summary = {
            "float_var": str(params.float_var),
            "str_var": str(params.str_var),
            "int_var": str(params.compound_var.int_var),
        }
        self._result.payload = "Test Finished."


class TestSocket(Task):
    """Send random arrays over IPC, then a result with their checksums."""

    def _run(self) -> None:
        import array
        import random

        params = self._task_parameters
        size = int(params.array_size)
        count = int(params.num_arrays)
        checksums: List[str] = []
        np: Any = None
        try:
            import numpy  # optional: richer arrays where the environment has it

            np = numpy
        except ImportError:
            pass
        rng = random.Random(0xC0FFEE)
        for _ in range(count):
            if np is not None:
                values: Any = np.random.default_rng(rng.getrandbits(32)).random(size)
            else:
                values = array.array("d", (rng.random() for _ in range(size)))
            checksums.append(array_checksum(values))
            self._report_to_executor(Message(contents=values))
        self._result.summary = {"arrays sent": str(count), "array size": str(size)}
        self._result.payload = {"checksums": checksums}


class TestWriteOutput(Task):
    """Write ``num_values`` random numbers to ``outfile_name``; the result is its path."""

    def _run(self) -> None:
        import random

        params = self._task_parameters
        path = str(params.outfile_name)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        rng = random.Random(int(params.num_values))
        values = [rng.gauss(0.0, 1.0) for _ in range(int(params.num_values))]
        # A temporary name of this writer's own: concurrent writers of one run never
        # write into each other's file, and readers never see a half-written one.
        tmp = "%s.%d-%d.tmp" % (path, os.getpid(), threading.get_ident())
        try:
            with open(tmp, "w") as handle:
                handle.writelines("%r\n" % value for value in values)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._result.summary = {"values written": str(len(values)), "file": path}
        self._result.payload = path


class TestReadOutput(Task):
    """Read the file written by ``TestWriteOutput`` and report its mean."""

    def _run(self) -> None:
        path = str(self._task_parameters.in_file)
        with open(path) as handle:
            values = [float(line) for line in handle if line.strip()]
        mean = sum(values) / len(values) if values else float("nan")
        self._report_to_executor(Message(contents="read %d values from %s" % (len(values), path)))
        self._result.summary = {"values read": str(len(values)), "mean": "%.6g" % mean}
        self._result.payload = {"count": len(values), "mean": mean, "file": path}


class TestBinary(ThirdPartyTask):
    """Run a third-party executable (``/bin/echo`` by default) with flags from its model."""


class TestBinaryErr(ThirdPartyTask):
    """Run a third-party executable that fails (``/bin/false`` by default): the run FAILS."""
