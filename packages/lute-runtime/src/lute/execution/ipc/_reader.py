"""Incremental, socket-free parser of the Task→Listener byte stream.

The owner receives straight into :meth:`FrameReader.writable` (``recv_into``) and calls
:meth:`FrameReader.feed` with the byte count. Small frames are parsed and verified in
place in one receive buffer; a MESSAGE frame, or any frame larger than that buffer, is
received into a buffer of its own, whose slices become the out-of-band buffers of the
unpickled objects (no copy), while its HMAC is computed as the bytes arrive (on a helper
thread for large frames, overlapping the socket copy).
"""

from __future__ import annotations

import hmac
from typing import Any, Callable, Optional, Tuple

from lute.execution.ipc import _protocol, _wire
from lute.execution.ipc._errors import AuthenticationError, FrameError, ProtocolError
from lute.execution.ipc._handshake import Session

#: Receive buffer of a new connection; frames up to its size are handled in place.
RECV_BUFFER = 128 << 10
#: The buffer doubles, up to this size, while receives keep filling it (busy peers).
MAX_RECV_BUFFER = 1 << 20
#: A large frame is fed to its HMAC in chunks of at least this size.
MAC_CHUNK = 4 << 20
#: Frames from this size are received into an anonymous mmap instead of a bytearray.
MMAP_MIN = 1 << 20
#: Frame buffers from this size ask for transparent huge pages (2 MiB each on x86-64).
HUGE_PAGES_MIN = 4 << 20

Header = Tuple[int, int, int, int]
#: ``on_hello(header, body, tag)``: body and tag are None when the header alone decides.
HelloHandler = Callable[[Header, Any, Any], None]
#: ``on_frame(kind, count, body)`` for every authenticated BATCH/MESSAGE/GOODBYE frame.
FrameHandler = Callable[[int, int, memoryview], None]


def _allocate(size: int) -> Any:
    """A writable buffer for one frame.

    Big buffers come from an anonymous mmap: the kernel hands out zeroed pages as
    ``recv_into`` first touches them (with the GIL released), instead of a separate
    zero-filling pass over the whole buffer, as ``bytearray(size)`` does, before the
    first byte can be received.
    """
    if size < MMAP_MIN:
        return bytearray(size)
    import mmap

    # Private: Python's default for anonymous maps is MAP_SHARED, whose pages live in
    # shared memory (tmpfs) and cost noticeably more to fault in than private ones.
    private = getattr(mmap, "MAP_PRIVATE", None)  # POSIX only
    buffer = mmap.mmap(-1, size) if private is None else mmap.mmap(-1, size, flags=private)
    huge = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux, Python >= 3.8
    if huge is not None and private is not None and size >= HUGE_PAGES_MIN:
        try:
            # Transparent huge pages where the system allows them ("madvise" mode): one
            # fault per 2 MiB instead of per 4 KiB, as numpy asks for its own arrays.
            buffer.madvise(huge)
        except OSError:  # THP disabled: small pages, as without the advice
            pass
    return buffer


class _LargeFrame:
    """A frame being received into a buffer of its own (body, then tag)."""

    __slots__ = ("body", "count", "hashed", "hasher", "kind", "length", "pos", "view")

    def __init__(self, kind: int, count: int, length: int, hasher: Any) -> None:
        self.kind = kind
        self.count = count
        self.length = length
        self.body = _allocate(length + _wire.TAG_SIZE)
        self.view = memoryview(self.body)
        self.pos = 0
        self.hashed = 0
        self.hasher = hasher


class FrameReader:
    """Splits a received byte stream into verified frames.

    Args:
        on_hello: Called with the first frame; it must set :attr:`session` (accept) or
            raise (reject).
        on_frame: Called with each later frame after its HMAC has been verified.
        buffer_size: Initial receive buffer size (small values exercise the large-frame
            path); it grows up to ``max_buffer_size`` while receives fill it.
        max_buffer_size: Largest receive buffer (default: at least ``buffer_size``).

    Handlers and :meth:`feed` raise :class:`~lute.execution.ipc.IPCError` subclasses for
    anything wrong with the stream; the connection should then be dropped.
    """

    def __init__(
        self,
        on_hello: HelloHandler,
        on_frame: FrameHandler,
        buffer_size: int = RECV_BUFFER,
        max_buffer_size: int = MAX_RECV_BUFFER,
    ) -> None:
        if buffer_size < _wire.HANDSHAKE_LIMIT + _wire.HEADER_SIZE + _wire.TAG_SIZE:
            raise ValueError("buffer_size must hold a whole handshake frame")
        self._on_hello = on_hello
        self._on_frame = on_frame
        # Small at first: an Executor may serve hundreds of ranks, most of them quiet.
        self._buf = bytearray(buffer_size)
        self._view = memoryview(self._buf)
        self._max_size = max(buffer_size, max_buffer_size)
        self._offered = 0
        self._grow = False
        self._start = 0
        self._end = 0
        self._large: Optional[_LargeFrame] = None
        self.session: Optional[Session] = None
        #: Set by ``on_hello`` to answer later (the hand-off is not ready yet).
        self.hello_pending = False
        self.received = 0

    def writable(self) -> memoryview:
        """Where the next received bytes go (pass to ``recv_into``)."""
        large = self._large
        if large is not None:
            return large.view[large.pos :]
        pending = self._end - self._start
        if self._grow:
            self._grow = False
            bigger = bytearray(min(2 * len(self._buf), self._max_size))
            bigger[:pending] = self._view[self._start : self._end]
            self._buf = bigger
            self._view = memoryview(bigger)
            self._start, self._end = 0, pending
        elif self._start > 0 and len(self._buf) - self._end < len(self._buf) // 4:
            # memoryview assignment copies with memmove, so the overlap is safe
            self._view[:pending] = self._view[self._start : self._end]
            self._start, self._end = 0, pending
        view = self._view[self._end :]
        self._offered = len(view)
        return view

    def feed(self, count: int) -> None:
        """Account for ``count`` bytes written into :meth:`writable` and parse them."""
        self.received += count
        large = self._large
        if large is not None:
            large.pos += count
            self._advance_large()
            if self._large is None and self._end > self._start:
                self._parse()
            return
        self._end += count
        if count == self._offered and len(self._buf) < self._max_size:
            self._grow = True  # the peer had more to give than we could take
        self._parse()

    def truncation(self) -> Optional[str]:
        """Describe a frame cut short by end of stream, or None at a frame boundary."""
        large = self._large
        if large is not None:
            return "%d of the %d bytes of a %s frame" % (
                large.pos + _wire.HEADER_SIZE,
                large.length + _wire.HEADER_SIZE + _wire.TAG_SIZE,
                _wire.kind_name(large.kind),
            )
        pending = self._end - self._start
        if not pending:
            return None
        if pending < _wire.HEADER_SIZE:
            return "%d bytes of a frame header" % pending
        _, kind, _, length = _wire.read_header(self._view, self._start)
        return "%d of the %d bytes of a %s frame" % (
            pending,
            _wire.HEADER_SIZE + length + _wire.TAG_SIZE,
            _wire.kind_name(kind),
        )

    # -- internals ------------------------------------------------------------------------

    def _parse(self) -> None:
        view = self._view
        if self.hello_pending and self._end > self._start:
            raise ProtocolError("the Task sent data before its handshake was answered")
        while self._end - self._start >= _wire.HEADER_SIZE:
            start = self._start
            header = _wire.read_header(view, start)
            self._check_header(header)
            length = header[3]
            total = _wire.HEADER_SIZE + length + _wire.TAG_SIZE
            if self.session is not None and (header[1] == _wire.MESSAGE or total > len(self._buf)):
                self._begin_large(header)
                if self._large is not None:
                    return  # the rest of the frame is read straight into its own buffer
                continue
            if self._end - start < total:
                return
            self._start = start + total
            body_end = start + _wire.HEADER_SIZE + length
            body = view[start + _wire.HEADER_SIZE : body_end]
            tag = view[body_end : start + total]
            if self.session is None:
                self._on_hello(header, body, tag)
                if self.session is None:
                    if self.hello_pending:
                        return  # answered later; nothing may follow until then
                    raise ProtocolError("the handshake was not accepted")  # pragma: no cover
                continue
            mac = self.session.rx.next()
            mac.update(view[start:body_end])
            _wire.check_tag(mac, tag, "a %s frame" % _wire.kind_name(header[1]))
            self._on_frame(header[1], header[2], body)
        if self._start == self._end:
            self._start = self._end = 0

    def _check_header(self, header: Header) -> None:
        version, kind, count, length = header
        if self.session is None:
            if version != _protocol.PROTOCOL_VERSION or kind != _wire.HELLO:
                self._on_hello(header, None, None)  # rejects on the header alone
                raise ProtocolError("the handshake was not accepted")  # pragma: no cover
            if length > _wire.HANDSHAKE_LIMIT:
                raise FrameError(
                    "HELLO of %d bytes exceeds the handshake limit of %d bytes"
                    % (length, _wire.HANDSHAKE_LIMIT)
                )
            return
        if version != _protocol.PROTOCOL_VERSION:
            raise FrameError(
                "frame of protocol version %d on a version %d connection"
                % (version, _protocol.PROTOCOL_VERSION)
            )
        if kind not in (_wire.BATCH, _wire.MESSAGE, _wire.GOODBYE):
            raise ProtocolError("unexpected %s frame from a Task" % _wire.kind_name(kind))
        if length > self.session.max_frame:
            raise FrameError(
                "frame header claims %d bytes, more than the limit of %d bytes "
                "(LUTE_IPC_MAX_FRAME)" % (length, self.session.max_frame)
            )
        if kind == _wire.MESSAGE and not 1 <= count <= _wire.MAX_SEGMENTS:
            raise FrameError("MESSAGE frame with an impossible segment count %d" % count)

    def _begin_large(self, header: Header) -> None:
        assert self.session is not None
        _, kind, count, length = header
        mac = self.session.rx.next()
        mac.update(self._view[self._start : self._start + _wire.HEADER_SIZE])
        hasher = _wire.ParallelMac(mac) if length >= _wire.PARALLEL_MAC_MIN else mac
        large = _LargeFrame(kind, count, length, hasher)
        self._start += _wire.HEADER_SIZE
        have = min(self._end - self._start, length + _wire.TAG_SIZE)
        large.view[:have] = self._view[self._start : self._start + have]
        large.pos = have
        self._start += have
        if self._start == self._end:
            self._start = self._end = 0
        self._large = large
        self._advance_large()

    def _advance_large(self) -> None:
        large = self._large
        assert large is not None
        ready = min(large.pos, large.length)
        if ready - large.hashed >= MAC_CHUNK or ready == large.length > large.hashed:
            chunk = large.view[large.hashed : ready]
            if isinstance(large.hasher, _wire.ParallelMac):
                large.hasher.feed(chunk)
            else:
                large.hasher.update(chunk)
            large.hashed = ready
        if large.pos < large.length + _wire.TAG_SIZE:
            return
        self._large = None
        if not hmac.compare_digest(large.hasher.digest(), large.view[large.length :]):
            raise AuthenticationError(
                "HMAC mismatch on a %s frame of %d bytes: wrong key, or the frame was "
                "altered, lost or replayed" % (_wire.kind_name(large.kind), large.length)
            )
        self._on_frame(large.kind, large.count, large.view[: large.length])
