"""Fixtures for the IPC tests: a Listener whose callbacks collect into an Inbox, helpers
that run Task code in real subprocesses (``tasks``), and a recorder of the exact bytes a
Communicator writes (``record_stream``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from lute.execution.ipc import (
    IPCError,
    Listener,
    Message,
    Peer,
    _handshake,
    _socket_transport,
    _wire,
    new_key,
)
from lute.execution.ipc._reader import FrameReader

RUNTIME_SRC = Path(__file__).resolve().parents[2] / "packages" / "lute-runtime" / "src"
WAIT = 30.0  # generous bound for every wait: the machine is shared, nothing may hang


class Inbox:
    """Collects what a Listener reports; every wait has a timeout."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.messages: List[Tuple[Peer, Message]] = []
        self.errors: List[Tuple[Optional[Peer], IPCError]] = []
        self.connects: List[Peer] = []
        self.threads: set = set()

    def on_message(self, peer: Peer, message: Message) -> None:
        with self.cond:
            self.threads.add(threading.current_thread().name)
            self.messages.append((peer, message))
            self.cond.notify_all()

    def on_error(self, peer: Optional[Peer], error: IPCError) -> None:
        with self.cond:
            self.errors.append((peer, error))
            self.cond.notify_all()

    def on_connect(self, peer: Peer) -> None:
        with self.cond:
            self.connects.append(peer)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[Inbox], bool], timeout: float = WAIT) -> bool:
        """Wait until ``predicate(self)`` holds; False on timeout."""
        with self.cond:
            return bool(self.cond.wait_for(lambda: bool(predicate(self)), timeout))

    def contents(self, peer_id: Optional[int] = None) -> List[Any]:
        with self.cond:
            return [m.contents for p, m in self.messages if peer_id in (None, p.peer_id)]

    def error_text(self) -> str:
        with self.cond:
            return "\n".join("%s: %s" % (type(e).__name__, e) for _, e in self.errors)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def make_listener(inbox: Inbox) -> Iterator[Callable[..., Listener]]:
    """Create started Listeners reporting into ``inbox``; all closed at teardown."""
    created: List[Listener] = []

    def make(**kwargs: Any) -> Listener:
        kwargs.setdefault("hello_reply", {"task_name": "Test", "n": 1})
        kwargs.setdefault("on_message", inbox.on_message)
        kwargs.setdefault("on_error", inbox.on_error)
        kwargs.setdefault("on_connect", inbox.on_connect)
        kwargs.setdefault("zmq", False)
        listener = Listener(kwargs.pop("key", None) or new_key(), **kwargs)
        listener.start()
        created.append(listener)
        return listener

    yield make
    for listener in created:
        listener.close()


def task_env(listener: Optional[Listener] = None, **extra: str) -> Dict[str, str]:
    """The environment of a Task process: ours, the listener's, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUTE_")}
    if listener is not None:
        env.update(listener.task_environment())
    env.update(extra)
    return env


def spawn_task(
    code: str, env: Dict[str, str], python: str = sys.executable, **kwargs: Any
) -> subprocess.Popen[str]:
    """Start ``python -c code`` with ``env``; stdout/stderr captured as text."""
    return subprocess.Popen(
        [python, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_task(
    code: str, env: Dict[str, str], python: str = sys.executable, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code`` to completion (bounded by ``timeout``)."""
    return subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )


def check_ok(process: subprocess.CompletedProcess[str]) -> None:
    assert process.returncode == 0, "task failed (%d):\n%s%s" % (
        process.returncode,
        process.stdout,
        process.stderr,
    )


def find_python38() -> Optional[str]:
    """A working Python 3.8: $LUTE_TEST_PYTHON38, pyenv's, or python3.8 on PATH."""
    candidates = [os.environ.get("LUTE_TEST_PYTHON38")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    candidates.append(shutil.which("python3.8"))  # may be a pyenv shim that refuses to run
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def tasks() -> types.SimpleNamespace:
    """Helpers for running Task code in subprocesses."""
    return types.SimpleNamespace(
        env=task_env,
        spawn=spawn_task,
        run=run_task,
        check_ok=check_ok,
        python38=find_python38,
        wait_until=wait_until,
        runtime_src=str(RUNTIME_SRC),
    )


class Recording:
    """The bytes a Communicator wrote after a handshake done in-process."""

    def __init__(self, key: bytes, hello: bytes, stream: bytes, session_factory: Any) -> None:
        self.key = key
        self.hello = hello
        self.stream = stream
        self.new_session = session_factory  # a fresh listener-side Session per replay

    def replay(self, buffer_size: int = 1 << 20) -> Replay:
        """A FrameReader ready to be fed this recording (HELLO first)."""
        return Replay(self, buffer_size)


class Replay:
    """Feeds a recorded stream into a FrameReader in chunks; collects what it delivers."""

    def __init__(self, recording: Recording, buffer_size: int = 1 << 20) -> None:
        self.recording = recording
        self.delivered: List[Any] = []
        self.reader = FrameReader(self.on_hello, self.on_frame, buffer_size, 4 * buffer_size)

    def on_hello(self, header: Any, body: Any, tag: Any) -> None:
        if body is None:
            raise IPCError("rejected on the header")
        _handshake.answer_hello(
            self.recording.key,
            header,
            body,
            tag,
            peer_id=1,
            max_frame=1 << 30,
            hello_reply_json="{}",
        )
        self.reader.session = self.recording.new_session()

    def on_frame(self, kind: int, count: int, body: memoryview) -> None:
        if kind == _wire.BATCH:
            self.delivered += [_wire.load_message(p) for p in _wire.split_batch(body, count)]
        elif kind == _wire.MESSAGE:
            stream, buffers = _wire.split_message(body, count, _wire.SOCKET_ALIGN)
            self.delivered.append(_wire.load_message(stream, buffers))
        else:
            self.delivered.append("GOODBYE")

    def feed(self, data: bytes, chunks: List[int]) -> None:
        pos = 0
        index = 0
        while pos < len(data):
            target = self.reader.writable()
            size = min(len(target), len(data) - pos, chunks[index % len(chunks)])
            index += 1
            target[:size] = data[pos : pos + size]
            pos += size
            self.reader.feed(size)


def _record(
    messages: Sequence[Message], *, close: bool = True, max_frame: int = 1 << 30
) -> Recording:
    key = new_key()
    hello, task_nonce = _handshake.make_hello(key, rank=0)

    def split(frame: bytes) -> Tuple[Any, bytes, bytes]:
        header = _wire.read_header(frame)
        end = _wire.HEADER_SIZE + header[3]
        return header, frame[_wire.HEADER_SIZE : end], frame[end:]

    welcome, listener_session, _ = _handshake.answer_hello(
        key, *split(hello), peer_id=1, max_frame=max_frame, hello_reply_json="{}"
    )
    task_session, doc = _handshake.read_reply(key, *split(welcome), task_nonce, "recording")
    listener_nonce = bytes.fromhex(doc["nonce"])

    def new_session() -> Any:
        return _handshake._session(
            key,
            task_nonce,
            listener_nonce,
            False,
            pickle_protocol=listener_session.pickle_protocol,
            out_of_band=listener_session.out_of_band,
            max_frame=max_frame,
        )

    writer, reader = socket.socketpair()
    chunks: List[bytes] = []

    def drain() -> None:
        while True:
            data = reader.recv(1 << 20)
            if not data:
                return
            chunks.append(data)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    writer.settimeout(WAIT)
    communicator = _socket_transport.SocketCommunicator(
        writer, task_session, doc, "recording", "unix"
    )
    for message in messages:
        communicator.send(message)
    if close:
        communicator.close()
    else:
        communicator.flush()
        writer.shutdown(socket.SHUT_WR)
    thread.join(WAIT)
    reader.close()
    writer.close()
    return Recording(key, hello, b"".join(chunks), new_session)


@pytest.fixture
def record_stream() -> Callable[..., Recording]:
    """``record_stream(messages, close=True)``: what a Communicator sends for them."""
    return _record
