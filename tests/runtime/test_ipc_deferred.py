"""A Listener created before its hand-off is known (``hello_reply=None``)."""

from __future__ import annotations

import types
from typing import Any, Callable

import pytest

from lute.execution.ipc import (
    AuthenticationError,
    IPCError,
    Listener,
    ProtocolError,
    _handshake,
    _wire,
    new_key,
)
from tests.runtime.raw_peer import raw_connect, recv_frame

WAIT = 30.0

CLIENT = """
from lute.execution.ipc import connect, Message
c = connect(timeout=60)
c.send(Message(contents=c.hello_reply["task_name"]))
c.close()
"""


def test_tasks_wait_in_the_handshake_until_the_reply_is_set(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace
) -> None:
    listener = make_listener(hello_reply=None)
    first = tasks.spawn(CLIENT, tasks.env(listener))
    second = tasks.spawn(CLIENT, tasks.env(listener))
    # Both connect and send their HELLO; neither may get past the handshake yet.
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 2)
    assert first.poll() is None and second.poll() is None
    assert inbox.messages == [] and inbox.errors == []
    listener.set_hello_reply({"task_name": "Deferred"})
    for process in (first, second):
        _out, err = process.communicate(timeout=WAIT)
        assert process.returncode == 0, err
    late = tasks.spawn(CLIENT, tasks.env(listener))  # after the reply: answered at once
    assert late.wait(timeout=WAIT) == 0
    assert listener.wait_idle(WAIT)
    assert [m.contents for _, m in inbox.messages] == ["Deferred"] * 3
    assert inbox.errors == []


def test_reply_can_be_set_only_once(make_listener: Callable[..., Listener]) -> None:
    listener = make_listener(hello_reply=None)
    listener.set_hello_reply({"task_name": "A"})
    with pytest.raises(IPCError, match="already set"):
        listener.set_hello_reply({"task_name": "B"})


def test_deferred_reply_is_refused_with_zmq() -> None:
    def ignore(*_args: Any) -> None:
        pass

    with pytest.raises(ValueError, match="only supported without ZMQ"):
        Listener(new_key(), hello_reply=None, on_message=ignore, zmq=True)


@pytest.mark.parametrize(
    "first",
    [
        _wire.pack_header(_wire.BATCH, 0, 0),  # the 16 bytes that ended the listener thread
        _wire.pack_header(_wire.GOODBYE, 0, 0),
        _wire.pack_header(_wire.HELLO, 0, 0, version=9),
        b"LU" + bytes(14),
    ],
    ids=["batch-header", "goodbye-header", "other-version", "zero-header"],
)
def test_only_an_authenticated_hello_waits_for_the_handoff(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace, first: bytes
) -> None:
    listener = make_listener(hello_reply=None)
    waiting = tasks.spawn(CLIENT, tasks.env(listener))
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
    with raw_connect(listener) as sock:
        sock.sendall(first)
        header, body, _ = recv_frame(sock)  # refused at once, and told why
    assert header[1] == _wire.REJECT and b"protocol" in body
    assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], ProtocolError)
    assert len(listener._endpoint.waiting) == 1  # only the real Task waits
    listener.set_hello_reply({"task_name": "Deferred"})
    _out, err = waiting.communicate(timeout=WAIT)
    assert waiting.returncode == 0, err
    assert listener.wait_idle(WAIT)
    assert [m.contents for _, m in inbox.messages] == ["Deferred"]
    assert "listener thread failed" not in inbox.error_text()


def test_a_hello_with_another_key_does_not_wait(
    make_listener: Callable[..., Listener], inbox: Any
) -> None:
    listener = make_listener(hello_reply=None)
    with raw_connect(listener) as sock:
        sock.sendall(_handshake.make_hello(new_key(), rank=0)[0])
        header, body, _ = recv_frame(sock)
    assert header[1] == _wire.REJECT and b"authentication" in body
    assert listener._endpoint.waiting == []
    assert inbox.wait(lambda box: box.errors)
    assert isinstance(inbox.errors[0][1], AuthenticationError)
