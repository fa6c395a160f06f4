"""What ``lute-exec`` shows while a Task runs.

On a terminal: Task output and messages as they come, plus a status line (Task,
elapsed time, last message) redrawn in place. Elsewhere (SLURM logs, pipes): plain,
timestamped lines and no control characters.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional, TextIO

__all__ = ["Console"]


class Console:
    """Thread-safe writer of run progress.

    Args:
        label: Prefix of every line (the managed task's name).
        stream: Where to write (default: stderr).
        live: Draw a status line; default: only when ``stream`` is a terminal.
    """

    def __init__(self, label: str, stream: Optional[TextIO] = None, live: Optional[bool] = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._status = ""
        self._started = time.monotonic()
        self._last = ""

    def line(self, text: str) -> None:
        """Write one line of output or information."""
        with self._lock:
            if self.live:
                self.stream.write("\r\033[K%s | %s\n" % (self.label, text))
                self._draw_status()
            else:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                self.stream.write("%s %s | %s\n" % (stamp, self.label, text))
            self.stream.flush()

    def status(self, state: str, last_message: Optional[str] = None) -> None:
        """Update the status line (terminal only; a no-op for plain logs)."""
        if last_message is not None:
            self._last = last_message
        self._status = state
        if self.live:
            with self._lock:
                self._draw_status()
                self.stream.flush()

    def _draw_status(self) -> None:
        elapsed = time.monotonic() - self._started
        last = self._last if len(self._last) <= 60 else self._last[:57] + "..."
        self.stream.write("\r\033[K[%s %s %.1fs] %s" % (self.label, self._status, elapsed, last))

    def close(self) -> None:
        """End the status line so the shell prompt starts on a fresh line."""
        if self.live:
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()
