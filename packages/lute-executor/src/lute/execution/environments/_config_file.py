"""A config's ``task_environments`` entries turned into the spec of one managed task.

The entries come from the config as read once per run: before validation from
:func:`lute.io.config.early_header` (the Task may start early), then from the validated
``AnalysisHeader.task_environments``, which is what the launch finally uses.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._specs import EnvironmentSpec

__all__ = ["spec_from_config_file", "spec_from_entries"]


def spec_from_entries(
    entries: Mapping[str, Any], names: Sequence[str], *, base_dir: str, source: str
) -> Optional[EnvironmentSpec]:
    """The spec of the first of ``names`` that ``entries`` has (``None``: none has one).

    Args:
        entries: ``task_environments``: managed task or Task names to specs in their
            YAML form.
        names: The names to look for, in order (the managed task's, then its Task's).
        base_dir: What relative paths in an entry are relative to: the config file's
            directory, as for ``work_dir``.
        source: The config file, named in errors.

    Raises:
        EnvironmentSpecError: The entry is malformed (the message names the file).
    """
    for name in names:
        if name in entries:
            try:
                return EnvironmentSpec.from_config(entries[name], base_dir=base_dir)
            except EnvironmentSpecError as error:
                raise EnvironmentSpecError(
                    "%s: task_environments.%s: %s" % (source, name, error)
                ) from None
    return None


def spec_from_config_file(path: str, names: Sequence[str]) -> Optional[EnvironmentSpec]:
    """The environment a config file's header assigns to the first of ``names``.

    Read as ``lute-exec run`` reads it before validation (YAML 1.2, placeholders that
    need no model filled), without pydantic; ``None`` when the file cannot be read, has
    no entry for the names, or only validation can tell.

    Raises:
        EnvironmentSpecError: The entry is malformed (the message names the file).
    """
    from lute.io.config import ConfigError, early_header, read_config_file

    try:
        raw = read_config_file(path)
    except (ConfigError, OSError):
        return None  # the config loader reports it properly
    early = early_header(raw, names=names)
    if not early.task_environments:
        return None
    return spec_from_entries(early.task_environments, names, base_dir=early.config_dir, source=path)
