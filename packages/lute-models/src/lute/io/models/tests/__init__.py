"""Parameter models of the built-in test Tasks (``lute.tasks.test``, ``lute.tasks.mpi_test``).

Each is found by its Task's name (``Test`` -> ``TestParameters``). The managed tasks
``Tester``, ``SocketTester``, ``WriteTester``, ``ReadTester``, ``BinaryTester`` and
``MPITester`` run them.

One module per Task, so a run imports (and pydantic builds) only the model it uses;
every name below is importable from this package too, loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any, List

__all__ = [
    "CompoundVar",
    "MPITestParameters",
    "TestBinaryParameters",
    "TestParameters",
    "TestReadOutputParameters",
    "TestSocketParameters",
    "TestWriteOutputParameters",
]

# name -> the submodule defining it
_MODULES = {
    "CompoundVar": "echo",
    "TestParameters": "echo",
    "TestSocketParameters": "arrays",
    "TestWriteOutputParameters": "outputs",
    "TestReadOutputParameters": "outputs",
    "TestBinaryParameters": "binary",
    "MPITestParameters": "mpi",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("%s.%s" % (__name__, module)), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
