"""Module attributes imported on first use (PEP 562), so importing a package stays cheap."""

from __future__ import annotations

import sys

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Mapping


def lazy_attributes(module_name: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports each name from its module when asked.

    Args:
        module_name: The module that assigns the result to its ``__getattr__``.
        sources: Attribute name -> the module (absolute name) that defines it.

    The value found is stored on the module, so each name is looked up once.
    """

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError("module %r has no attribute %r" % (module_name, name))
        value = getattr(__import__(source, fromlist=[name]), name)
        setattr(sys.modules[module_name], name, value)
        return value

    return __getattr__
