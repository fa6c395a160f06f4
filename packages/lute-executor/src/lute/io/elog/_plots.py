"""Render the figures of an ``ElogSummaryPlots`` into one self-contained HTML page.

Supported figure kinds, recognised without importing any plotting library (the
objects carry their library with them, so nothing is imported that the Task's
result did not already need):

- ``str``: an HTML fragment, inserted as it is (it comes from the Task's author);
- a matplotlib ``Figure`` (anything with ``savefig``): embedded as a PNG image;
- a plotly ``Figure``: ``to_html``, with plotly.js embedded once per page;
- a bokeh model: ``bokeh.embed.components``, with BokehJS embedded once per page;
- anything else with ``_repr_html_`` (pandas DataFrames, many notebook objects);
- a list or tuple of the above, one section each.

The page needs no network to be viewed: the eLog may keep it for years.
"""

from __future__ import annotations

from typing import Any, List, Set

from lute.io.elog._html import escape

__all__ = ["display_name_parts", "render_page"]

# Characters that would change the meaning of a path component or break a listing.
_UNSAFE = {"\0", "\\"} | {chr(c) for c in range(32)}

_PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
section.figure { margin: 1em 0 2em 0; overflow-x: auto; }
section.figure img { max-width: 100%; height: auto; }
"""


def display_name_parts(display_name: str) -> List[str]:
    """Split a display name into safe directory names, one per nested tab.

    Args:
        display_name: Name of the report tab; ``/`` separates nested tabs.

    Returns:
        The non-empty components, with control characters and backslashes replaced.

    Raises:
        TypeError: ``display_name`` is not a string.
        ValueError: It is empty or has a ``.`` or ``..`` component (which would
            write outside the summary-plot directory).
    """
    if not isinstance(display_name, str):
        raise TypeError(
            "ElogSummaryPlots.display_name must be a str, got %s" % type(display_name).__name__
        )
    parts = []
    for raw in display_name.split("/"):
        part = "".join("_" if ch in _UNSAFE else ch for ch in raw.strip())
        if not part:
            continue  # "a//b" and a leading "/" mean the same as "a/b"
        if part in (".", ".."):
            raise ValueError(
                "ElogSummaryPlots.display_name %r has a %r component; use plain names "
                "separated by '/'" % (display_name, part)
            )
        parts.append(part)
    if not parts:
        raise ValueError(
            "ElogSummaryPlots.display_name %r is empty; give the report tab a name"
            % (display_name,)
        )
    return parts


def _module_of(obj: Any) -> str:
    return getattr(type(obj), "__module__", "") or ""


def _matplotlib_html(figure: Any) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return '<img alt="figure" src="data:image/png;base64,%s">' % data


def _plotly_html(figure: Any, embedded: Set[str]) -> str:
    # plotly.js is ~4 MB: put it in the page once, before the first plotly figure.
    include_js = "plotly" not in embedded
    embedded.add("plotly")
    return str(figure.to_html(full_html=False, include_plotlyjs=include_js))


def _bokeh_html(model: Any, embedded: Set[str]) -> str:
    from bokeh.embed import components  # the figure exists, so bokeh is importable
    from bokeh.resources import INLINE

    script, div = components(model)
    resources = ""
    if "bokeh" not in embedded:
        embedded.add("bokeh")
        if hasattr(INLINE, "render"):
            resources = INLINE.render()
        else:  # bokeh < 3
            resources = INLINE.render_js() + INLINE.render_css()
    return "%s\n%s\n%s" % (resources, div, script)


def _figure_html(figure: Any, embedded: Set[str]) -> str:
    """HTML for one figure; ``embedded`` tracks JS libraries already in the page."""
    if isinstance(figure, str):
        return figure
    module = _module_of(figure)
    if module.startswith("plotly") and hasattr(figure, "to_html"):
        return _plotly_html(figure, embedded)
    if module.startswith("bokeh"):
        return _bokeh_html(figure, embedded)
    if callable(getattr(figure, "savefig", None)):
        return _matplotlib_html(figure)
    if callable(getattr(figure, "_repr_html_", None)):
        fragment = figure._repr_html_()
        if isinstance(fragment, str):
            return fragment
    raise TypeError(
        "cannot render a summary figure of type %s.%s: give an HTML string, a matplotlib, "
        "plotly or bokeh figure, an object with _repr_html_(), or a list of these"
        % (module, type(figure).__qualname__)
    )


def render_page(display_name: str, figures: Any) -> str:
    """Build the complete HTML page of one ``ElogSummaryPlots``.

    Args:
        display_name: Shown as the page's title.
        figures: One figure or a list/tuple of figures (see the module docstring).

    Returns:
        The page's HTML text.

    Raises:
        TypeError: A figure is of a kind that cannot be rendered.
    """
    items = list(figures) if isinstance(figures, (list, tuple)) else [figures]
    embedded: Set[str] = set()
    sections = [
        '<section class="figure">\n%s\n</section>' % _figure_html(item, embedded) for item in items
    ]
    title = escape(display_name)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<h1>%s</h1>\n%s\n"
        "</body>\n</html>\n" % (title, _PAGE_STYLE, title, "\n".join(sections))
    )
