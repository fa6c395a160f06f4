"""Where a Task runs: resolving an environment spec into (interpreter, variables).

An Executor holds one :class:`EnvironmentSpec` plus the variable updates and sourced
scripts added with ``update_environment`` / ``shell_source``. Just before launch they are
resolved once into a :class:`ResolvedEnvironment`:

1. the Executor's environment is copied; for every spec but ``current`` the variables
   that describe the Executor's own Python (``PYTHONPATH``, ``VIRTUAL_ENV``, ``CONDA_*``,
   its venv's ``bin`` on ``PATH`` …) are removed, except those named in ``keep``;
2. the spec is activated (venv, conda prefix, sourced script, ``module`` lines);
3. ``shell_source`` scripts are sourced, in order;
4. ``update_environment`` calls are applied, in order.

Then :func:`preflight` probes the result (:mod:`lute.execution.environments.probe`).

Shell code always runs in a separate ``bash`` whose resulting variables are read back
with ``env -0``: nothing a script prints is ever evaluated.

This module is the package's public face; every public name is importable from here.
The code lives in private modules, one job each: the records (``_specs``), what a
switched environment drops (``_cleaning``), activation per kind and the resolution
order (``_resolution``), conda discovery (``_conda``), bash (``_shell``), the
``task_environments`` entry of a config file (``_config_file``), the error
(``_errors``); the probe is the public submodule ``probe``, whose names are loaded
from here on first use only (it is not needed to build or resolve a spec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from lute._lazy import lazy_attributes
from lute.execution.environments._cleaning import (
    CONDA_TOOL_VARIABLES,
    EXECUTOR_VARIABLES,
    clean_environment,
)
from lute.execution.environments._conda import find_conda_prefix
from lute.execution.environments._config_file import spec_from_config_file, spec_from_entries
from lute.execution.environments._errors import EnvironmentError_, EnvironmentSpecError
from lute.execution.environments._resolution import (
    MODULE_INIT_FILES,
    apply_update,
    resolve_environment,
)
from lute.execution.environments._shell import DEFAULT_TIMEOUT, run_bounded, source_script
from lute.execution.environments._specs import (
    ENV_KINDS,
    PATH_MODES,
    SPEC_OPTIONS,
    EnvironmentSpec,
    EnvironmentUpdate,
    ResolvedEnvironment,
)

if TYPE_CHECKING:  # what type checkers see; at run time loaded on first use
    from lute.execution.environments.probe import (
        MIN_TASK_PYTHON,
        ProbeResult,
        clear_probe_cache,
        default_cache_dir,
        install_command,
        preflight,
    )

__all__ = [
    "CONDA_TOOL_VARIABLES",
    "DEFAULT_TIMEOUT",
    "ENV_KINDS",
    "EXECUTOR_VARIABLES",
    "MIN_TASK_PYTHON",
    "MODULE_INIT_FILES",
    "PATH_MODES",
    "SPEC_OPTIONS",
    "EnvironmentError_",
    "EnvironmentSpec",
    "EnvironmentSpecError",
    "EnvironmentUpdate",
    "ProbeResult",
    "ResolvedEnvironment",
    "apply_update",
    "clean_environment",
    "clear_probe_cache",
    "default_cache_dir",
    "find_conda_prefix",
    "install_command",
    "preflight",
    "resolve_environment",
    "run_bounded",
    "source_script",
    "spec_from_config_file",
    "spec_from_entries",
]

# The probe's names: importing the probe (hashlib, threading, …) waits until one is used.
_PROBE_NAMES = (
    "MIN_TASK_PYTHON",
    "ProbeResult",
    "clear_probe_cache",
    "default_cache_dir",
    "install_command",
    "preflight",
)
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_PROBE_NAMES, __name__ + ".probe"))


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
