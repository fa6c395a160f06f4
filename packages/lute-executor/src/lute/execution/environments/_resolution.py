"""Resolution: a spec plus the Executor's additions becomes a :class:`ResolvedEnvironment`.

The spec is activated by one function per kind (``current``, ``venv``, ``python``,
``conda``, ``script``, ``modules``) on top of the cleaned Executor environment; then
the ``shell_source`` scripts are sourced and the ``update_environment`` calls applied,
in that order.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from lute.execution.environments._cleaning import clean_environment
from lute.execution.environments._conda import (
    _conda_activation_scripts,
    _conda_env_vars,
    _is_conda_prefix,
    _normal,
    find_conda_prefix,
)
from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._shell import (
    DEFAULT_TIMEOUT,
    _bash_environment,
    _module_environment,
    source_script,
)
from lute.execution.environments._specs import (
    EnvironmentSpec,
    EnvironmentUpdate,
    ResolvedEnvironment,
    _looks_like_path,
)

__all__ = ["MODULE_INIT_FILES", "apply_update", "resolve_environment"]

# Where environment-modules and Lmod install the bash definition of ``module``.
MODULE_INIT_FILES = (
    "/etc/profile.d/lmod.sh",
    "/etc/profile.d/modules.sh",
    "/usr/share/lmod/lmod/init/bash",
    "/usr/share/modules/init/bash",
    "/usr/share/Modules/init/bash",
)


def apply_update(env: Dict[str, str], update: EnvironmentUpdate) -> None:
    """Apply one ``update_environment`` call to ``env`` in place."""
    for name, value in update.variables:
        if name == "PATH" or name.endswith("PATH"):
            existing = env.get(name, "")
            if update.update_path == "prepend" and existing:
                value = value + os.pathsep + existing
            elif update.update_path == "append" and existing:
                value = existing + os.pathsep + value
        env[name] = value


def resolve_environment(
    spec: EnvironmentSpec,
    *,
    updates: Sequence[EnvironmentUpdate] = (),
    sourced_scripts: Sequence[str] = (),
    base_env: Optional[Mapping[str, str]] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ResolvedEnvironment:
    """Resolve ``spec`` plus updates into an interpreter and its complete environment.

    Args:
        spec: Where the Task runs.
        updates: ``update_environment`` calls, applied last, in order.
        sourced_scripts: ``shell_source`` scripts, sourced after the spec is activated.
        base_env: The Executor's environment (default: ``os.environ``).
        timeout: Seconds allowed to each bash run (activation scripts, modules).

    Raises:
        EnvironmentSpecError: The environment does not exist, is not what its kind says,
            or one of its scripts fails; the message names the fix.
    """
    base = dict(os.environ if base_env is None else base_env)
    activate = _ACTIVATORS[spec.kind]
    resolved = activate(spec, base, timeout)
    env = resolved.env
    for script in sourced_scripts:
        env = source_script(script, env, timeout=timeout)
    for update in updates:
        apply_update(env, update)
    resolved.env = env
    resolved.sourced.extend(sourced_scripts)
    return resolved


# Activation, one function per kind ---------------------------------------------------
def _activate_current(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    python = spec.target or sys.executable
    return ResolvedEnvironment(python, base, "current interpreter %s" % python)


def _activate_venv(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    prefix = spec.target
    if not os.path.isdir(prefix):
        raise EnvironmentSpecError(
            "venv %s does not exist; create it with `python3 -m venv %s` (or `uv venv %s`) "
            "and install lute-runtime and the Task's package into it"
            % (prefix, shlex.quote(prefix), shlex.quote(prefix))
        )
    python = os.path.join(prefix, "bin", "python")
    if not os.path.exists(python):
        raise EnvironmentSpecError(
            "%s is not a virtual environment: it has no bin/python%s"
            % (
                prefix,
                " (it looks like a conda environment: use {conda: %s})" % prefix
                if _is_conda_prefix(prefix)
                else "",
            )
        )
    env = clean_environment(base, keep=spec.keep)
    env["VIRTUAL_ENV"] = prefix
    _prepend_path(env, os.path.join(prefix, "bin"))
    return ResolvedEnvironment(python, env, "venv %s" % prefix, kind="venv", prefix=prefix)


def _activate_python(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    env = clean_environment(base, keep=spec.keep)
    python = spec.target
    if os.sep not in python:
        found = shutil.which(python, path=env.get("PATH", ""))
        if found is None:
            raise EnvironmentSpecError(
                "python: no %r on PATH; give the interpreter's full path" % python
            )
        python = found
    elif not os.path.exists(python):
        raise EnvironmentSpecError(
            "python: interpreter %s does not exist; give the full path of an installed "
            "Python >= 3.8" % python
        )
    # Scripts installed beside the interpreter (e.g. pip-installed tools) come first.
    bin_dir = os.path.dirname(python)
    if _normal(bin_dir) not in {_normal(e) for e in env.get("PATH", "").split(os.pathsep)}:
        _prepend_path(env, bin_dir)
    return ResolvedEnvironment(python, env, "interpreter %s" % python, kind="python")


def _activate_conda(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    target = spec.target
    by_path = _looks_like_path(target)
    prefix = target if by_path else find_conda_prefix(target, base)
    if not _is_conda_prefix(prefix):
        raise EnvironmentSpecError(
            "%s is not a conda environment (no conda-meta/ directory)%s"
            % (
                prefix,
                "" if os.path.isdir(prefix) else "; it does not exist",
            )
        )
    python = os.path.join(prefix, "bin", "python")
    if not os.path.exists(python):
        raise EnvironmentSpecError(
            "conda environment %s has no bin/python: install Python >= 3.8 into it "
            "(`conda install -p %s python`)" % (prefix, shlex.quote(prefix))
        )
    env = clean_environment(base, keep=spec.keep, keep_conda_tool=True)
    # What `conda activate` sets for a first-level activation.
    name = prefix if by_path else target
    env["CONDA_PREFIX"] = prefix
    env["CONDA_DEFAULT_ENV"] = name
    env["CONDA_SHLVL"] = "1"
    env["CONDA_PROMPT_MODIFIER"] = "(%s) " % (os.path.basename(prefix) if by_path else name)
    _prepend_path(env, os.path.join(prefix, "bin"))
    env.update(_conda_env_vars(prefix))
    scripts = _conda_activation_scripts(prefix)
    if scripts:
        body = 'for f in "$@"; do . "$f" >&2; done'
        env = _bash_environment(
            body,
            env,
            what="activating conda environment %s" % prefix,
            timeout=timeout,
            args=scripts,
        )
    return ResolvedEnvironment(
        python, env, "conda %s" % name, sourced=scripts, kind="conda", prefix=prefix
    )


def _activate_script(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    env = source_script(spec.target, clean_environment(base, keep=spec.keep), timeout=timeout)
    python = _interpreter_on_path(spec, env, "the script %s" % spec.target)
    return ResolvedEnvironment(
        python, env, "script %s (%s)" % (spec.target, python), sourced=[spec.target], kind="script"
    )


def _activate_modules(
    spec: EnvironmentSpec, base: Dict[str, str], timeout: float
) -> ResolvedEnvironment:
    env = _module_environment(
        spec.lines,
        clean_environment(base, keep=spec.keep),
        init_files=MODULE_INIT_FILES,
        timeout=timeout,
    )
    python = _interpreter_on_path(spec, env, "the module lines")
    return ResolvedEnvironment(
        python,
        env,
        "modules %s (%s)" % ("; ".join(spec.lines), python),
        kind="modules",
    )


_ACTIVATORS: Dict[str, Callable[[EnvironmentSpec, Dict[str, str], float], ResolvedEnvironment]]
_ACTIVATORS = {
    "current": _activate_current,
    "venv": _activate_venv,
    "python": _activate_python,
    "conda": _activate_conda,
    "script": _activate_script,
    "modules": _activate_modules,
}


# Helpers --------------------------------------------------------------------------------
def _prepend_path(env: Dict[str, str], directory: str) -> None:
    existing = env.get("PATH", "")
    env["PATH"] = directory + (os.pathsep + existing if existing else "")


def _interpreter_on_path(spec: EnvironmentSpec, env: Mapping[str, str], source: str) -> str:
    if spec.interpreter:
        if os.sep in spec.interpreter:
            if not os.path.exists(spec.interpreter):
                raise EnvironmentSpecError("interpreter %s does not exist" % spec.interpreter)
            return spec.interpreter
        candidates: Tuple[str, ...] = (spec.interpreter,)
    else:
        candidates = ("python3", "python")
    for name in candidates:
        found = shutil.which(name, path=env.get("PATH", ""))
        if found is not None:
            return found
    raise EnvironmentSpecError(
        "no %s on the PATH set up by %s; pass the interpreter explicitly "
        "(interpreter: /path/to/python)" % (" or ".join(candidates), source)
    )
