"""The code samples of the docs pages, as the tests run them.

A fenced block is a sample. Python blocks that include a file are fenced as
``{.python}`` (superfences' attribute form): ruff formats ``python`` fences of Markdown
files, and an include line is not Python.

An HTML comment on the line just before a fence tells the tests how to run the block (it
is invisible on the site):

- ``<!-- test: skip REASON -->``: not run (it installs system packages, writes outside
  the sandbox, ...); the reason is required.
- ``<!-- test: exit=2 -->``: the exit code it must end with (default 0).
- ``<!-- test: cwd=examples -->``: run it in that directory of the sandbox.
- ``<!-- test: setup=original-lute-db -->``: before it runs, the sandbox is given what
  the name stands for (``tests/docs/conftest.py`` ``SETUPS``: files a reader has and the
  page cannot make, such as a database the original LUTE wrote).
- ``<!-- test: output -->`` before a ``text`` block right after a sample: what the
  sample prints. Each of its lines must match a line of the real output, in order;
  ``…`` stands for anything and every number for any number.

Annotations combine: ``<!-- test: exit=2 cwd=examples -->``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

__all__ = ["Sample", "matches_output", "samples"]

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")
_ANNOTATION = re.compile(r"^\s*<!--\s*test:(?P<text>.*?)-->\s*$")
RUN_LANGUAGES = ("bash", "python")


class Sample:
    """One fenced block of a page.

    Attributes:
        page: The page's path.
        line: Line of its opening fence (1-based).
        language: The fence's language (``bash``, ``python``, ``text`` ...).
        code: The block's text, dedented by the fence's indentation.
        options: The annotation before the fence (``skip``, ``exit``, ``cwd``, ``setup``,
            ``output``).
        output: The annotated ``text`` block that follows it, if any.
    """

    def __init__(
        self, page: Path, line: int, language: str, code: str, options: Dict[str, str]
    ) -> None:
        self.page = page
        self.line = line
        self.language = language
        self.code = code
        self.options = options
        self.output: Optional[str] = None

    @property
    def where(self) -> str:
        """``page:line``, for messages."""
        return "%s:%d" % (self.page.name, self.line)

    @property
    def included(self) -> bool:
        """Whether the block is a file included by the snippets extension."""
        return self.code.lstrip().startswith("--8<--")

    def __repr__(self) -> str:
        return "<Sample %s %s>" % (self.where, self.language)


def _options(text: str) -> Dict[str, str]:
    options: Dict[str, str] = {}
    text = text.strip()
    if text.startswith("skip"):
        options["skip"] = text[4:].strip()
        return options
    for word in text.split():
        key, _, value = word.partition("=")
        options[key] = value
    return options


def _language(info: str) -> str:
    """The language of a fence: ``python title="x"`` or ``{.python title="x"}``."""
    info = info.strip()
    if info.startswith("{"):
        found = re.search(r"\.([\w-]+)", info)
        return found.group(1) if found else ""
    return (info.split() or [""])[0]


def samples(page: Path) -> List[Sample]:
    """Every fenced block of ``page``, each with its annotation and expected output."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: List[Sample] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = len(opening.group("indent")), opening.group("fence")
        language = _language(opening.group("info"))
        previous = lines[index - 1] if index else ""
        annotation = _ANNOTATION.match(previous)
        body: List[str] = []
        start = index
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][indent:])
            index += 1
        index += 1
        sample = Sample(
            page,
            start + 1,
            language,
            "\n".join(body) + "\n",
            _options(annotation.group("text")) if annotation else {},
        )
        if "output" in sample.options and found:
            found[-1].output = sample.code
        found.append(sample)
    return found


def _pattern(expected: str) -> re.Pattern[str]:
    parts = re.split(r"(…|\d+)", expected.strip())
    regex = "".join(
        ".*?" if part == "…" else r"\d+" if part.isdigit() else re.escape(part) for part in parts
    )
    return re.compile(regex)


def matches_output(expected: str, actual: str) -> Optional[str]:
    """``None`` when every line of ``expected`` matches a line of ``actual`` in order;
    else the first line that does not."""
    remaining = actual.splitlines()
    for wanted in expected.splitlines():
        if not wanted.strip():
            continue
        pattern = _pattern(wanted)
        for position, line in enumerate(remaining):
            if pattern.search(line):
                remaining = remaining[position + 1 :]
                break
        else:
            return wanted
    return None
