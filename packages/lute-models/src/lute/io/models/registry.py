"""Find a Task's parameter model from the Task's name.

Task ``X`` uses the model ``XParameters``. Models are looked up, in order:

1. among the built-in models (:data:`BUILTIN_MODELS`, in :mod:`lute.io.models.tests`);
   only the module of the model asked for is imported;
2. in the entry points of group ``lute.models`` (name = Task name, value = the model
   class), which is how an installed facility package adds its own::

       [project.entry-points."lute.models"]
       FitSpectrum = "mec_analysis.models:FitSpectrumParameters"
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List, Type

from lute.io.models.base import TaskParameters

__all__ = [
    "BUILTIN_MODELS",
    "ENTRY_POINT_GROUP",
    "UnknownModelError",
    "get_model",
    "known_task_names",
    "list_models",
    "load_model_reference",
    "model_reference",
]

#: Entry point group through which installed packages add parameter models.
ENTRY_POINT_GROUP = "lute.models"
_SUFFIX = "Parameters"

#: The built-in models by Task name, as ``module:Class`` references. A run imports only
#: the module of its own Task's model (pydantic builds every model class it imports).
BUILTIN_MODELS: Dict[str, str] = {
    "Test": "lute.io.models.tests.echo:TestParameters",
    "TestSocket": "lute.io.models.tests.arrays:TestSocketParameters",
    "TestWriteOutput": "lute.io.models.tests.outputs:TestWriteOutputParameters",
    "TestReadOutput": "lute.io.models.tests.outputs:TestReadOutputParameters",
    "TestBinary": "lute.io.models.tests.binary:TestBinaryParameters",
    "TestBinaryErr": "lute.io.models.tests.binary:TestBinaryErrParameters",
    "MPITest": "lute.io.models.tests.mpi:MPITestParameters",
    "TestMultiNodeCommunication": "lute.io.models.tests.mpi:TestMultiNodeCommunicationParameters",
}


class UnknownModelError(LookupError):
    """No parameter model for a Task name.

    Attributes:
        task_name: The name asked for.
        suggestions: Known Task names close to it.
    """

    def __init__(self, task_name: str, known: List[str], detail: str = "") -> None:
        self.task_name = task_name
        lowered = {name.lower(): name for name in known}
        import difflib  # only for the error message

        suggestions = difflib.get_close_matches(task_name, known, n=3, cutoff=0.6)
        if task_name.lower() in lowered and lowered[task_name.lower()] not in suggestions:
            suggestions.insert(0, lowered[task_name.lower()])
        self.suggestions = suggestions
        message = (
            "no parameter model for Task %r (looked for %s%s in lute.io.models "
            "and the %r entry points)"
            % (
                task_name,
                task_name,
                _SUFFIX,
                ENTRY_POINT_GROUP,
            )
        )
        if detail:
            message += ": " + detail
        if suggestions:
            message += "; did you mean %s?" % " or ".join(repr(name) for name in suggestions)
        else:
            message += (
                ". A Task needs a parameter model: a TaskParameters subclass, registered in "
                'its package\'s pyproject.toml as\n  [project.entry-points."%s"]\n  %s = '
                '"your_package.models:%s%s"\n' % (ENTRY_POINT_GROUP, task_name, task_name, _SUFFIX)
            )
        message += "%sKnown Tasks: %s." % (
            "" if message.endswith("\n") else " ",
            ", ".join(sorted(known)) or "none",
        )
        super().__init__(message)


def _entry_points() -> List[Any]:
    from lute.tasks import entry_points_in

    return list(entry_points_in(ENTRY_POINT_GROUP).values())


def _load_entry_point(entry_point: Any) -> Type[TaskParameters]:
    try:
        value = entry_point.load()
    except Exception as err:
        raise ImportError(
            "the %r entry point %s = %s failed to load: %s: %s"
            % (ENTRY_POINT_GROUP, entry_point.name, entry_point.value, type(err).__name__, err)
        ) from err
    if not (isinstance(value, type) and issubclass(value, TaskParameters)):
        raise TypeError(
            "the %r entry point %s = %s is not a TaskParameters subclass"
            % (ENTRY_POINT_GROUP, entry_point.name, entry_point.value)
        )
    return value


def get_model(task_name: str) -> Type[TaskParameters]:
    """The parameter model of a Task.

    Args:
        task_name: The Task's name, e.g. ``"Test"``.

    Raises:
        UnknownModelError: No model of that name (the message suggests close names).
        ImportError: A matching entry point exists but cannot be imported.
    """
    if task_name in BUILTIN_MODELS:
        return load_model_reference(BUILTIN_MODELS[task_name])
    entry_points = _entry_points()
    for entry_point in entry_points:
        if entry_point.name == task_name:
            return _load_entry_point(entry_point)
    known = sorted(set(BUILTIN_MODELS) | {entry_point.name for entry_point in entry_points})
    raise UnknownModelError(task_name, known)


def list_models() -> Dict[str, str]:
    """Every known Task name with the reference (``module:Class``) of its model.

    Nothing is imported: the built-in models and the entry points are listed by reference.
    """
    models = dict(BUILTIN_MODELS)
    for entry_point in _entry_points():
        models.setdefault(entry_point.name, entry_point.value)
    return dict(sorted(models.items()))


def known_task_names() -> List[str]:
    """The names of every Task that has a parameter model."""
    return list(list_models())


def model_reference(model: Type[Any]) -> str:
    """``"module:QualifiedName"`` of a model class (the form the hand-off document uses)."""
    return "%s:%s" % (model.__module__, model.__qualname__)


def load_model_reference(reference: str) -> Type[TaskParameters]:
    """The model class named by ``"module:QualifiedName"``.

    Raises:
        ValueError: Malformed reference, or it names something that is not a model.
        ImportError: The module cannot be imported.
    """
    module_name, _, qualname = reference.partition(":")
    if not module_name or not qualname:
        raise ValueError(
            "a model reference looks like 'package.module:ClassName', not %r" % reference
        )
    value: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        value = getattr(value, part, None)
        if value is None:
            raise ValueError("%s has no %s" % (module_name, qualname))
    if not (isinstance(value, type) and issubclass(value, TaskParameters)):
        raise ValueError("%s is not a TaskParameters subclass" % reference)
    return value
