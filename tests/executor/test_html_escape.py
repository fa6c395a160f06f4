"""The report's HTML escaping matches the standard library's ``html.escape``."""

from __future__ import annotations

import html
import subprocess
import sys

import pytest

from lute.io.elog._html import escape

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.text())
def test_escape_matches_html_escape(text: str) -> None:
    assert escape(text) == html.escape(text, quote=True)


def test_escape_neutralises_markup_and_quotes() -> None:
    assert escape("<a href='x' title=\"y\">&</a>") == (
        "&lt;a href=&#x27;x&#x27; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
    )


def test_report_modules_do_not_import_html_entities() -> None:
    code = (
        "import sys, lute.io.elog._report_html, lute.io.elog._plots; "
        "sys.exit('html.entities' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
