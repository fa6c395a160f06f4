"""Listener and Communicator over Unix and TCP sockets, with Tasks in real subprocesses."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Any, Callable

import pytest

from lute.execution.ipc import (
    AuthenticationError,
    FrameError,
    IPCError,
    Listener,
    Message,
    PayloadError,
    ProtocolError,
    connect,
    new_key,
)

TRANSPORTS = ["unix", "tcp"]


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_messages_arrive_complete_and_in_order_from_concurrent_tasks(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, transport: str
) -> None:
    listener = make_listener(transport=transport)
    count = 20_000
    sender = code(
        """
        import sys
        from lute.execution.ipc import Message, connect
        rank = int(sys.argv[1])
        with connect(rank=rank) as channel:
            channel.send(Message("start", "TASK_STARTED"))
            for i in range(%d):
                channel.send(Message((rank, i)))
            channel.send(Message({"rank": rank}, "TASK_DONE"))
        """
        % count
    )
    processes = [
        tasks.spawn(sender.replace("int(sys.argv[1])", str(rank)), tasks.env(listener))
        for rank in range(3)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert listener.wait_idle(30)
    assert not inbox.errors, inbox.error_text()
    peers = listener.peers
    assert sorted(p.rank for p in peers) == [0, 1, 2]
    assert sorted(p.pid for p in peers) == sorted(p.pid for p in processes)
    for peer in peers:
        received = inbox.contents(peer.peer_id)
        assert received[0] == "start" and received[-1] == {"rank": peer.rank}
        assert received[1:-1] == [(peer.rank, i) for i in range(count)]
        assert peer.goodbye and not peer.connected and peer.transport == transport
    assert len(inbox.threads) == 1  # every callback ran on the one listener thread


def test_handshake_hands_over_the_reply_and_describes_the_peer(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    reply = {"task_name": "Test", "parameters": {"x": [1, 2.5, None]}, "row_ids": {"id": 3}}
    listener = make_listener(hello_reply=reply)
    result = tasks.run(
        code(
            """
            import json
            from lute.execution.ipc import connect
            with connect(rank=5) as channel:
                print(json.dumps([channel.hello_reply, channel.peer_id, channel.transport,
                                  channel.pickle_protocol, channel.max_frame_size]))
            """
        ),
        tasks.env(listener),
    )
    tasks.check_ok(result)
    import json

    hello_reply, peer_id, transport, pickle_protocol, limit = json.loads(result.stdout)
    assert hello_reply == reply and transport == "unix" and limit == listener.max_frame
    assert listener.wait_idle(30)
    (peer,) = inbox.connects
    assert peer.peer_id == peer_id and peer.rank == 5 and peer.pickle_protocol == pickle_protocol
    assert peer.python == "%d.%d.%d" % sys.version_info[:3] and peer.lute_version
    assert peer.host and peer.pid > 0 and peer.goodbye


def test_large_bytes_and_arrays_arrive_intact(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    np = pytest.importorskip("numpy")
    listener = make_listener()
    tasks.check_ok(
        tasks.run(
            code(
                """
                import hashlib
                import numpy as np
                from lute.execution.ipc import Message, connect
                blob = bytes(range(256)) * (64 * 4096)  # 64 MiB
                array = np.arange(4 * 1024 * 1024, dtype=np.float64).reshape(1024, 4096)
                with connect() as channel:
                    channel.send(Message(blob))
                    channel.send(Message({"array": array, "tail": "x"}, "TASK_RESULT"))
                    channel.send(Message(array[:, ::2]))  # not contiguous: sent in band
                    channel.send(Message(hashlib.sha256(blob).hexdigest()))
                """
            ),
            tasks.env(listener),
        )
    )
    assert listener.wait_idle(60)
    assert not inbox.errors, inbox.error_text()
    blob, result, strided, digest = inbox.contents()
    import hashlib

    assert len(blob) == 64 << 20 and hashlib.sha256(blob).hexdigest() == digest
    array = result["array"]
    expected = np.arange(4 * 1024 * 1024, dtype=np.float64).reshape(1024, 4096)
    assert array.dtype == np.float64 and np.array_equal(array, expected)
    assert array.flags.aligned and array.flags.writeable  # a view of the receive buffer
    assert result["tail"] == "x" and np.array_equal(strided, expected[:, ::2])


def test_a_plain_message_arrives_while_the_task_is_still_busy(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    process = tasks.spawn(
        code(
            """
            import sys
            from lute.execution.ipc import Message, connect
            channel = connect()
            channel.send(Message("progress 10%"))
            sys.stdin.readline()  # a long computation: no more sends, no close
            channel.close()
            """
        ),
        tasks.env(listener),
        stdin=subprocess.PIPE,
    )
    try:
        arrived = inbox.wait(lambda box: box.messages)
        still_running = process.poll() is None
    finally:
        _, err = process.communicate("go\n", timeout=60)
    assert arrived, err
    assert still_running, "the Task ended before its message arrived"
    assert inbox.contents() == ["progress 10%"]


def test_wait_idle_drains_what_exited_tasks_left_behind(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    gate = threading.Event()

    def held(peer: Any, message: Message) -> None:
        gate.wait(30)  # hold the listener thread while the Tasks send and exit
        inbox.on_message(peer, message)

    listener = make_listener(on_message=held)
    sender = code(
        """
        import sys
        from lute.execution.ipc import Message, connect
        with connect() as channel:
            sys.stdin.readline()
            for i in range(500):
                channel.send(Message(i))
            channel.send(Message("done", "TASK_DONE"))
        """
    )
    processes = [tasks.spawn(sender, tasks.env(listener), stdin=subprocess.PIPE) for _ in range(4)]
    assert tasks.wait_until(lambda: len(listener.peers) == 4)
    for process in processes:
        process.communicate("go\n", timeout=120)
        assert process.returncode == 0
    # one more Task connects while the thread is held and dies before its handshake
    address = listener.task_environment()["LUTE_IPC_ADDRESS"][len("unix:") :]
    tasks.check_ok(
        tasks.run(
            "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(%r)\n" % address,
            tasks.env(),
        )
    )
    assert not listener.wait_idle(0.2)  # the thread is held: not idle, and no hang
    gate.set()
    assert listener.wait_idle(30)
    assert len(listener.peers) == 4
    for peer in listener.peers:
        assert inbox.contents(peer.peer_id) == [*range(500), "done"]
    assert not inbox.errors, inbox.error_text()


def test_wait_idle_times_out_while_a_task_is_connected(
    make_listener: Callable[..., Listener], tasks: Any
) -> None:
    listener = make_listener()
    process = tasks.spawn(
        code(
            """
            import sys
            from lute.execution.ipc import connect
            with connect():
                sys.stdin.readline()
            """
        ),
        tasks.env(listener),
        stdin=subprocess.PIPE,
    )
    try:
        assert tasks.wait_until(lambda: listener.peers)
        assert listener.wait_idle(0.3) is False
    finally:
        process.communicate("\n", timeout=60)
    assert listener.wait_idle(30)


def test_socket_directory_is_private_and_removed(make_listener: Callable[..., Listener]) -> None:
    listener = make_listener()
    path = listener.task_environment()["LUTE_IPC_ADDRESS"][len("unix:") :]
    directory = os.path.dirname(path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    listener.close()
    assert not os.path.exists(directory)
    listener.close()  # idempotent


def test_a_very_long_tmpdir_falls_back_to_a_short_directory(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    long_dir = tmp_path / ("d" * 60) / ("e" * 60)
    long_dir.mkdir(parents=True)
    assert len(str(long_dir)) > 120
    monkeypatch.setenv("TMPDIR", str(long_dir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # forget the cached default
    assert tempfile.gettempdir() == str(long_dir)
    listener = make_listener()
    path = listener.task_environment()["LUTE_IPC_ADDRESS"][len("unix:") :]
    assert len(path.encode()) <= 107 and not path.startswith(str(long_dir))
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    env = tasks.env(listener, TMPDIR=str(long_dir))
    sender = "from lute.execution.ipc import *\nwith connect() as c: c.send(Message('hi'))\n"
    tasks.check_ok(tasks.run(sender, env))
    assert listener.wait_idle(30) and inbox.contents() == ["hi"]


def test_wrong_key_fails_promptly_with_authentication_error(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener(transport="tcp")
    probe = code(
        """
        from lute.execution.ipc import AuthenticationError, connect
        try:
            connect(timeout=60)
        except AuthenticationError as error:
            print("AuthenticationError:", error)
        """
    )
    result = tasks.run(probe, tasks.env(listener, LUTE_IPC_KEY=new_key().hex()), timeout=60)
    tasks.check_ok(result)
    assert result.stdout.startswith("AuthenticationError:") and "LUTE_IPC_KEY" in result.stdout
    assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], AuthenticationError) and inbox.errors[0][0] is None
    # the listener still serves Tasks with the right key
    tasks.check_ok(
        tasks.run("from lute.execution.ipc import *\nconnect().close()\n", tasks.env(listener))
    )
    assert listener.wait_idle(30) and len(listener.peers) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_version_mismatch_is_a_protocol_error_on_both_sides(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, transport: str
) -> None:
    listener = make_listener(transport=transport)
    future_task = code(
        """
        from lute.execution import ipc
        from lute.execution.ipc import _protocol
        _protocol.PROTOCOL_VERSION = 2  # a newer lute-runtime on the Task side
        try:
            ipc.connect(timeout=60)
        except ipc.ProtocolError as error:
            print("ProtocolError:", error)
        """
    )
    result = tasks.run(future_task, tasks.env(listener), timeout=60)
    tasks.check_ok(result)
    assert result.stdout.startswith("ProtocolError:")
    assert "protocol 2" in result.stdout and "speaks 1" in result.stdout
    assert inbox.wait(lambda box: box.errors)
    error = inbox.errors[0][1]
    assert isinstance(error, ProtocolError) and "protocol 2" in str(error) and "1" in str(error)


def test_unpicklable_payload_is_reported_and_the_connection_continues(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    tasks.check_ok(
        tasks.run(
            code(
                """
                from lute.execution.ipc import Message, connect
                class OnlyInTheTask:  # __main__.OnlyInTheTask cannot be imported elsewhere
                    pass
                with connect() as channel:
                    channel.send(Message("before"))
                    channel.send(Message(OnlyInTheTask()))
                    channel.send(Message("after"))
                    channel.send(Message([OnlyInTheTask()] * 50_000))  # a MESSAGE frame
                    channel.send(Message("last", "TASK_DONE"))
                """
            ),
            tasks.env(listener),
        )
    )
    assert listener.wait_idle(30)
    assert inbox.contents() == ["before", "after", "last"]
    errors = [error for _, error in inbox.errors]
    assert len(errors) == 2 and all(isinstance(error, PayloadError) for error in errors)
    assert "OnlyInTheTask" in str(errors[0])
    assert listener.peers[0].goodbye  # the same connection carried on to its end


def test_callback_exceptions_are_reported_not_fatal(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    def picky(peer: Any, message: Message) -> None:
        if message.contents == "boom":
            raise RuntimeError("handler bug")
        inbox.on_message(peer, message)

    listener = make_listener(on_message=picky)
    sender = code(
        """
        from lute.execution.ipc import Message, connect
        with connect() as channel:
            for text in ("a", "boom", "b"):
                channel.send(Message(text))
        """
    )
    tasks.check_ok(tasks.run(sender, tasks.env(listener)))
    assert listener.wait_idle(30)
    assert inbox.contents() == ["a", "b"]
    assert "on_message callback raised RuntimeError: handler bug" in inbox.error_text()


def test_a_message_over_the_frame_limit_is_refused_by_the_task(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener(max_frame_size=1 << 20)
    result = tasks.run(
        code(
            """
            from lute.execution.ipc import FrameError, Message, connect
            with connect() as channel:
                try:
                    channel.send(Message(b"x" * (2 << 20)))
                except FrameError as error:
                    print("FrameError:", error)
                channel.send(Message("still fine"))
            """
        ),
        tasks.env(listener),
    )
    tasks.check_ok(result)
    assert "FrameError:" in result.stdout and "LUTE_IPC_MAX_FRAME" in result.stdout
    assert listener.wait_idle(30) and inbox.contents() == ["still fine"]
    assert not inbox.errors


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_cannot_use_the_parents_communicator(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    result = tasks.run(
        code(
            """
            import os
            from lute.execution.ipc import IPCError, Message, connect
            channel = connect()
            channel.send(Message("parent 1"))
            pid = os.fork()
            if pid == 0:
                try:
                    channel.send(Message("child"))
                except IPCError as error:
                    print("child refused:", error, flush=True)
                os._exit(0)
            os.waitpid(pid, 0)
            channel.send(Message("parent 2"))
            channel.close()
            """
        ),
        tasks.env(listener),
    )
    tasks.check_ok(result)
    assert "child refused:" in result.stdout and "connect()" in result.stdout
    assert listener.wait_idle(30)
    assert inbox.contents() == ["parent 1", "parent 2"] and not inbox.errors


def test_an_exiting_task_flushes_without_close(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    sender = (
        "from lute.execution.ipc import *\nc = connect()\nfor i in range(3): c.send(Message(i))\n"
    )
    tasks.check_ok(tasks.run(sender, tasks.env(listener)))
    assert listener.wait_idle(30)
    assert inbox.contents() == [0, 1, 2] and listener.peers[0].goodbye


def test_a_crashed_task_is_reported(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    crash = "import os\nfrom lute.execution.ipc import *\nc = connect()\nc.flush()\nos._exit(3)\n"
    assert tasks.run(crash, tasks.env(listener)).returncode == 3
    assert listener.wait_idle(30)
    assert "closed the connection without a goodbye" in inbox.error_text()
    assert not listener.peers[0].goodbye and not listener.peers[0].connected


# --- the Task side without a listener -----------------------------------------------------


def test_connect_explains_a_missing_or_garbled_environment() -> None:
    key = new_key().hex()
    with pytest.raises(IPCError, match="LUTE_IPC_KEY is not set"):
        connect({"LUTE_IPC_ADDRESS": "unix:/nowhere"})
    with pytest.raises(IPCError, match="LUTE_IPC_ADDRESS is not set"):
        connect({"LUTE_IPC_KEY": key})
    with pytest.raises(IPCError, match="LUTE_IPC_ADDRESS='bogus'"):
        connect({"LUTE_IPC_KEY": key, "LUTE_IPC_ADDRESS": "bogus"})
    with pytest.raises(IPCError, match="LUTE_USE_ZMQ"):
        connect({"LUTE_IPC_KEY": key, "LUTE_ZMQ_ADDRESS": "ipc:///x", "LUTE_USE_ZMQ": "maybe"})


def test_connect_fails_fast_when_nobody_listens(tmp_path: Any) -> None:
    key = new_key().hex()
    started = time.monotonic()
    with pytest.raises(IPCError, match="nobody listens"):
        connect({"LUTE_IPC_KEY": key, "LUTE_IPC_ADDRESS": "unix:%s/none" % tmp_path})
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(IPCError, match="nobody listens"):
            connect({"LUTE_IPC_KEY": key, "LUTE_IPC_ADDRESS": "tcp:127.0.0.1:%d" % port})
    assert time.monotonic() - started < 25  # refused, not timed out (a bound, not a speed)


def test_communicator_api_in_process(make_listener: Callable[..., Listener], inbox: Any) -> None:
    listener = make_listener()
    channel = connect(listener.task_environment(), rank=2)
    assert "open" in repr(channel)
    with pytest.raises(TypeError, match="lute Message"):
        channel.send("not a message")  # type: ignore[arg-type]
    channel.send(Message(1))
    channel.flush()
    channel.close()
    channel.close()
    assert channel.closed and "closed" in repr(channel)
    with pytest.raises(IPCError, match="closed"):
        channel.send(Message(2))
    assert listener.wait_idle(30) and inbox.contents() == [1]


# --- Listener arguments and lifecycle -----------------------------------------------------


def test_listener_arguments_are_checked() -> None:
    ok = {"hello_reply": {}, "on_message": lambda peer, message: None}
    with pytest.raises(TypeError, match="bytes"):
        Listener("secret", **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transport"):
        Listener(new_key(), transport="udp", **ok)
    with pytest.raises(TypeError, match="on_error must be callable"):
        Listener(new_key(), on_error=3, **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON-serializable"):
        Listener(new_key(), hello_reply={"f": object()}, on_message=ok["on_message"])
    with pytest.raises(ValueError, match="max_frame_size"):
        Listener(new_key(), max_frame_size=10, **ok)
    listener = Listener(new_key(), **ok)
    with pytest.raises(IPCError, match="start"):
        listener.task_environment()
    with pytest.raises(IPCError, match="start"):
        listener.wait_idle(1)
    listener.close()
    with pytest.raises(IPCError, match="closed"):
        listener.start()


def test_listener_as_context_manager_and_close_from_a_callback(tasks: Any) -> None:
    closed = threading.Event()

    def close_on_first(peer: Any, message: Message) -> None:
        listener.close()  # from the listener thread itself: must not deadlock
        closed.set()

    with Listener(new_key(), hello_reply={}, on_message=close_on_first) as listener:
        directory = os.path.dirname(listener.task_environment()["LUTE_IPC_ADDRESS"][5:])
        sender = "from lute.execution.ipc import *\nwith connect() as c: c.send(Message(1))\n"
        tasks.run(sender, tasks.env(listener))
        assert closed.wait(30)
    assert tasks.wait_until(lambda: not os.path.exists(directory))


def test_zmq_flag_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("LUTE_USE_ZMQ", "0")
    with Listener(new_key(), hello_reply={}, on_message=lambda p, m: None) as listener:
        env = listener.task_environment()
        assert env["LUTE_USE_ZMQ"] == "0" and "LUTE_ZMQ_ADDRESS" not in env
    monkeypatch.setenv("LUTE_USE_ZMQ", "perhaps")
    with pytest.raises(ValueError, match="LUTE_USE_ZMQ"):
        Listener(new_key(), hello_reply={}, on_message=lambda p, m: None)


def test_frame_error_is_importable_for_callers() -> None:
    assert issubclass(FrameError, IPCError) and issubclass(AuthenticationError, IPCError)
