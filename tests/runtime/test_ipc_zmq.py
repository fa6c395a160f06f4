"""The optional ZMQ transport, and the fallback to the stdlib endpoint."""

from __future__ import annotations

import os
import stat
import textwrap
from typing import Any, Callable

import pytest

from lute.execution.ipc import AuthenticationError, IPCError, Listener, connect, new_key

zmq = pytest.importorskip("zmq")

SENDER = textwrap.dedent(
    """
    import json
    from lute.execution.ipc import Message, connect
    with connect() as channel:
        print(json.dumps([channel.transport, channel.hello_reply]), flush=True)
        for i in range(5000):
            channel.send(Message(i))
        channel.send(Message("done", "TASK_DONE"))
    """
)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_zmq_round_trip_in_order(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, transport: str
) -> None:
    listener = make_listener(zmq=True, transport=transport)
    env = listener.task_environment()
    assert env["LUTE_USE_ZMQ"] == "1"
    assert env["LUTE_ZMQ_ADDRESS"].startswith("ipc://" if transport == "unix" else "tcp://")
    processes = [tasks.spawn(SENDER, tasks.env(listener)) for _ in range(2)]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.startswith('["zmq", {"task_name": "Test", "n": 1}]')
    assert listener.wait_idle(30)
    assert not inbox.errors, inbox.error_text()
    assert len(listener.peers) == 2
    for peer in listener.peers:
        assert peer.transport == "zmq" and peer.goodbye
        assert inbox.contents(peer.peer_id) == [*range(5000), "done"]


def test_zmq_large_array_arrives_intact(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    np = pytest.importorskip("numpy")
    listener = make_listener(zmq=True)
    sender = textwrap.dedent(
        """
        import numpy as np
        from lute.execution.ipc import Message, connect
        with connect() as channel:
            channel.send(Message({"a": np.arange(3_000_000, dtype=np.int64)}, "TASK_RESULT"))
            channel.send(Message(b"y" * (5 << 20)))
        """
    )
    tasks.check_ok(tasks.run(sender, tasks.env(listener)))
    assert listener.wait_idle(30)
    assert not inbox.errors, inbox.error_text()
    result, blob = inbox.contents()
    assert np.array_equal(result["a"], np.arange(3_000_000, dtype=np.int64))
    assert blob == b"y" * (5 << 20)


@pytest.mark.parametrize(
    "extra, expected",
    [({"LUTE_USE_ZMQ": "0"}, "unix"), ({"LUTE_ZMQ_ADDRESS": ""}, "unix"), ({}, "zmq")],
    ids=["use-zmq-0", "no-zmq-address", "default"],
)
def test_task_side_transport_choice(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: Any,
    extra: Any,
    expected: str,
) -> None:
    listener = make_listener(zmq=True)
    result = tasks.run(SENDER, tasks.env(listener, **extra))
    tasks.check_ok(result)
    assert result.stdout.startswith('["%s"' % expected)
    assert listener.wait_idle(30) and listener.peers[0].transport == expected
    assert inbox.contents() == [*range(5000), "done"]


def test_a_task_without_pyzmq_falls_back_to_the_stdlib_endpoint(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener(zmq=True)
    no_zmq = "import sys\nsys.modules['zmq'] = None  # as if pyzmq were not installed\n" + SENDER
    result = tasks.run(no_zmq, tasks.env(listener))
    tasks.check_ok(result)
    assert result.stdout.startswith('["unix"')
    assert listener.wait_idle(30) and inbox.contents()[-1] == "done"


def test_zmq_wrong_key_is_an_authentication_error(
    make_listener: Callable[..., Listener], inbox: Any
) -> None:
    listener = make_listener(zmq=True)
    env = dict(listener.task_environment(), LUTE_IPC_KEY=new_key().hex())
    with pytest.raises(AuthenticationError, match="LUTE_IPC_KEY"):
        connect(env, timeout=30)
    assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], AuthenticationError)


def test_zmq_nobody_listening_times_out_cleanly(tmp_path: Any) -> None:
    env = {
        "LUTE_IPC_KEY": new_key().hex(),
        "LUTE_ZMQ_ADDRESS": "ipc://%s/nobody" % tmp_path,
        "LUTE_USE_ZMQ": "1",
    }
    with pytest.raises(IPCError, match=r"nobody listens|no handshake reply"):
        connect(env, timeout=0.5)


def test_zmq_peer_that_vanishes_is_given_up_after_a_grace(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener(zmq=True)
    crash = textwrap.dedent(
        """
        import os, time
        from lute.execution.ipc import Message, connect
        channel = connect()
        channel.send(Message("last words", "TASK_FAILED"))
        time.sleep(0.5)  # ZMQ sends from its own thread: give it time before dying
        os._exit(1)
        """
    )
    assert tasks.run(crash, tasks.env(listener)).returncode == 1
    assert listener.wait_idle(30)
    assert inbox.contents() == ["last words"]
    assert "sent no goodbye over ZMQ" in inbox.error_text()
    assert not listener.peers[0].goodbye


def test_zmq_listener_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("LUTE_USE_ZMQ", "1")
    with Listener(new_key(), hello_reply={}, on_message=lambda p, m: None) as listener:
        env = listener.task_environment()
        assert env["LUTE_USE_ZMQ"] == "1" and env["LUTE_ZMQ_ADDRESS"].startswith("ipc://")
        assert env["LUTE_IPC_ADDRESS"].startswith("unix:")  # always offered beside ZMQ
        directory = os.path.dirname(env["LUTE_ZMQ_ADDRESS"][len("ipc://") :])
        assert directory == os.path.dirname(env["LUTE_IPC_ADDRESS"][len("unix:") :])
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert not os.path.exists(directory)  # both sockets and the directory are gone
