"""sbatch options: their names and values, checked before anything is submitted.

An option is an sbatch long name (``partition``, ``cpus-per-task``; ``cpus_per_task`` is
read the same) with a value, or none for a flag (``exclusive``), and the place it came
from, named in every problem and in the batch script. Options come in *layers* (the
facility's defaults, the managed task's, the config's, the command line's);
:func:`merge` lays them over one another, a higher layer's value replacing a lower one's
and ``None``/``false`` removing it.

Values are checked by kind (time limits, counts, memory sizes, signals); what only the
controller can judge (a partition's name, an account) is left to ``sbatch``, whose
refusal ends the submission with SLURM's message and nothing queued.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from lute._records import FrozenRecord

__all__ = [
    "OPTION_KINDS",
    "Layer",
    "Option",
    "check_value",
    "layer_from_mapping",
    "merge",
    "parse_command_line",
]

# Kinds: text, int (> 0), nodes (N or N-M), time, mem, signal, flag (no value),
# optional (a flag, or --name=value), set (lute-exec submit sets it: refused).
_TEXT = (
    "account acctg-freq batch bb bbf begin chdir cluster-constraint clusters comment "
    "constraint container cpu-freq deadline dependency distribution exclude export-file "
    "extra-node-info gid gpu-bind gpu-freq gpus gpus-per-node gpus-per-socket gpus-per-task "
    "gres gres-flags hint job-name kill-on-invalid-dep licenses mail-type mail-user "
    "mcs-label mem-bind network nodefile nodelist open-mode partition power priority profile "
    "qos reservation switches uid wait-all-nodes wckey"
)
_INT = (
    "core-spec cores-per-socket cpus-per-gpu cpus-per-task delay-boot mincpus ntasks "
    "ntasks-per-core ntasks-per-gpu ntasks-per-node ntasks-per-socket sockets-per-node "
    "thread-spec threads-per-core"
)
_FLAG = (
    "contiguous hold ignore-pbs no-requeue overcommit oversubscribe quiet reboot requeue "
    "spread-job use-min-nodes verbose"
)
_OPTIONAL = "exclusive export get-user-env nice no-kill propagate"
_SET = "array error input output parsable test-only wait wrap help usage version"

#: sbatch long option name -> kind.
OPTION_KINDS: Dict[str, str] = {
    **dict.fromkeys(_TEXT.split(), "text"),
    **dict.fromkeys(_INT.split(), "int"),
    **dict.fromkeys(_FLAG.split(), "flag"),
    **dict.fromkeys(_OPTIONAL.split(), "optional"),
    **dict.fromkeys(_SET.split(), "set"),
    "nodes": "nodes",
    "time": "time",
    "time-min": "time",
    "mem": "mem",
    "mem-per-cpu": "mem",
    "mem-per-gpu": "mem",
    "tmp": "mem",
    "signal": "signal",
}

#: sbatch's one-letter options.
SHORT = {
    "a": "array",
    "A": "account",
    "b": "begin",
    "B": "extra-node-info",
    "c": "cpus-per-task",
    "C": "constraint",
    "d": "dependency",
    "D": "chdir",
    "e": "error",
    "F": "nodefile",
    "G": "gpus",
    "H": "hold",
    "i": "input",
    "J": "job-name",
    "k": "no-kill",
    "L": "licenses",
    "m": "distribution",
    "M": "clusters",
    "n": "ntasks",
    "N": "nodes",
    "o": "output",
    "O": "overcommit",
    "p": "partition",
    "q": "qos",
    "Q": "quiet",
    "s": "oversubscribe",
    "S": "core-spec",
    "t": "time",
    "v": "verbose",
    "W": "wait",
    "w": "nodelist",
    "x": "exclude",
}

_WHY_SET = {
    "array": "lute-exec submit makes the array: use --runs, --sweep and --max-parallel",
    "output": "lute-exec submit names the log files (see docs/slurm.md)",
    "error": "lute-exec submit names the log files (see docs/slurm.md)",
}

_TIME = re.compile(
    r"(?:\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})"
)
_MEM = re.compile(r"\d+[KMGT]?", re.IGNORECASE)
_NODES = re.compile(r"\d+(?:-\d+)?")
_SIGNAL = re.compile(r"(?:[RB]{1,2}:)?(?:SIG)?[A-Z0-9]+(?:@\d+)?", re.IGNORECASE)
_EXPECTED = {
    "int": "a whole number above 0",
    "nodes": "a node count N or a range N-M",
    "time": "a time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED",
    "mem": "a size in megabytes, or with a K, M, G or T suffix (4000, 4G)",
    "signal": "[R|B:]SIGNAL[@SECONDS], e.g. B:USR1@120",
}


class Option(FrozenRecord):
    """One sbatch option and where it came from.

    Attributes:
        name: The long name, without ``--`` (``cpus-per-task``).
        value: Its value as sbatch reads it; ``None`` for a flag.
        source: Where it was set, for problems and the batch script
            (``config.yaml:7 (slurm.partition)``, ``command line``).
    """

    _FIELDS = ("name", "value", "source")
    __slots__ = _FIELDS
    name: str
    value: Optional[str]
    source: str

    def __init__(self, name: str, value: Optional[str], source: str) -> None:
        self._set_fields(name, value, source)

    def argument(self) -> str:
        """``--name=value``, or ``--name`` for a flag."""
        return "--%s" % self.name if self.value is None else "--%s=%s" % (self.name, self.value)


#: One source's options: name -> the option, or ``None`` where it removes a lower one's.
Layer = Dict[str, Optional[Option]]


def normal_name(name: str) -> str:
    """``cpus_per_task`` and ``--cpus-per-task`` -> ``cpus-per-task``."""
    return name.strip().lstrip("-").replace("_", "-").lower()


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, list(OPTION_KINDS), n=2, cutoff=0.75)
    hint = "; did you mean %s?" % " or ".join("'%s'" % c for c in close) if close else ""
    return "unknown sbatch option '%s'%s" % (name, hint)


def check_value(name: str, value: Optional[str]) -> Optional[str]:
    """What is wrong with ``--name[=value]``, or ``None`` when sbatch can be given it."""
    kind = OPTION_KINDS.get(name)
    if kind is None:
        return _unknown(name)
    if kind == "set":
        return "--%s is set by lute-exec submit%s" % (
            name,
            ": " + _WHY_SET[name] if name in _WHY_SET else "",
        )
    if value is None:
        if kind in ("flag", "optional"):
            return None
        return "--%s needs a value" % name
    if kind == "flag":
        return "--%s takes no value (give true to set it), got %r" % (name, value)
    if "\n" in value or not value.strip():
        return "--%s: the value must be one non-empty line, got %r" % (name, value)
    if kind == "int" and not (value.isdigit() and int(value) > 0):
        return "--%s: expected %s, got %r" % (name, _EXPECTED[kind], value)
    if kind == "time" and not (
        _TIME.fullmatch(value) or value.upper() in ("UNLIMITED", "INFINITE")
    ):
        return "--%s: expected %s, got %r" % (name, _EXPECTED[kind], value)
    for pattern, expected in ((_MEM, "mem"), (_NODES, "nodes"), (_SIGNAL, "signal")):
        if kind == expected and not pattern.fullmatch(value):
            return "--%s: expected %s, got %r" % (name, _EXPECTED[kind], value)
    return None


def _value_text(value: Any) -> Optional[str]:
    """A YAML or Python value as sbatch's text (``True`` is a flag: ``None``)."""
    if value is True:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def layer_from_mapping(
    mapping: Mapping[str, Any], source_of: Callable[[str], str]
) -> Tuple[Layer, List[Tuple[str, str]]]:
    """A layer from ``{name: value}`` (a config block, a file, ``slurm=`` in Python).

    ``True`` sets a flag; ``None`` and ``False`` remove the option set below.

    Args:
        mapping: Option names (long, ``-`` or ``_``) to values; mappings are not options
            and must have been taken out.
        source_of: ``source_of(key)`` -> where that key was written.

    Returns:
        The layer and ``(source, problem)`` pairs.
    """
    layer: Layer = {}
    problems: List[Tuple[str, str]] = []
    for key, value in mapping.items():
        name = normal_name(str(key))
        source = source_of(key)
        if value is None or value is False:
            if name not in OPTION_KINDS:
                problems.append((source, _unknown(name)))
            layer[name] = None
            continue
        if isinstance(value, (list, dict)):
            problems.append((source, "an sbatch option takes one value, got %r" % (value,)))
            continue
        _set(layer, problems, Option(name, _value_text(value), source))
    return layer, problems


def _set(layer: Layer, problems: List[Tuple[str, str]], option: Option) -> None:
    """Put ``option`` in ``layer``, or what is wrong with it in ``problems``."""
    problem = check_value(option.name, option.value)
    if problem is None:
        layer[option.name] = option
    else:
        problems.append((option.source, problem))


def parse_command_line(
    arguments: Sequence[str], source: str = "command line"
) -> Tuple[Layer, List[Tuple[str, str]]]:
    """A layer from sbatch's own syntax: ``--time=1:00:00 --partition milano -n 4 -s``.

    Returns:
        The layer and ``(source, problem)`` pairs.
    """
    layer: Layer = {}
    problems: List[Tuple[str, str]] = []
    args = list(arguments)
    position = 0
    while position < len(args):
        token = args[position]
        position += 1
        value: Optional[str] = None
        if token.startswith("--") and len(token) > 2:
            name, equals, given = token[2:].partition("=")
            name = normal_name(name)
            if equals:
                value = given
        elif token.startswith("-") and len(token) > 1 and token[1] != "-":
            letter = token[1]
            if letter not in SHORT:
                problems.append((source, "%s: unknown sbatch option '-%s'" % (token, letter)))
                continue
            name = SHORT[letter]
            if len(token) > 2:
                value = token[2:].lstrip("=")
        else:
            problems.append(
                (
                    source,
                    "%r: not an sbatch option (options go after `--`, Task.param=value "
                    "before it)" % token,
                )
            )
            continue
        kind = OPTION_KINDS.get(name)
        takes_value = kind not in (None, "flag", "optional", "set") or name in _WHY_SET
        if value is None and takes_value and position < len(args):
            value = args[position]
            position += 1
        _set(layer, problems, Option(name, value, source))
    return layer, problems


def merge(layers: Iterable[Mapping[str, Optional[Option]]]) -> Dict[str, Option]:
    """The options in force: ``layers`` from lowest to highest precedence."""
    merged: Dict[str, Option] = {}
    for layer in layers:
        for name, option in layer.items():
            if option is None:
                merged.pop(name, None)
            else:
                merged[name] = option
    return merged
