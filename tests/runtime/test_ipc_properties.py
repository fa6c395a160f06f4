"""Property tests of the framing: round trips at any chunking, any tampered byte rejected."""

from __future__ import annotations

from typing import Any, List

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lute.execution.ipc import LUTE_SIGNALS, IPCError, Message, _handshake, _wire

SETTINGS = settings(
    max_examples=60,
    deadline=None,  # the machine is shared: no timing in tests
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

contents = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=50),
    st.binary(max_size=3000),
    st.lists(st.floats(allow_nan=False), max_size=20),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=5),
    # crosses SMALL_PICKLE: its own MESSAGE frame, bigger than the small test buffer
    st.integers(min_value=60_000, max_value=140_000).map(lambda n: b"L" * n),
)
messages = st.lists(st.builds(Message, contents, st.sampled_from(("", *LUTE_SIGNALS))), max_size=25)
chunkings = st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=10)
buffer_sizes = st.sampled_from([70_000, 1 << 20])


@SETTINGS
@given(batch=messages, chunks=chunkings, buffer_size=buffer_sizes)
def test_round_trip_at_any_chunk_boundaries(
    record_stream: Any, batch: List[Message], chunks: List[int], buffer_size: int
) -> None:
    recording = record_stream(batch)
    replay = recording.replay(buffer_size)
    replay.feed(recording.hello + recording.stream, chunks)
    assert replay.delivered == [*batch, "GOODBYE"]
    assert replay.reader.truncation() is None


@SETTINGS
@given(
    batch=messages,
    chunks=chunkings,
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    bit=st.integers(min_value=0, max_value=7),
)
def test_any_tampered_byte_is_rejected(
    record_stream: Any, batch: List[Message], chunks: List[int], where: float, bit: int
) -> None:
    recording = record_stream(batch)
    stream = bytearray(recording.stream)
    position = int(where * len(stream))
    stream[position] ^= 1 << bit
    replay = recording.replay(70_000)
    replay.feed(recording.hello, [1 << 20])
    try:
        replay.feed(bytes(stream), chunks)
    except IPCError:
        pass  # rejected while reading
    else:
        # nothing raised: the damage must leave the stream cut short (a longer length)
        assert replay.reader.truncation() is not None
    # whatever came out is an untouched prefix of what was sent: the tampered frame never is
    expected = [*batch, "GOODBYE"]
    assert replay.delivered == expected[: len(replay.delivered)]
    assert len(replay.delivered) < len(expected)


@SETTINGS
@given(where=st.floats(min_value=0, max_value=1, exclude_max=True), bit=st.integers(0, 7))
def test_any_tampered_hello_byte_is_rejected(record_stream: Any, where: float, bit: int) -> None:
    recording = record_stream([])
    hello = bytearray(recording.hello)
    hello[int(where * len(hello))] ^= 1 << bit
    header = _wire.read_header(bytes(hello)) if hello[:2] == _wire.MAGIC else None
    if header is None or header[3] != len(hello) - _wire.HEADER_SIZE - _wire.TAG_SIZE:
        return  # bad magic or a changed length: the FrameReader tests cover those
    end = _wire.HEADER_SIZE + header[3]
    with pytest.raises((_handshake.Rejected, IPCError)):
        _handshake.answer_hello(
            recording.key,
            header,
            bytes(hello[_wire.HEADER_SIZE : end]),
            bytes(hello[end:]),
            peer_id=1,
            max_frame=1 << 20,
            hello_reply_json="{}",
        )


@SETTINGS
@given(payload=st.binary(max_size=2000), size=st.integers(min_value=0, max_value=200_000))
def test_batch_and_message_bodies_round_trip(payload: bytes, size: int) -> None:
    pickles = [payload, payload[::-1], b""]
    body = _wire.encode_batch(pickles)
    assert [bytes(p) for p in _wire.split_batch(memoryview(body), 3)] == pickles
    buffers = [memoryview(bytes(size)), memoryview(payload)]
    count, parts, length = _wire.message_body([payload], len(payload), buffers, 64)
    joined = b"".join(bytes(p) for p in parts)
    assert len(joined) == length
    stream, views = _wire.split_message(memoryview(joined), count, 64)
    assert bytes(stream) == payload and [bytes(v) for v in views] == [bytes(size), payload]
