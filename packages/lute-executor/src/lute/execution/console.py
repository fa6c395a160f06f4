"""What ``lute-exec`` shows while a Task runs, and the run's log file.

On a terminal: Task output and messages as they come, plus a status line (Task,
elapsed time, last message) redrawn in place. Elsewhere (SLURM logs, pipes): plain,
timestamped lines and no control characters. Every line, and every change of status,
also goes to the run's log file once one is attached, with its timestamp: the log holds
the run's whole story even when nobody watched the terminal.

A stream that fails (a closed pipe, a terminal gone with its SSH session) is dropped
silently: what the console cannot show never changes how a run ends.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import List, Optional, TextIO

__all__ = ["Console"]

_STAMP = "%Y-%m-%d %H:%M:%S"


class Console:
    """Thread-safe writer of run progress.

    Args:
        label: Prefix of every line (the managed task's name).
        stream: Where to write (default: stderr).
        live: Draw a status line; default: only when ``stream`` is a terminal.
    """

    def __init__(self, label: str, stream: Optional[TextIO] = None, live: Optional[bool] = None):
        self.label = label
        self.stream: Optional[TextIO] = stream if stream is not None else sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self._lock = threading.Lock()
        self._status = ""
        self._started = time.monotonic()
        self._last = ""
        self._log: Optional[TextIO] = None
        self._backlog: List[str] = []  # log lines written before a log file is attached

    # What the run says -------------------------------------------------------------------
    def line(self, text: str) -> None:
        """Write one line of output or information."""
        stamp = time.strftime(_STAMP)
        with self._lock:
            self._to_log("%s %s | %s\n" % (stamp, self.label, text))
            if self.live:
                self._write("\r\033[K%s | %s\n" % (self.label, text) + self._status_text())
            else:
                self._write("%s %s | %s\n" % (stamp, self.label, text))

    def status(self, state: str, last_message: Optional[str] = None) -> None:
        """Update the status (a status line on a terminal; a line in the log)."""
        if last_message is not None:
            self._last = last_message
        with self._lock:
            if state != self._status:
                self._to_log("%s %s | status: %s\n" % (time.strftime(_STAMP), self.label, state))
            self._status = state
            if self.live:
                self._write(self._status_text())

    def attach_log(self, log_file: TextIO) -> None:
        """Copy every line to ``log_file`` from now on, after the lines said so far."""
        with self._lock:
            self._log = log_file
            backlog, self._backlog = self._backlog, []
            for text in backlog:
                self._to_log(text)

    def detach_log(self) -> None:
        """Stop copying lines to the log file (it is about to be closed)."""
        with self._lock:
            self._log = None

    def close(self) -> None:
        """End the status line so the shell prompt starts on a fresh line."""
        if self.live:
            with self._lock:
                self._write("\r\033[K")

    # Internals ----------------------------------------------------------------------
    def _status_text(self) -> str:
        elapsed = time.monotonic() - self._started
        last = self._last if len(self._last) <= 60 else self._last[:57] + "..."
        return "\r\033[K[%s %s %.1fs] %s" % (self.label, self._status, elapsed, last)

    def _write(self, text: str) -> None:
        stream = self.stream
        if stream is None:
            return
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            # The reader went away (a closed pipe, a lost terminal): keep running, quietly.
            self.stream = None

    def _to_log(self, text: str) -> None:
        if self._log is None:
            self._backlog.append(text)
            return
        try:
            self._log.write(text)
            self._log.flush()
        except (OSError, ValueError):  # a full disk must not end the run either
            self._log = None


def _is_terminal(stream: Optional[TextIO]) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False
