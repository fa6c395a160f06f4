"""Executor side of the IPC layer: the :class:`Listener` and its thread.

One background thread multiplexes every endpoint (a Unix or TCP listening socket, its
connections and, when offered, a ZMQ ROUTER socket) with ``selectors``; all callbacks run
on that thread, one at a time, so the Executor's handlers need no locking of their own.
What the endpoints use of the Listener (peers, delivery, reporting) is its base class,
:class:`~lute.execution.ipc._peer.PeerHub`.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import socket
import threading
import time
import weakref
from typing import Any, Callable, Dict, Optional

from lute import settings
from lute.execution.ipc import _address
from lute.execution.ipc._errors import IPCError
from lute.execution.ipc._peer import Peer, PeerHub, log_warning
from lute.execution.ipc._protocol import (
    ENV_ADDRESS,
    ENV_KEY,
    ENV_MAX_FRAME,
    ENV_USE_ZMQ,
    ENV_ZMQ_ADDRESS,
    Message,
)

#: Poll interval of the loop while a wait_idle() is pending or ZMQ is active (seconds).
BUSY_POLL = 0.02
#: Poll interval otherwise: only for handshake deadlines (seconds).
IDLE_POLL = 1.0


_open: weakref.WeakSet[Listener] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    # A Listener left open would leave its socket directory behind.
    for listener in list(_open):
        listener.close()


class Listener(PeerHub):
    """Receives Messages from Task processes on a background thread.

    Args:
        key: The run's secret (``new_key()``); the Task gets it through the environment.
        hello_reply: JSON-serializable dict handed to every Task in the handshake.
        on_message: Called with ``(peer, message)`` for every message, in order per peer.
        on_error: Called with ``(peer or None, error)`` for bad frames, rejected
            handshakes, payloads that cannot be unpickled and connections that end
            without a goodbye. Default: log a warning.
        on_connect: Called with the :class:`Peer` after its handshake succeeds.
        transport: ``"unix"`` (same host) or ``"tcp"``.
        host: TCP bind address (``"0.0.0.0"`` to accept Tasks on other nodes).
        zmq: Also offer a ZMQ endpoint: ``None`` follows ``LUTE_USE_ZMQ`` (off when
            unset); ``True`` offers it when pyzmq is importable; ``False`` never.
        max_frame_size: Largest frame body accepted (bytes); default from
            ``LUTE_IPC_MAX_FRAME`` or 4 GiB.

    Raises:
        TypeError, ValueError: An argument is unusable (the message says which).

    :attr:`peers`, ``key``, ``max_frame`` and ``handshake_timeout`` (seconds a connection
    may take to send its HELLO) come from the base class
    :class:`~lute.execution.ipc._peer.PeerHub`.
    """

    def __init__(
        self,
        key: bytes,
        *,
        hello_reply: Optional[Dict[str, Any]],
        on_message: Callable[[Peer, Message], None],
        on_error: Optional[Callable[[Optional[Peer], IPCError], None]] = None,
        on_connect: Optional[Callable[[Peer], None]] = None,
        transport: str = "unix",
        host: str = "127.0.0.1",
        zmq: Optional[bool] = None,
        max_frame_size: Optional[int] = None,
    ) -> None:
        checked_key = _address.check_key(key)
        if transport not in ("unix", "tcp"):
            raise ValueError("transport must be 'unix' or 'tcp', not %r" % (transport,))
        for name, callback in (
            ("on_message", on_message),
            ("on_error", on_error),
            ("on_connect", on_connect),
        ):
            if callback is not None and not callable(callback):
                raise TypeError("%s must be callable, got %r" % (name, callback))
        hello_reply_json = None if hello_reply is None else self._encode_reply(hello_reply)
        if max_frame_size is None:
            try:
                max_frame_size = _address.max_frame_from_env(os.environ)
            except IPCError as error:
                raise ValueError(str(error)) from None
        max_frame = _address.check_max_frame(max_frame_size)
        if zmq is None:
            zmq = bool(settings.USE_ZMQ.get())
        if zmq and hello_reply is None:
            raise ValueError("a deferred hello_reply is only supported without ZMQ")
        super().__init__(checked_key, max_frame, hello_reply_json, on_message, on_error, on_connect)
        self._want_zmq = bool(zmq)
        self._transport = transport
        self._host = host
        self._idle_cond = threading.Condition(self._lock)
        self._started = False
        self._closed = False
        self._cleaned = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._thread_error: Optional[BaseException] = None
        self._drain_requests = 0
        self._drain_started = 0.0
        self._idle_generation = 0
        self._wake_r: Optional[socket.socket] = None
        self._wake_w: Optional[socket.socket] = None
        self._endpoint: Any = None
        self._zmq: Any = None

    # -- public API -----------------------------------------------------------------------

    def start(self) -> None:
        """Bind the endpoint(s) and start the listener thread (no-op when started).

        Raises:
            IPCError: The listener was closed, or binding failed.
        """
        with self._lock:
            if self._closed:
                raise IPCError("this Listener is closed")
            if self._started:
                return
            self._started = True
        from lute.execution.ipc import _socket_listener

        try:
            self._selector = selectors.DefaultSelector()
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wake)
            self._endpoint = _socket_listener.SocketEndpoint(self, self._transport, self._host)
            if self._want_zmq:
                self._zmq = self._open_zmq()
        except BaseException:
            self._cleanup()
            raise
        self._thread = threading.Thread(target=self._run, name="lute-ipc-listener", daemon=True)
        self._thread.start()
        _open.add(self)

    @staticmethod
    def _encode_reply(hello_reply: Dict[str, Any]) -> str:
        if not isinstance(hello_reply, dict):
            raise TypeError("hello_reply must be a dict, not %s" % type(hello_reply).__name__)
        try:
            return json.dumps(hello_reply, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise ValueError("hello_reply must be JSON-serializable: %s" % error) from None

    def set_hello_reply(self, hello_reply: Dict[str, Any]) -> None:
        """Provide the hand-off document of a Listener created with ``hello_reply=None``.

        Tasks that connected before this call wait in their handshake (their HELLO is
        kept, without a deadline) and are answered now; later ones are answered at once.
        This lets an Executor start the Task process while it is still validating.

        Raises:
            IPCError: The reply was already set.
        """
        encoded = self._encode_reply(hello_reply)
        with self._lock:
            if self.hello_reply_json is not None:
                raise IPCError("the hello_reply is already set")
            self.hello_reply_json = encoded
        self._wake()

    def task_environment(self) -> Dict[str, str]:
        """The environment variables a Task needs to connect (includes the secret key).

        Raises:
            IPCError: :meth:`start` has not been called.
        """
        if self._endpoint is None:
            raise IPCError("call Listener.start() before task_environment()")
        env = {
            ENV_ADDRESS: self._endpoint.address,
            ENV_KEY: self.key.hex(),
            ENV_MAX_FRAME: str(self.max_frame),
            ENV_USE_ZMQ: "1" if self._zmq is not None else "0",
        }
        if self._zmq is not None:
            env[ENV_ZMQ_ADDRESS] = self._zmq.address
        return env

    @property
    def address(self) -> Optional[str]:
        """The stdlib endpoint (``unix:...`` or ``tcp:...``), once started."""
        return None if self._endpoint is None else self._endpoint.address

    @property
    def zmq_address(self) -> Optional[str]:
        """The ZMQ endpoint when one is offered."""
        return None if self._zmq is None else self._zmq.address

    def wait_idle(self, timeout: float) -> bool:
        """Deliver everything the (exited) Task processes sent, then return.

        Accepts connections still in the backlog, reads every open connection to its end
        (ZMQ: until each peer's goodbye, or a short grace for peers that vanished) and
        delivers every message.

        Args:
            timeout: Most seconds to wait.

        Returns:
            True when fully drained, False on timeout (or if the thread has died).
        """
        if not self._started:
            raise IPCError("call Listener.start() before wait_idle()")
        deadline = time.monotonic() + timeout
        with self._idle_cond:
            if self._drain_requests == 0:
                self._drain_started = time.monotonic()
            self._drain_requests += 1
            generation = self._idle_generation
            try:
                self._wake()
                while self._idle_generation == generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                        return False
                    self._idle_cond.wait(min(remaining, 0.5))
                return True
            finally:
                self._drain_requests -= 1

    def close(self) -> None:
        """Stop the thread, close every connection and remove the socket directory.

        Idempotent. Safe to call from a callback (the thread then stops after it).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10.0)
        if thread is None or not thread.is_alive():
            self._cleanup()

    def __enter__(self) -> Listener:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<Listener %s%s>" % (
            self.address or "(not started)",
            " zmq=%s" % self.zmq_address if self._zmq is not None else "",
        )

    # -- internals ------------------------------------------------------------------------

    def _open_zmq(self) -> Any:
        from lute.execution.ipc import _zmq_transport

        try:
            _zmq_transport._load_zmq()
        except Exception as error:  # ImportError, or a broken libzmq
            log_warning(
                "LUTE IPC: ZMQ requested but pyzmq is not importable (%s); stdlib only" % error
            )
            return None
        return _zmq_transport.ZmqEndpoint(
            self, self._transport, self._host, self._endpoint.directory
        )

    def _wake(self) -> None:
        wake = self._wake_w
        if wake is not None:
            try:
                wake.send(b"\0")
            except OSError:
                pass  # buffer full (a wake-up is pending anyway) or already closed

    def _drain_wake(self) -> None:
        try:
            while self._wake_r is not None and self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _run(self) -> None:
        try:
            while not self._stopping:
                busy = self._drain_requests > 0 or self._zmq is not None
                events = self._selector.select(BUSY_POLL if busy else IDLE_POLL)
                for selector_key, _ in events:
                    if self._stopping:
                        break
                    self._guarded(selector_key.data)
                if self._stopping:
                    break
                self._guarded(self._tick)
            self.flush_reports(time.monotonic(), final=True)
        except BaseException as error:  # never die silently: waiters and on_error learn it
            self._thread_error = error
            self.report(
                None, IPCError("the IPC listener thread failed: %r" % (error,)), limit=False
            )
        finally:
            if self._closed:
                self._cleanup()

    def _tick(self) -> None:
        """The work of every loop iteration besides the ready connections."""
        if self._zmq is not None:
            self._zmq.poll()
        if self.hello_reply_json is not None and self._endpoint.waiting:
            self._endpoint.answer_waiting()
        now = time.monotonic()
        self._endpoint.check_deadlines(now)
        self.flush_reports(now)
        if self._drain_requests > 0:
            self._check_idle()

    def _guarded(self, handler: Callable[[], None]) -> None:
        """Run one handler; an unexpected error is reported and the loop carries on.

        The connections handle their own errors (and close themselves on a surprise):
        this is the last line, so that nothing a peer sends can end the thread that
        serves every other peer.
        """
        try:
            handler()
        except Exception as error:
            abandon = getattr(getattr(handler, "__self__", None), "abandon", None)
            if abandon is not None:
                try:
                    abandon(error)  # a connection's handler: that connection is closed
                    return
                except Exception:
                    pass  # reported below
            failure = IPCError(
                "unexpected %s in the IPC listener (%s); it carries on"
                % (type(error).__name__, error)
            )
            failure.__cause__ = error
            self.report(None, failure)

    def _check_idle(self) -> None:
        self._endpoint.accept_all()
        if self._endpoint.busy():
            return
        if self._zmq is not None and self._zmq.busy(self._drain_started):
            return
        with self._idle_cond:
            self._idle_generation += 1
            self._idle_cond.notify_all()

    def _cleanup(self) -> None:
        with self._lock:
            if self._cleaned:
                return
            self._cleaned = True
        for part in (self._zmq, self._endpoint):
            if part is not None:
                try:
                    part.close()
                except Exception as error:
                    log_warning("LUTE IPC: error while closing %r: %r" % (part, error))
        for peer in self.peers:
            peer.connected = False
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        if self._selector is not None:
            self._selector.close()
