"""What processes a Task starts can see: not the IPC key, nor the eLog credentials.

The Task's own process removes the key from its environment once connected (a forked
child still connects); a third-party program runs without any of LUTE's hand-off
variables and without the eLog credentials.
"""

from __future__ import annotations

import importlib.util
import os
import textwrap
import types
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from lute.execution.ipc import Listener

WAIT = 30.0
HIDDEN = (
    "LUTE_IPC_ADDRESS",
    "LUTE_IPC_KEY",
    "LUTE_IPC_MAX_FRAME",
    "LUTE_ZMQ_ADDRESS",
    "LUTE_TASK_NAME",
    "LUTE_EXECUTOR_PID",
    "LUTE_ELOG_PASSWORD",
    "LUTE_ELOG_USER",
)
CREDENTIALS = {"LUTE_ELOG_USER": "operator", "LUTE_ELOG_PASSWORD": "hunter2"}


def environment_writer(directory: Path) -> Path:
    """A third-party program that writes its environment (``env -0``) to a file."""
    script = directory / "show-env.sh"
    script.write_text("#!/bin/sh\nenv -0 > %s\n" % (directory / "env.out"))
    script.chmod(0o755)
    return script


def written_environment(directory: Path) -> Dict[str, str]:
    entries = (directory / "env.out").read_bytes().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if entry)


def test_a_third_party_program_gets_no_lute_secrets(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    tmp_path: Path,
) -> None:
    script = environment_writer(tmp_path)
    listener = make_listener(
        hello_reply={"task_name": "TestBinary", "parameters": {}, "argv": [str(script)]}
    )
    env = tasks.env(
        listener,
        LUTE_TASK_NAME="TestBinary",
        LUTE_EXECUTOR_PID=str(os.getpid()),
        LUTE_ZMQ_ADDRESS="ipc:///nowhere",  # offered, but pyzmq is not wanted here
        LUTE_USE_ZMQ="0",
        LUTE_TEST_KEPT="passed on",
        **CREDENTIALS,
    )
    done = tasks.run("import sys\nfrom lute.tasks import run\nsys.exit(run.main([]))\n", env)
    assert done.returncode == 0, done.stderr
    assert listener.wait_idle(WAIT)
    assert [m.signal for _, m in inbox.messages][-1] == "TASK_DONE"
    seen = written_environment(tmp_path)
    assert [name for name in HIDDEN if name in seen] == []
    assert seen["LUTE_TEST_KEPT"] == "passed on" and seen["PATH"] == env["PATH"]
    assert all(listener.key.hex() not in value for value in seen.values())


def test_the_key_leaves_the_environment_once_connected(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace
) -> None:
    code = textwrap.dedent(
        """
        import os, subprocess
        from lute.execution.ipc import connect, Message
        c = connect()
        c.send(Message("LUTE_IPC_KEY" in os.environ))
        child_env = subprocess.run(["env"], capture_output=True, text=True).stdout
        c.send(Message("LUTE_IPC_KEY" in child_env))
        c.send(Message("LUTE_IPC_ADDRESS" in os.environ))  # the rest stays: not a secret
        pid = os.fork()
        if pid == 0:  # a forked child still connects: the key was kept in memory
            with connect() as child:
                child.send(Message("from the forked child"))
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        c.close()
        """
    )
    listener = make_listener()
    tasks.check_ok(tasks.run(code, tasks.env(listener)))
    assert listener.wait_idle(WAIT)
    # Two connections: each keeps its own order, not the other's (the parent's batch
    # may arrive after the child's message).
    received = inbox.contents()
    assert [item for item in received if item != "from the forked child"] == [False, False, True]
    assert received.count("from the forked child") == 1
    assert inbox.errors == []


def test_an_explicit_environment_is_left_alone(make_listener: Callable[..., Listener]) -> None:
    from lute.execution.ipc import connect

    env = dict(make_listener().task_environment())
    with connect(env):
        pass
    assert "LUTE_IPC_KEY" in env


@pytest.mark.skipif(
    importlib.util.find_spec("lute.execution.cli") is None, reason="needs lute-executor"
)
def test_lute_exec_runs_a_third_party_program_without_lute_secrets(config: Path) -> None:
    from tests.conftest import lute_exec

    script = environment_writer(config.parent)
    done = lute_exec(
        ["run", "-c", str(config), "-t", "BinaryTester", "TestBinary.executable=%s" % script],
        env=dict(CREDENTIALS, LUTE_TEST_KEPT="passed on"),
    )
    assert done.returncode == 0, done.stderr
    seen = written_environment(config.parent)
    assert [name for name in HIDDEN if name in seen] == []
    assert seen["LUTE_TEST_KEPT"] == "passed on"
