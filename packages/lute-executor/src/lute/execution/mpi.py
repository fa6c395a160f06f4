"""MPI launch lines: which launcher, how many ranks, and the flags each MPI needs."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from typing import Any, List, Optional, Sequence

from lute.settings import MPI_LAUNCHER, MPI_RANKS, SRUN_MPI

__all__ = ["MPILaunchError", "detect_mpi_flavour", "mpi_launch_argv", "resolve_ranks"]

DEFAULT_RANKS = 2


class MPILaunchError(RuntimeError):
    """No usable MPI launcher; the message says what to install or set."""


@functools.lru_cache(maxsize=8)
def detect_mpi_flavour(launcher: str) -> str:
    """``"openmpi"``, ``"mpich"`` or ``"unknown"``, from ``launcher --version``."""
    try:
        out = subprocess.run(
            [launcher, "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout + out.stderr).lower()
    if "open mpi" in text or "open-mpi" in text or "openrte" in text:
        return "openmpi"
    if "hydra" in text or "mpich" in text or "intel(r) mpi" in text:
        return "mpich"
    return "unknown"


@functools.lru_cache(maxsize=4)
def srun_mpi_plugin(srun: str) -> Optional[str]:
    """The ``--mpi`` plugin srun should use: ``$LUTE_SRUN_MPI``, else ``pmix`` when srun
    offers it (mpi4py on Open MPI needs PMIx under srun), else none (site default)."""
    configured = SRUN_MPI.get()
    if configured:
        return str(configured)
    try:
        out = subprocess.run(
            [srun, "--mpi=list"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return "pmix" if "pmix" in (out.stdout + out.stderr) else None


def resolve_ranks(explicit: Optional[int], parameters: Any) -> int:
    """Number of ranks: explicit, else ``lute_config.mpi_ranks``, else the SLURM
    allocation (``SLURM_NTASKS``), else ``LUTE_MPI_RANKS``, else 2."""
    if explicit:
        return int(explicit)
    header = getattr(parameters, "lute_config", None)
    configured = getattr(header, "mpi_ranks", None)
    if configured:
        return int(configured)
    allocated = os.environ.get("SLURM_NTASKS", "")
    if allocated.isdigit() and int(allocated) > 0:
        return int(allocated)
    try:
        ranks = MPI_RANKS.get()
    except ValueError as error:
        raise MPILaunchError(str(error)) from None
    return int(ranks) if ranks else DEFAULT_RANKS


def _in_slurm_allocation() -> bool:
    return bool(os.environ.get("SLURM_JOB_ID")) and shutil.which("srun") is not None


def mpi_launch_argv(
    command: Sequence[str],
    *,
    ranks: Optional[int],
    launcher_args: Sequence[str] = (),
    parameters: Any = None,
    path: Optional[str] = None,
) -> List[str]:
    """Wrap ``command`` in the MPI launcher, resolved to a full path.

    ``srun`` inside a SLURM allocation (``SLURM_JOB_ID`` set); else ``mpirun`` or
    ``mpiexec`` from ``PATH``. Open MPI gets ``--allow-run-as-root`` when run as root
    and ``--oversubscribe`` when there are more ranks than cores.

    Raises:
        MPILaunchError: No launcher found.
    """
    n = resolve_ranks(ranks, parameters)
    preferred = MPI_LAUNCHER.get()
    if preferred:
        launcher = shutil.which(preferred, path=path)
        if launcher is None:
            raise MPILaunchError(
                "%s=%s is not an executable on PATH" % (MPI_LAUNCHER.name, preferred)
            )
    elif _in_slurm_allocation():
        launcher = shutil.which("srun", path=path)
    else:
        launcher = shutil.which("mpirun", path=path) or shutil.which("mpiexec", path=path)
    if launcher is None:
        raise MPILaunchError(
            "no MPI launcher (mpirun/mpiexec) on PATH: install Open MPI (Debian: apt-get "
            "install openmpi-bin libopenmpi-dev) or MPICH, or set LUTE_MPI_LAUNCHER"
        )
    name = os.path.basename(launcher)
    argv = [launcher]
    if name == "srun":
        argv += ["-n", str(n)]
        plugin = srun_mpi_plugin(launcher)
        if plugin:
            argv.append("--mpi=%s" % plugin)
    else:
        argv += ["-n", str(n)]
        if detect_mpi_flavour(launcher) == "openmpi":
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                argv.append("--allow-run-as-root")
            if n > (os.cpu_count() or 1):
                argv.append("--oversubscribe")
    argv += list(launcher_args)
    argv += list(command)
    return argv
