"""A message the Executor cannot unpickle is reported whole, never silently dropped.

The Task's environment has a module the receiving process lacks (as numpy in a Task's
venv only): the Listener hands the authenticated bytes to ``on_error`` as an
``UndecodableMessage`` with the missing module's name and the message's signal, and
they decode where the module exists.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
import textwrap
import types
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from lute.execution.ipc import Listener, Message, PayloadError, UndecodableMessage, _wire

WAIT = 30.0
MODULE = "lute_test_only_in_the_task"

THING = """
import pickle


class Thing:
    '''Lives only where the Task runs; large ones carry an out-of-band buffer.'''

    def __init__(self, name, size=0):
        self.name = name
        self.data = bytearray(b"x" * size)

    def __reduce_ex__(self, protocol):
        data = pickle.PickleBuffer(self.data) if protocol >= 5 else bytes(self.data)
        return (rebuild, (self.name, data))

    def __eq__(self, other):
        return (self.name, bytes(self.data)) == (other.name, bytes(other.data))


def rebuild(name, data):
    thing = Thing(name)
    thing.data = bytearray(data)
    return thing
"""

TASK = """
from lute.execution.ipc import connect, Message
from %(module)s import Thing
with connect() as c:
    c.send(Message(Thing("small"), signal="TASK_RESULT"))
    c.send(Message({"array": Thing("large", 300_000)}))
    c.send(Message("still connected"))
""" % {"module": MODULE}


@pytest.fixture
def task_module(tmp_path: Path) -> Iterator[Path]:
    """A directory holding MODULE, on the Task's PYTHONPATH only."""
    directory = tmp_path / "task-only"
    directory.mkdir()
    (directory / ("%s.py" % MODULE)).write_text(textwrap.dedent(THING))
    assert importlib.util.find_spec(MODULE) is None  # not importable here
    yield directory
    sys.modules.pop(MODULE, None)
    if str(directory) in sys.path:
        sys.path.remove(str(directory))


def transports() -> List[Any]:
    zmq = pytest.param(
        "zmq",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("zmq") is None, reason="pyzmq is not installed here"
        ),
    )
    return ["unix", "tcp", zmq]


@pytest.mark.parametrize("transport", transports())
def test_an_undecodable_message_reaches_on_error_whole(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    task_module: Path,
    transport: str,
) -> None:
    if transport == "zmq":
        listener = make_listener(zmq=True)
        env = tasks.env(listener, PYTHONPATH=str(task_module))
    else:
        listener = make_listener(transport=transport)
        env = tasks.env(listener, PYTHONPATH=str(task_module), LUTE_USE_ZMQ="0")
    tasks.check_ok(tasks.run(TASK, env))
    assert listener.wait_idle(WAIT)
    assert inbox.contents() == ["still connected"]  # the connection carried on
    errors = [error for _, error in inbox.errors]
    assert [type(error) for error in errors] == [UndecodableMessage, UndecodableMessage]
    small, large = errors
    assert isinstance(small, PayloadError)  # what handlers written before expect
    assert [e.missing_module for e in errors] == [MODULE, MODULE]
    assert [e.signal for e in errors] == ["TASK_RESULT", ""]
    assert all("No module named %r" % MODULE in e.cause for e in errors)
    assert all(e.cause.startswith("ModuleNotFoundError: ") for e in errors)
    assert "install it beside the Executor" in str(small) and MODULE in str(small)
    assert "TASK_RESULT" in str(small)
    assert small.buffers == ()  # it came in a BATCH frame: all in the stream
    assert [memoryview(b).nbytes for b in large.buffers] == [300_000]
    assert large.size == memoryview(large.stream).nbytes + 300_000

    # Where the module exists, the kept bytes are the message.
    sys.path.insert(0, str(task_module))
    thing = importlib.import_module(MODULE).Thing
    assert small.decode() == Message(thing("small"), signal="TASK_RESULT")
    assert large.decode() == Message({"array": thing("large", 300_000)})
    stored = (bytes(large.stream), [bytes(b) for b in large.buffers])  # e.g. in a database
    assert pickle.loads(stored[0], buffers=stored[1]).contents["array"].name == "large"


def test_the_signal_is_none_when_even_stand_ins_cannot_read_it() -> None:
    stream = b"\x80\x04cno_such_module_anywhere\nThing\n)\x81."  # not a Message at all
    with pytest.raises(UndecodableMessage) as caught:
        _wire.load_message(stream)
    assert caught.value.signal is None
    assert caught.value.missing_module == "no_such_module_anywhere"
    assert bytes(caught.value.stream) == stream


def test_a_batch_entry_is_copied_out_of_the_receive_buffer() -> None:
    buffer = bytearray(b"\x80\x04cno_such_module_anywhere\nThing\n)\x81.")
    with pytest.raises(UndecodableMessage) as caught:
        _wire.load_message(memoryview(buffer))
    buffer[:] = bytes(len(buffer))  # the connection's buffer is reused for later frames
    assert bytes(caught.value.stream).startswith(b"\x80\x04cno_such_module_anywhere")


def test_a_pickle_of_something_else_stays_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="expected a lute Message, got int") as caught:
        _wire.load_message(pickle.dumps(42))
    assert not isinstance(caught.value, UndecodableMessage)
