"""The LUTE YAML config: a header document, then one section per Task.

::

    %YAML 1.3
    ---
    title: "Beamtime analysis"
    experiment: "TST12345"
    run: 12
    work_dir: "./lute-work"          # relative to this file's directory
    ...
    ---
    Test:
      float_var: 0.01
    FindPeaks:
      out_file: "/data/{{ experiment }}/peaks_r{{ run:04d }}.h5"
    Index:
      in_file: "{{ FindPeaks.out_file }}"
    ...

:func:`load_config` reads the file, applies command-line overrides
(``Task.param=value``), fills ``{{ ... }}`` placeholders, and validates the header and the
requested Task's section with the Task's model. Every problem found is reported at once
in one :class:`ConfigError` (file, line, parameter path, plain words). Loading never
writes anything. The format is described for users in ``docs/configuration.md``.

Reading is apart from validating, and needs no pydantic: :func:`read_config_file` gives
the file as read (:class:`RawConfig`), :func:`apply_overrides` applies overrides to it,
and :func:`early_header` gives the header values an Executor needs before validation.
:func:`load_config`, :func:`load_header` and :func:`check_config` take that
:class:`RawConfig` in place of a path, so a run reads its config once. They load
pydantic, and are imported on first use.

The modules behind this one, each with one job:

- ``_read`` -- the file's two YAML documents (:class:`RawConfig`), via ``_yaml_source``
  (YAML 1.2 values with lines) and ``_config_cache`` (parses kept on disk);
- ``_overrides`` -- ``Task.param=value``;
- ``_fill`` -- placeholders over a config (the engine is ``_substitution``);
- ``_early`` -- the header before validation;
- ``_validate`` -- the pydantic step (with ``_coerce`` and ``_validation_problems``);
- ``_load`` -- the pipeline behind :func:`load_config`, :func:`load_header` and
  :func:`check_config`;
- ``_problems`` -- :class:`ConfigProblem`, :class:`ConfigError`;
- ``_sections`` -- a sweep point's section name (``Test_0``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from lute._lazy import lazy_attributes
from lute.io.config._early import EarlyHeader, early_header
from lute.io.config._overrides import (
    COMMAND_LINE,
    Override,
    apply_overrides,
    parse_override,
    reads_override,
)
from lute.io.config._problems import ConfigError, ConfigProblem
from lute.io.config._read import RawConfig, read_config_file
from lute.io.config._sections import sweep_parts, sweep_section

if TYPE_CHECKING:  # at run time these load on first use: they import pydantic
    from lute.io.config._load import LoadedConfig, check_config, load_config, load_header

__all__ = [
    "COMMAND_LINE",
    "ConfigError",
    "ConfigProblem",
    "EarlyHeader",
    "LoadedConfig",
    "Override",
    "RawConfig",
    "apply_overrides",
    "check_config",
    "early_header",
    "load_config",
    "load_header",
    "parse_override",
    "read_config_file",
    "reads_override",
    "sweep_parts",
    "sweep_section",
]

_LAZY = {
    "LoadedConfig": "lute.io.config._load",
    "check_config": "lute.io.config._load",
    "load_config": "lute.io.config._load",
    "load_header": "lute.io.config._load",
}
# Importable from here since this package was one module; not part of its API.
_FORMER = {
    "HEADER": "lute.io.config._substitution",
    "Substituter": "lute.io.config._substitution",
    "Locator": "lute.io.config._problems",
    "close_matches": "lute.io.config._problems",
    **dict.fromkeys(
        ("PathKey", "SourceMap", "YamlSyntaxError", "compose_documents", "parse_value", "to_value"),
        "lute.io.config._yaml_source",
    ),
    "coerce_model_input": "lute.io.config._coerce",
    "problems_from_validation": "lute.io.config._validation_problems",
    "AnalysisHeader": "lute.io.models.base",
    "TaskParameters": "lute.io.models.base",
    "registry": "lute.io.models",
    "FrozenRecord": "lute._records",
    "Record": "lute._records",
    "BaseModel": "pydantic",
    "ValidationError": "pydantic",
}

__getattr__ = lazy_attributes(__name__, {**_LAZY, **_FORMER})


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__) | set(_FORMER))
