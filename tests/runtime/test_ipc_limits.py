"""What strangers can cost a Listener: log lines, descriptors, memory, its thread.

Errors about connections that are not a Task's are reported rate-limited; connections
without a valid HELLO have a deadline and a cap; an unexpected error while handling one
connection closes that connection only; a replayed HELLO is refused.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import types
from typing import Any, Callable, List

import pytest

from lute.execution.ipc import AuthenticationError, Listener, _handshake, _peer, _wire, new_key
from lute.execution.ipc._socket_listener import SocketEndpoint
from tests.runtime.raw_peer import batch_frame, raw_connect, raw_handshake, recv_frame

WAIT = 60.0
GOOD_TASK = (
    "from lute.execution.ipc import *\nwith connect(timeout=60) as c: c.send(Message('ok'))\n"
)
HELD = re.compile(r"(\d+) more errors from connections that are not a Task's")


def still_serves(listener: Listener, inbox: Any, tasks: types.SimpleNamespace) -> None:
    """A well-behaved Task in a subprocess still gets through."""
    before = len(inbox.contents())
    tasks.check_ok(tasks.run(GOOD_TASK, tasks.env(listener)))
    assert inbox.wait(lambda box: len(box.contents()) > before)
    assert inbox.contents()[-1] == "ok"
    thread = listener._thread
    assert thread is not None and thread.is_alive()


def bad_connections(listener: Listener, count: int, threads: int = 4) -> None:
    """``count`` connections that each send 16 bytes that are not a LUTE frame."""

    def run(share: int) -> None:
        sent = 0
        while sent < share:
            try:
                sock = raw_connect(listener)
            except BlockingIOError:  # the listen backlog is full: let the Listener catch up
                time.sleep(0.001)
                continue
            with sock:
                sock.sendall(b"GET / HTTP/1.0\r\n")
            sent += 1

    workers = [threading.Thread(target=run, args=(count // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)


def test_ten_thousand_bad_frames_do_not_make_ten_thousand_lines(
    caplog: pytest.LogCaptureFixture, inbox: Any, tasks: types.SimpleNamespace
) -> None:
    listener = Listener(new_key(), hello_reply={}, on_message=inbox.on_message, zmq=False)
    with caplog.at_level(logging.WARNING, logger="lute.execution.ipc"), listener:
        bad_connections(listener, 10_000)
        assert listener.wait_idle(WAIT)
        still_serves(listener, inbox, tasks)
    lines = [r.getMessage() for r in caplog.records if r.name == "lute.execution.ipc"]
    assert len(lines) <= 3 * _peer.REPORT_BURST, lines[:20]
    held = sum(int(m.group(1)) for m in map(HELD.search, lines) if m)
    assert len(lines) - sum(1 for line in lines if HELD.search(line)) + held == 10_000


def test_held_back_errors_are_counted_per_interval(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_peer, "REPORT_INTERVAL", 0.3)
    listener = make_listener()
    for _ in range(4):
        bad_connections(listener, 400)
        assert tasks.wait_until(lambda: not listener._endpoint.connections)
        threading.Event().wait(0.4)  # the interval ends: its count is reported
    still_serves(listener, inbox, tasks)
    listener.close()  # the count of the interval still open is reported too
    texts = [str(error) for _, error in inbox.errors]
    summaries = [int(m.group(1)) for m in map(HELD.search, texts) if m]
    assert len(summaries) >= 3  # one per interval with errors held back
    assert len(texts) - len(summaries) + sum(summaries) == 1600, sorted(set(t[:60] for t in texts))


def test_half_open_connections_are_capped_in_the_handoff_window(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace
) -> None:
    listener = make_listener(hello_reply=None)
    listener.max_unverified = 8
    task = tasks.spawn(GOOD_TASK, tasks.env(listener))
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
    silent: List[socket.socket] = [raw_connect(listener) for _ in range(40)]
    try:
        assert tasks.wait_until(lambda: inbox.wait(lambda box: len(box.errors) >= 5, 0.1))
        assert tasks.wait_until(lambda: len(listener._endpoint.connections) <= 8 + 1)
        assert len(listener._endpoint.unverified) <= 8
        dropped = 0
        for sock in silent[:32]:  # the oldest went first
            sock.settimeout(WAIT)
            dropped += sock.recv(1) == b""
        assert dropped == 32
        assert "without a valid HELLO at once; dropped the oldest" in inbox.error_text()
        assert task.poll() is None  # the Task, authenticated, still waits
        listener.set_hello_reply({"task_name": "Late"})
        _out, err = task.communicate(timeout=WAIT)
        assert task.returncode == 0, err
        assert inbox.wait(lambda box: box.contents() == ["ok"])
    finally:
        for sock in silent:
            sock.close()


def test_half_open_connections_have_a_deadline_in_the_handoff_window(
    make_listener: Callable[..., Listener], inbox: Any, tasks: types.SimpleNamespace
) -> None:
    listener = make_listener(hello_reply=None)
    listener.handshake_timeout = 0.5
    task = tasks.spawn(GOOD_TASK, tasks.env(listener))
    assert tasks.wait_until(lambda: len(listener._endpoint.waiting) == 1)
    silent = [raw_connect(listener) for _ in range(5)]
    for sock in silent:
        with sock:
            assert sock.recv(1) == b""  # dropped once the deadline passed
    assert "no complete HELLO within 0.5s" in inbox.error_text()
    threading.Event().wait(1.0)
    assert task.poll() is None and len(listener._endpoint.waiting) == 1  # no deadline
    listener.set_hello_reply({"task_name": "Late"})
    assert task.wait(timeout=WAIT) == 0


def test_an_unexpected_error_closes_only_its_connection(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    split_batch = _wire.split_batch

    def fragile(body: memoryview, count: int) -> Any:
        if b"boom" in bytes(body):
            raise KeyError("a case nobody thought of")
        return split_batch(body, count)

    monkeypatch.setattr(_wire, "split_batch", fragile)
    listener = make_listener()
    sock, session = raw_handshake(listener)
    with sock:
        sock.sendall(batch_frame(session, [b"boom"]))
        assert sock.recv(1) == b""  # this connection, and only it, was closed
    assert inbox.wait(lambda box: box.errors)
    peer, error = inbox.errors[0]
    assert peer is not None and peer.rank == 9
    assert "unexpected KeyError while handling a connection" in str(error)
    still_serves(listener, inbox, tasks)


def test_an_unexpected_error_in_the_loop_does_not_end_the_thread(
    make_listener: Callable[..., Listener],
    inbox: Any,
    tasks: types.SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = SocketEndpoint.check_deadlines
    calls = []

    def once(self: SocketEndpoint, now: float) -> None:
        calls.append(now)
        if len(calls) == 2:
            raise RuntimeError("broken once")
        original(self, now)

    monkeypatch.setattr(SocketEndpoint, "check_deadlines", once)
    listener = make_listener()
    assert inbox.wait(lambda box: box.errors, timeout=WAIT)
    assert "unexpected RuntimeError in the IPC listener (broken once); it carries on" in (
        inbox.error_text()
    )
    still_serves(listener, inbox, tasks)


def test_a_replayed_hello_is_refused(make_listener: Callable[..., Listener], inbox: Any) -> None:
    listener = make_listener()
    hello, nonce = _handshake.make_hello(listener.key, rank=3)
    with raw_connect(listener) as first:
        first.sendall(hello)
        _handshake.read_reply(listener.key, *recv_frame(first), nonce, "raw")
        with raw_connect(listener) as second:  # the same bytes, seen on the network
            second.sendall(hello)
            header, body, _ = recv_frame(second)
    assert header[1] == _wire.REJECT and b"replayed" in body
    assert [p.rank for p in listener.peers] == [3]
    assert any(isinstance(e, AuthenticationError) for _, e in inbox.errors)
