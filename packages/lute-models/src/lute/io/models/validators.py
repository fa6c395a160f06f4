"""Computed defaults for parameters: from other parameters, or from the results database.

Write them as a field's default in a :class:`~lute.io.models.base.TaskParameters`
subclass; they run whenever the field is not given (or given as ``null`` / ``""``)::

    class WriteParameters(TaskParameters):
        out_file: str = template_default(
            "{work_dir}/out_{experiment}_r{run:04d}.txt", description="Output file."
        )

    class ReadParameters(TaskParameters):
        in_file: str = from_result("Write", hint="run the Write task first")

Templates see the parameters defined *before* the field, then the header values
(``experiment``, ``run``, ``work_dir``...); ``{lute_config.work_dir}`` works too.
Database look-ups find the latest result of another Task for the same experiment and
run in the work directory's results database (``lute_config.database_path()``); they
only read, and a missing database or result is a validation error with your hint.

For hand-written ``@validator`` / ``@field_validator`` code, :func:`lookup_result` and
:func:`lookup_parameters` do the same look-ups.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional

from pydantic_core import PydanticCustomError

from lute.io.models._dynamic import HEADER_INVALID, DynamicDefault
from lute.io.models._formatting import format_template, lookup_dotted
from lute.io.models.header import AnalysisHeader

__all__ = [
    "DynamicDefault",
    "from_parameters",
    "from_result",
    "lookup_parameters",
    "lookup_result",
    "template_default",
]


def _header_from(data: Dict[str, Any], field_name: str) -> AnalysisHeader:
    header = data.get("lute_config")
    if not isinstance(header, AnalysisHeader):
        raise PydanticCustomError(
            HEADER_INVALID,
            "cannot work out {field}: the header (lute_config) has errors, fix those first",
            {"field": field_name},
        )
    return header


def template_default(template: str, **field_kwargs: Any) -> Any:
    """A default built from other parameters, e.g. ``"{work_dir}/out_r{run:04d}.h5"``.

    Args:
        template: ``{name}``, ``{name.attr}``, ``{name:spec}`` fields over the parameters
            defined earlier in the model and the header values.
        **field_kwargs: Further ``Field`` keywords (``description=...``, LUTE markers).

    Returns:
        A marker the model class turns into a field with a computed default.
    """

    def compute(data: Dict[str, Any], field_name: str, _cls: type) -> Any:
        header = _header_from(data, field_name)

        def header_value(name: str) -> Any:
            if name in type(header).model_fields:
                return getattr(header, name)
            raise KeyError(name)

        values = {key: value for key, value in data.items() if key != field_name}
        return format_template(
            template, values, what="the default of %s" % field_name, fallback=header_value
        )

    return DynamicDefault(compute, "from template %r" % template, **field_kwargs)


def _query(header: AnalysisHeader, hint: str, query: Callable[[Any], Any]) -> Any:
    """Run ``query(database)`` on the header's results database, read-only."""
    path = header.database_path()
    if not os.path.isfile(path):
        raise ValueError("there is no results database at %s yet; %s" % (path, hint))
    try:
        from lute.io.db import Database, DatabaseError
    except ImportError as err:  # lute-runtime too old to carry the database reader
        raise ValueError("cannot read the results database: %s" % err) from None
    try:
        with Database(path, readonly=True) as database:
            return query(database)
    except DatabaseError as err:
        raise ValueError(str(err)) from None


def _latest(
    header: AnalysisHeader,
    task_name: str,
    method: str,
    status: Optional[str],
    same_run: bool,
    hint: Optional[str],
) -> Any:
    """``Database.<method>(task_name, ...)`` for this header, or a ``ValueError``.

    Raises:
        lute.io.db.UpstreamPending: While a workflow is checked before it is queued,
            for a Task an upstream node will run (its result is still to come).
    """
    from lute.io.db import UpstreamPending, pending_result

    pending = pending_result(task_name)
    if pending is not None:
        raise UpstreamPending(pending)
    hint = hint or "run %s first" % task_name
    experiment = header.experiment if same_run else None
    run = header.run if same_run else None
    found = _query(
        header,
        hint,
        lambda db: getattr(db, method)(task_name, experiment=experiment, run=run, status=status),
    )
    if found is None:
        what = "result" if method == "latest_result" else "execution"
        raise ValueError(
            "no %s%s of Task %s%s in %s; %s"
            % (
                "" if status is None else status + " ",
                what,
                task_name,
                " for experiment %r run %r" % (experiment, run) if same_run else "",
                header.database_path(),
                hint,
            )
        )
    return found


def lookup_result(
    header: AnalysisHeader,
    task_name: str,
    *,
    status: Optional[str] = "COMPLETED",
    same_run: bool = True,
    hint: Optional[str] = None,
) -> Any:
    """The latest result record of ``task_name`` (``lute.io.db.ResultRecord``).

    Args:
        header: This config's header (``values["lute_config"]`` in a validator).
        task_name: The Task whose result is wanted.
        status: Only results of executions that ended with this status (``None``: any).
        same_run: Only results for this header's experiment and run.
        hint: What the user should do when there is none.

    Raises:
        ValueError: No database or no such result (message includes ``hint``).
    """
    return _latest(header, task_name, "latest_result", status, same_run, hint)


def lookup_parameters(
    header: AnalysisHeader,
    task_name: str,
    *,
    status: Optional[str] = "COMPLETED",
    same_run: bool = True,
    hint: Optional[str] = None,
) -> Dict[str, Any]:
    """The parameters (model JSON) of the latest execution of ``task_name``.

    Args:
        header: This config's header.
        task_name: The other Task.
        status: Only executions that ended with this status (``None``: any).
        same_run: Only executions for this header's experiment and run.
        hint: What the user should do when there is none.

    Raises:
        ValueError: No database or no such execution (message includes ``hint``).
    """
    return dict(_latest(header, task_name, "latest_parameters", status, same_run, hint))


def _pick(value: Any, key: Optional[str], where: str) -> Any:
    if key is None:
        return value
    try:
        return lookup_dotted(value, key.split("."))
    except KeyError:
        raise ValueError("%s has no %r" % (where, key)) from None


def from_result(
    task_name: str,
    *,
    key: Optional[str] = None,
    attribute: str = "payload",
    status: Optional[str] = "COMPLETED",
    same_run: bool = True,
    hint: Optional[str] = None,
    **field_kwargs: Any,
) -> Any:
    """A default read from the latest result of another Task.

    Args:
        task_name: The Task whose result is used.
        key: Dotted key into the result (for dict payloads), e.g. ``"files.0"``.
        attribute: ``"payload"`` (the result value) or ``"summary"``.
        status: Only results of executions that ended with this status.
        same_run: Only results for this config's experiment and run.
        hint: What the user should do when there is no such result.
        **field_kwargs: Further ``Field`` keywords (``description=...``).
    """
    if attribute not in ("payload", "summary"):
        raise ValueError("attribute must be 'payload' or 'summary', not %r" % (attribute,))

    def compute(data: Dict[str, Any], field_name: str, _cls: type) -> Any:
        header = _header_from(data, field_name)
        record = lookup_result(header, task_name, status=status, same_run=same_run, hint=hint)
        value = getattr(record, attribute)
        return _pick(value, key, "the result of %s" % task_name)

    described = "latest %s result of %s%s" % (
        status,
        task_name,
        "" if key is None else "[%s]" % key,
    )
    return DynamicDefault(compute, described, **field_kwargs)


def from_parameters(
    task_name: str,
    parameter: str,
    *,
    status: Optional[str] = "COMPLETED",
    same_run: bool = True,
    hint: Optional[str] = None,
    **field_kwargs: Any,
) -> Any:
    """A default read from a parameter of the latest execution of another Task.

    Args:
        task_name: The other Task.
        parameter: Dotted parameter name, e.g. ``"out_file"`` or ``"compound_var.int_var"``.
        status: Only executions that ended with this status (``None``: any).
        same_run: Only executions for this config's experiment and run.
        hint: What the user should do when there is no such execution.
        **field_kwargs: Further ``Field`` keywords.
    """

    def compute(data: Dict[str, Any], field_name: str, _cls: type) -> Any:
        header = _header_from(data, field_name)
        parameters = lookup_parameters(
            header, task_name, status=status, same_run=same_run, hint=hint
        )
        return _pick(parameters, parameter, "the parameters of %s" % task_name)

    return DynamicDefault(
        compute, "parameter %s of the latest %s" % (parameter, task_name), **field_kwargs
    )
