"""Where LUTE keeps per-user files."""

from __future__ import annotations

import os


def cache_dir(name: str) -> str:
    """``$XDG_CACHE_HOME/lute/<name>``, or ``~/.cache/lute/<name>`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lute", name)
