"""What every ``lute-exec`` command shares: error lines, tables, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from lute.execution.outcome import EXIT_USAGE

__all__ = ["command_line", "error", "positive_int", "print_json", "print_table", "slurm_job"]


def error(message: str, code: int = EXIT_USAGE) -> int:
    """Write ``lute-exec: error: message`` to stderr; returns ``code`` (default 2)."""
    sys.stderr.write("lute-exec: error: %s\n" % message)
    return code


def print_json(document: Any) -> None:
    """Print ``document`` as indented JSON (values JSON cannot hold as their text)."""
    print(json.dumps(document, indent=2, default=str))


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print ``rows`` under ``header`` in aligned columns; ``(none)`` for no rows."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not rows:
        print("(none)")


def positive_int(text: str) -> int:
    """An argparse type: a whole number above 0 (``--max-parallel``)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("expected a whole number above 0, got %r" % text)
    return int(text)


def slurm_job(text: str) -> str:
    """An argparse type: a SLURM job id (``4242``) or one array task (``4242_3``)."""
    number, _, index = text.partition("_")
    if not number.isdigit() or (index and not index.isdigit()) or text.endswith("_"):
        raise argparse.ArgumentTypeError(
            "not a SLURM job id: %r (a job is 4242, one task of an array 4242_3)" % text
        )
    return text


def command_line() -> str:
    """This process's ``lute-exec`` command line, quoted (recorded with a submission)."""
    import shlex  # only where a submission is recorded

    return "lute-exec " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
