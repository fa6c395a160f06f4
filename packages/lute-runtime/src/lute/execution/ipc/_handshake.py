"""The versioned, authenticated handshake: HELLO from the Task, WELCOME or REJECT back.

Both handshake frames are tagged with the run key and sequence number 0. Each side adds a
random nonce; the keys of the connection are derived from the run key and both nonces,
so frames recorded from one connection are worthless on another.
"""

from __future__ import annotations

import binascii
import json
import os
import pickle
import socket
import sys
from typing import Any, Dict, Optional, Set, Tuple

from lute.execution.ipc import _protocol, _wire
from lute.execution.ipc._errors import AuthenticationError, FrameError, IPCError, ProtocolError
from lute.execution.ipc._protocol import ENV_KEY

NONCE_BYTES = 16

# REJECT reasons, mapped to the exception the Task side raises.
REASON_AUTH = "authentication"
REASON_PROTOCOL = "protocol"
REASON_FRAME = "frame"
_REASON_ERRORS = {
    REASON_AUTH: AuthenticationError,
    REASON_PROTOCOL: ProtocolError,
    REASON_FRAME: FrameError,
}


class Session:
    """Per-connection state agreed in the handshake."""

    __slots__ = ("max_frame", "out_of_band", "pickle_protocol", "rx", "tx")

    def __init__(
        self,
        tx: _wire.MacStream,
        rx: _wire.MacStream,
        pickle_protocol: int,
        out_of_band: bool,
        max_frame: int,
    ) -> None:
        self.tx = tx
        self.rx = rx
        self.pickle_protocol = pickle_protocol
        self.out_of_band = out_of_band
        self.max_frame = max_frame


class Rejected(IPCError):
    """Raised on the listener side: the handshake failed; ``reply`` is the REJECT frame."""

    def __init__(self, error: IPCError, reply: bytes) -> None:
        super().__init__(str(error))
        self.error = error
        self.reply = reply


def lute_version() -> str:
    """Version of the installed lute-runtime (cheap: no package metadata lookup)."""
    try:
        from lute.runtime_version import __version__
    except ImportError:  # pragma: no cover - only in a broken checkout
        return "unknown"
    return str(__version__)


def _frame(key: bytes, kind: int, body: bytes, version: Optional[int] = None) -> bytes:
    header = _wire.pack_header(kind, 0, len(body), version)
    return header + body + _wire.seal(_wire.MacStream(key).next(), (header, body))


def _session(
    key: bytes, task_nonce: bytes, listener_nonce: bytes, task_side: bool, **agreed: Any
) -> Session:
    to_listener = _wire.MacStream(
        _wire.derive_key(key, b"task>listener", task_nonce, listener_nonce)
    )
    to_task = _wire.MacStream(_wire.derive_key(key, b"listener>task", task_nonce, listener_nonce))
    if task_side:
        return Session(to_listener, to_task, **agreed)
    return Session(to_task, to_listener, **agreed)


def _json(body: Any, what: str) -> Dict[str, Any]:
    try:
        doc = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError("%s is not valid JSON: %s" % (what, error)) from None
    if not isinstance(doc, dict):
        raise ProtocolError("%s is not a JSON object" % what)
    return doc


def _field(doc: Dict[str, Any], name: str, kind: Any, what: str) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError("%s: field %r is missing or not %s" % (what, name, kind.__name__))
    return value


def _nonce(doc: Dict[str, Any], name: str, what: str) -> bytes:
    text = _field(doc, name, str, what)
    try:
        value = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != NONCE_BYTES:
        raise ProtocolError("%s: field %r is not a %d-byte hex nonce" % (what, name, NONCE_BYTES))
    return value


# --- Task side ---------------------------------------------------------------------------


def make_hello(key: bytes, rank: int, version: Optional[int] = None) -> Tuple[bytes, bytes]:
    """Build the Task's HELLO frame.

    Returns:
        ``(frame, task_nonce)``.
    """
    nonce = os.urandom(NONCE_BYTES)
    doc = {
        "protocol": _protocol.PROTOCOL_VERSION if version is None else version,
        "pid": os.getpid(),
        "rank": int(rank),
        "host": socket.gethostname(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "lute_version": lute_version(),
        "pickle_protocol": pickle.HIGHEST_PROTOCOL,
        "out_of_band": pickle.HIGHEST_PROTOCOL >= 5,
        "nonce": binascii.hexlify(nonce).decode("ascii"),
    }
    body = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    return _frame(key, _wire.HELLO, body, version), nonce


def read_reply(
    key: bytes,
    header: Tuple[int, int, int, int],
    body: Any,
    tag: Any,
    task_nonce: bytes,
    endpoint: str,
) -> Tuple[Session, Dict[str, Any]]:
    """Check the listener's answer to our HELLO.

    Args:
        key: The run key.
        header: ``(version, kind, count, length)`` of the reply.
        body: The reply body.
        tag: The reply tag.
        task_nonce: The nonce sent in our HELLO.
        endpoint: Address of the listener, for error messages.

    Returns:
        ``(session, welcome document)``.

    Raises:
        AuthenticationError, ProtocolError, FrameError: The handshake failed.
    """
    version, kind, _, _ = header
    if kind == _wire.REJECT:
        # REJECT bodies keep their format in every protocol version.
        try:
            doc = _json(body, "REJECT")
        except ProtocolError:
            doc = {}
        reason = doc.get("reason")
        message = doc.get("message") or "no reason given"
        error = _REASON_ERRORS.get(str(reason), IPCError)
        raise error("the Executor at %s rejected the handshake: %s" % (endpoint, message))
    if version != _protocol.PROTOCOL_VERSION:
        raise ProtocolError(
            "protocol version mismatch: the Executor at %s speaks LUTE IPC protocol %d, this "
            "Task speaks %d" % (endpoint, version, _protocol.PROTOCOL_VERSION)
        )
    if kind != _wire.WELCOME:
        raise ProtocolError("expected WELCOME from %s, got %s" % (endpoint, _wire.kind_name(kind)))
    mac = _wire.MacStream(key).next()
    mac.update(_wire.pack_header(kind, header[2], header[3], version))
    mac.update(body)
    try:
        _wire.check_tag(mac, tag, "the WELCOME frame")
    except AuthenticationError:
        raise AuthenticationError(
            "the Executor at %s answered with another key: check %s" % (endpoint, ENV_KEY)
        ) from None
    what = "WELCOME from %s" % endpoint
    doc = _json(body, what)
    if _nonce(doc, "task_nonce", what) != task_nonce:
        raise AuthenticationError("%s answers another HELLO (replayed reply?)" % what)
    agreed_pickle = _field(doc, "pickle_protocol", int, what)
    if not _wire.MIN_PICKLE_PROTOCOL <= agreed_pickle <= pickle.HIGHEST_PROTOCOL:
        raise ProtocolError("%s: unusable pickle protocol %d" % (what, agreed_pickle))
    hello_reply = doc.get("hello_reply")
    if not isinstance(hello_reply, dict):
        raise ProtocolError("%s: 'hello_reply' is not a JSON object" % what)
    _field(doc, "peer_id", int, what)
    session = _session(
        key,
        task_nonce,
        _nonce(doc, "nonce", what),
        True,
        pickle_protocol=agreed_pickle,
        out_of_band=bool(doc.get("out_of_band")) and agreed_pickle >= 5,
        max_frame=_field(doc, "max_frame_size", int, what),
    )
    return session, doc


# --- listener side -----------------------------------------------------------------------


def reject(key: bytes, reason: str, message: str) -> bytes:
    """A REJECT frame telling the Task why the handshake failed."""
    body = json.dumps(
        {"reason": reason, "message": message, "protocol": _protocol.PROTOCOL_VERSION},
        separators=(",", ":"),
    ).encode("utf-8")
    return _frame(key, _wire.REJECT, body)


class CheckedHello:
    """A HELLO that passed every check: authenticated, well-formed, a usable version.

    Attributes:
        doc: The HELLO document.
        task_nonce: The Task's nonce.
        pickle_protocol: The pickle protocol both sides can use.
        out_of_band: Whether large buffers may travel out of band.
    """

    __slots__ = ("doc", "out_of_band", "pickle_protocol", "task_nonce")

    def __init__(
        self, doc: Dict[str, Any], task_nonce: bytes, pickle_protocol: int, out_of_band: bool
    ) -> None:
        self.doc = doc
        self.task_nonce = task_nonce
        self.pickle_protocol = pickle_protocol
        self.out_of_band = out_of_band


def check_hello(
    key: bytes,
    header: Tuple[int, int, int, int],
    body: Any,
    tag: Any,
    seen: Optional[Set[bytes]] = None,
) -> CheckedHello:
    """Check a HELLO: version, kind, tag, then its document (in that order).

    Args:
        key: The run key.
        header: ``(version, kind, count, length)`` of the first frame.
        body: Its body (``None`` when not read because the header alone decides).
        tag: Its tag (``None`` likewise).
        seen: The nonces of the HELLOs accepted before: a HELLO carrying one of them is
            a replay (of a frame seen on the network) and is refused; an accepted one is
            added.

    Returns:
        What the WELCOME needs (see :func:`welcome`).

    Raises:
        Rejected: Carries the error to report and the REJECT frame to send back.
    """
    version, kind, _, length = header
    if version != _protocol.PROTOCOL_VERSION:
        claimed = ""
        if kind == _wire.HELLO and body is not None:
            try:
                claimed = " (pid %s)" % _json(body, "HELLO").get("pid")
            except ProtocolError:
                pass
        message = (
            "protocol version mismatch: the Task%s speaks LUTE IPC protocol %d, the Executor "
            "speaks %d; install matching lute-runtime versions"
            % (claimed, version, _protocol.PROTOCOL_VERSION)
        )
        raise Rejected(ProtocolError(message), reject(key, REASON_PROTOCOL, message))
    if kind != _wire.HELLO or body is None or tag is None:
        message = "expected HELLO as the first frame, got %s" % _wire.kind_name(kind)
        raise Rejected(ProtocolError(message), reject(key, REASON_PROTOCOL, message))
    mac = _wire.MacStream(key).next()
    mac.update(_wire.pack_header(kind, header[2], length, version))
    mac.update(body)
    try:
        _wire.check_tag(mac, tag, "the HELLO frame")
    except AuthenticationError:
        message = "HELLO failed authentication: the Task's %s is not this run's key" % ENV_KEY
        raise Rejected(AuthenticationError(message), reject(key, REASON_AUTH, message)) from None
    try:
        doc = _json(body, "HELLO")
        task_nonce = _nonce(doc, "nonce", "HELLO")
        for name in ("pid", "rank", "pickle_protocol"):
            _field(doc, name, int, "HELLO")
        for name in ("host", "python", "lute_version"):
            _field(doc, name, str, "HELLO")
        claimed_version = _field(doc, "protocol", int, "HELLO")
        if claimed_version != version:
            raise ProtocolError(
                "HELLO claims protocol %d in a version %d frame" % (claimed_version, version)
            )
        agreed = min(doc["pickle_protocol"], pickle.HIGHEST_PROTOCOL)
        if agreed < _wire.MIN_PICKLE_PROTOCOL:
            raise ProtocolError(
                "the Task offers pickle protocol %d; at least %d is required"
                % (doc["pickle_protocol"], _wire.MIN_PICKLE_PROTOCOL)
            )
    except ProtocolError as error:
        raise Rejected(error, reject(key, REASON_PROTOCOL, str(error))) from None
    if seen is not None:
        if task_nonce in seen:
            message = "a HELLO was replayed (its nonce was used before)"
            raise Rejected(AuthenticationError(message), reject(key, REASON_AUTH, message))
        seen.add(task_nonce)
    out_of_band = agreed >= 5 and doc.get("out_of_band") is True
    return CheckedHello(doc, task_nonce, agreed, out_of_band)


def welcome(
    key: bytes, hello: CheckedHello, *, peer_id: int, max_frame: int, hello_reply_json: str
) -> Tuple[bytes, Session]:
    """The WELCOME frame answering a checked HELLO, and the connection's session.

    Args:
        key: The run key.
        hello: What :func:`check_hello` returned.
        peer_id: Identifier given to this peer.
        max_frame: Frame limit announced to the peer.
        hello_reply_json: The Executor's ``hello_reply``, already JSON-encoded.
    """
    listener_nonce = os.urandom(NONCE_BYTES)
    head = json.dumps(
        {
            "protocol": _protocol.PROTOCOL_VERSION,
            "pickle_protocol": hello.pickle_protocol,
            "out_of_band": hello.out_of_band,
            "max_frame_size": max_frame,
            "peer_id": peer_id,
            "nonce": binascii.hexlify(listener_nonce).decode("ascii"),
            "task_nonce": binascii.hexlify(hello.task_nonce).decode("ascii"),
            # What this Executor understands beyond BASE_SIGNALS (TASK_LOG ...).
            "signals": list(_protocol.LUTE_SIGNALS),
        },
        separators=(",", ":"),
    )
    # The hello_reply was encoded once by the Listener; splice it in rather than re-encode.
    body = (head[:-1] + ',"hello_reply":' + hello_reply_json + "}").encode("utf-8")
    session = _session(
        key,
        hello.task_nonce,
        listener_nonce,
        False,
        pickle_protocol=hello.pickle_protocol,
        out_of_band=hello.out_of_band,
        max_frame=max_frame,
    )
    return _frame(key, _wire.WELCOME, body), session


def answer_hello(
    key: bytes,
    header: Tuple[int, int, int, int],
    body: Any,
    tag: Any,
    *,
    peer_id: int,
    max_frame: int,
    hello_reply_json: str,
) -> Tuple[bytes, Session, Dict[str, Any]]:
    """Check a HELLO and build the WELCOME (:func:`check_hello`, then :func:`welcome`).

    Returns:
        ``(welcome frame, session, hello document)``.

    Raises:
        Rejected: Carries the error to report and the REJECT frame to send back.
    """
    hello = check_hello(key, header, body, tag)
    reply, session = welcome(
        key, hello, peer_id=peer_id, max_frame=max_frame, hello_reply_json=hello_reply_json
    )
    return reply, session, hello.doc
