"""Messages the Executor cannot unpickle: kept whole, with what can be told without them.

A Task's environment may hold modules the Executor's lacks (numpy in the Task's venv
only...). Unpickling such a message fails, but its bytes arrived intact and were
authenticated, so :func:`undecodable` keeps them in an
:class:`~lute.execution.ipc.UndecodableMessage` for the Executor to report and store,
together with the name of the missing module and the message's signal. The signal is
read by unpickling again with stand-ins for every class or function that cannot be
imported: the Message itself (``lute.execution.ipc.Message``) is always importable,
only its contents are not. That second pass runs only on authenticated bytes, which the
first pass was about to unpickle anyway.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Optional, Sequence, Tuple

from lute.execution.ipc._errors import UndecodableMessage
from lute.execution.ipc._protocol import Message


class _StandIn:
    """What an object of a class that cannot be imported unpickles as: anything goes."""

    def __new__(cls, *_args: Any, **_kwargs: Any) -> _StandIn:
        return object.__new__(cls)

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __setstate__(self, _state: Any) -> None:
        pass

    def __call__(self, *_args: Any, **_kwargs: Any) -> _StandIn:
        return _StandIn()

    # Pickle builds lists, dicts and sets of a subclass through these.
    def append(self, _item: Any) -> None:
        pass

    def extend(self, _items: Any) -> None:
        pass

    def __setitem__(self, _key: Any, _value: Any) -> None:
        pass

    def add(self, _item: Any) -> None:
        pass


class _StandInUnpickler(pickle.Unpickler):
    """An Unpickler that puts a stand-in class where an import fails."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            # A class of its own per name, so isinstance() and identity stay distinct.
            return type(name, (_StandIn,), {"__module__": module})


def _missing_module(error: BaseException) -> Optional[str]:
    """The module an ImportError (or one it was raised from) names, else None."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, ImportError) and error.name:
            return str(error.name)
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        seen += 1
    return None


def _signal(stream: Any, buffers: Sequence[Any]) -> Optional[str]:
    """The signal of the Message in ``stream``, read with stand-ins; None if unknown."""
    try:
        obj = _StandInUnpickler(io.BytesIO(stream), buffers=buffers).load()
    except Exception:  # anything at all: then the signal cannot be told
        return None
    return obj.signal if isinstance(obj, Message) else None


def _owned(data: Any) -> memoryview:
    """A read-only view of ``data`` that does not depend on a reused receive buffer."""
    return memoryview(bytes(data)).toreadonly()


def undecodable(
    stream: Any, buffers: Sequence[Any], error: BaseException, *, copy: bool
) -> UndecodableMessage:
    """Build the error reporting a message whose unpickling raised ``error``.

    Args:
        stream: The authenticated pickle stream.
        buffers: Its out-of-band buffers.
        error: What :func:`pickle.loads` raised.
        copy: Copy the bytes: the caller's buffer is reused for later frames (BATCH
            entries live in the connection's receive buffer; MESSAGE frames have a
            buffer of their own, which the views keep alive).
    """
    if copy:
        kept_stream = _owned(stream)
        kept: Tuple[Any, ...] = tuple(_owned(buffer) for buffer in buffers)
    else:
        kept_stream = memoryview(stream).toreadonly()
        kept = tuple(memoryview(buffer).toreadonly() for buffer in buffers)
    cause = "%s: %s" % (type(error).__name__, error)
    module = _missing_module(error)
    signal = _signal(kept_stream, kept)
    what = "a %s message" % signal if signal else "a plain message" if signal == "" else "a message"
    if module is not None:
        hint = (
            "module %r is importable where the Task runs but not here: install it beside "
            "the Executor, or have the Task send plain Python values" % module
        )
    else:
        hint = "is every module its contents need importable on this side?"
    return UndecodableMessage(
        "could not unpickle %s of %d bytes (%s); %s; its bytes are kept"
        % (what, sum(part.nbytes for part in (kept_stream, *kept)), cause, hint),
        stream=kept_stream,
        buffers=kept,
        cause=cause,
        missing_module=module,
        signal=signal,
    )
