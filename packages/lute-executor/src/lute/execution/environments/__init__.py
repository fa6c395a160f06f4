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

Shell code always runs in a separate ``bash`` whose resulting variables are read back
with ``env -0``: nothing a script prints is ever evaluated.

Conda discovery lives in ``_conda``, bash (sourcing, ``module``, bounded child processes)
in ``_shell``, the error in ``_errors``; every public name is imported from here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from lute._records import FrozenRecord, Record
from lute.execution.environments._conda import (
    _conda_activation_scripts,
    _conda_env_vars,
    _is_conda_prefix,
    _normal,
    find_conda_prefix,
)
from lute.execution.environments._errors import EnvironmentError_, EnvironmentSpecError
from lute.execution.environments._shell import (
    DEFAULT_TIMEOUT,
    _bash_environment,
    _module_environment,
    run_bounded,
    source_script,
)

__all__ = [
    "ENV_KINDS",
    "EnvironmentError_",
    "EnvironmentSpec",
    "EnvironmentSpecError",
    "EnvironmentUpdate",
    "ResolvedEnvironment",
    "apply_update",
    "clean_environment",
    "find_conda_prefix",
    "resolve_environment",
    "run_bounded",
    "source_script",
]

PATH_MODES = ("prepend", "append", "overwrite")
ENV_KINDS = ("current", "venv", "python", "conda", "script", "modules")
SPEC_OPTIONS = ("keep", "interpreter")

# Variables that describe the Executor's own interpreter; a switched Task never sees them
# unless a spec keeps them.
EXECUTOR_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONEXECUTABLE",
    "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR",
    "__PYVENV_LAUNCHER__",
    "_PYTHON_SYSCONFIGDATA_NAME",
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
)
# Variables of the conda *installation* (not of an active env): kept for conda specs,
# as ``conda activate`` keeps them.
CONDA_TOOL_VARIABLES = ("CONDA_EXE", "CONDA_PYTHON_EXE", "_CE_CONDA", "_CE_M")
_CONDA_VARIABLE = re.compile(r"^(CONDA_.*|_CE_CONDA|_CE_M)$")
# Where environment-modules and Lmod install the bash definition of ``module``.
MODULE_INIT_FILES = (
    "/etc/profile.d/lmod.sh",
    "/etc/profile.d/modules.sh",
    "/usr/share/lmod/lmod/init/bash",
    "/usr/share/modules/init/bash",
    "/usr/share/Modules/init/bash",
)
_MAX_MODULE_LINES = 150


class EnvironmentUpdate(FrozenRecord):
    """Variables set with ``update_environment``.

    Read-only and hashable.

    Attributes:
        variables: Names and values.
        update_path: For ``PATH``-like variables: ``prepend`` (default), ``append`` or
            ``overwrite`` the existing value.
    """

    __match_args__ = ("variables", "update_path")
    _FIELDS = __match_args__
    __slots__ = _FIELDS

    variables: Tuple[Tuple[str, str], ...]
    update_path: str

    def __init__(
        self, variables: Tuple[Tuple[str, str], ...], update_path: str = "prepend"
    ) -> None:
        self._set_fields(variables, update_path)


class EnvironmentSpec(FrozenRecord):
    """How to find the Task's environment (build one with the class methods).

    Read-only and hashable.

    Attributes:
        kind: One of :data:`ENV_KINDS`: ``current`` (the Executor's own interpreter),
            ``venv``, ``python`` (a plain interpreter), ``conda`` (name or prefix),
            ``script`` (a shell script to source) or ``modules`` (``module`` lines).
        target: Path or name, depending on ``kind`` (empty for ``modules``).
        lines: ``module`` sub-commands for ``modules``, e.g. ``("load gcc/12",)``.
        keep: Executor variables a switched environment keeps (e.g. ``("PYTHONPATH",)``).
        interpreter: For ``script``/``modules``: the Task's interpreter; default:
            ``python3`` (then ``python``) on the ``PATH`` they set up.

    Raises:
        EnvironmentSpecError: ``kind`` is unknown or ``keep`` holds a non-variable name.
    """

    __match_args__ = ("kind", "target", "lines", "keep", "interpreter")
    _FIELDS = __match_args__
    __slots__ = _FIELDS

    kind: str
    target: str
    lines: Tuple[str, ...]
    keep: Tuple[str, ...]
    interpreter: str

    def __init__(
        self,
        kind: str = "current",
        target: str = "",
        lines: Tuple[str, ...] = (),
        keep: Tuple[str, ...] = (),
        interpreter: str = "",
    ) -> None:
        self._set_fields(kind, target, lines, keep, interpreter)
        # Checked once every field is set.
        if kind not in ENV_KINDS:
            raise EnvironmentSpecError(
                "unknown environment kind %r: use one of %s" % (kind, ", ".join(ENV_KINDS))
            )
        for name in keep:
            if not isinstance(name, str) or not name or "=" in name:
                raise EnvironmentSpecError("keep: %r is not a variable name" % (name,))

    # Constructors ---------------------------------------------------------------------
    @classmethod
    def current(cls) -> EnvironmentSpec:
        """The Executor's own interpreter and environment, unchanged."""
        return cls("current", sys.executable)

    @classmethod
    def venv(cls, path: str, *, keep: Sequence[str] = ()) -> EnvironmentSpec:
        """A virtual environment (``python -m venv`` / ``uv venv``) at ``path``."""
        return cls("venv", _absolute(path, "venv"), keep=tuple(keep))

    @classmethod
    def python(cls, path: str, *, keep: Sequence[str] = ()) -> EnvironmentSpec:
        """A plain interpreter: a path, or a command name looked up on ``PATH``."""
        if not isinstance(path, str) or not path.strip():
            raise EnvironmentSpecError("python: expected an interpreter path, got %r" % (path,))
        target = path if os.sep not in path else _absolute(path, "python")
        return cls("python", target, keep=tuple(keep))

    @classmethod
    def conda(cls, name_or_prefix: str, *, keep: Sequence[str] = ()) -> EnvironmentSpec:
        """A conda environment, by name (``psana``) or by prefix (``/opt/envs/psana``)."""
        if not isinstance(name_or_prefix, str) or not name_or_prefix.strip():
            raise EnvironmentSpecError(
                "conda: expected an environment name or prefix, got %r" % (name_or_prefix,)
            )
        target = name_or_prefix.strip()
        if _looks_like_path(target):
            target = _absolute(target, "conda")
        return cls("conda", target, keep=tuple(keep))

    @classmethod
    def script(
        cls, path: str, *, interpreter: Optional[str] = None, keep: Sequence[str] = ()
    ) -> EnvironmentSpec:
        """A shell script (with optional arguments) that sets the environment up."""
        if not isinstance(path, str) or not path.strip():
            raise EnvironmentSpecError("script: expected a script path, got %r" % (path,))
        parts = shlex.split(path)
        parts[0] = _absolute(parts[0], "script")
        return cls("script", shlex.join(parts), keep=tuple(keep), interpreter=interpreter or "")

    @classmethod
    def modules(
        cls,
        lines: Union[str, Sequence[str]],
        *,
        interpreter: Optional[str] = None,
        keep: Sequence[str] = (),
    ) -> EnvironmentSpec:
        """``module`` sub-commands (environment-modules or Lmod), e.g. ``["load gcc/12"]``.

        A leading ``module`` word on a line is accepted and ignored.
        """
        if isinstance(lines, str):
            lines = [lines]
        cleaned: List[str] = []
        for line in lines:
            if not isinstance(line, str):
                raise EnvironmentSpecError("modules: line %r is not a string" % (line,))
            words = shlex.split(line)
            if words and words[0] == "module":
                words = words[1:]
            if words:
                cleaned.append(shlex.join(words))
        if not cleaned:
            raise EnvironmentSpecError("modules: no 'module' lines given (e.g. 'load gcc/12')")
        if len(cleaned) > _MAX_MODULE_LINES:
            raise EnvironmentSpecError(
                "modules: at most %d lines are supported" % _MAX_MODULE_LINES
            )
        return cls(
            "modules", "", lines=tuple(cleaned), keep=tuple(keep), interpreter=interpreter or ""
        )

    @classmethod
    def from_config(cls, config: Any) -> EnvironmentSpec:
        """Build a spec from its YAML form.

        Exactly one kind key, plus options: ``{venv: /path}``, ``{conda: psana}``,
        ``{python: /usr/bin/python3.8}``, ``{script: /x.sh}``,
        ``{modules: ["load gcc/12"], interpreter: python3}``,
        ``{venv: /path, keep: [PYTHONPATH]}``, ``{current: true}``.

        Raises:
            EnvironmentSpecError: Not a mapping, an unknown key (named, with the closest
                valid one), no kind or several kinds, or a value of the wrong type.
        """
        if isinstance(config, str) and config == "current":
            return cls.current()
        if not isinstance(config, Mapping):
            raise EnvironmentSpecError(
                "environment config must be a mapping such as {venv: /path/to/venv}, "
                "not %s %r" % (type(config).__name__, config)
            )
        valid = ENV_KINDS + SPEC_OPTIONS
        for key in config:
            if key not in valid:
                import difflib  # only for the error message's suggestion

                close = difflib.get_close_matches(str(key), valid, n=1)
                hint = " (did you mean %r?)" % close[0] if close else ""
                raise EnvironmentSpecError(
                    "unknown key %r in environment config%s; kinds: %s; options: %s"
                    % (key, hint, ", ".join(ENV_KINDS), ", ".join(SPEC_OPTIONS))
                )
        kinds = [key for key in config if key in ENV_KINDS]
        if len(kinds) != 1:
            raise EnvironmentSpecError(
                "environment config %r must name exactly one kind (%s), it names %s"
                % (dict(config), ", ".join(ENV_KINDS), ", ".join(kinds) or "none")
            )
        kind = kinds[0]
        keep = _string_list(config.get("keep", ()), "keep")
        interpreter = config.get("interpreter")
        if interpreter is not None and not isinstance(interpreter, str):
            raise EnvironmentSpecError("interpreter must be a path, not %r" % (interpreter,))
        if interpreter is not None and kind not in ("script", "modules"):
            raise EnvironmentSpecError(
                "interpreter applies to script and modules environments only, not %r" % kind
            )
        value = config[kind]
        if kind == "current":
            if keep:
                raise EnvironmentSpecError("keep has no effect on the current environment")
            return cls.current()
        if kind == "modules":
            return cls.modules(_string_list(value, "modules"), interpreter=interpreter, keep=keep)
        if not isinstance(value, str) or not value.strip():
            raise EnvironmentSpecError(
                "%s: expected a %s, got %r"
                % (kind, "name or prefix" if kind == "conda" else "path", value)
            )
        if kind == "script":
            return cls.script(value, interpreter=interpreter, keep=keep)
        constructor: Callable[..., EnvironmentSpec] = getattr(cls, kind)
        return constructor(value, keep=keep)

    # Queries ----------------------------------------------------------------------------
    @property
    def switched(self) -> bool:
        """Whether the Task leaves the Executor's own environment."""
        return self.kind != "current"

    def to_config(self) -> Dict[str, Any]:
        """The YAML form of this spec (inverse of :meth:`from_config`)."""
        if self.kind == "current":
            return {"current": True}
        config: Dict[str, Any] = {
            self.kind: list(self.lines) if self.kind == "modules" else self.target
        }
        if self.keep:
            config["keep"] = list(self.keep)
        if self.interpreter:
            config["interpreter"] = self.interpreter
        return config


class ResolvedEnvironment(Record):
    """The interpreter and complete environment a Task is launched with.

    Attributes:
        python: Interpreter to run (not symlink-resolved: a venv's ``bin/python``).
        env: Every variable of the Task's process (IPC variables are added at launch).
        description: One line for logs and dry runs, e.g. ``venv /sw/envs/fit``.
        sourced: Scripts sourced on the way (the spec's and ``shell_source``'s);
            default: a new empty list.
        kind: The spec's kind.
        prefix: The environment's prefix (venv or conda), when it has one.
    """

    __match_args__ = ("python", "env", "description", "sourced", "kind", "prefix")
    _FIELDS = __match_args__

    python: str
    env: Dict[str, str]
    description: str
    sourced: List[str]
    kind: str
    prefix: Optional[str]

    def __init__(
        self,
        python: str,
        env: Dict[str, str],
        description: str,
        sourced: Optional[List[str]] = None,
        kind: str = "current",
        prefix: Optional[str] = None,
    ) -> None:
        self.python = python
        self.env = env
        self.description = description
        self.sourced = [] if sourced is None else sourced  # a fresh list per instance
        self.kind = kind
        self.prefix = prefix


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


def clean_environment(
    env: Mapping[str, str], *, keep: Sequence[str] = (), keep_conda_tool: bool = False
) -> Dict[str, str]:
    """Remove what describes the Executor's own Python from a copy of ``env``.

    Dropped: :data:`EXECUTOR_VARIABLES`, every ``CONDA_*`` variable (the conda tool's
    own, :data:`CONDA_TOOL_VARIABLES`, survive when ``keep_conda_tool``), and the
    ``bin`` directories of the Executor's venv and conda environments on ``PATH``.

    Args:
        env: The Executor's environment.
        keep: Names to leave untouched; ``PATH`` here keeps every ``PATH`` entry.
        keep_conda_tool: Keep ``CONDA_EXE`` and friends (conda specs).
    """
    kept = set(keep)
    result = dict(env)
    for name in list(result):
        if name in kept:
            continue
        conda_tool = keep_conda_tool and name in CONDA_TOOL_VARIABLES
        if name in EXECUTOR_VARIABLES or (_CONDA_VARIABLE.match(name) and not conda_tool):
            del result[name]
    if "PATH" in result and "PATH" not in kept:
        own = _executor_bin_dirs(env)
        entries = [e for e in result["PATH"].split(os.pathsep) if _normal(e) not in own]
        result["PATH"] = os.pathsep.join(entries)
    return result


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
def _absolute(path: str, kind: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise EnvironmentSpecError("%s: expected a path, got %r" % (kind, path))
    return os.path.abspath(os.path.expanduser(path.strip()))


def _looks_like_path(target: str) -> bool:
    return os.sep in target or target.startswith(("~", "."))


def _string_list(value: Any, key: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise EnvironmentSpecError("%s must be a string or a list of strings, not %r" % (key, value))


def _prepend_path(env: Dict[str, str], directory: str) -> None:
    existing = env.get("PATH", "")
    env["PATH"] = directory + (os.pathsep + existing if existing else "")


def _executor_bin_dirs(env: Mapping[str, str]) -> Set[str]:
    """``bin`` directories of the Executor's venv and conda environments."""
    prefixes = [env.get("VIRTUAL_ENV", ""), env.get("CONDA_PREFIX", "")]
    prefixes += [value for name, value in env.items() if re.match(r"^CONDA_PREFIX_\d+$", name)]
    if sys.prefix != sys.base_prefix or _is_conda_prefix(sys.prefix):
        prefixes.append(sys.prefix)
    dirs: Set[str] = set()
    for prefix in prefixes:
        if prefix:
            bin_dir = os.path.join(prefix, "bin")
            dirs.add(_normal(bin_dir))
            dirs.add(_normal(os.path.realpath(bin_dir)))
    return dirs


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


def spec_from_config_file(path: str, names: Sequence[str]) -> Optional[EnvironmentSpec]:
    """The environment a config's header assigns to the first of ``names`` that has one.

    The header's ``task_environments`` maps managed task or Task names to specs in
    their YAML form. Read before the config is validated (the Task may start early),
    and only parsed when the file mentions ``task_environments`` at all.

    Raises:
        EnvironmentSpecError: The entry is malformed (the message names the file).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None  # the config loader reports unreadable files properly
    if "task_environments" not in text:
        return None
    import yaml

    # PyYAML knows YAML 1.1 only; the facility's files declare 1.3.
    text = re.sub(r"^%YAML 1\.\d+", "%YAML 1.1", text, count=1, flags=re.MULTILINE)
    try:
        header = next(iter(yaml.safe_load_all(text)), None)
    except yaml.YAMLError:
        return None  # reported, with its line, by the config loader
    entries = header.get("task_environments") if isinstance(header, Mapping) else None
    if not isinstance(entries, Mapping):
        return None
    for name in names:
        if name in entries:
            try:
                return EnvironmentSpec.from_config(entries[name])
            except EnvironmentSpecError as error:
                raise EnvironmentSpecError(
                    "%s: task_environments.%s: %s" % (path, name, error)
                ) from None
    return None
