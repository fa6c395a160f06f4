"""Python 3.8 with nothing but lute-runtime: the Task side and a whole Listener work there."""

from __future__ import annotations

import textwrap
from typing import Any, Callable, Dict

import pytest

from lute.execution.ipc import Listener, new_key


@pytest.fixture
def py38(tasks: Any) -> str:
    python = tasks.python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter (set LUTE_TEST_PYTHON38)")
    return python


def env38(tasks: Any, listener: Any = None, **extra: str) -> Dict[str, str]:
    """Only lute-runtime's sources on the path: no pydantic, pyzmq or numpy."""
    env = tasks.env(listener, PYTHONPATH=tasks.runtime_src, **extra)
    env.pop("PYTHONHOME", None)
    return env


def test_a_python38_task_sends_everything(
    make_listener: Callable[..., Listener], inbox: Any, tasks: Any, py38: str
) -> None:
    listener = make_listener(zmq=True)  # offered, but pyzmq is missing there: stdlib is used
    sender = textwrap.dedent(
        """
        import sys
        assert sys.version_info[:2] == (3, 8)
        from lute.execution.ipc import Message, connect
        with connect(rank=1) as channel:
            assert channel.transport == "unix", channel.transport
            channel.send(Message("started", "TASK_STARTED"))
            for i in range(3000):
                channel.send(Message({"i": i}))
            channel.send(Message(bytes(range(256)) * 20000))  # 5 MB, its own frame
            channel.send(Message(channel.hello_reply, "TASK_DONE"))
        """
    )
    tasks.check_ok(tasks.run(sender, env38(tasks, listener), python=py38))
    assert listener.wait_idle(30)
    assert not inbox.errors, inbox.error_text()
    (peer,) = listener.peers
    assert peer.python.startswith("3.8.") and peer.rank == 1 and peer.goodbye
    received = inbox.contents()
    assert received[0] == "started" and received[-1] == {"task_name": "Test", "n": 1}
    assert received[1:3001] == [{"i": i} for i in range(3000)]
    assert received[3001] == bytes(range(256)) * 20000


def test_python38_wrong_key_and_missing_environment(
    make_listener: Callable[..., Listener], tasks: Any, py38: str
) -> None:
    listener = make_listener()
    probe = textwrap.dedent(
        """
        from lute.execution.ipc import AuthenticationError, IPCError, connect
        try:
            connect(timeout=30)
        except AuthenticationError as error:
            print("auth:", error)
        except IPCError as error:
            print("ipc:", error)
        """
    )
    result = tasks.run(probe, env38(tasks, listener, LUTE_IPC_KEY=new_key().hex()), python=py38)
    tasks.check_ok(result)
    assert result.stdout.startswith("auth:")
    result = tasks.run(probe, env38(tasks), python=py38)
    tasks.check_ok(result)
    assert result.stdout.startswith("ipc:") and "LUTE_IPC_KEY is not set" in result.stdout


def test_python38_import_is_light(tasks: Any, py38: str) -> None:
    code = (
        "import sys; before = set(sys.modules); import lute.execution.ipc; "
        "heavy = ('socket', 'pickle', 'json', 'hmac', 'typing', 'threading', 'zmq'); "
        "print(' '.join(m for m in heavy if m in sys.modules and m not in before))"
    )
    result = tasks.run(code, env38(tasks), python=py38)
    tasks.check_ok(result)
    assert result.stdout.split() == []


def test_a_listener_runs_on_python38(tasks: Any, py38: str) -> None:
    host = textwrap.dedent(
        """
        import os, subprocess, sys
        from lute.execution.ipc import Listener, new_key
        got, errors = [], []
        with Listener(new_key(), hello_reply={"x": 1}, transport="tcp", zmq=True,
                      on_message=lambda peer, message: got.append(message.contents),
                      on_error=lambda peer, error: errors.append(error)) as listener:
            env = dict(os.environ, **listener.task_environment())
            # ZMQ was asked for, but pyzmq is missing here: only the stdlib endpoint
            assert env["LUTE_USE_ZMQ"] == "0" and "LUTE_ZMQ_ADDRESS" not in env, env
            task = "from lute.execution.ipc import *\\nwith connect() as c:\\n" \\
                   "    [c.send(Message(i)) for i in range(1000)]\\n" \\
                   "    c.send(Message(bytearray(9 << 20)))\\n"
            subprocess.run([sys.executable, "-c", task], env=env, check=True, timeout=60)
            assert listener.wait_idle(30)
        assert got[:1000] == list(range(1000)) and len(got[1000]) == 9 << 20, got[-1:]
        assert not errors, errors
        print("ok")
        """
    )
    result = tasks.run(host, env38(tasks), python=py38)
    tasks.check_ok(result)
    assert result.stdout.strip() == "ok"
