"""The exceptions of the IPC layer, re-exported by :mod:`lute.execution.ipc`."""

from __future__ import annotations


class IPCError(Exception):
    """Base class of every error raised or reported by the IPC layer."""


class AuthenticationError(IPCError):
    """A frame or handshake failed HMAC verification (wrong key or tampered data)."""


class FrameError(IPCError):
    """A frame is malformed: bad magic, truncated, oversized or inconsistent."""


class ProtocolError(IPCError):
    """The peers disagree on the protocol (version, frame order, handshake content)."""


class PayloadError(IPCError):
    """An authenticated frame arrived intact but its payload could not be unpickled."""


# Documented (and shown in tracebacks) as living in the facade, where they always were.
for _public in (IPCError, AuthenticationError, FrameError, ProtocolError, PayloadError):
    _public.__module__ = "lute.execution.ipc"
del _public
