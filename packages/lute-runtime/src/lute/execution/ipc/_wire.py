"""Frames, HMAC and pickling of the LUTE IPC wire protocol (see docs/protocol.md).

Every frame is ``header (16 bytes) | body | tag (32 bytes)``. The header is
``magic "LU" | version u8 | kind u8 | count u32 | body length u64`` (network order) and
the tag is HMAC-SHA256 over ``sequence number u64 | header | body``. The sequence number
is never sent: each side counts the frames of its direction, so a dropped, replayed or
reordered frame fails verification.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
import struct
import threading
from typing import Any, List, Optional, Sequence, Tuple

from lute.execution.ipc import _protocol
from lute.execution.ipc._errors import AuthenticationError, FrameError, PayloadError
from lute.execution.ipc._protocol import Message

MAGIC = b"LU"
HEADER = struct.Struct("!2sBBIQ")
HEADER_SIZE = HEADER.size
TAG_SIZE = 32
SEQ = struct.Struct("!Q")
ENTRY = struct.Struct("!I")
SEGMENT = struct.Struct("!Q")

# Frame kinds.
HELLO = 1
WELCOME = 2
REJECT = 3
BATCH = 4
MESSAGE = 5
GOODBYE = 6
GOODBYE_ACK = 7
KIND_NAMES = {
    HELLO: "HELLO",
    WELCOME: "WELCOME",
    REJECT: "REJECT",
    BATCH: "BATCH",
    MESSAGE: "MESSAGE",
    GOODBYE: "GOODBYE",
    GOODBYE_ACK: "GOODBYE_ACK",
}

#: Body limit of frames read before the peer is authenticated (HELLO, REJECT).
HANDSHAKE_LIMIT = 1 << 16
#: Segments of a MESSAGE start at multiples of this in socket streams (numpy alignment).
SOCKET_ALIGN = 64
#: Most segments one MESSAGE may carry (the pickle stream plus out-of-band buffers).
MAX_SEGMENTS = 1 << 16
#: Pickles up to this size are coalesced into BATCH frames; larger ones get a MESSAGE.
SMALL_PICKLE = 1 << 16
#: Buffers (protocol 5 PickleBuffer) from this size travel out of band, uncopied.
OOB_MIN = 1 << 16
#: From this body size the HMAC is computed on a helper thread, beside the socket copy.
PARALLEL_MAC_MIN = 4 << 20
#: Oldest pickle protocol either side may use.
MIN_PICKLE_PROTOCOL = 4


def kind_name(kind: int) -> str:
    """Printable name of a frame kind."""
    return KIND_NAMES.get(kind, "unknown kind %d" % kind)


def pack_header(kind: int, count: int, length: int, version: Optional[int] = None) -> bytes:
    """Encode a frame header (``version`` defaults to the running protocol version)."""
    return HEADER.pack(
        MAGIC, _protocol.PROTOCOL_VERSION if version is None else version, kind, count, length
    )


def read_header(data: Any, offset: int = 0) -> Tuple[int, int, int, int]:
    """Decode a header into ``(version, kind, count, length)``.

    Raises:
        FrameError: The magic bytes are wrong (not a LUTE IPC stream).
    """
    magic, version, kind, count, length = HEADER.unpack_from(data, offset)
    if magic != MAGIC:
        raise FrameError(
            "not a LUTE IPC frame: expected magic %r, got %r"
            % (MAGIC, bytes(data[offset : offset + HEADER_SIZE]))
        )
    return version, kind, count, length


class MacStream:
    """HMAC-SHA256 state of one direction of a connection, with its sequence number."""

    __slots__ = ("_base", "seq")

    def __init__(self, key: bytes, seq: int = 0) -> None:
        self._base = hmac.new(key, digestmod=hashlib.sha256)
        self.seq = seq

    def next(self) -> Any:
        """A fresh HMAC already fed with the next sequence number (consumes it)."""
        mac = self._base.copy()
        mac.update(SEQ.pack(self.seq))
        self.seq += 1
        return mac


def derive_key(key: bytes, direction: bytes, task_nonce: bytes, listener_nonce: bytes) -> bytes:
    """Session key of one direction, bound to both handshake nonces."""
    material = b"lute-ipc/1 " + direction + b"\0" + task_nonce + listener_nonce
    return hmac.new(key, material, hashlib.sha256).digest()


def seal(mac: Any, parts: Sequence[Any]) -> bytes:
    """Feed ``parts`` to ``mac`` and return the tag."""
    for part in parts:
        mac.update(part)
    return mac.digest()


def check_tag(mac: Any, tag: Any, what: str) -> None:
    """Compare a finished HMAC with the received tag.

    Raises:
        AuthenticationError: The tags differ (wrong key, tampering, lost frame).
    """
    if not hmac.compare_digest(mac.digest(), tag):
        raise AuthenticationError(
            "HMAC mismatch on %s: wrong key, or the frame was altered, lost or replayed" % what
        )


class ParallelMac:
    """Feeds an HMAC on a helper thread so hashing overlaps the socket copy.

    hashlib releases the GIL for large updates, so the copy and the hash run on two
    cores. Chunks must stay unchanged until :meth:`digest` returns.
    """

    def __init__(self, mac: Any) -> None:
        import queue

        self._mac = mac
        self._queue: Any = queue.SimpleQueue()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="lute-ipc-hmac", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                chunk = self._queue.get()
                if chunk is None:
                    return
                self._mac.update(chunk)
        except BaseException as error:  # surfaced by digest()
            self._error = error

    def feed(self, chunk: Any) -> None:
        """Queue ``chunk`` for hashing."""
        self._queue.put(chunk)

    def digest(self) -> bytes:
        """Wait for every queued chunk and return the tag."""
        self._queue.put(None)
        while self._thread.is_alive():
            self._thread.join(1.0)  # bounded by CPU time; re-check instead of waiting blindly
        if self._error is not None:
            raise self._error
        return self._mac.digest()


# --- pickling ----------------------------------------------------------------------------


class MessagePickler:
    """Pickles Messages for the wire, reusing one ``pickle.Pickler`` (not thread-safe).

    The pickler writes into this object rather than into a bytes result: the C pickler
    hands large bytes payloads to :meth:`write` as the original objects, so a big
    ``bytes`` inside a message is sent from its own memory. With protocol 5, buffers of
    at least :data:`OOB_MIN` bytes (numpy arrays...) are kept out of band, uncopied.

    Args:
        protocol: Pickle protocol agreed in the handshake.
        out_of_band: Whether the peer accepts out-of-band buffers.
    """

    def __init__(self, protocol: int, out_of_band: bool) -> None:
        self._parts: List[Any] = []
        self._size = 0
        self._buffers: List[Any] = []
        if out_of_band:
            self._pickler = pickle.Pickler(self, protocol, buffer_callback=self._keep)
        else:
            self._pickler = pickle.Pickler(self, protocol)

    def write(self, data: Any) -> int:
        """File protocol for the pickler: keep the piece as it is."""
        if type(data) is not bytes:
            view = memoryview(data)
            if view.ndim != 1 or view.format != "B":
                view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
            data = view
        self._parts.append(data)
        self._size += len(data)
        return len(data)

    def _keep(self, buffer: Any) -> bool:
        try:
            view = buffer.raw()
        except BufferError:  # not contiguous: let pickle serialize it in band
            return True
        if view.nbytes < OOB_MIN:
            return True
        self._buffers.append(view)
        return False

    def dump(self, msg: Message) -> Tuple[List[Any], int, List[Any]]:
        """Pickle ``msg``.

        Returns:
            ``(stream_parts, stream_size, buffers)``: the pickle stream in pieces, its
            size, and the out-of-band buffers (1-D byte memoryviews) it refers to.
        """
        self._parts = []
        self._size = 0
        self._buffers = []
        self._pickler.clear_memo()
        try:
            self._pickler.dump(msg)
            return self._parts, self._size, self._buffers
        finally:
            # drop references at once: they may pin large user buffers
            self._parts = []
            self._buffers = []


def dump_message(
    msg: Message, protocol: int, out_of_band: bool
) -> Tuple[List[Any], int, List[Any]]:
    """Pickle ``msg`` once (see :class:`MessagePickler`)."""
    return MessagePickler(protocol, out_of_band).dump(msg)


def load_message(
    stream: Any, buffers: Optional[Sequence[Any]] = None, *, copy: bool = True
) -> Message:
    """Unpickle an authenticated payload into a :class:`Message`.

    Args:
        stream: The pickle stream.
        buffers: Its out-of-band buffers.
        copy: Whether an undecodable message must copy its bytes to keep them (False
            when they live in a buffer of their own, not in a reused receive buffer).

    Raises:
        UndecodableMessage: Unpickling failed (e.g. a module missing here); it holds the
            bytes, the missing module and the signal.
        PayloadError: The object is not a Message.
    """
    try:
        obj = pickle.loads(stream, buffers=buffers)
    except Exception as error:
        from lute.execution.ipc._undecodable import undecodable  # only on this error path

        raise undecodable(stream, buffers or (), error, copy=copy) from error
    if not isinstance(obj, Message):
        raise PayloadError("expected a lute Message, got %s" % type(obj).__name__)
    return obj


# --- frame bodies ------------------------------------------------------------------------


def split_batch(view: memoryview, count: int) -> List[memoryview]:
    """Split a BATCH body (``count`` entries of ``u32 length | pickle``) into its pickles.

    Raises:
        FrameError: The entries do not exactly fill the body.
    """
    out = []
    pos = 0
    end = len(view)
    unpack = ENTRY.unpack_from
    for index in range(count):
        if pos + 4 > end:
            raise FrameError("BATCH entry %d of %d runs past the frame body" % (index, count))
        (size,) = unpack(view, pos)
        pos += 4
        if pos + size > end:
            raise FrameError("BATCH entry %d of %d runs past the frame body" % (index, count))
        out.append(view[pos : pos + size])
        pos += size
    if pos != end:
        raise FrameError("BATCH frame has %d bytes after its %d entries" % (end - pos, count))
    return out


def encode_batch(pickles: Sequence[bytes]) -> bytes:
    """Body of a BATCH frame holding ``pickles`` (used by tests and tools)."""
    return b"".join(ENTRY.pack(len(item)) + item for item in pickles)


def _align(pos: int, align: int) -> int:
    return (pos + align - 1) // align * align


def message_offsets(lengths: Sequence[int], align: int) -> Tuple[List[int], int]:
    """Where each segment of a MESSAGE body starts, and the body length."""
    pos = SEGMENT.size * len(lengths)
    offsets = []
    for size in lengths:
        pos = _align(pos, align)
        offsets.append(pos)
        pos += size
    return offsets, pos


def message_body(
    stream_parts: Sequence[Any], stream_size: int, buffers: Sequence[Any], align: int
) -> Tuple[int, List[Any], int]:
    """Lay out a MESSAGE body: segment table, then the pickle and each buffer, aligned.

    Returns:
        ``(count, body_parts, body_size)`` where ``count`` is the number of segments.
    """
    lengths = [stream_size] + [buffer.nbytes for buffer in buffers]
    offsets, size = message_offsets(lengths, align)
    parts: List[Any] = [struct.pack("!%dQ" % len(lengths), *lengths)]
    pos = SEGMENT.size * len(lengths)
    for index, offset in enumerate(offsets):
        if offset > pos:
            parts.append(bytes(offset - pos))
        if index == 0:
            parts.extend(stream_parts)
        else:
            parts.append(buffers[index - 1])
        pos = offset + lengths[index]
    return len(lengths), parts, size


def split_message(view: memoryview, count: int, align: int) -> Tuple[memoryview, List[memoryview]]:
    """Split a MESSAGE body into the pickle stream and its out-of-band buffers.

    Raises:
        FrameError: The segment table does not describe the body exactly.
    """
    table = SEGMENT.size * count
    if not 1 <= count <= MAX_SEGMENTS or table > len(view):
        raise FrameError("MESSAGE frame with an impossible segment count %d" % count)
    lengths = struct.unpack_from("!%dQ" % count, view, 0)
    offsets, size = message_offsets(lengths, align)
    if size != len(view):
        raise FrameError(
            "MESSAGE segment table describes %d bytes but the body has %d" % (size, len(view))
        )
    segments = [view[offset : offset + n] for offset, n in zip(offsets, lengths)]
    return segments[0], segments[1:]
