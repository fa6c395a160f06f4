"""The config section a managed task reads, validated the same way by ``lute-exec run``
and by ``lute-exec submit`` / ``workflow submit`` before anything is queued."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from lute.execution.definition import ManagedTaskDefinition

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.config import LoadedConfig, RawConfig

__all__ = ["load_task_section"]


def load_task_section(
    raw: RawConfig, definition: ManagedTaskDefinition, overrides: Sequence[str]
) -> LoadedConfig:
    """Validate the section ``definition`` reads (a sweep point's own: ``Test_7``).

    Raises:
        lute.io.config.ConfigError: Every problem, including a sweep point without its
            own section.
        LookupError: No parameter model for the Task.
    """
    from lute.io.config import ConfigError, load_config

    task_name, section = definition.task_name, definition.config_section
    loaded = load_config(raw, task_name, overrides, section=section)
    if section != task_name and section not in loaded.raw.sections:
        # The original LUTE warned and ran on the model's defaults, which hides a
        # misspelt or forgotten section.
        raise ConfigError(
            [
                loaded.raw.locator().problem(
                    (section,),
                    "no section %r for managed task %r (a sweep point of Task %r reads "
                    "its own section, not %r or the defaults); add it"
                    % (section, definition.name, task_name, task_name),
                )
            ]
        )
    return loaded
