"""Task side of the stdlib transport: Unix-domain or TCP stream sockets."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from lute.execution.ipc import _address, _handshake, _wire
from lute.execution.ipc._communicator import Communicator
from lute.execution.ipc._errors import FrameError, IPCError

#: Buffers handed to one ``sendmsg`` call (Linux allows 1024).
IOV_GROUP = 512
#: Kernel send buffer requested for Task sockets: fewer wake-ups for large frames.
SEND_BUFFER = 4 << 20
#: Seconds between two checks of the watching thread (it wakes at once on end of stream).
WATCH_POLL = 60.0


def send_parts(sock: socket.socket, parts: Sequence[Any]) -> None:
    """Send every buffer in ``parts``, in order, with as few system calls as possible."""
    views = [memoryview(part) for part in parts]
    views = [view for view in views if view.nbytes]
    sendmsg = getattr(sock, "sendmsg", None)
    if sendmsg is None:  # pragma: no cover - platforms without sendmsg
        for view in views:
            sock.sendall(view)
        return
    index = 0
    while index < len(views):
        sent = sendmsg(views[index : index + IOV_GROUP])
        while sent:
            size = views[index].nbytes
            if sent >= size:
                sent -= size
                index += 1
            else:
                views[index] = views[index][sent:]
                sent = 0


def recv_exact(sock: socket.socket, size: int, deadline: float, endpoint: str) -> bytearray:
    """Read exactly ``size`` bytes before ``deadline`` (a ``time.monotonic`` value).

    Raises:
        IPCError: The peer closed the connection or the deadline passed.
    """
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IPCError("timed out waiting for the handshake reply from %s" % endpoint)
        sock.settimeout(remaining)
        try:
            count = sock.recv_into(view[got:])
        except socket.timeout:
            continue
        if count == 0:
            raise IPCError(
                "the Executor at %s closed the connection during the handshake" % endpoint
            )
        got += count
    return data


class SocketCommunicator(Communicator):
    """:class:`~lute.execution.ipc.Communicator` over a Unix-domain or TCP socket."""

    def __init__(
        self,
        sock: socket.socket,
        session: _handshake.Session,
        welcome: Dict[str, Any],
        endpoint: str,
        transport: str,
    ) -> None:
        super().__init__(session, welcome, endpoint)
        self._sock = sock
        self.transport = transport

    def _send_small(self, frame: bytearray) -> None:
        self._sock.sendall(frame)

    def _send_message(self, stream_parts: List[Any], stream_size: int, buffers: List[Any]) -> None:
        count, body, size = _wire.message_body(
            stream_parts, stream_size, buffers, _wire.SOCKET_ALIGN
        )
        if size > self.max_frame_size:
            raise FrameError(
                "a message of %d bytes exceeds the Executor's frame limit of %d bytes "
                "(LUTE_IPC_MAX_FRAME)" % (size, self.max_frame_size)
            )
        header = _wire.pack_header(_wire.MESSAGE, count, size)
        mac = self._tx.next()
        if size < _wire.PARALLEL_MAC_MIN:
            send_parts(self._sock, [header, *body, _wire.seal(mac, [header, *body])])
            return
        hasher = _wire.ParallelMac(mac)
        hasher.feed(header)
        for part in body:
            hasher.feed(part)
        send_parts(self._sock, [header, *body])
        send_parts(self._sock, [hasher.digest()])

    def _finish(self) -> None:
        self._abort()

    def _abort(self) -> None:
        try:
            # Both directions: the goodbye (sent before) is followed by the end of stream,
            # and the watching thread, blocked reading its copy of the socket, wakes up.
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone; the goodbye was sent or the error was raised before
        self._sock.close()

    def _watch(self, on_lost: Optional[Callable[[IPCError], None]]) -> None:
        """Read the socket on a daemon thread: the Executor sends nothing after WELCOME,
        so end of stream (or a reset) means it closed the connection or died."""
        super()._watch(on_lost)
        # A descriptor of its own, so closing ours never leaves the thread reading a
        # descriptor number that a new file may reuse. Non-blocking, like ours: the
        # flag is shared by both descriptors.
        watcher = self._sock.dup()
        watcher.settimeout(WATCH_POLL)
        thread = threading.Thread(
            target=self._watch_main, args=(watcher,), name="lute-ipc-watch", daemon=True
        )
        thread.start()

    def _watch_main(self, watcher: socket.socket) -> None:
        reason = ""
        try:
            while not reason:
                try:
                    data = watcher.recv(4096)
                except socket.timeout:
                    continue
                except InterruptedError:  # pragma: no cover - retried by Python >= 3.5
                    continue
                except OSError as error:
                    reason = "lost the connection to the Executor at %s: %s" % (
                        self.endpoint,
                        error,
                    )
                    break
                if not data:
                    reason = "the Executor at %s closed the connection" % self.endpoint
                # Anything else: nothing is expected after WELCOME; a later version may
                # send something, so it is read and ignored.
        finally:
            watcher.close()
        self._executor_gone(IPCError(reason))


def connect(
    key: bytes,
    family: str,
    host_or_path: str,
    port: int,
    rank: int,
    timeout: float,
    send_timeout: float,
    max_frame: int,
) -> SocketCommunicator:
    """Connect to a stdlib endpoint and perform the handshake (see ``ipc.connect``)."""
    if family == "unix":
        endpoint = _address.format_unix(host_or_path)
    else:
        endpoint = _address.format_tcp(host_or_path, port)
    deadline = time.monotonic() + timeout
    try:
        if family == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(host_or_path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host_or_path, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # we batch ourselves
    except socket.timeout:
        raise IPCError(
            "timed out after %gs connecting to the Executor at %s" % (timeout, endpoint)
        ) from None
    except OSError as error:
        raise IPCError("nobody listens at %s (%s)" % (endpoint, error)) from None
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError:
            pass  # a smaller kernel buffer only costs speed
        hello, nonce = _handshake.make_hello(key, rank)
        sock.sendall(hello)
        header = _wire.read_header(recv_exact(sock, _wire.HEADER_SIZE, deadline, endpoint))
        limit = _wire.HANDSHAKE_LIMIT if header[1] == _wire.REJECT else max_frame
        if header[3] > limit:
            raise FrameError(
                "the handshake reply from %s claims %d bytes, more than the limit of %d"
                % (endpoint, header[3], limit)
            )
        rest = recv_exact(sock, header[3] + _wire.TAG_SIZE, deadline, endpoint)
        session, welcome = _handshake.read_reply(
            key, header, rest[: header[3]], rest[header[3] :], nonce, endpoint
        )
        sock.settimeout(send_timeout)
    except OSError as error:
        sock.close()
        raise IPCError("handshake with the Executor at %s failed: %s" % (endpoint, error)) from None
    except BaseException:
        sock.close()
        raise
    return SocketCommunicator(sock, session, welcome, endpoint, family)
