"""What ``lute-exec`` shows while a Task runs, and the run's log file.

On a terminal: Task output and messages as they come, plus a status line (Task, status,
elapsed time, rank count or progress, last message) redrawn in place and ticking once a
second, with status words in colour, and a progress bar once the Task reports progress.
``NO_COLOR`` (set to any non-empty value, see no-color.org) turns colour off;
``TERM=dumb`` turns off colour and the redrawn line. Elsewhere (SLURM logs, pipes):
plain lines stamped with the local time and its zone (as ``lute-exec db`` and the
report show times), no control characters, and the progress as a line of its own at
most every :data:`PROGRESS_LINE_INTERVAL` seconds. Every line, and every change of
status, also goes to the run's log file once one is attached, with its timestamp: the
log holds the run's whole story even when nobody watched the terminal.

A stream that fails (a closed pipe, a terminal gone with its SSH session) is dropped
silently: what the console cannot show never changes how a run ends.

The status line is hand-written (ANSI sequences) rather than drawn with rich: the same
lines must reach the terminal, the log and SLURM's output files in the same order, from
the run's threads, and importing rich would add tens of milliseconds to every run.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import List, Mapping, Optional, TextIO, Tuple

__all__ = ["Console"]

_STAMP = "%Y-%m-%d %H:%M:%S %Z"
#: Seconds written lines may wait in the buffers (the run's loop flushes them sooner
#: whenever it has nothing else to do): a Task printing 100,000 lines a second must not
#: cost two system calls per line.
FLUSH_AFTER = 0.1
#: Seconds between redraws of the status line (its clock ticks).
TICK = 1.0
#: Seconds between two progress lines when there is no status line to draw the bar.
PROGRESS_LINE_INTERVAL = 5.0
#: Log lines kept while no log file is attached yet (before the run is recorded).
_BACKLOG_LIMIT = 10000

_COMPLETE = float("inf")  # _progress_line_at once the 100% line was written

_RESET = "\033[0m"
_COLOURS = {
    "COMPLETED": "\033[32m",  # green
    "FAILED": "\033[31m",  # red
    "LOST": "\033[31m",
    "TIMEDOUT": "\033[33m",  # yellow
    "CANCELLED": "\033[33m",
    "STOPPED": "\033[33m",
    "RUNNING": "\033[36m",  # cyan
    "LAUNCHED": "\033[2m",  # dim
}


class Console:
    """Thread-safe writer of run progress.

    Args:
        label: Prefix of every line (the managed task's name).
        stream: Where to write (default: stderr).
        live: Draw a status line; default: when ``stream`` is a terminal and ``TERM``
            is not ``dumb``.
        colour: Colour the status words; default: when live and ``NO_COLOR`` is unset
            or empty.
        environ: Where ``NO_COLOR`` and ``TERM`` are read (default: ``os.environ``).
    """

    def __init__(
        self,
        label: str,
        stream: Optional[TextIO] = None,
        live: Optional[bool] = None,
        colour: Optional[bool] = None,
        environ: Optional[Mapping[str, str]] = None,
    ):
        env = os.environ if environ is None else environ
        self.label = label
        self.stream: Optional[TextIO] = stream if stream is not None else sys.stderr
        smart = _is_terminal(self.stream) and env.get("TERM", "") != "dumb"
        self.live = smart if live is None else live
        self.colour = (self.live and not env.get("NO_COLOR")) if colour is None else colour
        self._lock = threading.Lock()
        self._status = ""
        self._started = time.monotonic()
        self._last = ""
        self._detail = ""
        self._progress: Optional[Tuple[float, str]] = None
        self._progress_line_at = -float("inf")  # when a progress line was written
        self._log: Optional[TextIO] = None
        self._backlog: List[str] = []  # log lines written before a log file is attached
        self._ticker: Optional[threading.Thread] = None
        self._closed = threading.Event()
        self._flushed = time.monotonic()
        self._unflushed = False
        self._pending: List[str] = []  # written to the stream in one call at each flush
        self._pending_log: List[str] = []  # and to the log file
        self._stamp_second = -1
        self._stamp = ""

    # What the run says -------------------------------------------------------------------
    def line(self, text: str) -> None:
        """Write one line of output or information."""
        stamp = self._now()
        with self._lock:
            self._to_log("%s %s | %s\n" % (stamp, self.label, text))
            if self.live:
                self._write("\r\033[K%s | %s\n" % (self.label, text) + self._status_text())
            else:
                self._write("%s %s | %s\n" % (stamp, self.label, text))

    def verdict(self, subject: str, status: str, text: str) -> None:
        """Write the line that says how the run ended, its status word in colour."""
        word = self.paint(status)
        with self._lock:
            stamp = time.strftime(_STAMP)
            self._to_log("%s %s | %s %s %s\n" % (stamp, self.label, subject, status, text))
            prefix = "\r\033[K" if self.live else "%s " % stamp
            self._write("%s%s | %s %s %s\n" % (prefix, self.label, subject, word, text))
            self._flush()

    def status(self, state: str, last_message: Optional[str] = None) -> None:
        """Update the status (a status line on a terminal; a line in the log)."""
        if last_message is not None:
            self._last = last_message
        with self._lock:
            if state != self._status:
                self._to_log("%s %s | status: %s\n" % (self._now(), self.label, state))
            self._status = state
            if self.live:
                self._write(self._status_text())
                self._start_ticker()

    def last_message(self, text: str) -> None:
        """What the status line shows as the last message (drawn at the next redraw)."""
        self._last = text

    def flush(self) -> None:
        """Write out what the buffers hold (the run's loop calls it when idle)."""
        with self._lock:
            self._flush()

    def detail(self, text: str) -> None:
        """Something the status line shows beside the status (e.g. ``4 ranks``)."""
        self._detail = text

    def progress(self, done: float, total: Optional[float] = None) -> None:
        """Show the Task's progress: a fraction (``total=None``) or ``done`` of ``total``.

        A bar on the status line; without one, a ``progress:`` line at most every
        :data:`PROGRESS_LINE_INTERVAL` seconds (and when it reaches 100%).
        """
        if total:
            fraction = min(max(done / total, 0.0), 1.0)
            from lute.io.db import count_text  # the database's wording

            self._progress = (fraction, "%s/%s" % (count_text(done), count_text(total)))
        else:
            fraction = min(max(done, 0.0), 1.0)
            self._progress = (fraction, "%d%%" % round(fraction * 100))
        if self.live:
            with self._lock:
                self._write(self._status_text())
            return
        now = time.monotonic()
        complete = fraction >= 1.0
        if now - self._progress_line_at >= PROGRESS_LINE_INTERVAL or (
            complete and self._progress_line_at != _COMPLETE
        ):
            from lute.io.db import progress_text  # the database's wording

            self._progress_line_at = _COMPLETE if complete else now
            self.line("progress: %s" % progress_text(done, total))

    def paint(self, status: str) -> str:
        """``status`` in its colour (unchanged without colour)."""
        code = _COLOURS.get(status)
        if not self.colour or code is None:
            return status
        return "%s%s%s" % (code, status, _RESET)

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
            self._flush()
            self._log = None

    def close(self) -> None:
        """Stop the ticking and end the status line (the shell prompt starts afresh)."""
        self._closed.set()
        with self._lock:
            if self.live:
                self._write("\r\033[K")
            self._flush()

    # Internals ----------------------------------------------------------------------
    def _start_ticker(self) -> None:
        if self._ticker is None and not self._closed.is_set():
            self._ticker = threading.Thread(target=self._tick, name="lute-console", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._closed.wait(TICK):
            with self._lock:
                if self._closed.is_set():
                    return
                self._write(self._status_text())

    def _status_text(self) -> str:
        from lute.io.elog import format_duration  # the report's wording

        elapsed = format_duration(time.monotonic() - self._started)
        parts = [self.paint(self._status) if self._status else "", elapsed]
        if self._progress is not None:
            fraction, label = self._progress
            filled = round(fraction * 20)
            parts.append("[%s%s] %s" % ("#" * filled, "." * (20 - filled), label))
        if self._detail:
            parts.append(self._detail)
        last = self._last if len(self._last) <= 60 else self._last[:57] + "..."
        return "\r\033[K[%s %s] %s" % (self.label, " ".join(p for p in parts if p), last)

    def _now(self) -> str:
        """The time stamp of a line (formatted once a second: lines come by thousands)."""
        now = time.time()
        second = int(now)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp = time.strftime(_STAMP, time.localtime(now))
        return self._stamp

    def _write(self, text: str) -> None:
        if self.stream is None:
            return
        self._pending.append(text)
        self._unflushed = True
        if self.live or time.monotonic() - self._flushed >= FLUSH_AFTER:
            self._flush()

    def _flush(self) -> None:
        if not self._unflushed:
            return
        self._unflushed = False
        self._flushed = time.monotonic()
        pending, self._pending = self._pending, []
        if pending and self.stream is not None:
            try:
                self.stream.write("".join(pending))
            except (OSError, ValueError):
                # The reader went away (a closed pipe, a lost terminal): keep running.
                self.stream = None
        logged, self._pending_log = self._pending_log, []
        if logged and self._log is not None:
            try:
                self._log.write("".join(logged))
            except (OSError, ValueError):  # a full disk must not end the run either
                self._log = None
        for name in ("stream", "_log"):
            target = getattr(self, name)
            if target is None:
                continue
            try:
                target.flush()
            except (OSError, ValueError):  # see _write and _to_log
                setattr(self, name, None)

    def _to_log(self, text: str) -> None:
        if self._log is None:
            if len(self._backlog) < _BACKLOG_LIMIT:
                self._backlog.append(text)
            return
        self._pending_log.append(text)
        self._unflushed = True
        if time.monotonic() - self._flushed >= FLUSH_AFTER:
            self._flush()


def _is_terminal(stream: Optional[TextIO]) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False
