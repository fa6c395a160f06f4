"""HTML escaping for the report pages, without importing :mod:`html`.

:func:`html.escape` lives in a package whose ``__init__`` imports the ~2000-entry
``html.entities`` table (for ``unescape``), about 2 ms that every run would pay on
its way to exit. Escaping needs only the five characters below.
"""

from __future__ import annotations

__all__ = ["escape"]

# The same replacements as ``html.escape(text, quote=True)``.
_REPLACEMENTS = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&#x27;",
}


def escape(text: str) -> str:
    """``text`` safe inside HTML element content and quoted attribute values."""
    return text.translate(_REPLACEMENTS)
