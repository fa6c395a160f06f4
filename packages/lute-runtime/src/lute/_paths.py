"""Where LUTE keeps per-user files, and how it writes them."""

from __future__ import annotations

import os

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any


def cache_dir(name: str) -> str:
    """``$XDG_CACHE_HOME/lute/<name>``, or ``~/.cache/lute/<name>`` (not created here)."""
    from lute.settings import XDG_CACHE_HOME

    base = XDG_CACHE_HOME.get() or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lute", name)


def write_private_json(path: str, document: Any, *, dir_mode: int = 0o700) -> None:
    """Write ``document`` as JSON to ``path``, readable by the owner only (0600).

    The text goes to a temporary file in the same directory (created with ``dir_mode``
    if missing), which then replaces ``path``: a reader sees the old file or the whole
    new one. Nothing is left behind when writing fails.

    Raises:
        OSError: The directory or the file cannot be written.
        ValueError, TypeError: ``document`` cannot be written as JSON.
    """
    import json
    import tempfile  # only when writing (it imports random)

    directory = os.path.dirname(path)
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
