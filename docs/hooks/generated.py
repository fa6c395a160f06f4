"""mkdocs hook: the parts of pages that are generated from the code, never copied.

A page asks for one with a marker line; the build replaces it:

- ``<!-- generated: cli-reference -->``: ``--help`` of ``lute-exec`` and of every
  subcommand, from the parser itself (``lute.execution.cli._parser.build_parser``).
- ``<!-- generated: exit-codes -->``: the exit codes, from
  ``lute.execution.outcome.EXIT_CODE_TABLE``.
- ``<!-- generated: scaffold PATH -->``: the file ``PATH`` as ``lute-exec init beamstats
  --task BeamStats`` writes it (``lute.execution.cli._init``), in a fenced block.

tests/docs checks the built pages against the same functions.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any, Callable, Dict, Iterator, List, Tuple

_MARKER = re.compile(r"^<!-- generated: (?P<name>[a-z-]+)(?P<args>(?: [^ >]+)*) -->$", re.MULTILINE)
#: The tutorial's package, as ``lute-exec init`` makes it.
SCAFFOLD = ("beamstats", "BeamStats")
_LANGUAGES = {".py": "python", ".toml": "toml", ".yaml": "yaml"}
#: The width --help is rendered at on the site.
HELP_WIDTH = 90


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[Tuple[str, Any]]:
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, "%s %s" % (prefix, name))


def help_texts() -> List[Tuple[str, str]]:
    """``(command, its --help)`` for ``lute-exec`` and every subcommand, in --help order."""
    from lute.execution.cli._parser import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)  # argparse wraps at the terminal's width
    try:
        parser = build_parser()
        return [(command, sub.format_help()) for command, sub in _subcommands(parser, "lute-exec")]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def cli_reference() -> str:
    """The CLI reference: one section per command with its ``--help``."""
    parts = []
    for command, text in help_texts():
        level = "#" * (2 + max(0, command.count(" ") - 1))  # `db list` under `db`
        parts.append("%s `%s`\n\n```text\n%s```\n" % (level, command, text))
    return "\n".join(parts)


def exit_codes() -> str:
    """The exit-code table of ``lute-exec``."""
    from lute.execution.outcome import EXIT_CODE_TABLE

    rows = ["| code | meaning |", "| ---: | --- |"]
    rows += ["| %d | %s |" % (code, meaning) for code, meaning in EXIT_CODE_TABLE]
    return "\n".join(rows) + "\n"


def scaffold(path: str) -> str:
    """A file of the tutorial's package as ``lute-exec init`` writes it, fenced.

    Raises:
        KeyError: ``init`` writes no such file.
    """
    from lute.execution.cli._init import Scaffold, files_for

    files = files_for(Scaffold(SCAFFOLD[0], task=SCAFFOLD[1]))
    language = _LANGUAGES.get(os.path.splitext(path)[1], "text")
    return '```%s title="beamstats/%s"\n%s```\n' % (language, path, files[path])


GENERATORS: Dict[str, Callable[..., str]] = {
    "cli-reference": cli_reference,
    "exit-codes": exit_codes,
    "scaffold": scaffold,
}


def expand(markdown: str) -> str:
    """``markdown`` with every marker replaced by what it asks for.

    Raises:
        KeyError: A marker names no generator (a typo must fail the build).
    """
    return _MARKER.sub(
        lambda match: GENERATORS[match.group("name")](*match.group("args").split()), markdown
    )


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    """mkdocs event: expand the markers of each page."""
    return expand(markdown)


_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def plain_roles(html: str) -> str:
    """The docstrings' Sphinx roles (``:class:`~a.B```) as plain code (``B``), and their
    ``::`` (reST's "a literal block follows") as ``:``."""

    def code(match: re.Match[str]) -> str:
        name = match.group(2).rsplit(".", 1)[-1] if match.group(1) else match.group(2)
        return "<code>%s</code>" % name

    return _ROLE.sub(code, html).replace("::</p>", ":</p>")


def on_page_content(html: str, page: Any, **_kwargs: Any) -> str:
    """mkdocs event: the API reference pages read as Markdown, not reST."""
    if page.file.src_uri.startswith("api/"):
        return plain_roles(html)
    return html
