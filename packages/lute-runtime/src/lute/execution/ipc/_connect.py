"""Task side: pick the transport the environment names and connect through it.

This is :func:`lute.execution.ipc.connect`. It sits apart from the
:class:`~lute.execution.ipc.Communicator` base class because it imports the concrete
transports, which import that base.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, Optional

from lute import settings
from lute.execution.ipc import _address
from lute.execution.ipc._communicator import Communicator
from lute.execution.ipc._errors import IPCError
from lute.execution.ipc._protocol import ENV_ADDRESS, ENV_KEY, ENV_USE_ZMQ, ENV_ZMQ_ADDRESS

# The run's key once removed from os.environ (see connect): a forked child connects too.
_kept_key: Optional[str] = None


def _use_zmq(env: Mapping[str, str]) -> bool:
    if not settings.ZMQ_ADDRESS.is_set(env):
        return False
    try:
        wanted = settings.USE_ZMQ.get(env)
    except ValueError as error:
        raise IPCError(str(error)) from None
    if wanted is False:
        return False
    try:
        import zmq  # noqa: F401  (only to learn whether pyzmq is importable here)
    except Exception:  # ImportError, or a broken libzmq: either way, use the stdlib
        return False
    return True


def connect(
    env: Optional[Mapping[str, str]],
    *,
    rank: int,
    timeout: float,
    send_timeout: float,
    on_lost: Optional[Callable[[IPCError], None]] = None,
) -> Communicator:
    """Implementation of :func:`lute.execution.ipc.connect` (see there)."""
    if timeout <= 0 or send_timeout <= 0:
        raise ValueError("timeout and send_timeout must be positive")
    if env is not None:
        communicator = _connect(env, rank, timeout, send_timeout)
    else:
        environ: Mapping[str, str] = os.environ
        if not settings.IPC_KEY.is_set() and _kept_key is not None:
            environ = dict(os.environ, **{ENV_KEY: _kept_key})
        communicator = _connect(environ, rank, timeout, send_timeout)
        _conceal_key()
    communicator._watch(on_lost)
    return communicator


def _conceal_key() -> None:
    """Take the key out of os.environ: processes started from now on do not inherit it.

    It stays in this process's memory, so a forked child can still :func:`connect`.
    """
    global _kept_key
    key = os.environ.pop(ENV_KEY, None)
    if key is not None:
        _kept_key = key


def _connect(
    env: Mapping[str, str], rank: int, timeout: float, send_timeout: float
) -> Communicator:
    key = _address.parse_key(settings.IPC_KEY.get(env))
    max_frame = _address.max_frame_from_env(env)
    if _use_zmq(env):
        from lute.execution.ipc import _zmq_transport

        address = _address.parse_zmq_address(ENV_ZMQ_ADDRESS, settings.ZMQ_ADDRESS.get(env))
        return _zmq_transport.connect(key, address, rank, timeout, send_timeout, max_frame)
    text = settings.IPC_ADDRESS.get(env)
    if not text:
        hint = ""
        if settings.ZMQ_ADDRESS.is_set(env):
            hint = " (%s is set, but pyzmq is not importable here or %s=0)" % (
                ENV_ZMQ_ADDRESS,
                ENV_USE_ZMQ,
            )
        raise IPCError(
            "%s is not set%s: this process was not started by a LUTE Executor" % (ENV_ADDRESS, hint)
        )
    family, host_or_path, port = _address.parse_address(ENV_ADDRESS, text)
    from lute.execution.ipc import _socket_transport

    return _socket_transport.connect(
        key, family, host_or_path, port, rank, timeout, send_timeout, max_frame
    )
