"""Hand-written record classes: what ``@dataclass`` would generate, without ``dataclasses``.

The record types of LUTE (config problems, environment specs, database rows, results...)
are imported on every ``lute-exec run`` and, for lute-runtime's, in every Task process.
Importing ``dataclasses`` (and the ``inspect`` module it loads) and letting each
decorator compile its methods with ``exec`` would cost more than the rest of those
modules together, so the records derive from the two bases here instead.

A subclass lists its fields, in ``__init__`` order, in ``_FIELDS`` and keeps an explicit,
typed ``__init__`` (so that mypy checks the call sites):

- :class:`Record` is a mutable record: field-wise ``==``, a dataclass-style ``repr`` and
  no hash, as ``@dataclass`` gives.
- :class:`FrozenRecord` is a read-only, hashable one, as ``@dataclass(frozen=True)``
  gives; its ``__init__`` sets the fields with :meth:`FrozenRecord._set_fields`.

Standard library only and Python 3.8 syntax: lute-runtime runs Tasks on Python 3.8.
"""

from __future__ import annotations

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, ClassVar, Dict, Tuple

__all__ = ["FrozenRecord", "Record"]

_ATOMIC = (type(None), bool, int, float, str)


def _plain(value: Any) -> Any:
    """A copy of ``value`` as ``dataclasses.asdict`` makes one: containers rebuilt,
    everything else deep-copied (decoded JSON holds only containers and scalars)."""
    if type(value) in _ATOMIC:
        return value  # immutable: deepcopy would return the same object
    if isinstance(value, dict):
        return type(value)((_plain(key), _plain(item)) for key, item in value.items())
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*[_plain(item) for item in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    import copy  # only for values that are not decoded JSON

    return copy.deepcopy(value)


class Record:
    """Field-wise ``==``, a dataclass-style ``repr`` and no hash, like ``@dataclass``.

    Subclasses name their fields in ``_FIELDS`` (also the ``repr`` order) and set them
    in their own ``__init__``. Pickling is Python's default; a subclass with ``__slots__``
    that must also pickle with protocols 0 and 1 (which refuse ``__slots__`` classes
    before Python 3.11) sets ``__reduce__ = Record._reduce_by_fields``.
    """

    # Empty so that subclasses with __slots__ do without a __dict__.
    __slots__ = ()
    _FIELDS: ClassVar[Tuple[str, ...]] = ()

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable (as a dataclass)

    def __repr__(self) -> str:
        fields = ", ".join("%s=%r" % (name, getattr(self, name)) for name in self._FIELDS)
        return "%s(%s)" % (type(self).__qualname__, fields)

    def _reduce_by_fields(self) -> Tuple[Any, ...]:
        """A ``__reduce__`` result that rebuilds the record by calling its class with the
        field values; so every subclass using it takes its fields positionally, in
        ``_FIELDS`` order."""
        return (self.__class__, self._values())


class FrozenRecord(Record):
    """A read-only :class:`Record`, hashable over its fields, like ``@dataclass(frozen=True)``.

    Subclasses declare ``__slots__`` for their fields and set them in ``__init__`` with
    :meth:`_set_fields`; any later assignment or deletion raises :class:`AttributeError`
    (as ``dataclasses.FrozenInstanceError``, a subclass of it, did). Pickle and copy
    rebuild the record through ``__init__``.
    """

    __slots__ = ()

    def _set_fields(self, *values: Any) -> None:
        """Set every field, in ``_FIELDS`` order (for ``__init__``: assignment is refused)."""
        if len(values) != len(self._FIELDS):
            raise TypeError(
                "%s has %d fields, got %d values"
                % (type(self).__qualname__, len(self._FIELDS), len(values))
            )
        for name, value in zip(self._FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("cannot assign to field %r" % name)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("cannot delete field %r" % name)

    # Through __init__: the default restore of slots would call __setattr__, refused above.
    __reduce__ = Record._reduce_by_fields

    def __hash__(self) -> int:  # type: ignore[override]  # Record's None: unhashable
        return hash(self._values())

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict of the fields; lists and dicts are copies, as with
        ``dataclasses.asdict`` (a record of decoded JSON gives a JSON-compatible dict)."""
        return {name: _plain(getattr(self, name)) for name in self._FIELDS}
