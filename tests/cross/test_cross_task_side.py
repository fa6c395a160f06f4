"""The Task side in a switched environment, driven by the Executor's IPC half.

The Executor's listener (this Python) hands ``FitSpectrum`` its parameters; the Task
runs as ``<env python> -m lute.tasks.run`` in the resolved environment, exactly the
command the Executor launches, and reports back over the stdlib socket or ZMQ.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lute.execution.environments import EnvironmentSpec, ResolvedEnvironment, resolve_environment
from lute.execution.environments.probe import clear_probe_cache, preflight
from lute.execution.ipc import Listener, Message, new_key
from lute.tasks.dataclasses import ElogSummaryPlots

HANDOFF: Dict[str, Any] = {
    "task_name": "FitSpectrum",
    "parameters": {
        "lute_config": {"title": "cross", "experiment": "TST00000", "run": 7, "work_dir": "/tmp"},
        "peak_kev": 4.1,
        "width_kev": 0.2,
        "points": 300,
        "seed": 3,
    },
    "row_ids": None,
    "model": "mec_analysis_models:FitSpectrumParameters",
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clear_probe_cache()


class Run:
    """One Task launch: its exit code and every message the listener received."""

    def __init__(self, returncode: int, messages: List[Message], stderr: str) -> None:
        self.returncode = returncode
        self.messages = messages
        self.stderr = stderr

    def signals(self) -> List[str]:
        return [m.signal for m in self.messages]

    def where(self) -> Dict[str, Any]:
        """What the Task reported about the interpreter and channel it ran with."""
        for message in self.messages:
            text = message.contents
            if isinstance(text, str) and text.startswith("environment "):
                return json.loads(text[len("environment ") :])  # type: ignore[no-any-return]
        raise AssertionError("no environment report in %r\n%s" % (self.messages, self.stderr))

    def result(self) -> Any:
        results = [m.contents for m in self.messages if m.signal == "TASK_RESULT"]
        assert results, (self.messages, self.stderr)
        return results[-1]


def launch(resolved: ResolvedEnvironment, *, zmq: bool = False) -> Run:
    """Launch the Task as the Executor does and collect what its listener receives."""
    received: List[Message] = []
    lock = threading.Lock()

    def on_message(_peer: Any, message: Message) -> None:
        with lock:
            received.append(message)

    listener = Listener(new_key(), hello_reply=HANDOFF, on_message=on_message, zmq=zmq)
    listener.start()
    try:
        env = dict(resolved.env)
        env.update(listener.task_environment())
        assert ("LUTE_ZMQ_ADDRESS" in env) == zmq
        done = subprocess.run(
            [resolved.python, "-m", "lute.tasks.run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        listener.wait_idle(timeout=10.0)
    finally:
        listener.close()
    with lock:
        return Run(done.returncode, list(received), done.stderr)


def test_fit_spectrum_in_a_venv_of_another_python(task_venv: Path, task_python: str) -> None:
    base = dict(os.environ, PYTHONPATH="/opt/executor/site")
    resolved = resolve_environment(EnvironmentSpec.venv(str(task_venv)), base_env=base)
    assert preflight(resolved, "FitSpectrum").task_importable
    run = launch(resolved)
    assert run.returncode == 0, run.stderr
    assert run.signals()[0] == "TASK_STARTED"
    assert run.signals()[-1] == "TASK_DONE"
    seen = run.where()
    assert seen["executable"] == str(task_venv / "bin" / "python")
    assert seen["python"].startswith(task_python + ".")
    assert seen["PYTHONPATH"] is None
    assert seen["transport"] == "unix"
    assert not seen["pydantic_here"]
    result = run.result()
    fit, plots = result.summary
    assert fit["Peak"].startswith("4.1")
    assert isinstance(plots, ElogSummaryPlots) and plots.display_name == "Fits/Spectrum"
    assert json.loads(result.payload)["prefix"] == str(task_venv)


def test_zmq_offered_to_an_env_without_pyzmq_falls_back(task_venv: Path) -> None:
    pytest.importorskip("zmq")
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(task_venv)), base_env=dict(os.environ, LUTE_USE_ZMQ="1")
    )
    assert not preflight(resolved, "FitSpectrum").zmq
    # Offered although the Task cannot use it: the stdlib socket offered beside it serves.
    run = launch(resolved, zmq=True)
    assert run.returncode == 0, run.stderr
    assert run.where()["transport"] == "unix"
    assert run.signals()[-1] == "TASK_DONE"


def test_zmq_when_the_task_env_has_pyzmq(zmq_venv: Path) -> None:
    pytest.importorskip("zmq")
    resolved = resolve_environment(
        EnvironmentSpec.venv(str(zmq_venv)), base_env=dict(os.environ, LUTE_USE_ZMQ="1")
    )
    probe = preflight(resolved, "FitSpectrum")
    assert probe.zmq
    run = launch(resolved, zmq=probe.zmq)  # the Executor's rule: asked for and importable
    assert run.returncode == 0, run.stderr
    assert run.where()["transport"] == "zmq"
    assert run.signals()[-1] == "TASK_DONE"


def test_conda_layout_env_reaches_the_task(conda_envs: Path) -> None:
    base = dict(os.environ, CONDA_ENVS_PATH=str(conda_envs))
    run = launch(resolve_environment(EnvironmentSpec.conda("mecfit"), base_env=base))
    assert run.returncode == 0, run.stderr
    seen = run.where()
    assert seen["CONDA_PREFIX"] == str(conda_envs / "mecfit")
    assert seen["MEC_CALIBRATION"] == str(conda_envs / "mecfit" / "calib" / "r0042")
