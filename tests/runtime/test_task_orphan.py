"""A Task ends when its Executor dies (``kill -9``, the OOM killer, a lost node).

The Executor here is a real process holding a Listener; the test SIGKILLs it while the
Task (``python -m lute.tasks.run``, running a long ``_run``) is busy, and the Task must
be gone within seconds: through the end of its channel (any parent, e.g. an MPI
launcher's ranks) and, on Linux, through the kernel's parent-death signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from lute.execution.ipc import IPCError, Listener, Message, connect

WAIT = 30.0
#: How long a Task may outlive its Executor: "gone within a few seconds".
GONE_WITHIN = 5.0

PARAMETERS = {
    "float_var": 0.5,
    "str_var": "orphan",
    "compound_var": {"int_var": 1, "dict_var": {}},
    "throw_error": False,
    "sleep_seconds": 600.0,
}
HANDOFF = {"task_name": "Test", "parameters": PARAMETERS, "row_ids": None}

# An Executor-side process: a Listener that prints its environment and what it receives.
EXECUTOR = """
import json, sys, time
from lute.execution.ipc import Listener, new_key
def show(peer, message):
    print(json.dumps(["message", message.signal, repr(message.contents)]), flush=True)
listener = Listener(new_key(), hello_reply=json.loads(sys.argv[1]), on_message=show,
                    on_error=lambda peer, error: None, transport=sys.argv[2], zmq=False)
listener.start()
print(json.dumps(["environment", listener.task_environment()]), flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    """The process no longer runs (it may be a zombie nobody has reaped yet)."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:  # pragma: no cover - no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


class Executor:
    """The Executor-side process, and the lines it prints."""

    def __init__(self, tasks: types.SimpleNamespace, handoff: Dict[str, Any], transport: str):
        self.process = subprocess.Popen(
            [sys.executable, "-c", EXECUTOR, json.dumps(handoff), transport],
            env=tasks.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        kind, self.environment = self.next_line()
        assert kind == "environment"

    def next_line(self) -> List[Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the Executor process ended early"
        return list(json.loads(line))

    def wait_for(self, text: str) -> None:
        while text not in repr(self.next_line()):
            pass

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(WAIT)


@pytest.fixture
def processes() -> Iterator[List[subprocess.Popen[str]]]:
    """Task processes to kill at the end, whatever happened."""
    started: List[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def task_process(
    env: Dict[str, str], code: Optional[str] = None, **kwargs: Any
) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "lute.tasks.run"]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def wait_gone(process: subprocess.Popen[str], seconds: float) -> float:
    """Seconds until ``process`` exited (fails after ``seconds``)."""
    started = time.monotonic()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        pytest.fail("the Task still runs %gs after its Executor died" % seconds)
    return time.monotonic() - started


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_the_task_ends_when_its_executor_is_killed(
    tasks: types.SimpleNamespace, processes: List[subprocess.Popen[str]], transport: str
) -> None:
    executor = Executor(tasks, HANDOFF, transport)
    # Started by the test, not by the Executor: as an MPI rank (whose parent is the
    # launcher), only the channel can tell that the Executor is gone.
    task = task_process(tasks.env(**executor.environment))
    processes.append(task)
    executor.wait_for("sleeping 600 s")
    executor.kill()
    wait_gone(task, GONE_WITHIN)
    _out, err = task.communicate(timeout=WAIT)
    assert task.returncode == 130, err  # CANCELLED: the Task's cancellation path ran
    assert "closed the connection; cancelling the Task" in err


def test_a_task_that_does_not_end_on_sigterm_exits_after_the_grace(
    tasks: types.SimpleNamespace, processes: List[subprocess.Popen[str]]
) -> None:
    code = textwrap.dedent(
        """
        import sys, time
        from lute.tasks import run, task
        run.LOST_GRACE = 1.0
        # A cancellation path that never ends (stuck in a C call, a lock...).
        task.Task._finish_interrupted = lambda self, *args: time.sleep(600)
        sys.exit(run.main([]))
        """
    )
    executor = Executor(tasks, HANDOFF, "unix")
    task = task_process(tasks.env(**executor.environment), code)
    processes.append(task)
    executor.wait_for("sleeping 600 s")
    executor.kill()
    assert wait_gone(task, GONE_WITHIN) >= 0.9
    assert task.returncode == 130


def test_the_normal_end_does_not_cancel_anything(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace
) -> None:
    quick = dict(HANDOFF, parameters=dict(PARAMETERS, sleep_seconds=0.0))
    listener = make_listener(hello_reply=quick)
    done = tasks.run(
        "import sys\nfrom lute.tasks import run\nsys.exit(run.main([]))\n", tasks.env(listener)
    )
    assert done.returncode == 0, done.stderr
    assert "cancelling" not in done.stderr
    assert listener.wait_idle(WAIT)
    assert [m.signal for _, m in inbox.messages][-1] == "TASK_DONE"

    # The Task closes first, then the Executor closes the listener: on_lost stays silent.
    lost: List[IPCError] = []
    listener = make_listener()
    communicator = connect(listener.task_environment(), on_lost=lost.append)
    communicator.close()
    listener.close()
    time.sleep(0.3)
    assert lost == [] and communicator.executor_lost is None


def test_on_lost_is_called_once_the_executor_closes(make_listener: Callable[..., Listener]) -> None:
    lost: List[IPCError] = []
    listener = make_listener()
    communicator = connect(listener.task_environment(), on_lost=lost.append)
    listener.close()  # as an Executor that dies: the connection ends without a goodbye
    deadline = time.monotonic() + WAIT
    while not lost and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(lost) == 1 and "closed the connection" in str(lost[0])
    assert communicator.executor_lost is lost[0]
    with pytest.raises(IPCError, match="closed the connection"):
        communicator.send(Message("nobody reads this"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_not_cancelled(
    tasks: types.SimpleNamespace, processes: List[subprocess.Popen[str]], tmp_path: Path
) -> None:
    code = textwrap.dedent(
        """
        import os, sys, time
        from lute.execution.ipc import connect
        marks = sys.argv[1]
        def mark(error):
            open(os.path.join(marks, str(os.getpid())), "w").close()
        communicator = connect(on_lost=mark)
        child = os.fork()
        if child == 0:
            time.sleep(3)  # outlives the Executor, without a watch of its own
            os._exit(0)
        print(child, flush=True)
        time.sleep(600)
        """
    )
    executor = Executor(tasks, HANDOFF, "unix")
    task = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        env=tasks.env(**executor.environment),
        stdout=subprocess.PIPE,
        text=True,
    )
    processes.append(task)
    assert task.stdout is not None
    child = int(task.stdout.readline())
    executor.kill()
    deadline = time.monotonic() + WAIT
    while not (tmp_path / str(task.pid)).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [str(task.pid)]  # not the child
    assert child != task.pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_kernel_ends_the_task_when_its_parent_dies(
    make_listener: Callable[..., Listener], tasks: types.SimpleNamespace
) -> None:
    # The Task connects to a Listener of this process and waits for its hand-off, so
    # its channel stays open: only the parent-death signal can end it.
    listener = make_listener(hello_reply=None)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "env = dict(os.environ, LUTE_EXECUTOR_PID=str(os.getpid()))\n"
            "print(subprocess.Popen([sys.executable, '-m', 'lute.tasks.run'], env=env).pid,"
            " flush=True)\n"
            "time.sleep(600)\n",
        ],
        env=tasks.env(listener),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
        parent.kill()
        parent.wait(WAIT)
        assert tasks.wait_until(lambda: gone(pid), GONE_WITHIN), "the Task outlived its parent"
    finally:
        parent.kill()
        parent.wait(WAIT)
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_task_whose_executor_is_already_gone_stops_at_once(tasks: types.SimpleNamespace) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    done = tasks.run(
        "import sys\nfrom lute.tasks import run\nsys.exit(run.main([]))\n",
        tasks.env(LUTE_EXECUTOR_PID=str(dead.pid)),
        timeout=WAIT,
    )
    assert done.returncode == 130
    assert "the Executor (pid %d) that started this Task is gone" % dead.pid in done.stderr
    assert "cannot reach the Executor" not in done.stderr  # it did not even try


@pytest.mark.parametrize("launcher", [None, "OMPI_COMM_WORLD_RANK"])
def test_a_task_whose_executor_is_there_goes_on(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    launcher: Optional[str],
) -> None:
    listener = make_listener(
        hello_reply=dict(HANDOFF, parameters=dict(PARAMETERS, sleep_seconds=0))
    )
    env = tasks.env(listener, LUTE_EXECUTOR_PID=str(os.getpid()))
    if launcher:  # an MPI rank: its parent is the launcher, and the pid may be another host's
        dead = subprocess.Popen(["true"])
        dead.wait()
        env.update({launcher: "0", "LUTE_EXECUTOR_PID": str(dead.pid)})
    done = tasks.run("import sys\nfrom lute.tasks import run\nsys.exit(run.main([]))\n", env)
    assert done.returncode == 0, done.stderr
    assert listener.wait_idle(WAIT)
    assert [m.signal for _, m in inbox.messages][-1] == "TASK_DONE"
