"""Message, signals, constants and the cost of importing lute.execution.ipc."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from lute.execution import ipc
from lute.execution.ipc import LUTE_SIGNALS, Message


def test_signals_are_the_documented_tuple() -> None:
    assert LUTE_SIGNALS == (
        "NO_PICKLE_MODE",
        "TASK_STARTED",
        "TASK_FAILED",
        "TASK_STOPPED",
        "TASK_DONE",
        "TASK_CANCELLED",
        "TASK_RESULT",
        "TASK_LOG",
        "TASK_PROGRESS",
    )
    # What every Executor understands; newer signals only where its WELCOME lists them.
    from lute.execution.ipc._protocol import BASE_SIGNALS

    assert LUTE_SIGNALS[: len(BASE_SIGNALS)] == BASE_SIGNALS
    assert "TASK_LOG" not in BASE_SIGNALS and "TASK_PROGRESS" not in BASE_SIGNALS
    assert ipc.PROTOCOL_VERSION == 1
    assert (ipc.ENV_ADDRESS, ipc.ENV_ZMQ_ADDRESS, ipc.ENV_KEY) == (
        "LUTE_IPC_ADDRESS",
        "LUTE_ZMQ_ADDRESS",
        "LUTE_IPC_KEY",
    )
    assert (ipc.ENV_USE_ZMQ, ipc.ENV_MAX_FRAME) == ("LUTE_USE_ZMQ", "LUTE_IPC_MAX_FRAME")


def test_defaults_and_none_mean_plain_message() -> None:
    assert Message().contents is None
    assert Message().signal == ""
    assert Message("x", None).signal == ""


@pytest.mark.parametrize("signal", LUTE_SIGNALS)
def test_every_signal_is_accepted(signal: str) -> None:
    assert Message(1, signal).signal == signal


@pytest.mark.parametrize("bad", ["TASK_EXPLODED", "task_done", " TASK_DONE"])
def test_bad_signal_names_itself_and_the_valid_ones(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        Message("x", bad)
    text = str(info.value)
    assert repr(bad) in text
    assert all(signal in text for signal in LUTE_SIGNALS)


def test_signal_is_validated_on_assignment_too() -> None:
    message = Message("x")
    message.signal = "TASK_DONE"
    with pytest.raises(ValueError):
        message.signal = "NOPE"
    assert message.signal == "TASK_DONE"


def test_repr_shows_contents_and_signal_and_truncates() -> None:
    assert repr(Message("hi")) == "Message(contents='hi')"
    assert repr(Message({"a": 1}, "TASK_RESULT")) == (
        "Message(contents={'a': 1}, signal='TASK_RESULT')"
    )
    long = repr(Message("x" * 10_000))
    assert len(long) < 300 and long.endswith("...)")


def test_equality() -> None:
    assert Message([1, 2], "TASK_DONE") == Message([1, 2], "TASK_DONE")
    assert Message([1, 2]) != Message([1, 2], "TASK_DONE")
    assert Message([1, 2]) != Message([1, 3])
    assert Message(1) != 1
    with pytest.raises(TypeError):
        hash(Message(1))


def test_equality_of_array_contents() -> None:
    np = pytest.importorskip("numpy")
    assert Message(np.arange(5)) == Message(np.arange(5))
    assert Message(np.arange(5)) != Message(np.arange(1, 6))
    assert Message(np.arange(5)) != Message(np.arange(6))


@pytest.mark.parametrize("protocol", [4, 5])
def test_pickle_round_trip(protocol: int) -> None:
    message = Message({"k": [1.5, "v"]}, "TASK_RESULT")
    copy = pickle.loads(pickle.dumps(message, protocol))
    assert copy == message and copy is not message
    assert type(copy) is Message


def test_pickles_and_tracebacks_name_the_public_module() -> None:
    # The wire format: peers of every version look the class up at lute.execution.ipc.
    assert (Message.__module__, Message.__qualname__) == ("lute.execution.ipc", "Message")
    assert b"\x8c\x12lute.execution.ipc\x94\x8c\x07Message\x94" in pickle.dumps(Message(), 4)
    for error in (ipc.IPCError, ipc.AuthenticationError, ipc.FrameError, ipc.ProtocolError):
        assert error.__module__ == "lute.execution.ipc"
    assert ipc.PayloadError.__module__ == "lute.execution.ipc"


def test_unpickling_revalidates_the_signal() -> None:
    data = pickle.dumps(Message("x", "TASK_DONE"), 4).replace(b"TASK_DONE", b"TASK_NOPE")
    with pytest.raises(ValueError):
        pickle.loads(data)


def test_new_key_is_random_32_bytes() -> None:
    keys = {ipc.new_key() for _ in range(10)}
    assert len(keys) == 10 and all(isinstance(k, bytes) and len(k) == 32 for k in keys)


def test_error_hierarchy() -> None:
    for error in (ipc.AuthenticationError, ipc.FrameError, ipc.ProtocolError, ipc.PayloadError):
        assert issubclass(error, ipc.IPCError)
    assert issubclass(ipc.IPCError, Exception)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        ipc.NoSuchThing  # noqa: B018


HEAVY = ("zmq", "pickle", "json", "socket", "hmac", "selectors", "typing", "threading")


def test_importing_ipc_loads_no_transport_modules() -> None:
    """The module itself is cheap: transports load only on first use."""
    code = (
        "import sys; before = set(sys.modules); import lute.execution.ipc; "
        "print(' '.join(sorted(m for m in %r if m in sys.modules and m not in before)))" % (HEAVY,)
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_lazy_names_resolve() -> None:
    from lute.execution.ipc._communicator import Communicator
    from lute.execution.ipc._listener import Listener
    from lute.execution.ipc._peer import Peer

    assert ipc.Listener is Listener and ipc.Peer is Peer and ipc.Communicator is Communicator
