"""A Listener created before its hand-off is known (``hello_reply=None``)."""

from __future__ import annotations

import types
from typing import Any, Callable

import pytest

from lute.execution.ipc import IPCError, Listener, new_key

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
