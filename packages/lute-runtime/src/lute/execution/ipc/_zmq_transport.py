"""Optional ZMQ transport (DEALER on the Task side, ROUTER on the Listener side).

The frames are those of the stdlib transport (same header, HMAC and handshake); a frame
travels as one ZMQ message. A MESSAGE frame is split into the parts ``header | segment
table | pickle stream | buffer ... | tag`` so large buffers are sent and received
without copies (received arrays are then read-only views of the ZMQ frames). ZMQ gives
no end-of-stream, so the Task waits (bounded) for a GOODBYE_ACK before closing.

pyzmq is optional: it is imported when this transport is first used (:func:`connect`,
:class:`ZmqEndpoint`), so the module itself imports with the standard library only.
"""

from __future__ import annotations

import os
import struct
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from lute.execution.ipc import _handshake, _protocol, _wire
from lute.execution.ipc._communicator import Communicator
from lute.execution.ipc._errors import AuthenticationError, FrameError, IPCError, ProtocolError

if TYPE_CHECKING:  # pragma: no cover
    from lute.execution.ipc._peer import Peer, PeerHub

# pyzmq, bound by _load_zmq() on first use of the transport.
zmq: Any = None


def _load_zmq() -> Any:
    """Import pyzmq (raises ImportError where it is missing) and bind it here."""
    global zmq
    if zmq is None:
        import zmq as module

        zmq = module
    return zmq


#: Seconds the Task waits for the Executor to acknowledge its goodbye.
CLOSE_TIMEOUT = 10.0
#: Parts from this size are sent without a copy (and waited for before send returns).
ZERO_COPY_MIN = 1 << 16
#: Seconds a ZMQ peer without goodbye may stay silent during wait_idle before it is
#: considered gone.
GRACE = 0.5
#: Most ZMQ messages handled per loop iteration, so socket connections are served too.
POLL_BATCH = 4096


def _unexpected(error: Exception) -> IPCError:
    failure = IPCError(
        "unexpected %s while handling a ZMQ message (%s); it was dropped"
        % (type(error).__name__, error)
    )
    failure.__cause__ = error
    return failure


def _zmq_error(endpoint: str, error: Exception) -> IPCError:
    if isinstance(error, zmq.Again):
        return IPCError("the Executor at %s is not receiving (send timed out)" % endpoint)
    return IPCError("ZMQ error talking to the Executor at %s: %s" % (endpoint, error))


class ZmqCommunicator(Communicator):
    """:class:`~lute.execution.ipc.Communicator` over a ZMQ DEALER socket."""

    transport = "zmq"

    def __init__(
        self,
        context: Any,
        sock: Any,
        session: _handshake.Session,
        welcome: Dict[str, Any],
        endpoint: str,
        send_timeout: float,
    ) -> None:
        super().__init__(session, welcome, endpoint)
        self._context = context
        self._sock = sock
        self._rx = session.rx
        self._send_timeout = send_timeout

    def _send_small(self, frame: bytearray) -> None:
        try:
            self._sock.send(frame, copy=True)
        except zmq.ZMQError as error:
            raise _zmq_error(self.endpoint, error) from None

    def _send_message(self, stream_parts: List[Any], stream_size: int, buffers: List[Any]) -> None:
        count, body, size = _wire.message_body(stream_parts, stream_size, buffers, 1)
        if size > self.max_frame_size:
            raise FrameError(
                "a message of %d bytes exceeds the Executor's frame limit of %d bytes "
                "(LUTE_IPC_MAX_FRAME)" % (size, self.max_frame_size)
            )
        header = _wire.pack_header(_wire.MESSAGE, count, size)
        stream = stream_parts[0] if len(stream_parts) == 1 else b"".join(stream_parts)
        parts = [header, body[0], stream, *buffers]
        parts.append(_wire.seal(self._tx.next(), parts))
        trackers = []
        try:
            for index, part in enumerate(parts):
                flags = zmq.SNDMORE if index < len(parts) - 1 else 0
                large = memoryview(part).nbytes >= ZERO_COPY_MIN
                tracker = self._sock.send(part, flags, copy=not large, track=large)
                if large:
                    trackers.append(tracker)
            # The caller may reuse its buffers once send() returns: wait until ZMQ is done.
            deadline = time.monotonic() + self._send_timeout
            for tracker in trackers:
                tracker.wait(max(deadline - time.monotonic(), 0.001))
        except zmq.NotDone:
            raise IPCError(
                "the Executor at %s did not take a %d-byte message within %gs"
                % (self.endpoint, size, self._send_timeout)
            ) from None
        except zmq.ZMQError as error:
            raise _zmq_error(self.endpoint, error) from None

    def _finish(self) -> None:
        try:
            if not self._sock.poll(int(CLOSE_TIMEOUT * 1000)):
                raise IPCError(
                    "the Executor at %s did not acknowledge the goodbye within %gs; messages "
                    "sent just before may be lost" % (self.endpoint, CLOSE_TIMEOUT)
                )
            frame = self._sock.recv(copy=True)
            _, kind, _, length = _wire.read_header(frame)
            body_end = _wire.HEADER_SIZE + length
            if kind != _wire.GOODBYE_ACK or len(frame) != body_end + _wire.TAG_SIZE:
                raise ProtocolError("expected GOODBYE_ACK from %s" % self.endpoint)
            mac = self._rx.next()
            mac.update(memoryview(frame)[:body_end])
            _wire.check_tag(mac, memoryview(frame)[body_end:], "the GOODBYE_ACK frame")
        except zmq.ZMQError as error:
            raise _zmq_error(self.endpoint, error) from None
        finally:
            self._abort()

    def _abort(self) -> None:
        self._sock.close(linger=0)
        self._context.term()


def connect(
    key: bytes, address: str, rank: int, timeout: float, send_timeout: float, max_frame: int
) -> ZmqCommunicator:
    """Connect to a ZMQ endpoint and perform the handshake (see ``ipc.connect``)."""
    _load_zmq()
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.LINGER, 0)  # delivery is confirmed by GOODBYE_ACK instead
        sock.setsockopt(zmq.IMMEDIATE, 1)  # do not queue for a peer that is not there
        sock.setsockopt(zmq.SNDTIMEO, max(1, int(timeout * 1000)))
        sock.setsockopt(zmq.MAXMSGSIZE, max_frame + _wire.HEADER_SIZE + _wire.TAG_SIZE)
        sock.connect(address)
        hello, nonce = _handshake.make_hello(key, rank)
        try:
            sock.send(hello)
        except zmq.Again:
            raise IPCError(
                "nobody listens at %s (no connection within %gs)" % (address, timeout)
            ) from None
        if not sock.poll(max(1, int(timeout * 1000))):
            raise IPCError(
                "no handshake reply from the Executor at %s within %gs" % (address, timeout)
            )
        frame = sock.recv(copy=True)
        header = _wire.read_header(frame)
        body_end = _wire.HEADER_SIZE + header[3]
        if len(frame) != body_end + _wire.TAG_SIZE:
            raise FrameError("malformed handshake reply from %s" % address)
        session, welcome = _handshake.read_reply(
            key, header, frame[_wire.HEADER_SIZE : body_end], frame[body_end:], nonce, address
        )
        sock.setsockopt(zmq.SNDTIMEO, max(1, int(send_timeout * 1000)))
    except zmq.ZMQError as error:
        sock.close(linger=0)
        context.term()
        raise IPCError("ZMQ error connecting to %s: %s" % (address, error)) from None
    except BaseException:
        sock.close(linger=0)
        context.term()
        raise
    return ZmqCommunicator(context, sock, session, welcome, address, send_timeout)


# --- listener side -----------------------------------------------------------------------


class _RouterPeer:
    """State of one DEALER known to the ROUTER."""

    __slots__ = ("dead", "last_seen", "peer", "session")

    def __init__(self, peer: Peer, session: _handshake.Session) -> None:
        self.peer = peer
        self.session = session
        self.dead = False
        self.last_seen = time.monotonic()


class ZmqEndpoint:
    """A ROUTER socket polled by the Listener thread."""

    def __init__(
        self, listener: PeerHub, transport: str, host: str, directory: Optional[str]
    ) -> None:
        from lute.execution.ipc._socket_listener import ZMQ_SOCKET_NAME

        _load_zmq()
        self.listener = listener
        self._context = zmq.Context()
        self._sock = self._context.socket(zmq.ROUTER)
        self._path: Optional[str] = None
        self._peers: Dict[bytes, _RouterPeer] = {}
        try:
            self._sock.setsockopt(zmq.LINGER, 0)
            self._sock.setsockopt(
                zmq.MAXMSGSIZE, listener.max_frame + _wire.HEADER_SIZE + _wire.TAG_SIZE
            )
            if transport == "unix" and directory is not None:
                self._path = os.path.join(directory, ZMQ_SOCKET_NAME)
                self._sock.bind("ipc://" + self._path)
                self.address = "ipc://" + self._path
            else:
                bind_host = "[%s]" % host if ":" in host else host
                if ":" in host:
                    self._sock.setsockopt(zmq.IPV6, 1)
                self._sock.bind("tcp://%s:*" % bind_host)
                port = str(self._sock.getsockopt_string(zmq.LAST_ENDPOINT)).rsplit(":", 1)[1]
                advertised = host
                if host in ("0.0.0.0", "::", ""):
                    import socket

                    advertised = socket.gethostname()
                if ":" in advertised:
                    advertised = "[%s]" % advertised
                self.address = "tcp://%s:%s" % (advertised, port)
        except zmq.ZMQError as error:
            self._sock.close(linger=0)
            self._context.term()
            raise IPCError("cannot bind the ZMQ endpoint: %s" % error) from None
        self._fd = self._sock.getsockopt(zmq.FD)
        listener.register(self._fd, self.poll)

    def poll(self) -> None:
        """Handle every queued ZMQ message (bounded per call)."""
        for _ in range(POLL_BATCH):
            try:
                frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            except zmq.ZMQError as error:
                self.listener.report(None, IPCError("ZMQ receive failed: %s" % error))
                return
            self._handle(frames[0].bytes, [frame.buffer for frame in frames[1:]])

    def _handle(self, identity: bytes, parts: List[memoryview]) -> None:
        state = self._peers.get(identity)
        if state is None:
            try:
                self._answer_hello(identity, parts)
            except Exception as error:  # whatever a stranger sends: report and carry on
                self.listener.report(None, _unexpected(error))
            return
        if state.dead:
            return  # already reported; ignore the rest of a broken stream
        state.last_seen = time.monotonic()
        try:
            self._frame(identity, state, parts)
        except (FrameError, ProtocolError, AuthenticationError) as error:
            self._give_up(state, error)
        except Exception as error:  # only this peer's stream ends
            self._give_up(state, _unexpected(error))

    def _give_up(self, state: _RouterPeer, error: IPCError) -> None:
        state.dead = True
        state.peer.connected = False
        self.listener.report(state.peer, error)

    def _answer_hello(self, identity: bytes, parts: List[memoryview]) -> None:
        listener = self.listener
        try:
            if len(parts) != 1 or len(parts[0]) < _wire.HEADER_SIZE:
                raise FrameError("malformed first ZMQ message: not a HELLO frame")
            data = parts[0]
            header = _wire.read_header(data)
            if header[3] > _wire.HANDSHAKE_LIMIT:
                raise FrameError(
                    "HELLO of %d bytes exceeds the handshake limit of %d bytes"
                    % (header[3], _wire.HANDSHAKE_LIMIT)
                )
            body_end = _wire.HEADER_SIZE + header[3]
            # A Listener offering ZMQ always has its hello_reply (deferral is refused).
            assert listener.hello_reply_json is not None
            if len(data) != body_end + _wire.TAG_SIZE:
                raise FrameError("HELLO frame length does not match its header")
            checked = _handshake.check_hello(
                listener.key,
                header,
                data[_wire.HEADER_SIZE : body_end],
                data[body_end:],
                listener.seen_nonces,
            )
            reply, session = listener.welcome(checked)
        except _handshake.Rejected as rejected:
            listener.report(None, rejected.error)
            self._send(identity, rejected.reply)
            return
        except FrameError as error:
            listener.report(None, error)
            self._send(
                identity, _handshake.reject(listener.key, _handshake.REASON_FRAME, str(error))
            )
            return
        self._send(identity, reply)
        peer = listener.new_peer("zmq", checked.doc, session.pickle_protocol, session.out_of_band)
        self._peers[identity] = _RouterPeer(peer, session)

    def _frame(self, identity: bytes, state: _RouterPeer, parts: List[memoryview]) -> None:
        head = parts[0]
        if len(head) < _wire.HEADER_SIZE:
            raise FrameError("ZMQ message too short for a frame header")
        version, kind, count, length = _wire.read_header(head)
        if version != _protocol.PROTOCOL_VERSION:
            raise FrameError(
                "frame of protocol version %d on a version %d connection"
                % (version, _protocol.PROTOCOL_VERSION)
            )
        if length > state.session.max_frame:
            raise FrameError(
                "frame header claims %d bytes, more than the limit of %d bytes"
                % (length, state.session.max_frame)
            )
        mac = state.session.rx.next()
        if len(parts) == 1:
            body_end = _wire.HEADER_SIZE + length
            if len(head) != body_end + _wire.TAG_SIZE:
                raise FrameError(
                    "%s frame length does not match its header" % _wire.kind_name(kind)
                )
            mac.update(head[:body_end])
            _wire.check_tag(mac, head[body_end:], "a %s frame" % _wire.kind_name(kind))
            body = head[_wire.HEADER_SIZE : body_end]
            if kind == _wire.BATCH:
                self.listener.deliver_batch(state.peer, body, count)
            elif kind == _wire.GOODBYE:
                state.peer.goodbye = True
                state.peer.connected = False
                state.dead = True
                ack = _wire.pack_header(_wire.GOODBYE_ACK, 0, 0)
                self._send(identity, ack + _wire.seal(state.session.tx.next(), (ack,)))
            elif kind == _wire.MESSAGE:
                self._message(state.peer, body, count, None)
            else:
                raise ProtocolError("unexpected %s frame from a Task" % _wire.kind_name(kind))
            return
        if kind != _wire.MESSAGE or len(head) != _wire.HEADER_SIZE or len(parts) != count + 3:
            raise FrameError("malformed multipart %s frame" % _wire.kind_name(kind))
        if sum(len(part) for part in parts[1:-1]) != length:
            raise FrameError("MESSAGE parts do not add up to the length in its header")
        for part in parts[:-1]:
            mac.update(part)
        _wire.check_tag(mac, parts[-1], "a MESSAGE frame")
        self._message(state.peer, parts[1], count, parts[2:-1])

    def _message(
        self, peer: Peer, body: memoryview, count: int, segments: Optional[List[memoryview]]
    ) -> None:
        try:
            if segments is None:  # a single-part MESSAGE: packed layout
                stream, buffers = _wire.split_message(body, count, 1)
            else:
                table = _wire.SEGMENT.size * count
                if len(body) != table or list(struct.unpack_from("!%dQ" % count, body, 0)) != [
                    len(segment) for segment in segments
                ]:
                    raise FrameError("MESSAGE segment table does not match its parts")
                stream, buffers = segments[0], segments[1:]
        except FrameError as error:
            self.listener.report(peer, error)
            return
        self.listener.deliver_message(peer, stream, buffers)

    def _send(self, identity: bytes, frame: bytes) -> None:
        try:
            self._sock.send_multipart([identity, frame], zmq.NOBLOCK)
        except zmq.ZMQError as error:
            self.listener.report(None, IPCError("could not answer a ZMQ peer: %s" % error))

    def busy(self, drain_started: float) -> bool:
        """True while a peer may still send; peers silent for GRACE are given up."""
        now = time.monotonic()
        waiting = False
        for state in self._peers.values():
            if state.dead:
                continue
            if now - drain_started >= GRACE and now - state.last_seen >= GRACE:
                state.dead = True
                state.peer.connected = False
                self.listener.report(
                    state.peer,
                    IPCError(
                        "the Task (pid %d) sent no goodbye over ZMQ; did it crash?" % state.peer.pid
                    ),
                )
            else:
                waiting = True
        return waiting

    def close(self) -> None:
        """Close the ROUTER socket and its context; remove the ipc socket file."""
        self.listener.unregister(self._fd)
        self._sock.close(linger=0)
        self._context.term()
        if self._path is not None:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass

    def __repr__(self) -> str:
        return "<ZmqEndpoint %s>" % self.address
