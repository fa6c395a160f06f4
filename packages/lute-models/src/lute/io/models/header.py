"""``AnalysisHeader``: the first document of a LUTE config (``lute_config`` in a model)."""

from __future__ import annotations

import datetime
import functools
import os
from typing import Any, Dict, Literal, Optional, Union

from pydantic import ConfigDict, field_validator

from lute.io.models._fields import Field
from lute.io.models.compat import LuteModel

__all__ = ["AnalysisHeader", "ElogSettings", "lute_version"]


@functools.lru_cache(maxsize=None)  # read once: a sweep validates hundreds of headers
def lute_version() -> str:
    """The installed lute-models version (``"unknown"`` when not installed)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return "unknown"
    try:
        return version("lute-models")
    except PackageNotFoundError:
        return "unknown"


def _today() -> str:
    return datetime.date.today().strftime("%Y/%m/%d")


def _experiment_from_environment() -> str:
    """``$EXPERIMENT``: what the eLog's job launcher (ARP) sets for the job it starts."""
    from lute.settings import EXPERIMENT

    return str(EXPERIMENT.get() or "")


def _run_from_environment() -> Union[int, str]:
    """The run of ``$RUN_NUM`` (``<run>_<datetime>``, set by the eLog's job launcher)."""
    from lute.settings import RUN_NUM

    text = RUN_NUM.get()
    if not text:
        return ""
    run = str(text).strip().split("_", 1)[0]
    return int(run) if run.isdigit() else run


def _current_directory() -> str:
    # Not ``os.getcwd`` itself: pydantic inspects a factory's signature, and for a
    # builtin that means tokenizing its text signature (~2 ms on every run).
    return os.getcwd()


class ElogSettings(LuteModel):
    """Where and how to post to the facility eLog; without ``url`` a local report is made.

    Secrets never go in a config file: ``password_env`` names the environment variable
    that holds the password.
    """

    model_config = ConfigDict(extra="forbid")

    url: Optional[str] = Field(None, description="Base URL of the eLog service.")
    post: bool = Field(True, description="Post to the eLog when a URL is set.")
    user: Optional[str] = Field(None, description="User name for the eLog.")
    password_env: Optional[str] = Field(
        None, description="Name of the environment variable holding the eLog password."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the eLog to answer.")
    auth: Optional[Literal["basic", "kerberos"]] = Field(
        None,
        description="How eLog requests authenticate: basic (user and password) or kerberos "
        "(GSSAPI; needs lute-executor[kerberos] and a ticket). Default: $LUTE_ELOG_AUTH, "
        "else basic.",
    )
    summaries_root: Optional[str] = Field(
        None,
        description="Facility summaries directory: summary-plot pages are also written to "
        "<root>/<display name>/report.html ({experiment}, {hutch} filled in). Default: "
        "$LUTE_SUMMARIES_ROOT.",
    )


class AnalysisHeader(LuteModel):
    """Values shared by every Task of one analysis: experiment, run, work directory, ...

    Relative ``work_dir`` and ``db_path`` are made absolute: by the config loader
    against the config file's directory, otherwise against the current directory.
    Nothing is created here; the Executor creates the work directory when it runs.
    """

    model_config = ConfigDict(extra="forbid")

    title: str = Field(
        "LUTE Task Configuration", description="Description of the configuration or experiment."
    )
    experiment: str = Field(
        default_factory=_experiment_from_environment,
        description="Experiment name, e.g. TST12345 (default: $EXPERIMENT, set by the eLog's "
        "job launcher).",
    )
    run: Union[int, str] = Field(
        default_factory=_run_from_environment,
        description="Data acquisition run; all-digit values become numbers (default: the run "
        "of $RUN_NUM, <run>_<datetime>, set by the eLog's job launcher).",
    )
    date: str = Field(default_factory=_today, description="Start date of the analysis.")
    lute_version: Union[float, str] = Field(
        default_factory=lute_version, description="Version of LUTE used for the analysis."
    )
    task_timeout: Optional[float] = Field(
        600.0,
        gt=0,
        description=(
            "Seconds until a Task is stopped (null: no limit). Keep it below the batch "
            "job's time limit when running under SLURM."
        ),
    )
    kill_grace: Optional[float] = Field(
        None,
        gt=0,
        description="Seconds a stopped Task gets between SIGTERM and SIGKILL (default: the "
        "managed task's, 10).",
    )
    work_dir: str = Field(
        default_factory=_current_directory,
        description="Working directory: results database, logs, reports and outputs.",
    )
    db_path: Optional[str] = Field(
        None, description="Results database file (default: <work_dir>/lute.db)."
    )
    elog: ElogSettings = Field(default_factory=ElogSettings, description="eLog posting (optional).")
    mpi_ranks: Optional[int] = Field(
        None,
        gt=0,
        description="Ranks for MPI Tasks (default: the SLURM allocation, LUTE_MPI_RANKS, or 2).",
    )
    task_environments: Dict[str, Any] = Field(
        default_factory=dict,
        description="Where Tasks run, by managed task or Task name, e.g. "
        "{FitSpectrum: {conda: psana}, Tester: {venv: /envs/py38}} (see docs/environments.md).",
    )
    slurm: Dict[str, Any] = Field(
        default_factory=dict,
        description="For `lute-exec submit` (see docs/slurm.md): sbatch options by long name "
        "({partition: milano, time: '1:00:00'}), blocks of them named after a managed task or "
        "Task ({Tester: {ntasks: 4}}), and parameter sweeps ({sweep: {Test.float_var: [0.1, "
        "0.2]}}, zip: for lists taken together).",
    )

    @field_validator("run", mode="before")
    @classmethod
    def _normalise_run(cls, run: Any) -> Any:
        if isinstance(run, bool):
            raise ValueError("a run is a number or a name, not true/false")
        if isinstance(run, str) and run.strip().isdigit():
            return int(run.strip())
        return run

    @field_validator("date", mode="before")
    @classmethod
    def _date_to_text(cls, date: Any) -> Any:
        if isinstance(date, (datetime.date, datetime.datetime)):
            return date.strftime("%Y/%m/%d")
        return date

    @field_validator("work_dir")
    @classmethod
    def _check_work_dir(cls, work_dir: str) -> str:
        if not work_dir.strip():
            raise ValueError("the work directory must not be empty")
        path = os.path.abspath(os.path.expanduser(work_dir))
        if os.path.exists(path):
            if not os.path.isdir(path):
                raise ValueError("%s exists but is not a directory" % path)
            if not os.access(path, os.W_OK | os.X_OK):
                raise ValueError("no write permission for the work directory %s" % path)
        return path

    @field_validator("db_path")
    @classmethod
    def _absolute_db_path(cls, db_path: Optional[str]) -> Optional[str]:
        if db_path is None or not db_path.strip():
            return None
        return os.path.abspath(os.path.expanduser(db_path))

    def database_path(self) -> str:
        """The results database file: ``db_path`` or ``<work_dir>/lute.db``."""
        if self.db_path:
            return self.db_path
        try:
            from lute.io.db import default_db_path
        except ImportError:
            return os.path.join(self.work_dir, "lute.db")
        return str(default_db_path(self.work_dir))
