"""The SLURM commands LUTE uses: ``sbatch``, ``squeue``, ``sacct``, ``scontrol``, ``scancel``.

Each is run with a time limit, and a failure becomes a :class:`SlurmError` that names
the command and gives SLURM's own message. What SLURM knows of a job comes from
``squeue`` while the controller remembers it (``MinJobAge`` after its end) and from
``sacct`` afterwards, where the site has accounting; past that, the LUTE database is
the only record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.execution.slurm._errors import SlurmError

__all__ = ["ACTIVE_STATES", "DROPPED", "JobState", "SlurmClient", "parse_sacct", "parse_squeue"]

#: Job states in which the job (or its processes) may still be doing something.
ACTIVE_STATES = frozenset(
    {
        *("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED"),
        *("REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"),
        *("RESV_DEL_HOLD", "SPECIAL_EXIT"),
    }
)
#: The state :meth:`SlurmClient.job` gives an array task SLURM no longer lists while it
#: still knows its array: a pending task that was cancelled is dropped from its array.
DROPPED = "DROPPED"
#: MaxArraySize when ``scontrol show config`` cannot tell (SLURM's default).
DEFAULT_MAX_ARRAY_SIZE = 1001
_SQUEUE_FIELDS = "ArrayJobID:|,ArrayTaskID:|,JobID:|,State:|,exit_code:|,Reason:|"

JobKey = Tuple[str, Optional[int]]


class JobState(FrozenRecord):
    """What SLURM says of one job, or of one task of a job array.

    Attributes:
        job_id: The job's id; for an array task, the array's (``SLURM_ARRAY_JOB_ID``).
        array_index: The array task's index, ``None`` for a job that is no array.
        task_job_id: The id SLURM gave this task itself (the job id for a plain job).
        state: ``PENDING``, ``RUNNING``, ``COMPLETED``, ``TIMEOUT``, ``CANCELLED`` …
        reason: Why it is pending or how it ended (``TimeLimit``, ``None`` …).
        exit_code: The batch script's exit code, when it ended (``None`` else).
        signal: The signal that ended it, if one did.
        source: ``squeue`` or ``sacct``.
    """

    _FIELDS = (
        "job_id",
        "array_index",
        "task_job_id",
        "state",
        "reason",
        "exit_code",
        "signal",
        "source",
    )
    __slots__ = _FIELDS
    job_id: str
    array_index: Optional[int]
    task_job_id: str
    state: str
    reason: str
    exit_code: Optional[int]
    signal: Optional[int]
    source: str

    def __init__(
        self,
        job_id: str,
        array_index: Optional[int],
        task_job_id: str,
        state: str,
        reason: str,
        exit_code: Optional[int],
        signal: Optional[int],
        source: str,
    ) -> None:
        self._set_fields(job_id, array_index, task_job_id, state, reason, exit_code, signal, source)

    @property
    def key(self) -> JobKey:
        """``(job_id, array_index)``, as the database records a submitted execution."""
        return (self.job_id, self.array_index)

    @property
    def active(self) -> bool:
        """Whether the job may still run (pending, running, ending …)."""
        return self.state in ACTIVE_STATES

    def describe(self) -> str:
        """``RUNNING``, ``PENDING (Resources)``, ``FAILED (exit 2)``, ``TIMEOUT`` …"""
        if self.state == DROPPED:
            return "DROPPED (no longer in its array)"
        if self.state == "PENDING" and self.reason not in ("", "None"):
            return "PENDING (%s)" % self.reason
        if self.state == "FAILED" and self.signal:
            return "FAILED (signal %d)" % self.signal
        if self.state == "FAILED" and self.exit_code:
            return "FAILED (exit %d)" % self.exit_code
        return self.state


def _index(text: str) -> Optional[int]:
    return int(text) if text.isdigit() else None


def parse_squeue(text: str) -> List[JobState]:
    """``squeue -h -r -O <_SQUEUE_FIELDS>`` output -> the job states."""
    states = []
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) < 6 or not fields[0].strip():
            continue
        job, task, own, state, status, reason = (field.strip() for field in fields[:6])
        wait = int(status) if status.isdigit() else 0
        states.append(
            JobState(
                job,
                _index(task),
                own,
                state.split()[0] if state else "UNKNOWN",
                reason,
                (wait >> 8) & 0xFF if wait else 0,
                (wait & 0x7F) or None,
                "squeue",
            )
        )
    return states


def _array_tasks(text: str) -> List[int]:
    """The indices of ``[1,3]``, ``[5-9%2]``, ``[0-8:2]`` (an array's unexpanded tasks)."""
    indices: List[int] = []
    for part in text.strip("[]").split("%")[0].split(","):
        first, _, rest = part.partition("-")
        last, _, step = rest.partition(":")
        if not first.isdigit() or not (last or first).isdigit():
            continue
        step_size = int(step) if step.isdigit() and int(step) > 0 else 1
        indices.extend(range(int(first), int(last or first) + 1, step_size))
    return indices


def parse_sacct(text: str) -> List[JobState]:
    """``sacct -n -P -X -o JobID,JobIDRaw,State,ExitCode`` output -> the job states.

    Array tasks show as ``4242_3``. Tasks that never started share one line,
    ``4242_[1,3]`` or ``4242_[5-9%2]``: once they ended (cancelled while pending) it gives
    each of them its state; while they are pending it is skipped (``squeue`` knows them).
    """
    states = []
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) < 4:
            continue
        job_text, raw, state, exit_text = (field.strip() for field in fields[:4])
        job, _, task = job_text.partition("_")
        name = state.split()[0] if state else "UNKNOWN"
        if task.isdigit() or not task:
            indices: List[Optional[int]] = [int(task) if task else None]
        elif task.startswith("[") and name not in ACTIVE_STATES:
            indices = list(_array_tasks(task))
        else:
            continue
        code, _, signal = exit_text.partition(":")
        for index in indices:
            states.append(
                JobState(
                    job,
                    index,
                    raw,
                    name,
                    "",
                    int(code) if code.isdigit() else None,
                    int(signal) if signal.isdigit() and int(signal) else None,
                    "sacct",
                )
            )
    return states


class SlurmClient:
    """Runs SLURM's commands.

    Args:
        environ: Their environment (default: this process's).
        timeout: Seconds any one command may take (a controller that does not answer
            makes ``sbatch`` retry for ~10 s and ``squeue`` for ~20 s).
    """

    def __init__(self, *, environ: Optional[Mapping[str, str]] = None, timeout: float = 60.0):
        self.environ = dict(os.environ if environ is None else environ)
        self.timeout = timeout
        self._config: Optional[Dict[str, str]] = None

    def _run(self, command: str, args: Sequence[str]) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        path = shutil.which(command, path=self.environ.get("PATH"))
        if path is None:
            raise SlurmError(
                "%s not found on PATH: submit from a host with SLURM's commands (a login "
                "node of the cluster)" % command
            )
        try:
            return subprocess.run(
                [path, *args],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=self.environ,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SlurmError(
                "%s did not answer within %g s (is the SLURM controller up?)"
                % (command, self.timeout)
            ) from None
        except OSError as error:
            raise SlurmError("cannot run %s: %s" % (path, error)) from None

    @staticmethod
    def _failure(command: str, done: subprocess.CompletedProcess) -> SlurmError:  # type: ignore[type-arg]
        said = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()
        return SlurmError("%s failed (exit %d): %s" % (command, done.returncode, " ".join(said)))

    # Configuration ----------------------------------------------------------------------
    def config(self) -> Dict[str, str]:
        """``scontrol show config`` as ``{key: value}`` (read once)."""
        if self._config is None:
            done = self._run("scontrol", ["show", "config"])
            if done.returncode != 0:
                raise self._failure("scontrol show config", done)
            config = {}
            for line in done.stdout.splitlines():
                key, equals, value = line.partition("=")
                if equals:
                    config[key.strip()] = value.strip()
            self._config = config
        return self._config

    def max_array_size(self) -> int:
        """``MaxArraySize``: array indices run from 0 to one less than it.

        SLURM's default when ``scontrol`` cannot tell (a dry run away from the cluster;
        sbatch then refuses an array too large with SLURM's message).
        """
        try:
            value = self.config().get("MaxArraySize", "")
        except SlurmError:
            return DEFAULT_MAX_ARRAY_SIZE
        return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_ARRAY_SIZE

    def has_accounting(self) -> bool:
        """Whether ``sacct`` can answer (the site stores jobs in slurmdbd)."""
        storage = self.config().get("AccountingStorageType", "accounting_storage/none")
        return storage not in ("", "accounting_storage/none")

    # Jobs -------------------------------------------------------------------------------
    def submit(self, script: str) -> str:
        """``sbatch --parsable SCRIPT``; the job id.

        Raises:
            SlurmError: sbatch refused the job (SLURM's message), is missing, or the
                controller did not answer.
        """
        done = self._run("sbatch", ["--parsable", script])
        if done.returncode != 0:
            raise self._failure("sbatch", done)
        job = done.stdout.strip().splitlines()[-1].split(";")[0].strip() if done.stdout else ""
        if not job.isdigit():
            raise SlurmError("sbatch printed no job id: %r" % done.stdout)
        return job

    def jobs(self, job_ids: Iterable[str]) -> Dict[JobKey, JobState]:
        """What SLURM knows of these jobs (array ids give every task), by key.

        Jobs the controller forgot come from ``sacct`` where the site has accounting;
        jobs nobody remembers are missing from the result.
        """
        wanted = sorted(set(str(job) for job in job_ids), key=lambda job: (len(job), job))
        if not wanted:
            return {}
        done = self._run(
            "squeue", ["-h", "-r", "-t", "all", "-j", ",".join(wanted), "-O", _SQUEUE_FIELDS]
        )
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            raise self._failure("squeue", done)
        found = {state.key: state for state in parse_squeue(done.stdout)}
        missing = [job for job in wanted if not any(key[0] == job for key in found)]
        if missing and self.has_accounting():
            done = self._run(
                "sacct",
                ["-n", "-P", "-X", "-j", ",".join(missing), "-o", "JobID,JobIDRaw,State,ExitCode"],
            )
            if done.returncode != 0:
                raise self._failure("sacct", done)
            for state in parse_sacct(done.stdout):
                found.setdefault(state.key, state)
        return found

    @staticmethod
    def job(
        states: Mapping[JobKey, JobState], job_id: str, index: Optional[int]
    ) -> Optional[JobState]:
        """The state of one job or array task among what :meth:`jobs` found.

        An array whose pending tasks were all cancelled is listed as one record (no
        index): it stands for each of them. A task missing from an array SLURM still
        lists was dropped from it (SLURM does so to a pending task that is cancelled):
        :data:`DROPPED`. ``None``: SLURM knows nothing of the job.
        """
        found = states.get((job_id, index))
        if found is not None or index is None:
            return found
        whole = states.get((job_id, None))
        if whole is not None:
            return JobState(
                job_id,
                index,
                whole.task_job_id,
                whole.state,
                whole.reason,
                whole.exit_code,
                whole.signal,
                whole.source,
            )
        sibling = next((state for key, state in states.items() if key[0] == job_id), None)
        if sibling is not None:
            return JobState(job_id, index, "", DROPPED, "", None, None, sibling.source)
        return None

    def cancel(self, targets: Sequence[str]) -> None:
        """``scancel`` the jobs or array tasks (``4242``, ``4242_3``)."""
        if not targets:
            return
        done = self._run("scancel", list(targets))
        if done.returncode != 0:
            raise self._failure("scancel", done)

    def release(self, job_ids: Sequence[str]) -> None:
        """``scontrol release`` held jobs (a workflow's, once all of them are in)."""
        if not job_ids:
            return
        done = self._run("scontrol", ["release", ",".join(job_ids)])
        if done.returncode != 0:
            raise self._failure("scontrol release", done)
