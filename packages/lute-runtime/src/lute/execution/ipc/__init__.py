"""Authenticated inter-process communication between an Executor and its Task.

The Executor opens a :class:`Listener`, passes :meth:`Listener.task_environment` to the
Task process, and receives :class:`Message` objects through its ``on_message`` callback.
The Task calls :func:`connect` (which reads that environment) and sends messages through
the returned :class:`Communicator`. The wire format is described in ``docs/protocol.md``.

Importing this module is deliberately cheap: it defines only the message type, the
constants and the exceptions. The transports (sockets, HMAC, pickle, JSON and, when
asked for, pyzmq) are imported on first use of :func:`connect`, :class:`Listener`,
:class:`Communicator` or :class:`Peer`.
"""

from __future__ import annotations

import os

from lute._lazy import lazy_attributes

# Not `from typing import TYPE_CHECKING`: importing typing costs more than this whole
# module on Python 3.8, and the annotations here are never evaluated (PEP 563).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

    from lute.execution.ipc._communicator import Communicator
    from lute.execution.ipc._listener import Listener, Peer

__all__ = [
    "ENV_ADDRESS",
    "ENV_KEY",
    "ENV_MAX_FRAME",
    "ENV_USE_ZMQ",
    "ENV_ZMQ_ADDRESS",
    "LUTE_SIGNALS",
    "PROTOCOL_VERSION",
    "AuthenticationError",
    "Communicator",
    "FrameError",
    "IPCError",
    "Listener",
    "Message",
    "PayloadError",
    "Peer",
    "ProtocolError",
    "connect",
    "new_key",
]

LUTE_SIGNALS: Tuple[str, ...] = (
    "NO_PICKLE_MODE",
    "TASK_STARTED",
    "TASK_FAILED",
    "TASK_STOPPED",
    "TASK_DONE",
    "TASK_CANCELLED",
    "TASK_RESULT",
)
_VALID_SIGNALS: FrozenSet[str] = frozenset((*LUTE_SIGNALS, ""))

#: Version of the wire protocol in ``docs/protocol.md``; both ends must agree.
PROTOCOL_VERSION: int = 1

ENV_ADDRESS = "LUTE_IPC_ADDRESS"
ENV_ZMQ_ADDRESS = "LUTE_ZMQ_ADDRESS"
ENV_KEY = "LUTE_IPC_KEY"
ENV_USE_ZMQ = "LUTE_USE_ZMQ"
ENV_MAX_FRAME = "LUTE_IPC_MAX_FRAME"

_REPR_LIMIT = 200


class IPCError(Exception):
    """Base class of every error raised or reported by the IPC layer."""


class AuthenticationError(IPCError):
    """A frame or handshake failed HMAC verification (wrong key or tampered data)."""


class FrameError(IPCError):
    """A frame is malformed: bad magic, truncated, oversized or inconsistent."""


class ProtocolError(IPCError):
    """The peers disagree on the protocol (version, frame order, handshake content)."""


class PayloadError(IPCError):
    """An authenticated frame arrived intact but its payload could not be unpickled."""


def new_key() -> bytes:
    """Return a fresh random key for one run (32 bytes from ``os.urandom``)."""
    return os.urandom(32)


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


def connect(
    env: Optional[Mapping[str, str]] = None,
    *,
    rank: int = 0,
    timeout: float = 30.0,
    send_timeout: float = 300.0,
) -> Communicator:
    """Connect to the Executor named by the environment and perform the handshake.

    ZMQ is used only when ``LUTE_ZMQ_ADDRESS`` is set, ``LUTE_USE_ZMQ`` is not ``"0"``
    and pyzmq can be imported; otherwise the stdlib endpoint ``LUTE_IPC_ADDRESS``.

    Args:
        env: Environment to read (default: ``os.environ``).
        rank: This process's rank (MPI), reported to the Executor.
        timeout: Seconds allowed for connecting and completing the handshake.
        send_timeout: Seconds a send may wait for the Executor to read before failing.

    Returns:
        A connected :class:`Communicator`; close it (or use it as a context manager).

    Raises:
        IPCError: The environment is missing or garbled, or nobody listens.
        AuthenticationError: The Executor rejected our key (or answered with another).
        ProtocolError: The two sides speak different protocol versions.
    """
    from lute.execution.ipc._communicator import connect as _connect

    return _connect(
        os.environ if env is None else env,
        rank=rank,
        timeout=timeout,
        send_timeout=send_timeout,
    )


_LAZY: Dict[str, str] = {
    "Listener": "lute.execution.ipc._listener",
    "Peer": "lute.execution.ipc._listener",
    "Communicator": "lute.execution.ipc._communicator",
}


# The transport classes are imported on first use, to keep this import cheap.
__getattr__ = lazy_attributes(__name__, _LAZY)
