"""Tasklets: plain functions a managed task runs before or after its Task.

Their string arguments may hold placeholders filled from the Task's validated
parameters, in either of two spellings:

- ``{dotted.name}``: an argument that is exactly one placeholder gets the parameter's
  value with its type; inside a longer string the value is formatted in;
- ``{{ dotted.name }}``, the original LUTE's: every placeholder is replaced by the
  value's text, then an argument that reads as a whole number becomes an ``int`` and one
  that reads as another number a ``float``, as the original converted them.

A placeholder naming no parameter is an error before the Task is launched. What an
"after" tasklet returns may be merged into the Task's result summary or payload.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from lute._records import Record
from lute.execution.errors import ExecutorError
from lute.tasks.dataclasses import TaskResult, TaskStatus

__all__ = ["Tasklet", "check_tasklets", "fill_placeholders", "merge_output", "run_tasklets"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
# The original LUTE's spelling, with its tolerance for spaces inside the braces.
_ORIGINAL_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class Tasklet(Record):
    """A function run before or after the Task.

    Its arguments may be strings holding ``{param}`` or ``{{ param }}`` placeholders,
    filled from the Task's parameters (``{lute_config.run}``, ``{{ compound_var.int_var }}``).

    Attributes:
        function: The function.
        args: Its arguments.
        when: ``"before"`` or ``"after"`` the Task.
        set_result: Merge the return value into the Task's result payload.
        set_summary: Merge the return value into the Task's result summary.
    """

    __match_args__ = ("function", "args", "when", "set_result", "set_summary")
    _FIELDS = __match_args__

    def __init__(
        self,
        function: Callable[..., Any],
        args: Tuple[Any, ...],
        when: str,
        set_result: bool,
        set_summary: bool,
    ) -> None:
        self.function = function
        self.args = args
        self.when = when
        self.set_result = set_result
        self.set_summary = set_summary

    @property
    def name(self) -> str:
        """The function's name, for messages."""
        return getattr(self.function, "__name__", repr(self.function))


def fill_placeholders(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Fill the placeholders of a tasklet argument from the parameters.

    ``{dotted.name}``: an argument that is exactly one placeholder gets the parameter's
    value with its type; placeholders inside a longer string are formatted into it.
    ``{{ dotted.name }}`` (the original LUTE's): each is replaced by the value's text,
    then a result that reads as a number becomes one (``int``, else ``float``).

    Raises:
        ExecutorError: A placeholder names a parameter that does not exist.
    """
    if not isinstance(value, str) or "{" not in value:
        return value

    def lookup(name: str) -> Any:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_0-9][\w]*)*", name):
            raise ExecutorError(
                "tasklet argument %r: %r is not a parameter name (write {{ name }} or "
                "{{ group.name }})" % (value, name)
            )
        node: Any = parameters
        for part in name.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ExecutorError(
                    "tasklet argument %r names parameter %r, which does not exist" % (value, name)
                )
            node = node[part]
        return node

    if _ORIGINAL_PLACEHOLDER.search(value) is not None:
        filled = _ORIGINAL_PLACEHOLDER.sub(lambda match: str(lookup(match.group(1))), value)
        return _as_number(filled)
    whole = _PLACEHOLDER.fullmatch(value)
    if whole is not None:
        return lookup(whole.group(1))
    return _PLACEHOLDER.sub(lambda match: str(lookup(match.group(1))), value)


def _as_number(text: str) -> Any:
    """The original's conversion of a filled ``{{ }}`` argument: ``"12"`` -> 12,
    ``"0.5"`` -> 0.5, anything else stays text."""
    if text.isnumeric():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def check_tasklets(tasklets: Sequence[Tasklet], parameters: Mapping[str, Any]) -> None:
    """Fill every tasklet's placeholders now, so that one naming no parameter is found
    before the Task is launched.

    Raises:
        ExecutorError: A placeholder names a parameter that does not exist; the message
            names the tasklet.
    """
    for tasklet in tasklets:
        for arg in tasklet.args:
            try:
                fill_placeholders(arg, parameters)
            except ExecutorError as error:
                raise ExecutorError(
                    "%s tasklet %s: %s" % (tasklet.when, tasklet.name, error)
                ) from None


def merge_output(existing: Any, output: Any) -> Any:
    """``existing`` (a summary or payload) with a tasklet's ``output`` merged in."""
    if isinstance(existing, dict) and isinstance(output, Mapping):
        merged = dict(existing)
        merged.update(output)
        return merged
    if existing in ("", None):
        return output
    if isinstance(existing, list):
        return [*existing, output]
    return [existing, output]


def run_tasklets(
    tasklets: Sequence[Tasklet],
    when: str,
    parameters: Mapping[str, Any],
    result: Optional[TaskResult],
    *,
    task_name: str,
    say: Callable[[str], None],
) -> Tuple[Optional[TaskResult], bool]:
    """Run the tasklets registered for ``when``, in order.

    Args:
        tasklets: Every tasklet of the managed task.
        when: ``"before"`` or ``"after"``.
        parameters: The Task's parameters as sent to it (placeholders are filled from
            them).
        result: The Task's result so far.
        task_name: Name of the Task (for a result created by a tasklet).
        say: Writes one line to the run's console.

    Returns:
        The result (a new one when a tasklet's output is merged into none) and whether
        a tasklet changed it.
    """
    changed = False
    for tasklet in tasklets:
        if tasklet.when != when:
            continue
        args = [fill_placeholders(arg, parameters) for arg in tasklet.args]
        say("tasklet %s(%s) %s the Task" % (tasklet.name, ", ".join(map(repr, args)), when))
        output = tasklet.function(*args)
        if output is None or not (tasklet.set_result or tasklet.set_summary):
            continue
        if result is None:
            result = TaskResult(task_name, TaskStatus.COMPLETED, "", "")
        if tasklet.set_summary:
            result.summary = merge_output(result.summary, output)
        if tasklet.set_result:
            result.payload = merge_output(result.payload, output)
        changed = True
    return result, changed
