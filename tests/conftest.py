"""Shared fixtures: config files and a runner for the real ``lute-exec`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
LUTE_EXEC = [sys.executable, "-m", "lute.execution.cli"]
SLURM_SCRIPT = ROOT / "scripts" / "slurm-local.sh"
SLURM_ACCOUNTING_SCRIPT = ROOT / "scripts" / "slurm-accounting.sh"
#: The slurm.conf of the accounting cluster (scripts/slurm-accounting.sh).
SLURM_ACCOUNTING_CONF = "/etc/slurm-acct/slurm.conf"

HEADER = """\
%YAML 1.3
---
title: "LUTE test run"
experiment: "TST12345"
run: {run}
date: "2026/11/25"
lute_version: 0.1
task_timeout: {timeout}
work_dir: "{work_dir}"
...
---
"""

DEFAULT_SECTIONS = """\
Test:
  float_var: 0.01
  str_var: "test"
  compound_var: {int_var: 10, dict_var: {a: "b"}}
  throw_error: false
TestSocket:
  array_size: 1000
  num_arrays: 20
TestWriteOutput:
  num_values: 50
TestReadOutput: {}
TestBinary: {}
MPITest:
  total_items: 1000
...
"""


@pytest.fixture(autouse=True, scope="session")
def private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches (environment probes, parsed configs) go to a test directory, not ~/.cache.

    Set in os.environ, so every lute-exec and Task process the tests start inherits it.
    """
    home = tmp_path_factory.mktemp("cache-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(home))
    yield home
    patch.undo()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path (AF_UNIX paths are limited to 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="lute-", dir="/tmp") as tmp:
        yield Path(tmp)


def write_config(
    directory: Path,
    sections: str = DEFAULT_SECTIONS,
    *,
    run: Any = 12,
    timeout: Any = 120,
    name: str = "config.yaml",
) -> Path:
    """Write a two-document LUTE config whose work_dir is ``directory/work``."""
    path = directory / name
    header = HEADER.format(run=run, timeout=timeout, work_dir=directory / "work")
    path.write_text(header + sections)
    return path


def install_distribution(
    site: Path,
    name: str,
    entry_points: Dict[str, Dict[str, str]],
    modules: Optional[Dict[str, str]] = None,
) -> Path:
    """Install a distribution by hand into ``site`` (a directory meant for the path).

    Writes each of ``modules`` (module name -> source) and ``<name>-0.1.dist-info`` with
    ``entry_points`` (group -> {entry name: "module:attribute"}), which is all that
    ``importlib.metadata`` reads. Returns ``site``.
    """
    site.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (site / ("%s.py" % module)).write_text(source)
    dist_info = site / ("%s-0.1.dist-info" % name.replace("-", "_"))
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: %s\nVersion: 0.1\n" % name)
    (dist_info / "entry_points.txt").write_text(
        "".join(
            "[%s]\n%s\n" % (group, "".join("%s = %s\n" % item for item in entries.items()))
            for group, entries in entry_points.items()
        )
    )
    return site


def install_task_package(site: Path, task: str, task_source: str, model_source: str) -> Path:
    """Install a facility-style package of one Task into ``site``; returns ``site``.

    Its modules: ``lute_<task>`` (``task_source``, defining the Task class ``task``),
    ``lute_<task>_model`` (``model_source``, defining ``<task>Parameters``) and
    ``lute_<task>_managed`` (the managed task ``<task>Runner = Executor(task)``), with
    the three entry points that make them known.
    """
    module = "lute_%s" % task.lower()
    return install_distribution(
        site,
        "lute-%s" % task.lower(),
        {
            "lute.tasks": {task: "%s:%s" % (module, task)},
            "lute.models": {task: "%s_model:%sParameters" % (module, task)},
            "lute.managed_tasks": {task + "Runner": "%s_managed:%sRunner" % (module, task)},
        },
        {
            module: task_source,
            module + "_model": model_source,
            module + "_managed": "from lute.execution.executor import Executor\n\n"
            "%sRunner = Executor(%r)\n" % (task, task),
        },
    )


FLOOD_TASK = """
from lute.execution.ipc import Message
from lute.tasks.task import Task


class Flood(Task):
    def _run(self):
        send = self._report_to_executor
        for i in range(int(self._task_parameters.count)):
            send(Message(contents="message %d of the flood" % i))
"""
FLOOD_MODEL = """
from lute.io.models.base import TaskParameters


class FloodParameters(TaskParameters):
    count: int = 1
"""


def install_flood_package(site: Path) -> Path:
    """Install the Task ``Flood`` (managed task ``FloodRunner``), which sends
    ``Flood.count`` tiny plain messages as fast as it can; returns ``site``."""
    return install_task_package(site, "Flood", FLOOD_TASK, FLOOD_MODEL)


@pytest.fixture
def config(short_tmp: Path) -> Path:
    return write_config(short_tmp)


def lute_exec(
    args: Sequence[str],
    *,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 120,
    cwd: Optional[Path] = None,
) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """Run ``lute-exec`` for real and capture its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [*LUTE_EXEC, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
        check=False,
    )


def popen_lute_exec(args: List[str], **kwargs: Any) -> subprocess.Popen:  # type: ignore[type-arg]
    """Start ``lute-exec`` without waiting for it."""
    return subprocess.Popen(
        [*LUTE_EXEC, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class SlurmCluster:
    """A one-node cluster on localhost, and the jobs tests submit to it.

    Tests ``track`` the jobs they submit; the ``slurm`` (``slurm_acct``) fixture cancels
    whatever of them is still queued or running when the test ends.

    Args:
        env: What SLURM's commands need besides this process's environment to reach the
            cluster (``SLURM_CONF`` of the accounting cluster); empty for the cluster of
            ``scripts/slurm-local.sh``, which the default slurm.conf describes.
    """

    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        self.env: Dict[str, str] = dict(env or {})
        self.jobs: List[str] = []

    def environ(self) -> Dict[str, str]:
        """The full environment of SLURM commands for this cluster (``SlurmClient(environ=)``)."""
        return {**os.environ, **self.env}

    def _run(self, args: List[str]) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=self.environ() if self.env else None,
        )

    def track(self, *jobs: str) -> None:
        self.jobs.extend(str(job) for job in jobs)

    def states(self, job: str) -> List[str]:
        """The state of every task of ``job`` (``[]`` once SLURM forgot it)."""
        done = self._run(["squeue", "-h", "-r", "-t", "all", "-j", str(job), "-o", "%T"])
        return done.stdout.split()

    def wait_ended(self, job: str, timeout: float = 120.0) -> List[str]:
        """Wait until every task of ``job`` ended; their states."""
        active = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED"}
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(job)
            if states and not active & set(states):
                return states
            assert time.monotonic() < deadline, "job %s still %s after %g s" % (
                job,
                states,
                timeout,
            )
            time.sleep(0.2)

    def cancel_tracked(self) -> None:
        if self.jobs:
            self._run(["scancel", *self.jobs])
            self.jobs = []


def _leased_cluster(
    script: Path, env: Optional[Dict[str, str]] = None, start_timeout: float = 120
) -> Iterator[SlurmCluster]:
    """Start the cluster of ``script`` holding a lease of this session (other test runs
    on the machine may share it: it stops once no lease is left), and yield it.

    A start that fails fails the tests with the script's last lines: a machine meant to
    run them that cannot start the cluster must not pass by skipping.
    """
    lease = ["--lease", str(os.getpid())]
    try:
        started = subprocess.run(
            ["bash", str(script), "start", *lease],
            capture_output=True,
            text=True,
            timeout=start_timeout,
        )
        said, code = started.stdout + started.stderr, started.returncode
    except subprocess.TimeoutExpired as error:
        parts = [
            p.decode() if isinstance(p, bytes) else p or "" for p in (error.stdout, error.stderr)
        ]
        said, code = "".join(parts) + "\n(timed out after %g s)" % start_timeout, -1
    if code != 0:
        tail = "\n".join(str(said).splitlines()[-30:])
        pytest.fail("%s start failed (exit %d):\n%s" % (script, code, tail))
    cluster = SlurmCluster(env)
    yield cluster
    cluster.cancel_tracked()
    subprocess.run(["bash", str(script), "stop", *lease], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A single-node SLURM cluster on localhost for the whole session (root, slurm-wlm),
    shared with other test runs through a lease (see :func:`_leased_cluster`)."""
    if shutil.which("slurmctld") is None or shutil.which("sbatch") is None:
        pytest.skip("SLURM is not installed (LUTE_BOOTSTRAP_TEST=1 scripts/bootstrap.sh)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd/munged needs root")
    yield from _leased_cluster(SLURM_SCRIPT)


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The cluster; jobs the test tracked and left queued or running are cancelled."""
    yield slurm_cluster
    slurm_cluster.cancel_tracked()


@pytest.fixture(scope="session")
def slurm_accounting_cluster() -> Iterator[SlurmCluster]:
    """A second one-node cluster, with slurmdbd and MariaDB, so that ``sacct`` answers.

    Started by ``scripts/slurm-accounting.sh`` with a lease, as ``slurm_cluster`` starts
    the first one; its commands need :attr:`SlurmCluster.env` (``SLURM_CONF``). It does
    not skip (see :func:`_leased_cluster`).
    """
    env = {"SLURM_CONF": SLURM_ACCOUNTING_CONF}
    yield from _leased_cluster(SLURM_ACCOUNTING_SCRIPT, env, start_timeout=300)


@pytest.fixture
def slurm_acct(slurm_accounting_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The accounting cluster; jobs the test tracked and left queued or running are cancelled."""
    yield slurm_accounting_cluster
    slurm_accounting_cluster.cancel_tracked()
