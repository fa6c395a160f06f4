"""Authenticated inter-process communication between an Executor and its Task.

The Executor opens a :class:`Listener`, passes :meth:`Listener.task_environment` to the
Task process, and receives :class:`Message` objects through its ``on_message`` callback.
The Task calls :func:`connect` (which reads that environment) and sends messages through
the returned :class:`Communicator`. The wire format is described in ``docs/protocol.md``.

Importing this package is deliberately cheap: it loads two modules without imports of
their own, ``_protocol`` (the message type and the constants) and ``_errors``. The
transports (sockets, HMAC, pickle, JSON and, when asked for, pyzmq) are imported on
first use of :func:`connect`, :class:`Listener`, :class:`Communicator` or
:class:`Peer`. The private modules import one another, never this facade.
"""

from __future__ import annotations

import os

from lute._lazy import lazy_attributes
from lute.execution.ipc._errors import (
    AuthenticationError,
    FrameError,
    IPCError,
    PayloadError,
    ProtocolError,
    UndecodableMessage,
)
from lute.execution.ipc._protocol import (
    ENV_ADDRESS,
    ENV_KEY,
    ENV_MAX_FRAME,
    ENV_USE_ZMQ,
    ENV_ZMQ_ADDRESS,
    LUTE_SIGNALS,
    PROTOCOL_VERSION,
    Message,
)

# Not `from typing import TYPE_CHECKING`: importing typing costs more than this whole
# module on Python 3.8, and the annotations here are never evaluated (PEP 563).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Callable, Dict, Mapping, Optional

    from lute.execution.ipc._communicator import Communicator
    from lute.execution.ipc._listener import Listener
    from lute.execution.ipc._peer import Peer

__all__ = [
    "ENV_ADDRESS",
    "ENV_KEY",
    "ENV_MAX_FRAME",
    "ENV_USE_ZMQ",
    "ENV_ZMQ_ADDRESS",
    "LUTE_SIGNALS",
    "PROTOCOL_VERSION",
    "AuthenticationError",
    "Communicator",
    "FrameError",
    "IPCError",
    "Listener",
    "Message",
    "PayloadError",
    "Peer",
    "ProtocolError",
    "UndecodableMessage",
    "connect",
    "new_key",
]


def new_key() -> bytes:
    """Return a fresh random key for one run (32 bytes from ``os.urandom``)."""
    return os.urandom(32)


def connect(
    env: Optional[Mapping[str, str]] = None,
    *,
    rank: int = 0,
    timeout: float = 30.0,
    send_timeout: float = 300.0,
    on_lost: Optional[Callable[[IPCError], None]] = None,
) -> Communicator:
    """Connect to the Executor named by the environment and perform the handshake.

    ZMQ is used only when ``LUTE_ZMQ_ADDRESS`` is set, ``LUTE_USE_ZMQ`` is not ``"0"``
    and pyzmq can be imported; otherwise the stdlib endpoint ``LUTE_IPC_ADDRESS``.

    With the default environment, the key ``LUTE_IPC_KEY`` is removed from
    ``os.environ`` once connected, so processes started from then on do not inherit it;
    it stays in memory, so ``connect()`` in this process or a forked child still works.

    Args:
        env: Environment to read (default: ``os.environ``).
        rank: This process's rank (MPI), reported to the Executor.
        timeout: Seconds allowed for connecting and completing the handshake.
        send_timeout: Seconds a send may wait for the Executor to read before failing.
        on_lost: Called once, with an :class:`IPCError`, on a background thread, when
            the Executor closes or loses the connection before :meth:`Communicator.close`
            (it died, or dropped us). Unix/TCP only: ZMQ cannot tell. Never called in a
            forked child. :attr:`Communicator.executor_lost` records it either way.

    Returns:
        A connected :class:`Communicator`; close it (or use it as a context manager).

    Raises:
        IPCError: The environment is missing or garbled, or nobody listens.
        AuthenticationError: The Executor rejected our key (or answered with another).
        ProtocolError: The two sides speak different protocol versions.
    """
    from lute.execution.ipc._connect import connect as _connect

    return _connect(env, rank=rank, timeout=timeout, send_timeout=send_timeout, on_lost=on_lost)


_LAZY: Dict[str, str] = {
    "Listener": "lute.execution.ipc._listener",
    "Peer": "lute.execution.ipc._peer",
    "Communicator": "lute.execution.ipc._communicator",
}


# The transport classes are imported on first use, to keep this import cheap.
__getattr__ = lazy_attributes(__name__, _LAZY)
