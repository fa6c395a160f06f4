"""The original LUTE's debugging exits: stop a process where a variable says so.

``LUTE_DEBUG_EXIT("MY_VARIABLE")`` ends the process (exit code 0) when ``MY_VARIABLE``
is set, after printing where it stopped and, optionally, a dump of some state. Code
written for the original LUTE keeps working with it.

The original's own stopping points are replaced here: ``LUTE_DEBUG_EXIT_AT_YAML`` (stop
after reading the config) and ``LUTE_DEBUG_BEFORE_TPP_EXEC`` (stop before a third-party
program starts) are what ``lute-exec run --dry-run`` shows, without running anything:
the validated parameters, the command line and the environment.
"""

from __future__ import annotations

import os
import sys

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional

__all__ = ["LUTE_DEBUG_EXIT", "LUTE_DEBUG_PAUSE"]


def _where(label: str, str_dump: Optional[str]) -> str:
    """``label file, line: N`` of the caller's caller, then the dump."""
    frame = sys._getframe(2)
    text = "%s %s, line: %d" % (label, frame.f_code.co_filename, frame.f_lineno)
    if str_dump is not None:
        text = "%s\n%s" % (text, str_dump)
    return text


def LUTE_DEBUG_EXIT(env_var: str, str_dump: Optional[str] = None) -> None:
    """Exit (code 0) here when the environment variable ``env_var`` is set.

    Args:
        env_var: The variable's name; any non-empty value stops the process.
        str_dump: Text printed after the location (e.g. ``pprint.pformat(config)``).
    """
    if os.environ.get(env_var):
        print(_where("LUTE_DEBUG_EXIT -", str_dump), flush=True)
        sys.exit(0)


def LUTE_DEBUG_PAUSE(env_var: str, str_dump: Optional[str] = None) -> None:
    """Wait for a signal here when ``env_var`` is set (attach a debugger, then signal)."""
    if os.environ.get(env_var):
        import signal

        print(_where("LUTE_DEBUG_PAUSE -", str_dump), flush=True)
        signal.pause()
