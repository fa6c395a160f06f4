"""Wire format pieces without processes: addresses, frames, handshake, FrameReader."""

from __future__ import annotations

import json
import pickle
import struct
from fractions import Fraction
from typing import Any, Tuple

import pytest

from lute.execution import ipc
from lute.execution.ipc import (
    AuthenticationError,
    FrameError,
    IPCError,
    Message,
    PayloadError,
    ProtocolError,
    _address,
    _handshake,
    _wire,
    new_key,
)

# --- addresses and environment ------------------------------------------------------------


def test_parse_addresses() -> None:
    assert _address.parse_address("X", "unix:/tmp/a/ipc") == ("unix", "/tmp/a/ipc", 0)
    assert _address.parse_address("X", "tcp:node7:5000") == ("tcp", "node7", 5000)
    assert _address.parse_address("X", "tcp:[::1]:5000") == ("tcp", "::1", 5000)
    assert _address.format_tcp("::1", 5000) == "tcp:[::1]:5000"
    assert _address.format_unix("/a/b") == "unix:/a/b"


@pytest.mark.parametrize(
    "text", ["", "unix:relative", "tcp:host", "tcp:host:0", "tcp:host:99999", "tcp::80", "udp:x:1"]
)
def test_bad_addresses_name_the_variable(text: str) -> None:
    with pytest.raises(IPCError, match="LUTE_IPC_ADDRESS"):
        _address.parse_address("LUTE_IPC_ADDRESS", text)


def test_zmq_addresses() -> None:
    assert _address.parse_zmq_address("Z", "ipc:///tmp/x") == "ipc:///tmp/x"
    assert _address.parse_zmq_address("Z", "tcp://h:1") == "tcp://h:1"
    for bad in ("ipc://", "tcp://nohostport", "unix:/x"):
        with pytest.raises(IPCError, match="Z="):
            _address.parse_zmq_address("Z", bad)


def test_keys() -> None:
    key = new_key()
    assert _address.parse_key(key.hex()) == key
    with pytest.raises(IPCError, match="LUTE_IPC_KEY is not set"):
        _address.parse_key(None)
    with pytest.raises(IPCError, match="not a hex"):
        _address.parse_key("zz" * 32)
    with pytest.raises(IPCError, match="at least 16"):
        _address.parse_key("ab" * 8 + "ab")
    with pytest.raises(TypeError, match="must be bytes"):
        _address.check_key(key.hex())
    with pytest.raises(ValueError, match="at least 16"):
        _address.check_key(b"short")


def test_max_frame_and_flags() -> None:
    assert _address.max_frame_from_env({}) == _address.DEFAULT_MAX_FRAME
    assert _address.max_frame_from_env({"LUTE_IPC_MAX_FRAME": "2000000"}) == 2_000_000
    for bad in ("abc", "10", "-5"):
        with pytest.raises(IPCError, match="LUTE_IPC_MAX_FRAME"):
            _address.max_frame_from_env({"LUTE_IPC_MAX_FRAME": bad})


# --- frames -------------------------------------------------------------------------------


def test_header_round_trip_and_bad_magic() -> None:
    header = _wire.pack_header(_wire.BATCH, 3, 1234)
    assert len(header) == _wire.HEADER_SIZE == 16
    assert _wire.read_header(header) == (ipc.PROTOCOL_VERSION, _wire.BATCH, 3, 1234)
    with pytest.raises(FrameError, match="magic"):
        _wire.read_header(b"GET / HTTP/1.1\r\n")


def test_batch_split() -> None:
    body = _wire.encode_batch([b"a", b"", b"ccc"])
    assert [bytes(p) for p in _wire.split_batch(memoryview(body), 3)] == [b"a", b"", b"ccc"]
    with pytest.raises(FrameError, match="after its 2 entries"):
        _wire.split_batch(memoryview(body), 2)
    with pytest.raises(FrameError, match="runs past"):
        _wire.split_batch(memoryview(body), 4)
    with pytest.raises(FrameError, match="runs past"):
        _wire.split_batch(memoryview(struct.pack("!I", 99) + b"x"), 1)


def test_message_layout_aligns_segments() -> None:
    buffers = [memoryview(bytes(range(7)) * 20), memoryview(b"z" * 100)]
    count, parts, size = _wire.message_body([b"stream-", b"bytes"], 12, buffers, 64)
    body = b"".join(bytes(p) for p in parts)
    assert count == 3 and len(body) == size
    stream, views = _wire.split_message(memoryview(body), count, 64)
    assert bytes(stream) == b"stream-bytes"
    assert [bytes(v) for v in views] == [bytes(b) for b in buffers]
    offsets, _ = _wire.message_offsets([12, 140, 100], 64)
    assert all(offset % 64 == 0 for offset in offsets)
    with pytest.raises(FrameError, match="describes"):
        _wire.split_message(memoryview(body + b"x"), count, 64)
    with pytest.raises(FrameError, match="segment count"):
        _wire.split_message(memoryview(body), 0, 64)


def test_load_message_errors_are_payload_errors() -> None:
    with pytest.raises(PayloadError, match="expected a lute Message, got dict"):
        _wire.load_message(pickle.dumps({"a": 1}))
    with pytest.raises(PayloadError, match="ModuleNotFoundError"):
        # a class whose module does not exist here (same-length rename keeps the pickle valid)
        _wire.load_message(
            pickle.dumps(Message(Fraction(1, 3))).replace(b"fractions", b"fractionz")
        )
    with pytest.raises(PayloadError):
        _wire.load_message(b"garbage")


def test_dump_message_sends_big_buffers_out_of_band() -> None:
    big = bytearray(b"q" * (_wire.OOB_MIN + 1))
    parts, size, buffers = _wire.dump_message(Message(pickle.PickleBuffer(big)), 5, True)
    assert len(buffers) == 1 and buffers[0].nbytes == len(big)
    assert size < 200  # the pickle stream itself stays small
    stream = b"".join(bytes(p) for p in parts)
    assert bytes(_wire.load_message(stream, buffers).contents) == big
    _, size_in_band, none = _wire.dump_message(Message(pickle.PickleBuffer(big)), 5, False)
    assert none == [] and size_in_band > len(big)


def test_dump_message_does_not_copy_large_bytes() -> None:
    big = b"b" * (1 << 20)
    parts, size, buffers = _wire.dump_message(Message(big), 5, True)
    assert buffers == [] and size > len(big)
    assert any(part is big for part in parts)  # handed to the socket as it is


# --- handshake ----------------------------------------------------------------------------


def _split(frame: bytes) -> Tuple[Tuple[int, int, int, int], bytes, bytes]:
    header = _wire.read_header(frame)
    end = _wire.HEADER_SIZE + header[3]
    return header, frame[_wire.HEADER_SIZE : end], frame[end:]


def _answer(key: bytes, hello: bytes, reply: Any = None) -> Any:
    return _handshake.answer_hello(
        key,
        *_split(hello),
        peer_id=7,
        max_frame=1 << 20,
        hello_reply_json=json.dumps(reply or {"task_name": "T"}),
    )


def test_handshake_agrees_on_everything() -> None:
    key = new_key()
    hello, nonce = _handshake.make_hello(key, rank=3)
    welcome, listener_session, doc = _answer(key, hello, {"task_name": "T", "p": [1, 2]})
    assert doc["rank"] == 3 and doc["pickle_protocol"] == pickle.HIGHEST_PROTOCOL
    session, reply = _handshake.read_reply(key, *_split(welcome), nonce, "here")
    assert reply["hello_reply"] == {"task_name": "T", "p": [1, 2]}
    assert reply["peer_id"] == 7 and reply["max_frame_size"] == 1 << 20
    assert session.pickle_protocol == listener_session.pickle_protocol == pickle.HIGHEST_PROTOCOL
    # the two directions use different keys, and each end's tx matches the other's rx
    probe = b"frame"
    assert _wire.seal(session.tx.next(), [probe]) == _wire.seal(listener_session.rx.next(), [probe])
    assert _wire.seal(session.tx.next(), [probe]) != _wire.seal(listener_session.tx.next(), [probe])


def test_wrong_key_is_rejected_with_authentication_errors_on_both_sides() -> None:
    hello, nonce = _handshake.make_hello(new_key(), rank=0)
    listener_key = new_key()
    with pytest.raises(_handshake.Rejected) as info:
        _answer(listener_key, hello)
    assert isinstance(info.value.error, AuthenticationError)
    assert "LUTE_IPC_KEY" in str(info.value.error)
    with pytest.raises(AuthenticationError, match=r"rejected the handshake.*LUTE_IPC_KEY"):
        _handshake.read_reply(new_key(), *_split(info.value.reply), nonce, "here")


def test_version_mismatch_names_both_versions_on_both_sides() -> None:
    key = new_key()
    hello, nonce = _handshake.make_hello(key, rank=0, version=ipc.PROTOCOL_VERSION + 1)
    with pytest.raises(_handshake.Rejected) as info:
        _answer(key, hello)
    error = info.value.error
    assert isinstance(error, ProtocolError)
    assert "protocol %d" % (ipc.PROTOCOL_VERSION + 1) in str(error)
    assert "speaks %d" % ipc.PROTOCOL_VERSION in str(error)
    with pytest.raises(ProtocolError, match="protocol %d" % (ipc.PROTOCOL_VERSION + 1)):
        _handshake.read_reply(key, *_split(info.value.reply), nonce, "here")


def test_task_rejects_a_welcome_of_another_version() -> None:
    key = new_key()
    hello, nonce = _handshake.make_hello(key, rank=0)
    header, body, tag = _split(_answer(key, hello)[0])
    newer = (header[0] + 1, *header[1:])
    with pytest.raises(ProtocolError, match="Executor at here speaks LUTE IPC protocol 2"):
        _handshake.read_reply(key, newer, body, tag, nonce, "here")


def test_task_rejects_a_welcome_for_another_hello() -> None:
    key = new_key()
    hello, _ = _handshake.make_hello(key, rank=0)
    _, other_nonce = _handshake.make_hello(key, rank=0)
    with pytest.raises(AuthenticationError, match="another HELLO"):
        _handshake.read_reply(key, *_split(_answer(key, hello)[0]), other_nonce, "here")


def test_welcome_signed_with_another_key() -> None:
    key = new_key()
    hello, nonce = _handshake.make_hello(key, rank=0)
    welcome = _answer(key, hello)[0]
    with pytest.raises(AuthenticationError, match="another key"):
        _handshake.read_reply(new_key(), *_split(welcome), nonce, "here")


def _signed_hello(key: bytes, **changes: Any) -> bytes:
    hello, _ = _handshake.make_hello(key, rank=0)
    doc = json.loads(_split(hello)[1])
    doc.update(changes)
    body = json.dumps(doc).encode()
    header = _wire.pack_header(_wire.HELLO, 0, len(body))
    return header + body + _wire.seal(_wire.MacStream(key).next(), [header, body])


@pytest.mark.parametrize(
    "changes, text",
    [
        ({"pickle_protocol": 3}, "pickle protocol 3"),
        ({"pid": "one"}, "'pid'"),
        ({"nonce": "00"}, "nonce"),
        ({"protocol": 9}, "claims protocol 9"),
    ],
)
def test_bad_hello_documents_are_protocol_errors(changes: Any, text: str) -> None:
    key = new_key()
    with pytest.raises(_handshake.Rejected) as info:
        _answer(key, _signed_hello(key, **changes))
    assert isinstance(info.value.error, ProtocolError) and text in str(info.value.error)


# --- FrameReader --------------------------------------------------------------------------


def test_reader_round_trip_small_and_large(record_stream: Any) -> None:
    messages = [Message(i) for i in range(1000)]
    messages += [
        Message(bytearray(200_000), "TASK_RESULT"),
        Message("after"),
        Message(b"x" * 90_000),
    ]
    recording = record_stream(messages)
    for buffer_size, chunks in ((1 << 20, [1 << 20]), (70_000, [1, 7, 4096, 50_000])):
        replay = recording.replay(buffer_size)
        replay.feed(recording.hello + recording.stream, chunks)
        assert replay.delivered == [*messages, "GOODBYE"]
        assert replay.reader.truncation() is None


def test_reader_checks_the_size_limit_from_the_header_alone(record_stream: Any) -> None:
    recording = record_stream([Message(1)])
    replay = recording.replay()
    replay.feed(recording.hello, [1 << 20])
    oversized = _wire.pack_header(_wire.BATCH, 1, (1 << 30) + 1)
    with pytest.raises(FrameError, match="claims 1073741825 bytes, more than the limit"):
        replay.feed(oversized, [len(oversized)])


def test_reader_rejects_a_replayed_frame(record_stream: Any) -> None:
    recording = record_stream([Message("once")], close=False)
    replay = recording.replay()
    with pytest.raises(AuthenticationError, match="replayed"):
        replay.feed(recording.hello + recording.stream + recording.stream, [1 << 20])
    assert replay.delivered == [Message("once")]


def test_reader_reports_truncation(record_stream: Any) -> None:
    recording = record_stream([Message("x" * 100)])
    replay = recording.replay()
    replay.feed(recording.hello + recording.stream[:30], [1 << 20])
    first_frame = len(recording.stream) - (_wire.HEADER_SIZE + _wire.TAG_SIZE)  # minus GOODBYE
    assert replay.reader.truncation() == "30 of the %d bytes of a BATCH frame" % first_frame
