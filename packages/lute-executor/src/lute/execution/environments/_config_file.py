"""The ``task_environments`` entry of a config file, read before the config is validated.

The Executor may start the Task before the whole config is validated, so it needs the
Task's environment first: :func:`spec_from_config_file` reads just the header's
``task_environments`` mapping.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional, Sequence

from lute.execution.environments._errors import EnvironmentSpecError
from lute.execution.environments._specs import EnvironmentSpec

__all__ = ["spec_from_config_file"]


def spec_from_config_file(path: str, names: Sequence[str]) -> Optional[EnvironmentSpec]:
    """The environment a config's header assigns to the first of ``names`` that has one.

    The header's ``task_environments`` maps managed task or Task names to specs in
    their YAML form. Read before the config is validated (the Task may start early),
    and only parsed when the file mentions ``task_environments`` at all. Relative paths
    in an entry are relative to the config file's directory, like ``work_dir``
    (:meth:`EnvironmentSpec.from_config` with ``base_dir``).

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
    base_dir = os.path.dirname(os.path.abspath(path))
    for name in names:
        if name in entries:
            try:
                return EnvironmentSpec.from_config(entries[name], base_dir=base_dir)
            except EnvironmentSpecError as error:
                raise EnvironmentSpecError(
                    "%s: task_environments.%s: %s" % (path, name, error)
                ) from None
    return None
