"""What both ends agree on: the Message they exchange, its signals, the protocol version
and the environment variables that hand an endpoint to a Task.

Everything here costs nothing to import (it imports only :mod:`lute.settings`, which
imports only ``os``), because importing :mod:`lute.execution.ipc`, which a Task does to
build Messages, loads this module.

A Message travels pickled, and its pickle names the class ``lute.execution.ipc.Message``
(where it was always defined), so Tasks and Executors of every version read each other's.
"""

from __future__ import annotations

from lute import settings

# Not `from typing import TYPE_CHECKING`: importing typing costs more than this whole
# module on Python 3.8, and the annotations here are never evaluated (PEP 563).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, FrozenSet, Optional, Tuple

#: Version of the wire protocol in ``docs/protocol.md``; both ends must agree. The other
#: modules read it here (``_protocol.PROTOCOL_VERSION``) when they need it, so a test can
#: play a newer peer by changing this one attribute.
PROTOCOL_VERSION = 1

# The environment of the hand-off (see docs/protocol.md, "Environment"), declared with
# every other variable in lute.settings.
#: The stdlib endpoint: ``unix:/abs/path`` or ``tcp:HOST:PORT``.
ENV_ADDRESS = settings.IPC_ADDRESS.name
#: The optional ZMQ endpoint (``ipc://...`` or ``tcp://...``), offered beside the stdlib one.
ENV_ZMQ_ADDRESS = settings.ZMQ_ADDRESS.name
#: The run's HMAC key, hex encoded.
ENV_KEY = settings.IPC_KEY.name
#: ``0`` forces the stdlib transport; ``1`` uses ZMQ where pyzmq is importable.
ENV_USE_ZMQ = settings.USE_ZMQ.name
#: The frame size limit in bytes.
ENV_MAX_FRAME = settings.IPC_MAX_FRAME.name

LUTE_SIGNALS: Tuple[str, ...] = (
    "NO_PICKLE_MODE",
    "TASK_STARTED",
    "TASK_FAILED",
    "TASK_STOPPED",
    "TASK_DONE",
    "TASK_CANCELLED",
    "TASK_RESULT",
    "TASK_LOG",
    "TASK_PROGRESS",
)
#: The signals every Executor understands. An Executor that knows more lists them in its
#: WELCOME (``"signals"``); a Task sends another signal only to an Executor that listed
#: it (an older one would refuse the message), see :meth:`Communicator.accepts`.
#: ``TASK_LOG`` and ``TASK_PROGRESS`` came later.
BASE_SIGNALS: Tuple[str, ...] = LUTE_SIGNALS[:7]
_VALID_SIGNALS: FrozenSet[str] = frozenset((*LUTE_SIGNALS, ""))

_REPR_LIMIT = 200


class Message:
    """What a Task reports to its Executor: free-form contents and an optional signal.

    Args:
        contents: Any picklable object (text, dicts, numpy arrays, result objects...).
        signal: One of :data:`LUTE_SIGNALS`, or ``""`` (the default) for a plain message.
            ``None`` is accepted as a synonym of ``""``.

    Raises:
        ValueError: ``signal`` is not one of :data:`LUTE_SIGNALS` or ``""``.
    """

    __slots__ = ("_signal", "contents")

    def __init__(self, contents: Any = None, signal: Optional[str] = "") -> None:
        self.contents = contents
        self.signal = signal  # the setter validates and maps None to ""

    @property
    def signal(self) -> str:
        """The signal name, or ``""`` for a plain message."""
        return self._signal

    @signal.setter
    def signal(self, value: Optional[str]) -> None:
        if value is None:
            value = ""
        if value not in _VALID_SIGNALS:
            raise ValueError(
                "invalid Message signal %r: expected '' (plain message) or one of %s"
                % (value, ", ".join(LUTE_SIGNALS))
            )
        self._signal = value

    def __reduce__(self) -> Tuple[Any, Tuple[Any, str]]:
        # Rebuilding through __init__ re-validates the signal on the receiving side.
        return (Message, (self.contents, self._signal))

    def __repr__(self) -> str:
        text = repr(self.contents)
        if len(text) > _REPR_LIMIT:
            text = text[: _REPR_LIMIT - 3] + "..."
        if self._signal:
            return "Message(contents=%s, signal=%r)" % (text, self._signal)
        return "Message(contents=%s)" % text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._signal == other._signal and _contents_equal(self.contents, other.contents)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value


# The wire format: pickles refer to the class by module and qualified name, and peers
# of every version (older ones included) look it up at lute.execution.ipc.Message.
Message.__module__ = "lute.execution.ipc"


def _contents_equal(left: Any, right: Any) -> bool:
    """Compare message contents; numpy-style arrays compare by shape and elements."""
    if left is right:
        return True
    if hasattr(left, "shape") and hasattr(left, "dtype"):
        if type(left) is not type(right) or left.shape != right.shape:
            return False
        try:
            return bool((left == right).all())
        except Exception:
            return False
    try:
        return bool(left == right)
    except (TypeError, ValueError):  # e.g. containers holding arrays: not comparable
        return False
