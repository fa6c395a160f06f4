"""The exceptions of the IPC layer, re-exported by :mod:`lute.execution.ipc`."""

from __future__ import annotations

# Annotations only (PEP 563): this module is loaded by the facade and imports nothing.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Optional, Sequence, Tuple


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


_STORED_MAGIC = b"LUTE-PICKLE/1\n"


class UndecodableMessage(PayloadError):
    """An authenticated message this process cannot unpickle, kept whole.

    Reported through the Listener's ``on_error`` instead of being dropped: typically a
    result holding objects of a module the Task's environment has and this one lacks
    (numpy...). The bytes are those the Task sent and the Listener authenticated, so
    they can be stored and decoded later where the module exists::

        message = pickle.loads(error.stream, buffers=error.buffers)

    Attributes:
        stream: The pickle stream (bytes-like; ``bytes(error.stream)`` to store it).
        buffers: The out-of-band buffers the stream refers to (bytes-like), in order;
            empty for messages that came in a BATCH frame.
        cause: What unpickling raised, as ``"ExceptionType: text"``.
        missing_module: The module that could not be imported (``error.name`` of a
            ModuleNotFoundError or ImportError, e.g. ``"numpy"``), else None.
        signal: The message's signal (``""`` for a plain message, ``"TASK_RESULT"``...),
            read with stand-ins for what cannot be imported; None when it cannot be told.
    """

    def __init__(
        self,
        text: str,
        *,
        stream: Any,
        buffers: Sequence[Any] = (),
        cause: str = "",
        missing_module: Optional[str] = None,
        signal: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.stream = stream
        self.buffers: Tuple[Any, ...] = tuple(buffers)
        self.cause = cause
        self.missing_module = missing_module
        self.signal = signal

    @property
    def size(self) -> int:
        """Bytes kept: the stream and every buffer."""
        return sum(memoryview(part).nbytes for part in (self.stream, *self.buffers))

    def to_bytes(self) -> bytes:
        """The kept bytes as one value, for the database: :meth:`from_bytes` reads it.

        ``LUTE-PICKLE/1``, a newline, the number of parts and each part's length (8
        bytes, big-endian each), then the stream and the buffers one after another.
        """
        parts = [bytes(part) for part in (self.stream, *self.buffers)]
        head = _STORED_MAGIC + len(parts).to_bytes(8, "big")
        head += b"".join(len(part).to_bytes(8, "big") for part in parts)
        return head + b"".join(parts)

    @classmethod
    def from_bytes(cls, raw: bytes, text: str = "stored undecodable message") -> UndecodableMessage:
        """What :meth:`to_bytes` stored, to :meth:`decode` where its modules exist.

        Raises:
            ValueError: ``raw`` was not written by :meth:`to_bytes`.
        """
        data = bytes(raw)
        if not data.startswith(_STORED_MAGIC):
            raise ValueError("not a stored LUTE message (no %r header)" % _STORED_MAGIC)
        at = len(_STORED_MAGIC)
        count = int.from_bytes(data[at : at + 8], "big")
        at += 8
        lengths = [int.from_bytes(data[at + 8 * i : at + 8 * i + 8], "big") for i in range(count)]
        at += 8 * count
        parts = []
        for length in lengths:
            parts.append(data[at : at + length])
            at += length
        if count < 1 or at != len(data):
            raise ValueError("a stored LUTE message of the wrong length")
        return cls(text, stream=parts[0], buffers=parts[1:])

    def decode(self) -> Any:
        """Unpickle the kept bytes again (where the missing module is importable now).

        Raises:
            Exception: Whatever unpickling raises (still ModuleNotFoundError...).
        """
        import pickle  # only here: this module must stay free of imports

        return pickle.loads(self.stream, buffers=self.buffers)


# Documented (and shown in tracebacks) as living in the facade, where they always were.
for _public in (
    IPCError,
    AuthenticationError,
    FrameError,
    ProtocolError,
    PayloadError,
    UndecodableMessage,
):
    _public.__module__ = "lute.execution.ipc"
del _public
