"""Hostile or broken peers on raw sockets: the Listener reports them and keeps serving."""

from __future__ import annotations

import json
import os
import pickle
import textwrap
import time
from typing import Any, Callable, Tuple

import pytest

from lute.execution.ipc import (
    AuthenticationError,
    FrameError,
    IPCError,
    Listener,
    Message,
    ProtocolError,
    _wire,
)
from tests.runtime.raw_peer import batch_frame, raw_connect, raw_handshake, recv_frame


class CreatesFile:
    """Unpickling this creates a file: the proof that a payload was unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Tuple[Any, Tuple[str, str]]:
        return (open, (self.path, "w"))


def still_serves(listener: Listener, inbox: Any, tasks: Any) -> None:
    """A well-behaved Task in a subprocess still gets through."""
    before = len(inbox.contents())
    sender = "from lute.execution.ipc import *\nwith connect() as c: c.send(Message('ok'))\n"
    tasks.check_ok(tasks.run(sender, tasks.env(listener)))
    assert inbox.wait(lambda box: len(box.contents()) > before)
    assert inbox.contents()[-1] == "ok"


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_a_frame_with_a_bad_hmac_is_never_unpickled(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, tmp_path: Any, transport: str
) -> None:
    listener = make_listener(transport=transport)
    target = str(tmp_path / "pwned")
    bomb = pickle.dumps(Message(CreatesFile(target)), 4)

    sock, session = raw_handshake(listener)
    with sock:
        sock.sendall(batch_frame(session, [bomb], tamper=True))
        assert inbox.wait(lambda box: box.errors)
        assert tasks.wait_until(lambda: not listener.peers[0].connected)  # dropped
    error = inbox.errors[0][1]
    assert isinstance(error, AuthenticationError) and "HMAC mismatch" in str(error)
    assert not os.path.exists(target)
    assert inbox.contents() == []
    still_serves(listener, inbox, tasks)

    # Control: the same payload with a valid tag *is* unpickled, so the check above matters.
    sock, session = raw_handshake(listener)
    with sock:
        sock.sendall(batch_frame(session, [bomb]))
        assert tasks.wait_until(lambda: os.path.exists(target))


def test_a_truncated_frame_is_reported(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    sock, session = raw_handshake(listener)
    frame = batch_frame(session, [pickle.dumps(Message("never"))])
    sock.sendall(frame[: len(frame) // 2])
    sock.close()
    assert inbox.wait(lambda box: box.errors)
    error = inbox.errors[0][1]
    assert isinstance(error, FrameError) and "truncated frame" in str(error)
    assert "%d of the %d bytes" % (len(frame) // 2, len(frame)) in str(error)
    still_serves(listener, inbox, tasks)


def test_an_oversized_header_is_refused_before_its_body_is_read(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener(max_frame_size=1 << 20)
    sock, _ = raw_handshake(listener)
    with sock:
        sock.sendall(_wire.pack_header(_wire.BATCH, 1, (1 << 20) + 1))  # no body follows
        assert inbox.wait(lambda box: box.errors)  # decided on the header alone
        assert sock.recv(1) == b""  # and the connection was dropped
    error = inbox.errors[0][1]
    assert isinstance(error, FrameError) and "more than the limit of 1048576" in str(error)
    still_serves(listener, inbox, tasks)


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), b"LU" + bytes(14)],
    ids=["http", "random", "zero-header"],
)
def test_garbage_before_the_handshake(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, garbage: bytes
) -> None:
    listener = make_listener()
    with raw_connect(listener) as sock:
        sock.sendall(garbage)
        assert inbox.wait(lambda box: box.errors)
    error = inbox.errors[0][1]
    assert isinstance(error, (FrameError, ProtocolError))
    assert "LUTE IPC frame" in str(error) or "HELLO" in str(error) or "version" in str(error)
    still_serves(listener, inbox, tasks)


def test_garbage_after_the_handshake(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    sock, session = raw_handshake(listener)
    with sock:
        sock.sendall(batch_frame(session, [pickle.dumps(Message("fine"))]))
        sock.sendall(b"\x00" * 100)
        assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], FrameError)
    assert inbox.contents() == ["fine"]
    still_serves(listener, inbox, tasks)


def test_a_replayed_frame_is_rejected(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    sock, session = raw_handshake(listener)
    with sock:
        frame = batch_frame(session, [pickle.dumps(Message("once"))])
        sock.sendall(frame + frame)
        assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], AuthenticationError)
    assert inbox.contents() == ["once"]


def test_a_frame_from_another_connection_is_rejected(
    make_listener: Callable[..., Listener], inbox: Any
) -> None:
    listener = make_listener()
    first, first_session = raw_handshake(listener)
    second, _ = raw_handshake(listener)
    with first, second:
        second.sendall(batch_frame(first_session, [pickle.dumps(Message("stolen"))]))
        assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], AuthenticationError)
    assert inbox.contents() == []


def test_a_data_frame_instead_of_hello_is_rejected(
    make_listener: Callable[..., Listener], inbox: Any
) -> None:
    listener = make_listener()
    with raw_connect(listener) as sock:
        body = _wire.encode_batch([pickle.dumps(Message("x"))])
        header = _wire.pack_header(_wire.BATCH, 1, len(body))
        sock.sendall(header + body + _wire.seal(_wire.MacStream(listener.key).next(), [header]))
        reply_header, reply_body, _ = recv_frame(sock)  # the Task is told why
    assert reply_header[1] == _wire.REJECT and b"expected HELLO" in reply_body
    assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], ProtocolError)


def test_a_silent_connection_is_dropped_after_the_handshake_timeout(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    listener.handshake_timeout = 0.3
    with raw_connect(listener) as sock:
        assert inbox.wait(lambda box: box.errors)
        assert sock.recv(1) == b""
    assert "no complete HELLO" in inbox.error_text()
    still_serves(listener, inbox, tasks)


def test_a_connection_that_says_nothing_and_leaves_is_not_an_error(
    make_listener: Callable[..., Listener], inbox: Any
) -> None:
    listener = make_listener()
    raw_connect(listener).close()
    assert listener.wait_idle(30)
    assert inbox.errors == []


def test_many_bad_peers_do_not_disturb_a_good_one(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any
) -> None:
    listener = make_listener()
    process = tasks.spawn(
        "import time\nfrom lute.execution.ipc import *\nwith connect() as c:\n"
        "    for i in range(2000):\n        c.send(Message(i))\n        time.sleep(0.0005)\n",
        tasks.env(listener),
    )
    deadline = time.monotonic() + 30
    bad = 0
    while process.poll() is None and time.monotonic() < deadline and bad < 50:
        with raw_connect(listener) as sock:
            sock.sendall(os.urandom(64))
        bad += 1
    process.communicate(timeout=60)
    assert process.returncode == 0
    assert listener.wait_idle(30)
    good = [p for p in listener.peers if p.pid == process.pid]
    assert len(good) == 1 and inbox.contents(good[0].peer_id) == list(range(2000))
    assert all(isinstance(e, (FrameError, ProtocolError, IPCError)) for _, e in inbox.errors)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_running_out_of_descriptors_pauses_accepting_instead_of_spinning(tasks: Any) -> None:
    host = textwrap.dedent(
        """
        import json, os, resource, subprocess, sys
        from lute.execution.ipc import Listener, new_key
        got, errors = [], []
        client = (
            "import time\\nfrom lute.execution.ipc import *\\n"
            "with connect(timeout=60) as c:\\n    c.send(Message(1))\\n    time.sleep(0.3)\\n"
        )
        with Listener(new_key(), hello_reply={},
                      on_message=lambda peer, message: got.append(message.contents),
                      on_error=lambda peer, error: errors.append(str(error))) as listener:
            env = dict(os.environ, **listener.task_environment())
            clients = [subprocess.Popen([sys.executable, "-c", client], env=env,
                                        stdin=subprocess.DEVNULL) for _ in range(6)]
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            # room for about two connections at a time
            resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 2, hard))
            codes = [c.wait(120) for c in clients]
            assert listener.wait_idle(60)
        failed = [e for e in errors if "accept() failed" in e]
        print(json.dumps([codes, len(got), len(failed), len(errors) - len(failed)]))
        """
    )
    result = tasks.run(host, tasks.env())
    tasks.check_ok(result)
    codes, received, accept_failures, others = json.loads(result.stdout)
    assert codes == [0] * 6 and received == 6 and others == 0
    assert 1 <= accept_failures < 100  # it ran out, paused and resumed: no busy loop
