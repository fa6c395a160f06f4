"""Who supervises an execution, and whether that Executor is gone. Private to ``lute.io.db``.

An execution records the Executor process that supervises it: host name, pid, when
that process started and a *key* that names the process uniquely on its machine
(Linux: ``<boot id>/<pid namespace>/<start time in clock ticks>``, from ``/proc``), plus
a heartbeat the Executor refreshes every :data:`HEARTBEAT_INTERVAL` seconds.
:func:`lost_reason` decides from these whether the Executor is gone:

- On the same machine (same boot id and pid namespace as the reader): the process with
  that pid no longer exists, is a zombie, or started at another time (the pid was
  reused). Its heartbeat does not matter: a live process is never LOST.
- Elsewhere, or when the process cannot be inspected: the heartbeat is older than
  :data:`HEARTBEAT_LIMIT` seconds (by the reader's clock).

Standard library only; without ``/proc`` (not Linux) there is no key and the
heartbeat alone decides.
"""

from __future__ import annotations

import datetime
import os
from typing import Callable, List, Optional, Tuple

from lute._records import FrozenRecord
from lute.io.db._values import SUPERVISED_STATUSES

__all__ = [
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_LIMIT",
    "UNKNOWN",
    "Supervisor",
    "host_name",
    "lost_reason",
    "machine",
    "probe_process",
    "this_process",
]

HEARTBEAT_INTERVAL = 10.0
"""Seconds between two heartbeats of a supervising Executor (``Database.heartbeat``)."""

HEARTBEAT_LIMIT = 120.0
"""A heartbeat older than this (seconds) means the Executor is gone, when its process
cannot be looked up from here (another host). Twelve missed beats: generous for a
loaded head node or a network file system that delays writes."""

UNKNOWN = "?"
"""What :func:`probe_process` says when a process exists but cannot be inspected."""


class Supervisor(FrozenRecord):
    """The Executor process that supervises an execution.

    Attributes:
        host: Its host name.
        pid: Its process id.
        started: When the process started, UTC ISO-8601 text, if known.
        key: ``<boot id>/<pid namespace>/<start ticks>`` on Linux, else ``None``.
    """

    _FIELDS = ("host", "pid", "started", "key")
    __slots__ = _FIELDS
    host: str
    pid: int
    started: Optional[str]
    key: Optional[str]

    def __init__(self, host: str, pid: int, started: Optional[str], key: Optional[str]) -> None:
        self._set_fields(host, pid, started, key)


def host_name() -> str:
    """This host's name, as ``socket.gethostname()`` gives it (without importing socket
    where ``os.uname`` tells the same)."""
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - Windows
        import socket

        return socket.gethostname()


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as stream:
            return stream.read().decode("ascii", "replace")
    except OSError:
        return None


def _stat(pid: int) -> Optional[List[str]]:
    """Fields 3 and onwards of ``/proc/<pid>/stat``, or None when it cannot be read."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may itself hold any character.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields if len(fields) >= 20 else None


_machine_cache: Tuple[int, Optional[str]] = (-1, None)


def machine() -> Optional[str]:
    """``<boot id>/<pid namespace>`` of this process: where its pids mean something.

    ``None`` where ``/proc`` does not tell (not Linux). Cached per process.
    """
    global _machine_cache
    pid = os.getpid()
    if _machine_cache[0] != pid:
        boot = _read("/proc/sys/kernel/random/boot_id")
        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = "pid"
        found = None if boot is None else f"{boot.strip()}/{namespace}"
        _machine_cache = (pid, found)
    return _machine_cache[1]


def _boot_time() -> Optional[float]:
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return None


_self_cache: Tuple[int, Optional[Supervisor]] = (-1, None)


def this_process() -> Supervisor:
    """This process as a supervisor. Cached per process (a forked child is new)."""
    global _self_cache
    pid = os.getpid()
    if _self_cache[0] != pid or _self_cache[1] is None:
        where = machine()
        fields = _stat(pid) if where is not None else None
        ticks = None if fields is None else fields[19]  # field 22: start time in ticks
        started = None
        boot = _boot_time() if ticks is not None else None
        if ticks is not None and boot is not None:
            hertz = os.sysconf("SC_CLK_TCK")
            moment = boot + int(ticks) / hertz
            started = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(
                timespec="microseconds"
            )
        key = None if ticks is None else f"{where}/{ticks}"
        _self_cache = (pid, Supervisor(host_name(), pid, started, key))
    return _self_cache[1]  # type: ignore[return-value]


def probe_process(pid: int) -> Optional[str]:
    """Start time of process ``pid`` here (field 22 of ``/proc/<pid>/stat``, in clock
    ticks since boot); ``None`` if there is no such process or it is a zombie (it has
    exited); :data:`UNKNOWN` if it exists but cannot be inspected (``/proc`` mounted with
    ``hidepid`` shows other users' processes to nobody)."""
    fields = _stat(pid)
    if fields is not None:
        return None if fields[0] in ("Z", "X") else fields[19]
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return None
    except OSError:  # EPERM: it exists, as another user's process
        return UNKNOWN
    return UNKNOWN


def _gone(pid: int, host: Optional[str], why: str) -> str:
    return f"its Executor (pid {pid} on {host or 'an unknown host'}) is gone: {why}"


def lost_reason(
    status: str,
    supervisor_host: Optional[str],
    supervisor_pid: Optional[int],
    supervisor_key: Optional[str],
    heartbeat: Optional[float],
    *,
    here: Optional[str],
    probe: Callable[[int], Optional[str]],
    now: float,
    limit: float = HEARTBEAT_LIMIT,
) -> Optional[str]:
    """Why an execution is LOST, or ``None`` when it is not (or cannot be told).

    Pure apart from ``probe``: the caller passes the facts.

    Args:
        status: Its stored status; only PENDING, RUNNING and STOPPED can be LOST.
        supervisor_host: Host name of its Executor.
        supervisor_pid: Pid of its Executor; ``None`` (recorded before schema version 2)
            means nobody can tell, and it is never LOST.
        supervisor_key: Key of its Executor (see the module documentation), if known.
        heartbeat: POSIX time of its last heartbeat, if any.
        here: :func:`machine` of the reader.
        probe: :func:`probe_process` (or a stand-in in tests).
        now: The reader's POSIX time.
        limit: Heartbeat age, in seconds, beyond which the Executor is gone.

    Returns:
        The reason, worded for the execution's error: "its Executor (pid N on HOST) is
        gone: ...".
    """
    if status not in SUPERVISED_STATUSES or supervisor_pid is None:
        return None
    if supervisor_key is not None and here is not None:
        where, _, ticks = supervisor_key.rpartition("/")
        if where == here:
            found = probe(supervisor_pid)
            if found is None:
                return _gone(supervisor_pid, supervisor_host, "no such process")
            if found != UNKNOWN:
                if found != ticks:
                    why = f"pid {supervisor_pid} now belongs to another process"
                    return _gone(supervisor_pid, supervisor_host, why)
                return None
    if heartbeat is None:
        return None
    age = now - heartbeat
    if age > limit:
        why = f"no heartbeat for {age:.0f} s (limit {limit:.0f} s)"
        return _gone(supervisor_pid, supervisor_host, why)
    return None
