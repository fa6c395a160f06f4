"""Stdlib stand-ins for the pydantic parameter models, used where pydantic is absent.

The Executor validates a Task's parameters with pydantic and sends them to the Task as
JSON-compatible data. :class:`TaskParameters` rebuilds that data into a read-only object
with the same attribute access as the model, so a Task written against the pydantic
model runs unchanged in an environment that holds only lute-runtime::

    params = TaskParameters.from_wire({"float_var": 0.5, "compound_var": {"int_var": 1}})
    params.float_var            # 0.5
    params.compound_var.int_var # 1
    params.dict()               # plain, mutable copy of the data

:class:`RowIds` tells a Task which database rows hold its own parameters and results.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Iterator, List, Optional

__all__ = ["FrozenList", "RowIds", "TaskParameters"]


class RowIds(
    namedtuple("RowIds", ("execution_id", "parameters_id", "db_path"), defaults=(None, None))
):
    """Where a Task's records live in the results database.

    Attributes:
        execution_id: Row of this run in the ``executions`` table.
        parameters_id: Row of the validated parameters in the ``parameters`` table
            (``None`` if unknown).
        db_path: Path of the SQLite file (``None`` if unknown).
    """

    __slots__ = ()
    execution_id: int
    parameters_id: Optional[int]
    db_path: Optional[str]

    @classmethod
    def from_wire(cls, data: Optional[Mapping[str, Any]]) -> Optional[RowIds]:
        """Build from the JSON form sent by the Executor (``None`` stays ``None``)."""
        if data is None:
            return None
        return cls(
            execution_id=int(data["execution_id"]),
            parameters_id=None if data.get("parameters_id") is None else int(data["parameters_id"]),
            db_path=data.get("db_path"),
        )

    def to_wire(self) -> Dict[str, Any]:
        """The JSON-compatible form."""
        return dict(self._asdict())


# Export methods that always win over a parameter of the same name; pydantic forbids
# fields with these names too, so no model can define them.
_OWN_METHODS = frozenset(("dict", "model_dump", "from_wire"))


def _read_only(*_args: Any, **_kwargs: Any) -> None:
    raise TypeError("Task parameters are read-only; use .dict() for a mutable copy")


class FrozenList(list):  # type: ignore[type-arg]
    """A list that refuses modification, so parameters cannot change under a Task.

    It is still a ``list`` (``isinstance`` checks and comparison with lists work).
    """

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (FrozenList, (list(self),))

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Any]:
        import copy  # rarely needed: keep it off the start-up path

        return [copy.deepcopy(item, memo) for item in self]


def _freeze(value: Any, name: str) -> Any:
    if isinstance(value, TaskParameters):
        return value
    if isinstance(value, Mapping):
        return TaskParameters(value, _name=name)
    if isinstance(value, (list, tuple)):
        return FrozenList(_freeze(item, name) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, TaskParameters):
        return {key: _thaw(item) for key, item in value._data.items()}
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value


class TaskParameters(Mapping):  # type: ignore[type-arg]
    """Read-only parameters rebuilt from the JSON form of a validated model.

    Fields are reachable as attributes (``params.float_var``) and as items
    (``params["float_var"]``); a parameter name wins over a method of the same name
    (``params.items`` is the parameter ``items`` if there is one); nested models and
    dictionaries become nested ``TaskParameters``; lists become :class:`FrozenList`.
    Assignment raises ``TypeError``. ``dict()`` / ``model_dump()`` return a plain deep copy.

    Args:
        data: The JSON-compatible mapping (for example ``model.model_dump(mode="json")``).
    """

    __slots__ = ("_data", "_name")

    def __init__(self, data: Optional[Mapping[str, Any]] = None, *, _name: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise TypeError(
                "TaskParameters needs a mapping of parameter names to values, got %s"
                % type(data).__name__
            )
        frozen = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError("parameter names must be strings, got %r" % (key,))
            frozen[key] = _freeze(value, key)
        object.__setattr__(self, "_data", frozen)
        object.__setattr__(self, "_name", _name or "TaskParameters")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], *, model_name: str = "") -> TaskParameters:
        """Build from the Executor's JSON form.

        Args:
            data: The parameters mapping.
            model_name: Name of the pydantic model the data came from (used in ``repr``).
        """
        return cls(data, _name=model_name)

    # Mapping protocol -------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # Attribute access -------------------------------------------------------------
    def __getattribute__(self, name: str) -> Any:
        # Parameter names win over the mapping methods, so a field called ``items`` or
        # ``keys`` reads like it does on the pydantic model.
        # Names starting with "_" are never fields (pydantic forbids them) but may be
        # this object's own slots.
        if not name.startswith("_") and name not in _OWN_METHODS:
            data = object.__getattribute__(self, "_data")
            if name in data:
                return data[name]
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        # Reached only when neither a parameter nor a method has this name.
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                "%s has no parameter %r; it has: %s"
                % (self._name, name, ", ".join(sorted(self._data)) or "(none)")
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(
            "cannot set %r: Task parameters are read-only; use .dict() for a mutable copy" % name
        )

    def __delattr__(self, name: str) -> None:
        raise TypeError("cannot delete %r: Task parameters are read-only" % name)

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    # Export and comparison --------------------------------------------------------
    def dict(self) -> Dict[str, Any]:
        """A plain, mutable deep copy of the parameters."""
        return _thaw(self)  # type: ignore[no-any-return]

    def model_dump(self, **_ignored: Any) -> Dict[str, Any]:
        """Same as :meth:`dict`; named like pydantic's for code written against models."""
        return self.dict()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TaskParameters):
            return self._data == other._data
        if isinstance(other, Mapping):
            return _thaw(self) == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join("%s=%r" % (key, value) for key, value in self._data.items())
        return "%s(%s)" % (self._name, fields)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.dict(), self._name))

    def __copy__(self) -> TaskParameters:
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> TaskParameters:
        return self


def _rebuild(data: Dict[str, Any], name: str) -> TaskParameters:
    return TaskParameters(data, _name=name)
