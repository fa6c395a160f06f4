"""Reading a config file: its two YAML documents, with the line of every key.

:func:`read_config_file` gives a :class:`RawConfig`: the header and the Task sections as
plain values, before overrides, placeholders and validation. Parses are served from the
parsed-config cache (:mod:`lute.io.config._config_cache`) when the text was seen before.
No pydantic here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import lute.io.config._config_cache as _config_cache
from lute._records import Record
from lute.io.config._problems import ConfigError, ConfigProblem, Locator
from lute.io.config._substitution import HEADER
from lute.io.config._yaml_source import (
    PathKey,
    SourceMap,
    YamlSyntaxError,
    compose_documents,
    to_value,
)

__all__ = ["ConfigSource", "RawConfig", "read_config_file"]


class RawConfig(Record):
    """A config file as read, before placeholders are filled and values validated.

    Attributes:
        path: The file.
        header: The first document (``lute_config`` values).
        sections: The second document: Task name -> its parameters.
        lines: 1-based line of every key, by path (``("Test", "float_var")``; header
            keys are ``("lute_config", key)``).
        texts: Source text of plain values YAML read as numbers, booleans or null.
        origins: Paths set by command-line overrides.
        problems: Problems found while reading that did not stop it (duplicate keys...).
    """

    _FIELDS = ("path", "header", "sections", "lines", "texts", "origins", "problems")
    __slots__ = _FIELDS
    # Through __init__: pickle protocols 0 and 1 refuse __slots__ classes before 3.11.
    __reduce__ = Record._reduce_by_fields
    path: Path
    header: Dict[str, Any]
    sections: Dict[str, Dict[str, Any]]
    lines: Dict[PathKey, int]
    texts: Dict[PathKey, str]
    origins: Dict[PathKey, str]
    problems: List[ConfigProblem]

    def __init__(
        self,
        path: Path,
        header: Dict[str, Any],
        sections: Dict[str, Dict[str, Any]],
        lines: Optional[Dict[PathKey, int]] = None,
        texts: Optional[Dict[PathKey, str]] = None,
        origins: Optional[Dict[PathKey, str]] = None,
        problems: Optional[List[ConfigProblem]] = None,
    ) -> None:
        self.path = path
        self.header = header
        self.sections = sections
        # None stands for a fresh, empty container of each kind.
        self.lines = {} if lines is None else lines
        self.texts = {} if texts is None else texts
        self.origins = {} if origins is None else origins
        self.problems = [] if problems is None else problems

    @property
    def file(self) -> str:
        """The file name used in problems."""
        return str(self.path)

    def tree(self) -> Dict[str, Any]:
        """``{"lute_config": header, <Task>: section, ...}``."""
        return {HEADER: self.header, **self.sections}

    def locator(self) -> Locator:
        """Finds the file and line of a path in this config."""
        return Locator(self.file, self.lines, self.origins)


#: A config file's path, or the file as read.
ConfigSource = Union[str, os.PathLike, RawConfig]


def _document_line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _parse_documents(text: str) -> _config_cache.Parsed:
    """Parse ``text``: what :func:`read_config_file` needs, in the cacheable form.

    Raises:
        YamlSyntaxError: The text is not YAML.
    """
    documents = compose_documents(text)
    source = SourceMap()
    values: List[Any] = []
    if documents:
        source.lines[(HEADER,)] = _document_line(documents[0])
        values.append(to_value(documents[0], (HEADER,), source))
        if len(documents) > 1:
            values.append(to_value(documents[1], (), source))
    return {
        "documents": len(documents),
        "doc_lines": [_document_line(document) for document in documents[:3]],
        "values": values,
        "lines": source.lines,
        "texts": source.texts,
        "problems": source.problems,
    }


def _read_text(path: Path) -> str:
    """The file's text, with line ends read as Python's text mode reads them.

    Raises:
        ConfigError: The file cannot be read or is not UTF-8 text.
    """
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(
            [ConfigProblem(file, None, "", "cannot read the config file: %s" % err)]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        # Decoded whole (not in chunks, as a text-mode read does), so err.start is the
        # offset in the file.
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    "cannot read the config file: it is not UTF-8 text "
                    "(byte 0x%02x at offset %d); a config is a YAML text file"
                    % (data[err.start], err.start),
                )
            ]
        ) from None
    # What open(..., newline=None) gives: "\r\n" and "\r" become "\n".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_config_file(path: Union[str, os.PathLike]) -> RawConfig:
    """Read a config file's two YAML documents, remembering lines.

    Args:
        path: The config file.

    Problems that do not stop the reading (a misshapen section, a duplicate key...)
    are returned in :attr:`RawConfig.problems`; :func:`load_config` reports them.

    Raises:
        ConfigError: The file cannot be read, is not UTF-8 text, is empty or is not
            valid YAML.
    """
    config_path = Path(path)
    text = _read_text(config_path)
    parsed = _config_cache.load(text)
    if parsed is None:
        try:
            parsed = _parse_documents(text)
        except YamlSyntaxError as err:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(config_path), err.line, "", "this is not valid YAML: %s" % err.message
                    )
                ]
            ) from None
        _config_cache.store(text, parsed)
    return _from_parsed(config_path, parsed)


def _from_parsed(config_path: Path, parsed: _config_cache.Parsed) -> RawConfig:
    """The config in a parse, checked for its shape: a header, then Task sections.

    Raises:
        ConfigError: The file holds no YAML document.
    """
    file = str(config_path)
    if not parsed["documents"]:
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    None,
                    "",
                    "the file is empty: expected a header document, then the Task sections",
                )
            ]
        )
    problems: List[ConfigProblem] = []
    source = SourceMap(parsed["lines"], parsed["texts"], parsed["problems"])
    documents, doc_lines = parsed["documents"], parsed["doc_lines"]
    if documents > 2:
        problems.append(
            ConfigProblem(
                file,
                doc_lines[2],
                "",
                "found %d YAML documents; a LUTE config has two: the header, then the Task sections"
                % documents,
            )
        )
    header = parsed["values"][0]
    if header is None:
        header = {}
    if not isinstance(header, dict):
        problems.append(
            ConfigProblem(
                file,
                doc_lines[0],
                HEADER,
                "the header (first document) must be 'key: value' lines",
            )
        )
        header = {}
    sections_value = parsed["values"][1] if documents > 1 else {}
    if sections_value is None:
        sections_value = {}
    if not isinstance(sections_value, dict):
        problems.append(
            ConfigProblem(
                file,
                doc_lines[1],
                "",
                "the second document must hold one section per Task "
                "('TaskName:' then its parameters)",
            )
        )
        sections_value = {}
    locate = Locator(file, source.lines, {})
    sections: Dict[str, Dict[str, Any]] = {}
    for name, section in sections_value.items():
        if name == HEADER:
            problems.append(
                locate.problem(
                    (name,), "'lute_config' is not a Task; header values go in the first document"
                )
            )
        elif section is not None and not isinstance(section, dict):
            problems.append(
                locate.problem((name,), "a Task section must hold 'parameter: value' lines")
            )
        else:
            sections[name] = section or {}
    problems.extend(locate.problem(path, message) for path, _line, message in source.problems)
    return RawConfig(config_path, header, sections, source.lines, source.texts, {}, problems)
