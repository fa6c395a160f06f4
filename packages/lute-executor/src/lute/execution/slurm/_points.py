"""Runs and parameter sweeps: the points of one submission, each with its overrides.

``--runs 12-40,45`` gives one point per run (``run=12`` …). A sweep is a list of
*axes*: ``--sweep Test.float_var=0.1,0.2,0.5`` is an axis of one parameter; every
``--zip`` of one submission together make one axis whose lists are taken side by side
(they must be as long as one another). The points are the runs times the cartesian
product of the axes, runs outermost, the first axis slowest. The config may hold axes
too (``slurm: {sweep: {...}, zip: {...}}``, also inside a managed task's or Task's
block); for each parameter the command line wins, then the managed task's block, the
Task's block and the header's (an axis that names a parameter a higher one sweeps is
left out).

Every point is a list of ``Task.param=value`` overrides, applied after the common
ones, so ``{{ run }}`` and every other placeholder is filled for that point.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from lute._records import FrozenRecord
from lute.execution.slurm._errors import SubmitError

__all__ = [
    "Axis",
    "Point",
    "axes_from_block",
    "axis_from_sweep",
    "axis_from_zip",
    "combine_axes",
    "expand_points",
    "override_key",
    "parse_runs",
]

_HEADER = "lute_config"
_RANGE = re.compile(r"(\d+)-(\d+)(?::(\d+))?")
_NAME = re.compile(r"[A-Za-z_]\w*(?:\.\w+)*")


class Axis(FrozenRecord):
    """One dimension of a sweep: parameters whose values go together.

    Attributes:
        keys: The parameters, as override keys (``Test.float_var``, ``lute_config.run``).
        values: One tuple per position: the value texts of ``keys``, in order.
        source: Where it was given (for problems).
    """

    _FIELDS = ("keys", "values", "source")
    __slots__ = _FIELDS
    keys: Tuple[str, ...]
    values: Tuple[Tuple[str, ...], ...]
    source: str

    def __init__(
        self, keys: Tuple[str, ...], values: Tuple[Tuple[str, ...], ...], source: str
    ) -> None:
        self._set_fields(keys, values, source)


class Point(FrozenRecord):
    """One execution of a submission: a run, a sweep point, or both.

    Attributes:
        index: Position in the submission, from 0.
        overrides: This point's own overrides (``run=12``, ``Test.float_var=0.1``).
        run: The run given by ``--runs``, as text; ``None`` without ``--runs``.
        values: The sweep's overrides alone (what tells the point from its run's others).
        label: The sweep point's part of file names, ``p3`` (``""`` without a sweep);
            the run's part comes from the validated config (``r12_p3``).
    """

    _FIELDS = ("index", "overrides", "run", "values", "label")
    __slots__ = _FIELDS
    index: int
    overrides: Tuple[str, ...]
    run: Optional[str]
    values: Tuple[str, ...]
    label: str

    def __init__(
        self,
        index: int,
        overrides: Tuple[str, ...],
        run: Optional[str],
        values: Tuple[str, ...],
        label: str,
    ) -> None:
        self._set_fields(index, overrides, run, values, label)


def override_key(key: str) -> str:
    """The full key of an override: ``run`` -> ``lute_config.run``."""
    key = key.strip()
    return key if "." in key else "%s.%s" % (_HEADER, key)


def parse_runs(text: str) -> List[str]:
    """``12-40,45``, ``1-9:2``, ``dark,12`` -> the runs, in order, each once.

    Raises:
        SubmitError: A part is empty, a range runs backwards, or a step is 0.
    """
    runs: List[str] = []
    for part in text.split(","):
        part = part.strip()
        match = _RANGE.fullmatch(part)
        if match:
            first, last, step = int(match.group(1)), int(match.group(2)), match.group(3)
            every = int(step) if step else 1
            if last < first or every < 1:
                raise SubmitError("--runs %s: %r is not a range FIRST-LAST[:STEP]" % (text, part))
            runs.extend(str(run) for run in range(first, last + 1, every))
        elif re.fullmatch(r"[\w.+-]+", part) and not re.fullmatch(r"[\d:]*[-:][\d:-]*", part):
            runs.append(part)
        else:
            raise SubmitError(
                "--runs %s: %r is not a run (write runs as 12-40,45 or 1-9:2)" % (text, part)
            )
    return list(dict.fromkeys(runs))


def _split_values(text: str) -> List[str]:
    """``0.1,0.2,[1, 2],"a,b"`` -> its values, split at commas outside brackets and quotes."""
    values: List[str] = []
    depth, quote, start = 0, "", 0
    for position, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:position])
            start = position + 1
    values.append(text[start:])
    return [value.strip() for value in values]


def _key_and_values(text: str, option: str) -> Tuple[str, List[str]]:
    key, equals, values = text.partition("=")
    if not equals or not _NAME.fullmatch(key.strip()):
        raise SubmitError("%s %s: write %s Task.param=V1,V2,..." % (option, text, option))
    parts = _split_values(values)
    if not all(parts):
        raise SubmitError("%s %s: an empty value (two commas in a row?)" % (option, text))
    return override_key(key), parts


def axis_from_sweep(text: str) -> Axis:
    """The axis of ``--sweep Task.param=V1,V2,...``."""
    key, values = _key_and_values(text, "--sweep")
    return Axis((key,), tuple((value,) for value in values), "--sweep %s" % text)


def axis_from_zip(texts: Sequence[str]) -> Optional[Axis]:
    """The one axis of every ``--zip Task.param=V1,V2,...`` (``None`` for none)."""
    if not texts:
        return None
    pairs = [_key_and_values(text, "--zip") for text in texts]
    lengths = {len(values) for _key, values in pairs}
    if len(lengths) > 1:
        given = ", ".join("%s has %d" % (key, len(values)) for key, values in pairs)
        raise SubmitError("--zip lists are taken side by side and must be as long: %s" % given)
    keys = tuple(key for key, _values in pairs)
    return Axis(keys, tuple(zip(*(values for _key, values in pairs))), "--zip")


def value_text(value: Any, source_text: Optional[str] = None) -> str:
    """An override's text for a YAML value: its source text where YAML kept one
    (``0012``), else JSON, which YAML reads back as the same value."""
    if source_text is not None and not isinstance(value, str):
        return source_text
    return json.dumps(value, ensure_ascii=False)


def axes_from_block(
    block: Mapping[str, Any],
    path: Tuple[Any, ...],
    texts: Mapping[Tuple[Any, ...], str],
    where: Callable[[Tuple[Any, ...]], str],
) -> Tuple[List[Axis], List[Tuple[str, str]]]:
    """The axes of one ``slurm`` block as written (``sweep:`` and ``zip:``).

    Args:
        block: The block (``{sweep: {Test.float_var: [0.1, 0.2]}, zip: {...}}``).
        path: Its path in the config (``("lute_config", "slurm")``).
        texts: The config's source texts of plain values (``RawConfig.texts``).
        where: path -> where it is written, for problems.

    Returns:
        The axes and ``(where, problem)`` pairs.
    """
    axes: List[Axis] = []
    problems: List[Tuple[str, str]] = []
    sweep = block.get("sweep")
    if sweep is not None:
        if not isinstance(sweep, Mapping):
            problems.append((where((*path, "sweep")), "expected Task.param: [values] lines"))
        else:
            for key, values in sweep.items():
                axis = _config_axis({key: values}, (*path, "sweep"), texts, where, problems)
                if axis is not None:
                    axes.append(axis)
    zipped = block.get("zip")
    if zipped is not None:
        groups = zipped if isinstance(zipped, list) else [zipped]
        for number, group in enumerate(groups):
            at = (*path, "zip") if not isinstance(zipped, list) else (*path, "zip", number)
            if not isinstance(group, Mapping):
                problems.append((where(at), "expected Task.param: [values] lines"))
                continue
            axis = _config_axis(group, at, texts, where, problems)
            if axis is not None:
                axes.append(axis)
    return axes, problems


def _config_axis(
    group: Mapping[str, Any],
    at: Tuple[Any, ...],
    texts: Mapping[Tuple[Any, ...], str],
    where: Callable[[Tuple[Any, ...]], str],
    problems: List[Tuple[str, str]],
) -> Optional[Axis]:
    columns: List[List[str]] = []
    keys: List[str] = []
    for key, values in group.items():
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            problems.append((where((*at, key)), "%r is not a parameter (Task.param)" % (key,)))
            return None
        if not isinstance(values, list) or not values:
            problems.append((where((*at, key)), "expected a non-empty list of values"))
            return None
        keys.append(override_key(key))
        columns.append([value_text(v, texts.get((*at, key, i))) for i, v in enumerate(values)])
    if not keys:
        return None
    if len({len(column) for column in columns}) > 1:
        given = ", ".join("%s has %d" % (k, len(c)) for k, c in zip(keys, columns))
        problems.append((where(at), "zipped lists must be as long as one another: %s" % given))
        return None
    return Axis(tuple(keys), tuple(zip(*columns)), where(at))


def combine_axes(levels: Sequence[Sequence[Axis]]) -> List[Axis]:
    """The axes in force: ``levels`` from highest to lowest precedence; a lower axis
    that sweeps a parameter a higher one does is left out."""
    taken: Dict[str, Axis] = {}
    result: List[Axis] = []
    for axes in levels:
        kept = [axis for axis in axes if not any(key in taken for key in axis.keys)]
        for axis in kept:
            for key in axis.keys:
                if key in taken:  # twice on one level: --sweep X=… --sweep X=…
                    raise SubmitError(
                        "%s is swept twice (%s and %s)" % (key, taken[key].source, axis.source)
                    )
                taken[key] = axis
        result.extend(kept)
    return result


def expand_points(runs: Optional[Sequence[str]], axes: Sequence[Axis]) -> List[Point]:
    """Every point: each run (or none) times the product of ``axes``."""
    combinations = list(itertools.product(*(axis.values for axis in axes)))
    points: List[Point] = []
    for run in runs if runs is not None else [None]:
        for number, combination in enumerate(combinations):
            values = tuple(
                "%s=%s" % (key, text)
                for axis, texts in zip(axes, combination)
                for key, text in zip(axis.keys, texts)
            )
            overrides = (("lute_config.run=%s" % run,) if run is not None else ()) + values
            label = "p%d" % number if axes else ""
            points.append(Point(len(points), overrides, run, values, label))
    return points
