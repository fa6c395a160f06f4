"""The environment records: what to resolve (a spec, updates) and what resolution yields.

:class:`EnvironmentSpec` says where a Task runs (built with its class methods, or from
its YAML form with :meth:`EnvironmentSpec.from_config`), :class:`EnvironmentUpdate` is
one ``update_environment`` call, and :class:`ResolvedEnvironment` is the interpreter
and complete environment a Task is launched with. Paths are made absolute when a spec
is created, so a spec means the same thing wherever it is resolved.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from lute._records import FrozenRecord, Record
from lute.execution.environments._errors import EnvironmentSpecError

__all__ = [
    "ENV_KINDS",
    "PATH_MODES",
    "SPEC_OPTIONS",
    "EnvironmentSpec",
    "EnvironmentUpdate",
    "ResolvedEnvironment",
]

# The values of EnvironmentUpdate.update_path (``update_environment(update_path=...)``).
PATH_MODES = ("prepend", "append", "overwrite")
ENV_KINDS = ("current", "venv", "python", "conda", "script", "modules")
SPEC_OPTIONS = ("keep", "interpreter")
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
        """A shell script (with optional arguments) that sets the environment up.

        ``interpreter``: the Task's interpreter (a path, or a command name looked up on
        the ``PATH`` the script sets up); default: ``python3``, then ``python``.
        """
        if not isinstance(path, str) or not path.strip():
            raise EnvironmentSpecError("script: expected a script path, got %r" % (path,))
        parts = _words(path, "script")
        parts[0] = _absolute(parts[0], "script")
        return cls(
            "script", shlex.join(parts), keep=tuple(keep), interpreter=_interpreter(interpreter)
        )

    @classmethod
    def modules(
        cls,
        lines: Union[str, Sequence[str]],
        *,
        interpreter: Optional[str] = None,
        keep: Sequence[str] = (),
    ) -> EnvironmentSpec:
        """``module`` sub-commands (environment-modules or Lmod), e.g. ``["load gcc/12"]``.

        A leading ``module`` word on a line is accepted and ignored. ``interpreter`` as
        for :meth:`script`.
        """
        if isinstance(lines, str):
            lines = [lines]
        cleaned: List[str] = []
        for line in lines:
            if not isinstance(line, str):
                raise EnvironmentSpecError("modules: line %r is not a string" % (line,))
            words = _words(line, "modules")
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
            "modules",
            "",
            lines=tuple(cleaned),
            keep=tuple(keep),
            interpreter=_interpreter(interpreter),
        )

    @classmethod
    def from_config(cls, config: Any, *, base_dir: Optional[str] = None) -> EnvironmentSpec:
        """Build a spec from its YAML form.

        Exactly one kind key, plus options: ``{venv: /path}``, ``{conda: psana}``,
        ``{python: /usr/bin/python3.8}``, ``{script: /x.sh}``,
        ``{modules: ["load gcc/12"], interpreter: python3}``,
        ``{venv: /path, keep: [PYTHONPATH]}``, ``{current: true}``.

        Args:
            config: The YAML form: a mapping (already parsed), or the string ``current``.
            base_dir: The directory that relative paths in ``config`` are relative to; for
                an entry of a config file, that file's directory. It applies to the venv,
                a conda prefix, a python path, the script (its first word) and an
                interpreter path. Bare names (``{conda: psana}``, ``{python: python3}``,
                ``interpreter: python3``) stay names; ``module`` lines are passed on as
                they are. Default: the current directory, as for the class methods.

        Raises:
            EnvironmentSpecError: Not a mapping, an unknown key (named, with the closest
                valid one), no kind or several kinds, or a value of the wrong type.
        """
        if isinstance(config, str) and config == "current":
            return cls.current()
        kind = _kind_of(config)
        keep = _string_list(config.get("keep", ()), "keep")
        interpreter = config.get("interpreter")
        if interpreter is not None and not isinstance(interpreter, str):
            raise EnvironmentSpecError("interpreter must be a path, not %r" % (interpreter,))
        if interpreter is not None and kind not in ("script", "modules"):
            raise EnvironmentSpecError(
                "interpreter applies to script and modules environments only, not %r" % kind
            )
        if interpreter is not None and os.sep in interpreter:
            interpreter = _rebase(interpreter, base_dir)
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
            parts = _words(value, "script")
            parts[0] = _rebase(parts[0], base_dir)
            return cls.script(shlex.join(parts), interpreter=interpreter, keep=keep)
        if (
            kind == "venv"
            or (kind == "python" and os.sep in value)
            or (kind == "conda" and _looks_like_path(value.strip()))
        ):
            value = _rebase(value, base_dir)  # a path; a conda or python *name* stays a name
        constructor: Callable[..., EnvironmentSpec] = getattr(cls, kind)
        return constructor(value, keep=keep)

    # Back to the YAML form ------------------------------------------------------------
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


# Helpers --------------------------------------------------------------------------------
def _absolute(path: str, kind: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise EnvironmentSpecError("%s: expected a path, got %r" % (kind, path))
    return os.path.abspath(os.path.expanduser(path.strip()))


def _looks_like_path(target: str) -> bool:
    return os.sep in target or target.startswith(("~", "."))


def _rebase(path: str, base_dir: Optional[str]) -> str:
    """``path`` with ``~`` expanded, under ``base_dir`` when relative (``None``: as it is)."""
    path = os.path.expanduser(path.strip())
    return path if base_dir is None else os.path.join(base_dir, path)


def _interpreter(path: Optional[str]) -> str:
    """An interpreter option: a path made absolute; a command name (no ``/``) kept."""
    if not path:
        return ""
    return _absolute(path, "interpreter") if os.sep in path else path


def _words(text: str, kind: str) -> List[str]:
    try:
        return shlex.split(text)
    except ValueError as error:  # an unclosed quote
        raise EnvironmentSpecError(
            "%s: cannot split %r into words: %s" % (kind, text, error)
        ) from None


def _kind_of(config: Any) -> str:
    """The one kind key of a YAML form, after checking that every key is known."""
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
    return str(kinds[0])


def _string_list(value: Any, key: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise EnvironmentSpecError("%s must be a string or a list of strings, not %r" % (key, value))
