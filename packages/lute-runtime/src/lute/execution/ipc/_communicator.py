"""Task side of the IPC layer: the buffering :class:`Communicator`, base of every transport.

Small messages are pickled into a batch that becomes one BATCH frame (one HMAC, one
system call) when it fills, when a signal message is sent, on :meth:`Communicator.flush`
or ``close``, or at most ``FLUSH_DELAY`` after its first message: a flusher thread, alive
only while messages are pending or recent, guarantees that last bound even when the
Task goes quiet (e.g. into a long computation) right after sending.

A transport that can tell when the Executor is gone (the socket one: end of stream)
calls :meth:`Communicator._executor_gone`, which records it and calls ``on_lost``.
"""

from __future__ import annotations

import abc
import atexit
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional

from lute.execution.ipc import _protocol, _wire
from lute.execution.ipc._errors import FrameError, IPCError
from lute.execution.ipc._handshake import Session
from lute.execution.ipc._protocol import Message

#: Longest time a small message waits in the batch before it is sent (seconds).
FLUSH_DELAY = 0.002
#: A batch is sent as soon as it holds this many bytes.
BATCH_LIMIT = 256 << 10
#: The flusher thread exits after this long without traffic (seconds).
FLUSHER_IDLE = 0.5

_live: weakref.WeakSet[Communicator] = weakref.WeakSet()


class Communicator(abc.ABC):
    """A Task's connection to its Executor (created by :func:`lute.execution.ipc.connect`).

    Thread-safe; not usable in a forked child (connect again there).

    Attributes:
        hello_reply: The Executor's ``hello_reply`` dict, verbatim.
        peer_info: The Executor's whole handshake answer (protocol, limits, ``peer_id``...).
        peer_id: The identifier the Executor gave this connection.
        pickle_protocol: Pickle protocol agreed with the Executor.
        out_of_band: Whether large buffers travel out of band (pickle protocol 5).
        max_frame_size: Largest frame body the Executor accepts, in bytes.
        transport: ``"unix"``, ``"tcp"`` or ``"zmq"``.
        executor_lost: None while the Executor is there; once it has closed or lost the
            connection (before :meth:`close`), the :class:`~lute.execution.ipc.IPCError`
            saying so. Only the Unix/TCP transport can tell (ZMQ has no end of stream).
    """

    transport = "?"

    def __init__(self, session: Session, welcome: Dict[str, Any], endpoint: str) -> None:
        self.peer_info: Dict[str, Any] = welcome
        self.hello_reply: Dict[str, Any] = welcome["hello_reply"]
        self.peer_id: int = welcome["peer_id"]
        self.pickle_protocol: int = session.pickle_protocol
        self.out_of_band: bool = session.out_of_band
        self.max_frame_size: int = session.max_frame
        self.endpoint = endpoint
        self._tx = session.tx
        self._lock = threading.Lock()
        self._batch = bytearray(_wire.HEADER_SIZE)  # room for the header, packed on flush
        self._batch_count = 0
        self._batch_started = 0.0
        self._wake = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        self._closed = False
        self._broken: Optional[IPCError] = None
        self._pid = os.getpid()
        self._forked = False  # set in a forked child by _reset_in_child
        self._pickler = _wire.MessagePickler(self.pickle_protocol, self.out_of_band)
        self.executor_lost: Optional[IPCError] = None
        self._on_lost: Optional[Callable[[IPCError], None]] = None
        _live.add(self)

    def accepts(self, signal: str) -> bool:
        """Whether the Executor understands ``signal`` (its WELCOME lists what it knows
        beyond the signals every Executor understands, which an older one does not)."""
        known = self.peer_info.get("signals")
        if not isinstance(known, list):
            known = _protocol.BASE_SIGNALS
        return signal == "" or signal in known

    # -- transport hooks (called with the lock held) --------------------------------------

    @abc.abstractmethod
    def _send_small(self, frame: bytearray) -> None:
        """Send one complete small frame."""

    @abc.abstractmethod
    def _send_message(self, stream_parts: List[Any], stream_size: int, buffers: List[Any]) -> None:
        """Send one MESSAGE frame (pickle stream plus out-of-band buffers)."""

    @abc.abstractmethod
    def _finish(self) -> None:
        """After the GOODBYE frame: make sure it leaves, then release the transport."""

    @abc.abstractmethod
    def _abort(self) -> None:
        """Release the transport at once, without a goodbye."""

    def _watch(self, on_lost: Optional[Callable[[IPCError], None]]) -> None:
        """Start noticing the Executor's end (transports that can); called once by connect."""
        self._on_lost = on_lost

    def _executor_gone(self, error: IPCError) -> None:
        """The Executor closed or lost the connection: record it, then call ``on_lost``.

        Called on the transport's watching thread. Nothing happens once :meth:`close` has
        begun (the Executor closing after our goodbye is the normal end) nor in a forked
        child, whose parent owns the connection.
        """
        if self._closed or self._forked or os.getpid() != self._pid:
            return
        self.executor_lost = error
        if self._broken is None:
            self._broken = error  # later sends fail at once instead of into the void
        callback = self._on_lost
        if callback is not None:
            try:
                callback(error)
            except Exception:  # the watching thread must not die with a traceback
                pass

    # -- public API -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    def send(self, msg: Message) -> None:
        """Send ``msg`` to the Executor.

        Plain messages may be held back for at most ``FLUSH_DELAY``; messages with a
        signal are sent at once, together with everything sent before them.

        Raises:
            TypeError: ``msg`` is not a :class:`Message`.
            FrameError: The message exceeds the Executor's frame limit (nothing is sent).
            IPCError: The connection is closed or lost.
        """
        if not isinstance(msg, Message):
            raise TypeError("send() takes a lute Message, not %s" % type(msg).__name__)
        with self._lock:
            if self._unusable:
                self._raise_unusable()
            parts, size, buffers = self._pickler.dump(msg)
            if buffers or size > _wire.SMALL_PICKLE:
                self._flush_locked()
                self._guard(self._send_message, parts, size, buffers)
                return
            batch = self._batch
            batch += _wire.ENTRY.pack(size)
            for part in parts:
                batch += part
            self._batch_count += 1
            if msg.signal or len(batch) >= BATCH_LIMIT:
                self._flush_locked()
            elif self._batch_count == 1:
                self._batch_started = time.monotonic()
                self._kick_flusher()
            elif time.monotonic() - self._batch_started >= FLUSH_DELAY:
                self._flush_locked()

    def flush(self) -> None:
        """Send every buffered message now.

        Raises:
            IPCError: The connection is closed or lost.
        """
        with self._lock:
            if self._unusable:
                self._raise_unusable()
            self._flush_locked()

    def close(self) -> None:
        """Flush, send the goodbye frame and release the connection. Idempotent.

        Raises:
            IPCError: Buffered messages could not be delivered (raised once).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.set()  # let the flusher thread see the close and exit
            if self._forked:
                return  # a forked copy: the parent owns the connection
            if self._broken is not None:
                self._abort()
                raise self._broken
            try:
                self._flush_locked()
                self._guard(self._send_small, self._frame(_wire.GOODBYE, 0, b""))
                self._guard(self._finish)
            finally:
                if self._broken is not None:
                    self._abort()

    def __enter__(self) -> Communicator:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return "<%s %s %s peer_id=%s>" % (type(self).__name__, self.endpoint, state, self.peer_id)

    # -- internals ------------------------------------------------------------------------

    @property
    def _unusable(self) -> bool:
        return self._closed or self._broken is not None or self._forked

    def _raise_unusable(self) -> None:
        if self._closed:
            raise IPCError("this Communicator is closed")
        if self._broken is not None:
            raise self._broken
        raise IPCError(
            "this Communicator belongs to process %d; a forked child must call connect() "
            "itself" % self._pid
        )

    def _guard(self, function: Any, *args: Any) -> None:
        """Run a transport call; remember a failure so every later call reports it."""
        try:
            function(*args)
        except FrameError:
            raise  # refused before anything was sent: the connection is still fine
        except (OSError, IPCError) as error:
            if isinstance(error, IPCError):
                self._broken = error
            else:
                self._broken = IPCError(
                    "lost the connection to the Executor at %s: %s" % (self.endpoint, error)
                )
            raise self._broken from error

    def _frame(self, kind: int, count: int, body: bytes) -> bytearray:
        frame = bytearray(_wire.pack_header(kind, count, len(body)))
        frame += body
        frame += _wire.seal(self._tx.next(), (frame,))
        return frame

    def _flush_locked(self) -> None:
        if not self._batch_count:
            return
        frame = self._batch
        count = self._batch_count
        self._batch = bytearray(_wire.HEADER_SIZE)
        self._batch_count = 0
        _wire.HEADER.pack_into(
            frame,
            0,
            _wire.MAGIC,
            _protocol.PROTOCOL_VERSION,
            _wire.BATCH,
            count,
            len(frame) - _wire.HEADER_SIZE,
        )
        mac = self._tx.next()
        mac.update(frame)
        frame += mac.digest()
        self._guard(self._send_small, frame)

    def _kick_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(
                target=self._flusher_main, name="lute-ipc-flusher", daemon=True
            )
            self._wake.set()
            self._flusher.start()
        else:
            self._wake.set()

    def _flusher_main(self) -> None:
        while True:
            woke = self._wake.wait(FLUSHER_IDLE)
            if woke:
                self._wake.clear()
                time.sleep(FLUSH_DELAY)
            with self._lock:
                if self._closed or self._broken is not None:
                    self._flusher = None
                    return
                if self._batch_count:
                    try:
                        self._flush_locked()
                    except IPCError:
                        self._flusher = None  # recorded in _broken; the next send() raises it
                        return
                elif not woke:
                    self._flusher = None  # idle: a quiet Task keeps no extra thread
                    return


def _close_all_at_exit() -> None:
    for communicator in list(_live):
        try:
            communicator.close()
        except Exception:
            pass  # the interpreter is exiting; the Executor sees the Task's exit status


def _reset_in_child() -> None:
    # A lock held by another thread at fork time would stay held forever in the child.
    for communicator in list(_live):
        communicator._forked = True
        communicator._lock = threading.Lock()
        communicator._wake = threading.Event()
        communicator._flusher = None


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
