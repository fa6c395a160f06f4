"""Parsing of the IPC environment variables: endpoint addresses, key, limits, flags."""

from __future__ import annotations

import binascii
from typing import Mapping, Optional, Tuple

from lute import settings
from lute.execution.ipc._errors import IPCError
from lute.execution.ipc._protocol import ENV_KEY, ENV_MAX_FRAME

#: Shortest key accepted; :func:`lute.execution.ipc.new_key` makes 32 bytes.
MIN_KEY_BYTES = 16
#: Frame size limit when neither the caller nor ``LUTE_IPC_MAX_FRAME`` sets one (4 GiB).
DEFAULT_MAX_FRAME = 4 << 30
#: Smallest limit accepted: handshakes and batches must always fit.
MIN_MAX_FRAME = 1 << 20


def format_unix(path: str) -> str:
    """Return the ``LUTE_IPC_ADDRESS`` value for a Unix socket path."""
    return "unix:" + path


def format_tcp(host: str, port: int) -> str:
    """Return the ``LUTE_IPC_ADDRESS`` value for a TCP endpoint (IPv6 hosts bracketed)."""
    if ":" in host:
        host = "[%s]" % host
    return "tcp:%s:%d" % (host, port)


def parse_address(name: str, text: str) -> Tuple[str, str, int]:
    """Split a stdlib endpoint address.

    Args:
        name: The variable the text came from (for error messages).
        text: ``unix:/abs/path`` or ``tcp:HOST:PORT``.

    Returns:
        ``("unix", path, 0)`` or ``("tcp", host, port)``.

    Raises:
        IPCError: The text is not one of the two forms.
    """
    scheme, _, rest = text.partition(":")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise IPCError("%s=%r: a unix address needs an absolute path" % (name, text))
        return ("unix", rest, 0)
    if scheme == "tcp":
        host, sep, port_text = rest.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise IPCError("%s=%r: expected tcp:HOST:PORT with a port 1-65535" % (name, text))
        return ("tcp", host, int(port_text))
    raise IPCError("%s=%r: expected 'unix:/abs/path' or 'tcp:HOST:PORT'" % (name, text))


def parse_zmq_address(name: str, text: str) -> str:
    """Check a ZMQ endpoint (``ipc://...`` or ``tcp://HOST:PORT``) and return it."""
    if not (text.startswith("ipc://") and len(text) > 6) and not (
        text.startswith("tcp://") and ":" in text[6:]
    ):
        raise IPCError("%s=%r: expected 'ipc://PATH' or 'tcp://HOST:PORT'" % (name, text))
    return text


def parse_key(text: Optional[str]) -> bytes:
    """Decode the hex key from ``LUTE_IPC_KEY``.

    Raises:
        IPCError: The variable is missing, not hex, or shorter than :data:`MIN_KEY_BYTES`.
    """
    if not text:
        raise IPCError("%s is not set: the Executor must pass the run's key" % ENV_KEY)
    try:
        key = binascii.unhexlify(text.strip())
    except (binascii.Error, ValueError):
        raise IPCError("%s is not a hex string" % ENV_KEY) from None
    if len(key) < MIN_KEY_BYTES:
        raise IPCError(
            "%s holds %d bytes; at least %d are required" % (ENV_KEY, len(key), MIN_KEY_BYTES)
        )
    return key


def check_key(key: object) -> bytes:
    """Validate a key given to the Listener and return it as ``bytes``."""
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(
            "the IPC key must be bytes (e.g. lute.execution.ipc.new_key()), not %s"
            % type(key).__name__
        )
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            "the IPC key has %d bytes; at least %d are required" % (len(key), MIN_KEY_BYTES)
        )
    return bytes(key)


def check_max_frame(value: object, source: str = "max_frame_size") -> int:
    """Validate a frame size limit (an int of at least :data:`MIN_MAX_FRAME` bytes)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("%s must be an integer number of bytes, got %r" % (source, value))
    if value < MIN_MAX_FRAME:
        raise ValueError("%s=%d is below the minimum of %d bytes" % (source, value, MIN_MAX_FRAME))
    return value


def max_frame_from_env(env: Mapping[str, str]) -> int:
    """The frame limit from ``LUTE_IPC_MAX_FRAME``, or :data:`DEFAULT_MAX_FRAME`.

    Raises:
        IPCError: The variable is set but is not a valid limit.
    """
    text = settings.IPC_MAX_FRAME.raw(env)
    if text is None:
        return DEFAULT_MAX_FRAME
    try:
        return check_max_frame(int(text.strip()), ENV_MAX_FRAME)
    except ValueError as error:
        raise IPCError(
            "%s=%r is not a valid frame limit: %s" % (ENV_MAX_FRAME, text, error)
        ) from None
