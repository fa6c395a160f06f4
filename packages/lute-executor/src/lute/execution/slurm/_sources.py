"""Where a submission's sbatch options come from, and their order of precedence.

From lowest to highest (a higher one replaces a lower one's value for the same option):

1. the facility's defaults: the YAML file named by ``LUTE_SLURM_DEFAULTS`` (options,
   and blocks named after a Task or a managed task, the latter winning);
2. the managed task's definition in Python: ``Executor("Test", slurm={...})``;
3. the config's ``slurm`` header block: its options, then the block named after the
   Task, then the block named after the managed task;
4. the command line, after ``--``.

A block is a mapping inside ``slurm`` whose key names a managed task or a Task; the keys
``sweep`` and ``zip`` hold parameter sweeps (:mod:`._points`); every other key is an
sbatch option.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from lute.execution.slurm._options import Layer, layer_from_mapping, parse_command_line
from lute.settings import SLURM_DEFAULTS

__all__ = ["SWEEP_KEYS", "Problems", "config_layers", "facility_layers", "split_block"]

#: Keys of a ``slurm`` block that hold sweeps, not options.
SWEEP_KEYS = ("sweep", "zip")
#: ``(where, what is wrong)`` pairs.
Problems = List[Tuple[str, str]]


def split_block(block: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(options, sub-blocks)`` of a ``slurm`` block; sub-blocks include ``sweep``/``zip``."""
    options: Dict[str, Any] = {}
    blocks: Dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, Mapping) or key in SWEEP_KEYS:
            blocks[str(key)] = value
        else:
            options[str(key)] = value
    return options, blocks


def _unknown_blocks(blocks: Mapping[str, Any], names: Sequence[str]) -> List[str]:
    """Block names that are neither a known managed task nor a known Task."""
    strange = [name for name in blocks if name not in names and name not in SWEEP_KEYS]
    if not strange:
        return []
    from lute.io.models.registry import known_task_names
    from lute.managed_tasks import managed_task_names

    known = set(known_task_names()) | set(managed_task_names())
    return [name for name in strange if name not in known]


def _prefixed(source_of: Callable[[Tuple[str, ...]], str], name: str) -> Callable[[str], str]:
    return lambda key: source_of((name, key))


def _layers(
    block: Mapping[str, Any],
    names: Sequence[str],
    source_of: Callable[[Tuple[str, ...]], str],
    *,
    sweeps_allowed: bool,
) -> Tuple[List[Layer], Problems]:
    """The block's own options, then those of its sub-blocks for ``names`` (in order)."""
    options, blocks = split_block(block)
    layer, problems = layer_from_mapping(options, lambda key: source_of((key,)))
    layers = [layer]
    for name in names:
        sub = blocks.get(name)
        if sub is None:
            continue
        sub_options, sub_blocks = split_block(sub)
        for key in sub_blocks:
            if key not in SWEEP_KEYS or not sweeps_allowed:
                problems.append((source_of((name, key)), "an sbatch option takes one value"))
        sub_layer, sub_problems = layer_from_mapping(sub_options, _prefixed(source_of, name))
        layers.append(sub_layer)
        problems.extend(sub_problems)
    for name in _unknown_blocks(blocks, names):
        problems.append(
            (
                source_of((name,)),
                "no managed task or Task is called %r (a block of options is named after "
                "the managed task or Task it is for)" % name,
            )
        )
    if not sweeps_allowed:
        for key in SWEEP_KEYS:
            if key in blocks:
                problems.append((source_of((key,)), "sweeps belong in a config"))
    return layers, problems


def config_layers(
    block: Mapping[str, Any], names: Sequence[str], locate: Callable[[Tuple[Any, ...]], Any]
) -> Tuple[List[Layer], Problems]:
    """The layers of a config's ``slurm`` block (validated: placeholders filled).

    Args:
        block: ``lute_config.slurm`` of the validated header.
        names: The Task's name, then the managed task's (the later wins).
        locate: The config's locator (``RawConfig.locator()``): path -> (file, line).
    """

    def source_of(keys: Tuple[str, ...]) -> str:
        file, line = locate(("lute_config", "slurm", *keys))
        where = file if line is None else "%s:%d" % (file, line)
        return "%s (slurm.%s)" % (where, ".".join(keys))

    return _layers(block, names, source_of, sweeps_allowed=True)


def facility_layers(
    names: Sequence[str], path: Optional[str] = None
) -> Tuple[List[Layer], Problems]:
    """The layers of the facility's defaults file (``LUTE_SLURM_DEFAULTS``), if any.

    Read as a config header is (YAML 1.2: ``time: 1:00:00`` is text).
    """
    path = path or SLURM_DEFAULTS.get()
    if not path:
        return [], []
    from lute.io.config import read_config_file

    path = os.path.abspath(path)
    where = "%s file %s" % (SLURM_DEFAULTS.name, path)
    try:
        raw = read_config_file(path)
    except Exception as error:  # unreadable, not YAML: one line naming the file
        return [], [(where, str(error).splitlines()[0] if str(error) else repr(error))]
    if raw.problems or raw.sections:
        found = [str(problem) for problem in raw.problems] or ["it must be one YAML mapping"]
        return [], [(where, text) for text in found]
    locate = raw.locator()

    def source_of(keys: Tuple[str, ...]) -> str:
        _file, line = locate(("lute_config", *keys))
        return "%s%s (%s)" % (where, "" if line is None else ":%d" % line, ".".join(keys))

    return _layers(raw.header, names, source_of, sweeps_allowed=False)


def definition_layer(options: Mapping[str, Any], managed_task: str) -> Tuple[Layer, Problems]:
    """The layer of a managed task's ``slurm=`` options (its definition in Python)."""
    return layer_from_mapping(
        options, lambda key: "managed task %s (slurm: %s)" % (managed_task, key)
    )


def command_line_layer(arguments: Sequence[str]) -> Tuple[Layer, Problems]:
    """The layer of the options after ``--``."""
    return parse_command_line(arguments)
