"""Parameter models of the built-in test Tasks (``lute.tasks.test``, ``lute.tasks.mpi_test``).

Each is found by its Task's name (``Test`` -> ``TestParameters``). The managed tasks
``Tester``, ``SocketTester``, ``WriteTester``, ``ReadTester``, ``BinaryTester``,
``BinaryErrTester``, ``MPITester`` and ``MultiNodeCommunicationTester`` run them.

One module per Task, so a run imports (and pydantic builds) only the model it uses;
every name below is importable from this package too, loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from lute._lazy import lazy_attributes

if TYPE_CHECKING:  # what type checkers see; at run time each module loads on first use
    from lute.io.models.tests.arrays import TestSocketParameters
    from lute.io.models.tests.binary import TestBinaryErrParameters, TestBinaryParameters
    from lute.io.models.tests.echo import CompoundVar, TestParameters
    from lute.io.models.tests.mpi import MPITestParameters, TestMultiNodeCommunicationParameters
    from lute.io.models.tests.outputs import TestReadOutputParameters, TestWriteOutputParameters

__all__ = [
    "CompoundVar",
    "MPITestParameters",
    "TestBinaryErrParameters",
    "TestBinaryParameters",
    "TestMultiNodeCommunicationParameters",
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
    "TestBinaryErrParameters": "binary",
    "MPITestParameters": "mpi",
    "TestMultiNodeCommunicationParameters": "mpi",
}

__getattr__ = lazy_attributes(
    __name__, {name: "%s.%s" % (__name__, module) for name, module in _MODULES.items()}
)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
