"""Peers written by hand on raw sockets, to send a Listener what no Communicator would."""

from __future__ import annotations

import socket
from typing import Any, Sequence, Tuple

from lute.execution.ipc import Listener, _handshake, _wire
from lute.execution.ipc._address import parse_address


def raw_connect(listener: Listener, timeout: float = 30.0) -> socket.socket:
    """A plain connection to the Listener's stdlib endpoint."""
    family, where, port = parse_address("address", listener.task_environment()["LUTE_IPC_ADDRESS"])
    if family == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(where)
    else:
        sock = socket.create_connection((where, port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def recv_frame(sock: socket.socket) -> Tuple[Tuple[int, int, int, int], bytes, bytes]:
    """Read one whole frame: ``(header, body, tag)``."""

    def exact(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise EOFError("closed after %d of %d bytes" % (len(data), size))
            data += chunk
        return data

    header = _wire.read_header(exact(_wire.HEADER_SIZE))
    rest = exact(header[3] + _wire.TAG_SIZE)
    return header, rest[: header[3]], rest[header[3] :]


def raw_handshake(listener: Listener, rank: int = 9) -> Tuple[socket.socket, Any]:
    """Connect and complete a valid handshake by hand; returns the socket and session."""
    sock = raw_connect(listener)
    hello, nonce = _handshake.make_hello(listener.key, rank=rank)
    sock.sendall(hello)
    session, _ = _handshake.read_reply(listener.key, *recv_frame(sock), nonce, "raw")
    return sock, session


def signed_frame(
    session: Any, kind: int, count: int, body: bytes, *, tamper: bool = False
) -> bytes:
    """A frame tagged with the session's next sequence number (optionally spoiled)."""
    header = _wire.pack_header(kind, count, len(body))
    tag = bytearray(_wire.seal(session.tx.next(), [header, body]))
    if tamper:
        tag[0] ^= 1
    return header + body + bytes(tag)


def batch_frame(session: Any, pickles: Sequence[bytes], *, tamper: bool = False) -> bytes:
    """A BATCH frame holding ``pickles``."""
    body = _wire.encode_batch(pickles)
    return signed_frame(session, _wire.BATCH, len(pickles), body, tamper=tamper)


def send_quietly(sock: socket.socket, data: bytes) -> bool:
    """Send ``data``; False when the Listener has already closed the connection."""
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True
