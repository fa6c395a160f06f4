"""Peers on the Executor side: :class:`Peer`, and the bookkeeping the endpoints share.

:class:`PeerHub` is the part of a :class:`~lute.execution.ipc.Listener` that its endpoints
(``_socket_listener``, ``_zmq_transport``) use on the listener thread: the run's key and
limits, peer ids and records, and delivery of messages and errors to the Executor's
callbacks. The endpoints know their Listener only as a PeerHub, so they need not import
``_listener``, which imports them.
"""

from __future__ import annotations

import selectors
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from lute.execution.ipc import _handshake, _wire
from lute.execution.ipc._errors import FrameError, IPCError, PayloadError
from lute.execution.ipc._protocol import Message

#: Seconds a connection may take to send its HELLO.
HANDSHAKE_TIMEOUT = 30.0
#: Most connections at once that have not sent a valid HELLO yet; beyond, the oldest goes.
MAX_UNVERIFIED = 256
#: Errors about connections that are not (or not yet) a Task's are reported one by one
#: up to REPORT_BURST per REPORT_INTERVAL seconds; the rest are counted, and the count is
#: reported once the interval is over.
REPORT_BURST = 5
REPORT_INTERVAL = 10.0


class Peer:
    """Who is on the other end of one connection, as announced in its handshake.

    Attributes:
        peer_id: Identifier given by the Listener (1, 2, ... in connection order).
        pid: Process id of the Task process.
        rank: Rank announced by the Task (MPI), 0 otherwise.
        host: Host name of the Task process.
        python: Python version of the Task process (``"3.8.18"``).
        transport: ``"unix"``, ``"tcp"`` or ``"zmq"``.
        lute_version: lute-runtime version of the Task process.
        pickle_protocol: Pickle protocol agreed for this connection.
        out_of_band: Whether large buffers travel out of band on this connection.
        hello: The whole HELLO document (for fields added by later versions).
        connected: False once the connection has ended.
        goodbye: True when the Task closed the connection properly.
    """

    __slots__ = (
        "connected",
        "goodbye",
        "hello",
        "host",
        "lute_version",
        "out_of_band",
        "peer_id",
        "pickle_protocol",
        "pid",
        "python",
        "rank",
        "transport",
    )

    def __init__(
        self,
        peer_id: int,
        transport: str,
        hello: Dict[str, Any],
        pickle_protocol: int,
        out_of_band: bool,
    ) -> None:
        self.peer_id = peer_id
        self.transport = transport
        self.hello = hello
        self.pid: int = hello["pid"]
        self.rank: int = hello["rank"]
        self.host: str = hello["host"]
        self.python: str = hello["python"]
        self.lute_version: str = hello["lute_version"]
        self.pickle_protocol = pickle_protocol
        self.out_of_band = out_of_band
        self.connected = True
        self.goodbye = False

    def __repr__(self) -> str:
        return "Peer(peer_id=%d, pid=%d, rank=%d, host=%r, transport=%r, python=%r)" % (
            self.peer_id,
            self.pid,
            self.rank,
            self.host,
            self.transport,
            self.python,
        )


def log_warning(text: str) -> None:
    """Log ``text`` as a warning of ``lute.execution.ipc`` (errors nobody else reports)."""
    import logging  # only on the error path: keeps the import cost off the Task side

    logging.getLogger("lute.execution.ipc").warning(text)


class PeerHub:
    """What a Listener's endpoints use: key and limits, peers, callbacks, selector.

    The base of :class:`~lute.execution.ipc.Listener`. Its methods run on the listener
    thread, except :attr:`peers`.

    Args:
        key: The run's secret.
        max_frame: Largest frame body accepted (bytes).
        hello_reply_json: The hand-off document, JSON-encoded, or None while deferred.
        on_message: Called with ``(peer, message)`` for every message, in order per peer.
        on_error: Called with ``(peer or None, error)``; None logs a warning instead.
        on_connect: Called with the :class:`Peer` after its handshake succeeds.

    Attributes:
        key: The run's secret.
        max_frame: Largest frame body accepted (bytes).
        hello_reply_json: The hand-off document, JSON-encoded; None until it is known.
        handshake_timeout: Seconds a connection may take to send its HELLO.
        max_unverified: Most connections at once without a valid HELLO (the oldest is
            dropped to make room for a new one).
        seen_nonces: The nonces of every HELLO accepted so far (a replay is refused).
    """

    def __init__(
        self,
        key: bytes,
        max_frame: int,
        hello_reply_json: Optional[str],
        on_message: Callable[[Peer, Message], None],
        on_error: Optional[Callable[[Optional[Peer], IPCError], None]],
        on_connect: Optional[Callable[[Peer], None]],
    ) -> None:
        self.key = key
        self.max_frame = max_frame
        self.hello_reply_json = hello_reply_json
        self.handshake_timeout = HANDSHAKE_TIMEOUT
        self.max_unverified = MAX_UNVERIFIED
        self.seen_nonces: Set[bytes] = set()
        self._limit = _ReportLimit()
        self._on_message = on_message
        self._on_error = on_error
        self._on_connect = on_connect
        self._lock = threading.Lock()
        self._peers: List[Peer] = []
        self._next_peer_id = 1
        self._selector: Any = None  # the Listener's, once started

    @property
    def peers(self) -> List[Peer]:
        """Every peer that completed its handshake, in connection order."""
        with self._lock:
            return list(self._peers)

    def new_peer(
        self, transport: str, hello: Dict[str, Any], pickle_protocol: int, out_of_band: bool
    ) -> Peer:
        """Create and record the Peer of a successful handshake, then call on_connect."""
        with self._lock:
            peer = Peer(self._next_peer_id, transport, hello, pickle_protocol, out_of_band)
            self._next_peer_id += 1
            self._peers.append(peer)
        if self._on_connect is not None:
            try:
                self._on_connect(peer)
            except Exception as failure:
                self._callback_failed(peer, "on_connect", failure)
        return peer

    @property
    def next_peer_id(self) -> int:
        """The id the next successful handshake gets."""
        return self._next_peer_id

    def welcome(self, hello: _handshake.CheckedHello) -> Tuple[bytes, _handshake.Session]:
        """The WELCOME answering a checked HELLO, and the session, for the next peer."""
        reply_json = self.hello_reply_json
        assert reply_json is not None  # deferred HELLOs wait until it is set
        return _handshake.welcome(
            self.key,
            hello,
            peer_id=self._next_peer_id,
            max_frame=self.max_frame,
            hello_reply_json=reply_json,
        )

    def deliver_batch(self, peer: Peer, body: memoryview, count: int) -> None:
        """Unpickle the messages of an authenticated BATCH frame and hand them over."""
        try:
            pickles = _wire.split_batch(body, count)
        except FrameError as error:
            self.report(peer, error)  # authenticated, so the next frame is still found
            return
        on_message = self._on_message
        load = _wire.load_message
        for item in pickles:
            try:
                message = load(item)
            except PayloadError as error:
                self.report(peer, error)  # bytes intact: the next message is still fine
                continue
            try:
                on_message(peer, message)
            except Exception as failure:
                self._callback_failed(peer, "on_message", failure)

    def deliver_message(self, peer: Peer, stream: Any, buffers: List[Any]) -> None:
        """Unpickle the message of an authenticated MESSAGE frame and hand it over."""
        try:
            message = _wire.load_message(stream, buffers, copy=False)
        except PayloadError as error:
            self.report(peer, error)
            return
        try:
            self._on_message(peer, message)
        except Exception as failure:
            self._callback_failed(peer, "on_message", failure)

    def report(self, peer: Optional[Peer], error: IPCError, *, limit: bool = True) -> None:
        """Hand one error to on_error (or log it).

        Errors without a peer (rejected handshakes, garbage, connections dropped before
        their HELLO...) are rate-limited unless ``limit`` is False: anyone who can
        connect can cause them, and 10,000 of them must not become 10,000 log lines.
        """
        if peer is None and limit:
            now = time.monotonic()
            self.flush_reports(now)
            if not self._limit.admit(error, now):
                return
        self._deliver_error(peer, error)

    def flush_reports(self, now: float, *, final: bool = False) -> None:
        """Report how many errors the rate limit held back, once its interval is over."""
        summary = self._limit.summary(now, final)
        if summary is not None:
            self._deliver_error(None, summary)

    def _deliver_error(self, peer: Optional[Peer], error: IPCError) -> None:
        if self._on_error is None:
            log_warning("LUTE IPC: %s%s" % ("" if peer is None else "%r: " % (peer,), error))
            return
        try:
            self._on_error(peer, error)
        except Exception as failure:
            log_warning("LUTE IPC: on_error raised %r while reporting: %s" % (failure, error))

    def register(self, fileobj: Any, handler: Callable[[], None]) -> None:
        """Watch ``fileobj`` for input; ``handler`` runs on the listener thread."""
        self._selector.register(fileobj, selectors.EVENT_READ, handler)

    def unregister(self, fileobj: Any) -> None:
        """Stop watching ``fileobj`` (ignores objects that are not watched)."""
        try:
            self._selector.unregister(fileobj)
        except (KeyError, ValueError):
            pass

    def _callback_failed(self, peer: Optional[Peer], what: str, failure: Exception) -> None:
        error = IPCError("%s callback raised %s: %s" % (what, type(failure).__name__, failure))
        error.__cause__ = failure
        self.report(peer, error)


class _ReportLimit:
    """How many errors without a peer were reported, and held back, in this interval."""

    __slots__ = ("held", "last", "reported", "started")

    def __init__(self) -> None:
        self.started = -REPORT_INTERVAL  # the first error opens an interval
        self.reported = 0
        self.held = 0
        self.last: Optional[IPCError] = None

    def admit(self, error: IPCError, now: float) -> bool:
        """Whether to report ``error`` now (otherwise it is counted)."""
        if now - self.started >= REPORT_INTERVAL and not self.held:  # a new interval
            self.started = now
            self.reported = 0
        if self.reported < REPORT_BURST:
            self.reported += 1
            return True
        self.held += 1
        self.last = error
        return False

    def summary(self, now: float, final: bool) -> Optional[IPCError]:
        """The error that reports the held-back count, when the interval is over."""
        if not self.held or not (final or now - self.started >= REPORT_INTERVAL):
            return None
        error = IPCError(
            "%d more errors from connections that are not a Task's were not reported one "
            "by one in the last %.0fs (at most %d are, per %gs); the last: %s"
            % (self.held, now - self.started, REPORT_BURST, REPORT_INTERVAL, self.last)
        )
        self.started = now
        self.reported = 0
        self.held = 0
        self.last = None
        return error
