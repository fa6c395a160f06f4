"""The header values an Executor needs before validation, read without pydantic.

``lute-exec run`` starts the Task's interpreter (or its MPI job) while pydantic loads and
the config is validated. Which interpreter, which launch line and where the run goes
depend on a few header values, so those are read first, from the file as already read
(:func:`~lute.io.config._read.read_config_file`), with the command-line overrides
applied and the placeholders filled that need no model. What only validation can decide
is left unknown (``None``), never guessed, and nothing is reported here: the full load
reports every problem, with its line, as it would without this early read.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Union

from lute._records import FrozenRecord
from lute.io.config._fill import config_dir, resolve_path, substituter
from lute.io.config._overrides import Override, collect_overrides
from lute.io.config._read import RawConfig
from lute.io.config._substitution import FAILED, HEADER
from lute.io.config._yaml_source import PathKey

__all__ = ["EarlyHeader", "early_header"]

_DIGITS = re.compile(r"[0-9]+")  # text that validation is sure to read as this number
_ABSENT: Any = object()  # the header does not have the key
_UNKNOWN: Any = object()  # only validation can tell


class EarlyHeader(FrozenRecord):
    """Header values known before validation; ``None`` where only validation can tell.

    Read-only. Every value is what the validated ``AnalysisHeader`` will hold, or
    ``None``: then use the validated header (``LoadedConfig.header``) instead.

    Attributes:
        config_dir: The config file's directory (absolute). Relative ``work_dir`` and
            ``db_path`` are taken from it; relative paths in ``task_environments``
            entries should be too (:meth:`resolve_path`).
        work_dir: The work directory, absolute (``~`` expanded, relative to
            ``config_dir``); ``None`` when the file does not set it (the model's default,
            the current directory, applies) or it is not known yet. Validation may
            still refuse it (not a directory, not writable).
        mpi_ranks: The rank count, when the header gives a whole number above zero
            that validation is sure to accept (``4``, ``"4"``); else ``None``.
        mpi_ranks_set: Whether the file or an override sets ``mpi_ranks`` at all, to
            any value (``null`` too). ``True`` whenever it cannot be told. ``False``
            means: validation gives ``None``, the ranks come from the environment.
        task_environments: The ``task_environments`` entries of the names asked for,
            in that order, as written (placeholders filled, paths not resolved); ``{}``
            when none of them has one. ``None`` when not known before validation.
    """

    _FIELDS = ("config_dir", "work_dir", "mpi_ranks", "mpi_ranks_set", "task_environments")
    __slots__ = _FIELDS
    config_dir: str
    work_dir: Optional[str]
    mpi_ranks: Optional[int]
    mpi_ranks_set: bool
    task_environments: Optional[Dict[str, Any]]

    def __init__(
        self,
        config_dir: str,
        work_dir: Optional[str],
        mpi_ranks: Optional[int],
        mpi_ranks_set: bool,
        task_environments: Optional[Dict[str, Any]],
    ) -> None:
        self._set_fields(config_dir, work_dir, mpi_ranks, mpi_ranks_set, task_environments)

    def resolve_path(self, path: str) -> str:
        """``path`` as a relative ``work_dir`` is resolved: ``~`` expanded, relative to
        :attr:`config_dir`, normalised."""
        return str(resolve_path(path, self.config_dir))


def early_header(
    raw: RawConfig,
    overrides: Iterable[Union[str, Override]] = (),
    *,
    names: Optional[Sequence[str]] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> EarlyHeader:
    """The header values an Executor needs before validation, without pydantic.

    Give it what :func:`read_config_file` returned and the overrides that
    :func:`load_config` will get; then pass the same :class:`RawConfig` to
    :func:`load_config`, so the file is read and parsed once per run.

    Placeholders that need no model are filled: environment variables (``{{ $VAR }}``),
    header values the file sets and values of Task sections. One that needs a
    model's default (a header value the file does not set) leaves its value unknown.
    When the file or an override already has a problem (a duplicate key, an override
    that cannot be read), nothing is known: the full load will refuse the config and
    report why.

    Args:
        raw: The config file as read, without overrides (it is not changed).
        overrides: ``Task.param=value`` strings (or :class:`Override`), as for
            :func:`load_config`; all apply, since header placeholders may refer to
            Task sections.
        names: The managed task and Task names whose ``task_environments`` entries
            are wanted (default: every entry).
        environ: Environment for ``{{ $VAR }}`` (default: ``os.environ``).

    Returns:
        The values known now. Never raises for a config's content, and reports nothing.
    """
    environ = os.environ if environ is None else environ
    directory = config_dir(raw)
    unknown = EarlyHeader(directory, None, None, True, None)
    if raw.problems:
        return unknown
    overridden, problems = collect_overrides(raw, overrides)
    if problems:
        return unknown

    def value(*path: Union[str, int]) -> Any:
        return _filled(overridden, (HEADER, *path), environ)

    work_dir = value("work_dir")
    ranks = value("mpi_ranks")
    return EarlyHeader(
        directory,
        work_dir if isinstance(work_dir, str) and work_dir.strip() else None,
        _whole_number(ranks),
        ranks is not _ABSENT,
        _environments(overridden.header, value, names),
    )


def _no_default(name: str) -> Any:
    """No header defaults before validation: they are the model's to give."""
    raise KeyError(name)


def _filled(raw: RawConfig, path: PathKey, environ: Mapping[str, str]) -> Any:
    """The value at ``path`` with its placeholders filled, :data:`_ABSENT` or
    :data:`_UNKNOWN` (a placeholder in it, or in what it refers to, could not be filled).
    """
    current: Any = raw.tree()
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return _ABSENT
        current = current[part]
    # A filler of its own: every problem it meets concerns this value. (A mapping leaves
    # a failed entry out instead of failing, so the problems tell, not the value.)
    filler = substituter(raw, dict(raw.texts), environ, _no_default)
    filled = filler.resolve(path)
    if filled is FAILED or filler.failed or filler.problems:
        return _UNKNOWN
    return filled


def _whole_number(value: Any) -> Optional[int]:
    """``value`` as the whole number above zero validation will make of it, else ``None``."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _environments(
    header: Dict[str, Any], value: Callable[..., Any], names: Optional[Sequence[str]]
) -> Optional[Dict[str, Any]]:
    """The ``task_environments`` entries of ``names`` (all when ``None``), or ``None``."""
    written = header.get("task_environments", _ABSENT)
    if written is _ABSENT:
        return {}
    if isinstance(written, dict) and names is not None:
        # Only the entries asked for: a broken placeholder elsewhere is validation's.
        entries: Dict[str, Any] = {}
        for name in dict.fromkeys(names):
            if name in written:
                entries[name] = value("task_environments", name)
                if entries[name] is _UNKNOWN:
                    return None
        return entries
    whole = value("task_environments")  # all of it, or a placeholder standing for it
    if not isinstance(whole, dict):
        return None  # validation refuses anything but a mapping (null too)
    if names is None:
        return whole
    return {name: whole[name] for name in dict.fromkeys(names) if name in whole}
