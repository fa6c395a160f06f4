"""The probe cache: successful probe findings, in memory and on disk, and when they still hold.

An entry is keyed by the interpreter (path, target, size, mtime, inode, its
``pyvenv.cfg``), the Task name and the variables that change imports
(:data:`KEY_VARIABLES`); it is used only while every directory on the interpreter's
``sys.path`` keeps the mtime it had, so installing or removing a package invalidates
it. On disk: one JSON file per entry in :func:`default_cache_dir`, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "CACHE_FORMAT",
    "KEY_VARIABLES",
    "cache_get",
    "cache_key",
    "cache_put",
    "clear_probe_cache",
    "default_cache_dir",
]

CACHE_FORMAT = 1
# Variables that change what an interpreter can import; part of the cache key.
KEY_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
    "PYTHONPLATLIBDIR",
    "HOME",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)


def default_cache_dir() -> str:
    """Where probe results are kept: ``$XDG_CACHE_HOME/lute/probes`` or ``~/.cache/...``."""
    from lute._paths import cache_dir

    return cache_dir("probes")


# key -> (the sys.path signature the entry is valid for, the findings)
_memory: Dict[str, Tuple[List[Any], Dict[str, Any]]] = {}
_memory_lock = threading.Lock()


def clear_probe_cache(*, disk: bool = False, cache_dir: Optional[str] = None) -> None:
    """Forget cached probe results (in memory; on disk too when ``disk``)."""
    with _memory_lock:
        _memory.clear()
    if disk:
        directory = cache_dir or default_cache_dir()
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                if name.startswith("probe-") and name.endswith(".json"):
                    try:
                        os.unlink(os.path.join(directory, name))
                    except OSError:
                        pass


# Keys and validity -------------------------------------------------------------------------
def _stat_signature(path: str) -> Optional[List[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def cache_key(python: str, env: Dict[str, str], task_name: str) -> Optional[str]:
    """The entry's name for ``task_name`` in ``python`` with ``env``; ``None``: no such file."""
    real = os.path.realpath(python)
    signature = _stat_signature(real)
    if signature is None:
        return None
    bin_dir = os.path.dirname(os.path.abspath(python))
    parts = {
        "format": CACHE_FORMAT,
        "python": os.path.abspath(python),
        "real": real,
        "stat": signature,
        # a venv's configuration decides its sys.path
        "pyvenv": [
            _stat_signature(os.path.join(d, "pyvenv.cfg"))
            for d in (bin_dir, os.path.dirname(bin_dir))
        ],
        "task": task_name,
        "env": {name: env.get(name) for name in KEY_VARIABLES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _path_signature(paths: List[str]) -> List[Any]:
    """mtime of every ``sys.path`` entry (``None`` if missing): adding a package changes it."""
    signature: List[Any] = []
    for path in paths:
        try:
            signature.append([path, os.stat(path).st_mtime_ns])
        except OSError:
            signature.append([path, None])
    return signature


def cache_get(key: str, directory: str) -> Optional[Dict[str, Any]]:
    """The findings stored under ``key`` (memory first, then ``directory``) if still valid."""
    with _memory_lock:
        entry = _memory.get(key)
    if entry is None:
        try:
            with open(os.path.join(directory, "probe-%s.json" % key)) as handle:
                stored = json.load(handle)
            entry = (stored["paths"], stored["raw"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    paths, raw = entry
    if not isinstance(raw, dict) or _path_signature([p for p, _ in paths]) != paths:
        return None
    with _memory_lock:
        _memory[key] = entry
    return raw


def cache_put(key: str, directory: str, raw: Dict[str, Any]) -> None:
    """Store ``raw`` (findings of a probe that passed) under ``key``, in memory and on disk."""
    paths = _path_signature([str(p) for p in raw.get("path", [])])
    with _memory_lock:
        _memory[key] = (paths, raw)
    try:
        from lute._paths import write_private_json

        write_private_json(
            os.path.join(directory, "probe-%s.json" % key),
            {"paths": paths, "raw": raw},
            dir_mode=0o777,  # as before: the umask decides
        )
    except OSError:
        pass  # the disk cache is an optimisation: an unwritable cache directory is fine
