"""Conda discovery: environment prefixes by name, envs dirs, env vars, activation scripts.

Only reads the filesystem and the given variables; activating a conda environment
(what ``conda activate`` sets) is ``_resolution``'s job.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Mapping, Optional, Sequence

from lute.execution.environments._errors import EnvironmentSpecError

__all__ = ["find_conda_prefix"]


def find_conda_prefix(name: str, env: Optional[Mapping[str, str]] = None) -> str:
    """The prefix of the conda environment called ``name``.

    Looked for, in order, in ``$CONDA_ENVS_PATH`` (also ``$CONDA_ENVS_DIRS``), the
    ``envs/`` of the conda installation (``$CONDA_ROOT``, ``$CONDA_EXE``'s, or
    ``$MAMBA_ROOT_PREFIX``), ``~/.conda/envs`` and ``~/.conda/environments.txt``.
    ``base`` names the installation itself.

    Raises:
        EnvironmentSpecError: No such environment; the message lists where it looked and
            the environments found there.
    """
    env = os.environ if env is None else env
    roots = _conda_roots(env)
    if name == "base":
        for root in roots:
            if _is_conda_prefix(root):
                return root
        raise EnvironmentSpecError(
            "conda: no conda installation found for 'base' (set CONDA_EXE or CONDA_ROOT)"
        )
    searched = _conda_envs_dirs(env, roots)
    for directory in searched:
        candidate = os.path.join(directory, name)
        if _is_conda_prefix(candidate):
            return candidate
    for prefix in _listed_conda_envs(env):
        if os.path.basename(prefix) == name and _is_conda_prefix(prefix):
            return prefix
    found = sorted(
        {
            entry
            for directory in searched
            if os.path.isdir(directory)
            for entry in os.listdir(directory)
            if _is_conda_prefix(os.path.join(directory, entry))
        }
    )
    import difflib  # only for the error message's suggestion

    close = difflib.get_close_matches(name, found, n=3)
    raise EnvironmentSpecError(
        "conda environment %r not found; looked in %s%s%s. Give its prefix instead "
        "({conda: /path/to/env}) or add its directory to CONDA_ENVS_PATH"
        % (
            name,
            ", ".join(searched) or "no envs directory (no CONDA_EXE, CONDA_ROOT, ~/.conda)",
            "; found: %s" % ", ".join(found) if found else "",
            "; did you mean %s?" % " or ".join(close) if close else "",
        )
    )


# Helpers --------------------------------------------------------------------------------
def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(path)) if path else ""


def _is_conda_prefix(path: str) -> bool:
    return bool(path) and os.path.isdir(os.path.join(path, "conda-meta"))


def _conda_roots(env: Mapping[str, str]) -> List[str]:
    roots: List[str] = []
    if env.get("CONDA_ROOT"):
        roots.append(env["CONDA_ROOT"])
    for name in ("CONDA_EXE", "CONDA_PYTHON_EXE"):
        if env.get(name):  # <root>/bin/conda, <root>/bin/python
            roots.append(os.path.dirname(os.path.dirname(env[name])))
    if env.get("MAMBA_ROOT_PREFIX"):
        roots.append(env["MAMBA_ROOT_PREFIX"])
    unique: List[str] = []
    for root in roots:
        if _normal(root) not in unique:
            unique.append(_normal(root))
    return unique


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _conda_envs_dirs(env: Mapping[str, str], roots: Sequence[str]) -> List[str]:
    dirs: List[str] = []
    for name in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        dirs += [d for d in env.get(name, "").split(os.pathsep) if d]
    dirs += [os.path.join(root, "envs") for root in roots]
    dirs.append(os.path.join(_home(env), ".conda", "envs"))
    unique: List[str] = []
    for directory in dirs:
        normal = _normal(os.path.expanduser(directory))
        if normal not in unique:
            unique.append(normal)
    return unique


def _listed_conda_envs(env: Mapping[str, str]) -> List[str]:
    """Prefixes conda recorded in ``~/.conda/environments.txt`` when creating them."""
    listing = os.path.join(_home(env), ".conda", "environments.txt")
    try:
        with open(listing) as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def _conda_env_vars(prefix: str) -> Dict[str, str]:
    """Variables set with ``conda env config vars set`` (``conda-meta/state``)."""
    state = os.path.join(prefix, "conda-meta", "state")
    try:
        with open(state) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    variables = data.get("env_vars") if isinstance(data, dict) else None
    if not isinstance(variables, dict):
        return {}
    return {str(k): str(v) for k, v in variables.items()}


def _conda_activation_scripts(prefix: str) -> List[str]:
    directory = os.path.join(prefix, "etc", "conda", "activate.d")
    if not os.path.isdir(directory):
        return []
    return [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if name.endswith(".sh") and os.path.isfile(os.path.join(directory, name))
    ]
