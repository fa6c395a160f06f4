"""Parsed config files kept on disk: a config read again needs no YAML parser.

Hundreds of runs of an experiment read the same config file (the run number usually
comes from the environment or the command line). Importing PyYAML and parsing costs
more than a tenth of a ``lute-exec run``, so what the parse produced (values, the line
of every key, the source text of plain scalars, the problems found) is stored as JSON in
``$XDG_CACHE_HOME/lute/configs/`` (``~/.cache/...``) under a SHA-256 of the file's text
and of the parser's own files. Any change of the text or of the parser is a new entry;
nothing is ever reused for different input.

The files hold config values (an eLog password, say), so the directory is private
(0700) and the files are 0600. A cache that cannot be read or written is skipped
silently: it only saves time. ``LUTE_CONFIG_CACHE=0`` turns it off. At most
:data:`MAX_ENTRIES` entries are kept; the oldest go first.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Tuple

from lute._paths import cache_dir, write_private_json
from lute.settings import CONFIG_CACHE

ENV_SWITCH = CONFIG_CACHE.name
#: Bumped whenever the stored form changes.
CACHE_FORMAT = "lute-config-cache/1"
MAX_ENTRIES = 256

#: What :func:`lute.io.config.read_config_file` needs from a parse: ``documents`` (how
#: many), ``doc_lines`` (first line of the first three), ``values`` (header, sections),
#: ``lines`` / ``texts`` (path -> line / source text), ``problems`` (path, line, message).
Parsed = Dict[str, Any]


def enabled() -> bool:
    """Whether the cache is used (``LUTE_CONFIG_CACHE`` is not ``0``/``false``/``no``/``off``)."""
    return bool(CONFIG_CACHE.get())


def load(text: str) -> Optional[Parsed]:
    """The parse of ``text`` stored earlier, or ``None``."""
    if not enabled():
        return None
    try:
        with open(_entry_path(text), encoding="utf-8") as handle:
            stored = json.load(handle)
        if stored.get("format") != CACHE_FORMAT:
            return None
        return {
            "documents": int(stored["documents"]),
            "doc_lines": [int(line) for line in stored["doc_lines"]],
            "values": stored["values"],
            "lines": {tuple(path): int(line) for path, line in stored["lines"]},
            "texts": {tuple(path): str(text) for path, text in stored["texts"]},
            "problems": [(tuple(path), line, str(msg)) for path, line, msg in stored["problems"]],
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # absent, unreadable or damaged: parse again (and store anew)


def store(text: str, parsed: Parsed) -> None:
    """Keep ``parsed`` for the next read of ``text`` (best effort)."""
    if not enabled():
        return
    document = {
        "format": CACHE_FORMAT,
        "documents": parsed["documents"],
        "doc_lines": parsed["doc_lines"],
        "values": parsed["values"],
        "lines": [[list(path), line] for path, line in parsed["lines"].items()],
        "texts": [[list(path), value] for path, value in parsed["texts"].items()],
        "problems": [[list(path), line, msg] for path, line, msg in parsed["problems"]],
    }
    try:
        path = _entry_path(text)
        write_private_json(path, document)
        _prune(os.path.dirname(path))
    except (OSError, ValueError, TypeError):
        pass  # read-only home, full disk, a value JSON cannot hold: no cache this time


def _entry_path(text: str) -> str:
    digest = hashlib.sha256()
    digest.update(CACHE_FORMAT.encode())
    for part in _parser_fingerprint():
        digest.update(b"\0" + part.encode())
    digest.update(b"\0" + text.encode("utf-8", "surrogatepass"))
    return os.path.join(cache_dir("configs"), digest.hexdigest() + ".json")


_fingerprint: Optional[Tuple[str, ...]] = None


def _parser_fingerprint() -> Tuple[str, ...]:
    """Size and mtime of the files that decide what a parse gives (ours and PyYAML's)."""
    global _fingerprint
    if _fingerprint is None:
        from importlib.util import find_spec

        import lute.io.config._yaml_source as _yaml_source

        files = [_yaml_source.__file__, __file__]
        spec = find_spec("yaml")  # locates PyYAML without importing it
        files.append(spec.origin if spec is not None and spec.origin else "")
        parts: List[str] = []
        for name in files:
            try:
                status = os.stat(name) if name else None
            except OSError:
                status = None
            parts.append(
                "%s:%d:%d" % (name, status.st_size, status.st_mtime_ns) if status else name
            )
        _fingerprint = tuple(parts)
    return _fingerprint


def _prune(directory: str) -> None:
    """Remove the oldest entries beyond :data:`MAX_ENTRIES`."""
    with os.scandir(directory) as listing:
        entries = [entry for entry in listing if entry.name.endswith(".json")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
    for entry in entries[: len(entries) - MAX_ENTRIES]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass
