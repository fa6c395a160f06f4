"""Listener side of the stdlib transport: the listening socket and its connections.

Each connection is a non-blocking socket read by the Listener's thread when the selector
reports input; the bytes go straight into a :class:`~lute.execution.ipc._reader.FrameReader`.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

from lute.execution.ipc import _address, _handshake, _wire
from lute.execution.ipc._errors import FrameError, IPCError, ProtocolError
from lute.execution.ipc._reader import FrameReader

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc._peer import Peer, PeerHub

#: Longest Unix socket path (sun_path is 108 bytes including the terminating NUL).
MAX_UNIX_PATH = 107
#: Most bytes read from one connection per wake-up, so others are served too.
FAIR_SHARE = 16 << 20
#: Seconds to keep reading (and discarding) after a REJECT, so the Task reads it.
LINGER = 2.0
#: Seconds allowed for sending the WELCOME frame to a Task.
WELCOME_TIMEOUT = 5.0
#: Seconds to wait before accepting again after accept() failed (e.g. out of descriptors).
ACCEPT_RETRY = 0.5
#: Names of the sockets inside the private directory (short: the path limit).
SOCKET_NAME = "ipc"
ZMQ_SOCKET_NAME = "zmq"

_CANDIDATE_DIRS = (None, "/tmp", "/var/tmp", "/dev/shm")


def private_dir() -> str:
    """Create a 0700 directory whose socket paths fit the AF_UNIX limit.

    Tries the default temporary directory first, then short system ones, so a very long
    ``TMPDIR`` still works.

    Raises:
        IPCError: No candidate directory is short enough and writable.
    """
    longest = max(len(SOCKET_NAME), len(ZMQ_SOCKET_NAME)) + 1
    tried = []
    for base in _CANDIDATE_DIRS:
        try:
            path = tempfile.mkdtemp(prefix="lute-", dir=base)
        except OSError as error:
            tried.append("%s (%s)" % (base or tempfile.gettempdir(), error))
            continue
        if len(os.fsencode(path)) + longest <= MAX_UNIX_PATH:
            os.chmod(path, 0o700)  # mkdtemp's mode is filtered by the umask
            return path
        os.rmdir(path)
        tried.append("%s (path too long)" % (base or tempfile.gettempdir()))
    raise IPCError(
        "found no directory for the Unix socket within the %d-byte path limit: tried %s"
        % (MAX_UNIX_PATH, ", ".join(tried))
    )


class SocketEndpoint:
    """The listening socket (Unix or TCP) and the connections accepted from it."""

    def __init__(self, listener: PeerHub, transport: str, host: str) -> None:
        self.listener = listener
        self.transport = transport
        self.connections: Set[Connection] = set()
        # Connections without a valid HELLO yet, oldest first (at most max_unverified).
        self.unverified: Dict[Connection, None] = {}
        # Connections whose HELLO waits for the Listener's hello_reply (see set_hello_reply).
        self.waiting: List[Connection] = []
        self.directory: Optional[str] = None
        self._path: Optional[str] = None
        self._resume_at = 0.0  # when to accept again after accept() failed
        if transport == "unix":
            self.directory = private_dir()
            self._path = os.path.join(self.directory, SOCKET_NAME)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(self._path)
            except OSError:
                sock.close()
                os.rmdir(self.directory)
                raise
            self.address = _address.format_unix(self._path)
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, 0))
            except OSError as error:
                sock.close()
                raise IPCError("cannot bind a TCP socket on %r: %s" % (host, error)) from None
            port = sock.getsockname()[1]
            advertised = host
            if host in ("0.0.0.0", "::", ""):
                advertised = socket.gethostname()  # reachable from the other nodes
            self.address = _address.format_tcp(advertised, port)
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        self.sock = sock
        listener.register(sock, self.accept_all)

    def accept_all(self) -> None:
        """Accept every pending connection (the backlog)."""
        if self._resume_at:
            return  # paused after a failure; check_deadlines resumes
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # e.g. EMFILE: keep serving the connections we have, retry accepting
                # later (a readable listening socket would otherwise spin the loop)
                self.listener.report(None, IPCError("accept() failed: %s" % error))
                self.listener.unregister(self.sock)
                self._resume_at = time.monotonic() + ACCEPT_RETRY
                return
            conn.setblocking(False)
            if self.transport == "tcp":
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(self, conn)
            self.connections.add(connection)
            self.listener.register(conn, connection.on_readable)
            self._admit(connection)

    def _admit(self, connection: Connection) -> None:
        """Count a new connection as unverified; drop the oldest beyond the limit.

        The oldest is read first: a Task's HELLO arrives right after its connect, so a
        burst of Tasks (MPI ranks starting together) is verified rather than dropped.
        """
        unverified = self.unverified
        unverified[connection] = None
        limit = max(1, self.listener.max_unverified)
        while len(unverified) > limit:
            oldest = next(iter(unverified))
            oldest.on_readable()
            if oldest in unverified:
                self.listener.report(
                    None,
                    ProtocolError(
                        "more than %d connections without a valid HELLO at once; dropped "
                        "the oldest" % limit
                    ),
                )
                self.drop(oldest)

    def verified(self, connection: Connection) -> None:
        """The connection sent a valid HELLO: no longer counted as unverified."""
        self.unverified.pop(connection, None)

    def answer_waiting(self) -> None:
        """Answer the HELLOs that arrived before the Listener had its hello_reply."""
        waiting, self.waiting = self.waiting, []
        for connection in waiting:
            if connection in self.connections:
                connection.answer_waiting()

    def busy(self) -> bool:
        """True while any connection is open."""
        return bool(self.connections)

    def check_deadlines(self, now: float) -> None:
        """Drop connections that missed their handshake or linger deadline."""
        if self._resume_at and self._resume_at <= now:
            self._resume_at = 0.0
            self.listener.register(self.sock, self.accept_all)
        for connection in [c for c in self.connections if c.deadline and c.deadline < now]:
            connection.expire()

    def drop(self, connection: Connection) -> None:
        """Forget a connection and close its socket."""
        connection.closed = True
        self.listener.unregister(connection.sock)
        self.connections.discard(connection)
        self.unverified.pop(connection, None)
        connection.sock.close()
        if connection.peer is not None:
            connection.peer.connected = False

    def close(self) -> None:
        """Close the listening socket and every connection; remove the socket directory."""
        self.listener.unregister(self.sock)
        self.sock.close()
        for connection in list(self.connections):
            self.drop(connection)
        if self._path is not None:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass
        if self.directory is not None:
            try:
                os.rmdir(self.directory)
            except OSError as error:
                raise IPCError("could not remove %s: %s" % (self.directory, error)) from None

    def __repr__(self) -> str:
        return "<SocketEndpoint %s>" % self.address


class Connection:
    """One accepted connection: handshake, then frames until GOODBYE or end of stream."""

    def __init__(self, endpoint: SocketEndpoint, sock: socket.socket) -> None:
        self.endpoint = endpoint
        self.listener = endpoint.listener
        self.sock = sock
        self.reader = FrameReader(self._answer_hello, self._deliver)
        self.peer: Optional[Peer] = None
        self.rejected = False
        self.closed = False
        self.deadline = time.monotonic() + self.listener.handshake_timeout
        self.waiting_hello: Optional[_handshake.CheckedHello] = None

    def on_readable(self) -> None:
        """Read what is available (up to a fair share) and act on every complete frame."""
        if self.closed:
            return  # dropped while its readiness was pending (e.g. to make room for others)
        try:
            if self.rejected:
                self._discard()
                return
            budget = FAIR_SHARE
            while budget > 0:
                view = self.reader.writable()
                try:
                    count = self.sock.recv_into(view)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as error:
                    raise IPCError("connection error: %s" % error) from None
                if count == 0:
                    self._eof()
                self.reader.feed(count)
                if count < len(view):
                    return  # the socket is drained: skip the extra EAGAIN round trip
                budget -= count
        except _Lingering:
            pass
        except _Closed:
            self.endpoint.drop(self)
        except IPCError as error:
            self.listener.report(self.peer, error)
            self.endpoint.drop(self)
        except Exception as error:  # whatever the peer sent, only this connection ends
            self.abandon(error)

    def abandon(self, error: Exception) -> None:
        """Report an unexpected error while handling this connection, and close it."""
        failure = IPCError(
            "unexpected %s while handling a connection (%s); the connection was closed"
            % (type(error).__name__, error)
        )
        failure.__cause__ = error
        self.listener.report(self.peer, failure)
        if self in self.endpoint.connections:
            self.endpoint.drop(self)

    def expire(self) -> None:
        """The handshake (or the linger after a REJECT) took too long."""
        if not self.rejected:
            self.listener.report(
                None,
                ProtocolError(
                    "a connection sent no complete HELLO within %gs; dropped"
                    % self.listener.handshake_timeout
                ),
            )
        self.endpoint.drop(self)

    # -- frames ---------------------------------------------------------------------------

    def _deliver(self, kind: int, count: int, body: memoryview) -> None:
        peer = self.peer
        assert peer is not None
        if kind == _wire.BATCH:
            self.listener.deliver_batch(peer, body, count)
        elif kind == _wire.MESSAGE:
            try:
                stream, buffers = _wire.split_message(body, count, _wire.SOCKET_ALIGN)
            except FrameError as error:
                self.listener.report(peer, error)
                return
            self.listener.deliver_message(peer, stream, buffers)
        else:  # GOODBYE: the Task closed properly
            peer.goodbye = True
            raise _Closed()

    def answer_waiting(self) -> None:
        """Answer the HELLO kept while the hello_reply was not known yet."""
        hello = self.waiting_hello
        if hello is None:
            return
        self.waiting_hello = None
        self.reader.hello_pending = False
        try:
            self._welcome(hello)
        except IPCError as error:
            self.listener.report(self.peer, error)
            self.endpoint.drop(self)
        except Exception as error:
            self.abandon(error)

    def _answer_hello(self, header: Tuple[int, int, int, int], body: Any, tag: Any) -> None:
        listener = self.listener
        try:
            hello = _handshake.check_hello(listener.key, header, body, tag, listener.seen_nonces)
        except _handshake.Rejected as rejected:
            self._send_reject(rejected)
            return
        self.endpoint.verified(self)
        if listener.hello_reply_json is None:
            # The Executor is still preparing the hand-off: keep the (authenticated) HELLO,
            # the Task waits for its WELCOME, and answer once the Listener has it. No
            # deadline meanwhile: the Executor ends this Task itself if preparation fails.
            self.waiting_hello = hello
            self.reader.hello_pending = True
            self.deadline = 0.0
            self.endpoint.waiting.append(self)
            return
        self._welcome(hello)

    def _welcome(self, checked: _handshake.CheckedHello) -> None:
        listener = self.listener
        reply, session = listener.welcome(checked)
        hello = checked.doc
        try:
            self.sock.settimeout(WELCOME_TIMEOUT)
            self.sock.sendall(reply)
            self.sock.setblocking(False)
        except OSError as error:
            raise IPCError(
                "could not send WELCOME to the Task (pid %s): %s" % (hello.get("pid"), error)
            ) from None
        self.reader.session = session
        self.deadline = 0.0
        self.peer = listener.new_peer(
            self.endpoint.transport, hello, session.pickle_protocol, session.out_of_band
        )

    def _send_reject(self, rejected: _handshake.Rejected) -> None:
        """Report the failed handshake, send REJECT, then linger until the Task hangs up."""
        self.listener.report(None, rejected.error)
        try:
            self.sock.send(rejected.reply)  # small: fits the empty send buffer
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            raise _Closed() from None
        # Keep reading (and discarding) for a while: closing with unread input would
        # reset a TCP connection and could destroy the REJECT before the Task reads it.
        self.rejected = True
        self.deadline = time.monotonic() + LINGER
        raise _Lingering()

    def _discard(self) -> None:
        scratch = bytearray(1 << 16)
        while True:
            try:
                if not self.sock.recv_into(scratch):
                    raise _Closed()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                raise _Closed() from None

    def _eof(self) -> None:
        """The peer closed its side: raise what to report (or _Closed if nothing)."""
        truncation = self.reader.truncation()
        if self.peer is None:
            if self.reader.received or truncation:
                raise FrameError(
                    "connection closed during the handshake after %d bytes" % (self.reader.received)
                )
            raise _Closed()  # connected and left without a word (e.g. a port probe)
        if truncation is not None:
            raise FrameError("truncated frame: the connection closed after %s" % truncation)
        raise IPCError(
            "the Task (pid %d) closed the connection without a goodbye; did it crash?"
            % self.peer.pid
        )


class _Closed(Exception):
    """Internal: the connection ends without an error to report."""


class _Lingering(Exception):
    """Internal: a REJECT was sent; keep the socket open to linger, skip the rest."""
