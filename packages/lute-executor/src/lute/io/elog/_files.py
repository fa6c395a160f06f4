"""File names and atomic writes for everything the reports write.

Names come from runs (managed task names, experiments, plot tabs), so they are
reduced to characters that are safe in a file name everywhere; files are replaced
atomically, so a browser or a concurrent run never sees half a page.
"""

from __future__ import annotations

import os

__all__ = ["safe_name", "write_text_atomic"]


def safe_name(text: str, limit: int = 100) -> str:
    """``text`` reduced to characters that are safe in a file name everywhere."""
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text.strip())
    safe = safe.strip(".")[:limit]
    return safe or "_"


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half.

    Args:
        path: Destination; its directory must exist.
        text: Content, written as UTF-8.
    """
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.%d.%s.part" % (name, os.getpid(), os.urandom(6).hex()))
    # os.open with mode 0o666 lets the process umask decide the permissions, as for any
    # file the user creates (mkstemp would force 0600 on a report meant to be shared).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
