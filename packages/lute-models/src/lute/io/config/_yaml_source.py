"""Read YAML into plain values while remembering where each value came from.

Plain (unquoted) scalars are read with the YAML 1.2 core rules, which surprise people
less than PyYAML's YAML 1.1 ones: ``0012`` is the number 12 (not octal 10), ``yes`` /
``no`` / ``on`` / ``off`` stay text, and dates stay text. For every value the line of its
key is recorded, and for every plain scalar read as a number, boolean or null its source
text too, so the loader can give the text back where a model wants text (``run: 0012``
for a text parameter stays ``"0012"``). Duplicate keys are reported, not silently
overwritten. ``%YAML 1.2`` / ``%YAML 1.3`` directives are accepted.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple, Union

from lute._records import Record

if TYPE_CHECKING:  # PyYAML is imported on first parse (see _load_yaml)
    from yaml.nodes import MappingNode, Node, ScalarNode


__all__ = [
    "MISSING",
    "PathKey",
    "SourceMap",
    "YamlSyntaxError",
    "child_of",
    "compose_documents",
    "parse_value",
    "to_value",
]

PathKey = Tuple[Union[str, int], ...]

_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (_TAG + name for name in ("null", "bool", "int", "float", "str"))
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"


#: Returned by :func:`child_of` when there is no such child.
MISSING: Any = object()


def child_of(container: Any, part: Union[str, int]) -> Any:
    """``container[part]`` for a mapping key or a list position, else :data:`MISSING`."""
    if isinstance(container, dict):
        return container.get(part, MISSING)
    if isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container):
        return container[part]
    return MISSING


# Set by _load_yaml(): PyYAML costs ~10 ms to import, and a config read from the parsed
# config cache (lute.io.config._config_cache) needs none of it.
_Composer: Any = None
_yaml: Any = None
_nodes: Any = None


def _load_yaml() -> None:
    """Import PyYAML and build the composer class, once."""
    global _Composer, _nodes, _yaml
    if _Composer is not None:
        return
    import yaml
    from yaml import nodes
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.resolver import BaseResolver
    from yaml.scanner import Scanner

    class _CoreResolver(BaseResolver):
        """Implicit typing of plain scalars by the YAML 1.2 core schema."""

        yaml_implicit_resolvers: Dict[Any, Any] = {}

    _CoreResolver.add_implicit_resolver(
        _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    _CoreResolver.add_implicit_resolver(
        _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    _CoreResolver.add_implicit_resolver(
        _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
    )
    _CoreResolver.add_implicit_resolver(
        _FLOAT,
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    )
    _CoreResolver.add_implicit_resolver(_MERGE, re.compile(r"^(?:<<)$"), ["<"])

    class Composer_(Reader, Scanner, Parser, Composer, _CoreResolver):  # type: ignore[misc]
        """PyYAML's pure-Python reader/scanner/parser/composer with the core resolver."""

        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _CoreResolver.__init__(self)

    _nodes = nodes
    _yaml = yaml
    _Composer = Composer_


class YamlSyntaxError(Exception):
    """The text is not valid YAML.

    Attributes:
        line: 1-based line of the problem, when known.
        message: What is wrong, in YAML's words.
    """

    def __init__(self, message: str, line: Optional[int]) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class SourceMap(Record):
    """Where values came from, keyed by their path in the built tree.

    Attributes:
        lines: 1-based line of each key (and of each document's start).
        texts: Source text of plain scalars read as numbers, booleans or null.
        problems: ``(path, line, message)`` found while building (duplicate keys...).
    """

    _FIELDS = ("lines", "texts", "problems")
    __slots__ = ("lines", "problems", "texts")
    # Through __init__: pickle protocols 0 and 1 refuse __slots__ classes before 3.11.
    __reduce__ = Record._reduce_by_fields
    lines: Dict[PathKey, int]
    texts: Dict[PathKey, str]
    problems: List[Tuple[PathKey, Optional[int], str]]

    def __init__(
        self,
        lines: Optional[Dict[PathKey, int]] = None,
        texts: Optional[Dict[PathKey, str]] = None,
        problems: Optional[List[Tuple[PathKey, Optional[int], str]]] = None,
    ) -> None:
        # None stands for a fresh, empty container of each kind.
        self.lines = {} if lines is None else lines
        self.texts = {} if texts is None else texts
        self.problems = [] if problems is None else problems


def compose_documents(text: str) -> List[Node]:
    """The node tree of every YAML document in ``text``.

    Raises:
        YamlSyntaxError: With the line of the problem.
    """
    _load_yaml()
    try:
        loader = _Composer(text)  # the reader refuses control characters here, before parsing
    except _yaml.reader.ReaderError as err:
        words = str(err).split("\n", 1)[0]  # YAML's words, without its "<unicode string>"
        raise YamlSyntaxError(words, text.count("\n", 0, err.position) + 1) from None
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:  # check_node() guarantees one; the stubs cannot know
                documents.append(node)
        return documents
    except _yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        words = " ".join(part for part in (err.context, err.problem) if part)
        raise YamlSyntaxError(words or str(err), line) from None
    except _yaml.YAMLError as err:
        raise YamlSyntaxError(str(err), None) from None
    finally:
        loader.dispose()


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: ScalarNode) -> Any:
    text = node.value
    tag = node.tag
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() == "true"
    if tag == _INT:
        cleaned = text.replace("_", "")
        for prefix, base in (("0o", 8), ("0x", 16)):
            if cleaned.lower().startswith(prefix):
                return int(cleaned[2:], base)
        return int(cleaned)
    if tag == _FLOAT:
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(text)
    return text


def to_value(
    node: Node, path: PathKey, source: SourceMap, _active: Optional[Set[int]] = None
) -> Any:
    """Build plain Python values from a node, recording lines and texts in ``source``."""
    active = set() if _active is None else _active
    if id(node) in active:
        source.problems.append((path, _line(node), "an alias refers to itself (recursive anchor)"))
        return None
    if isinstance(node, _nodes.ScalarNode):
        if node.tag not in (_NULL, _BOOL, _INT, _FLOAT, _STR, _TAG + "timestamp"):
            source.problems.append((path, _line(node), "unsupported YAML tag %s" % node.tag))
            return node.value
        try:
            value = _scalar(node)
        except ValueError:
            source.problems.append(
                (path, _line(node), "%r is not a valid %s" % (node.value, node.tag[len(_TAG) :]))
            )
            return node.value
        if node.style is None and node.tag != _STR:
            source.texts[path] = node.value
        return value
    active.add(id(node))
    try:
        if isinstance(node, _nodes.SequenceNode):
            return [
                to_value(item, (*path, index), source, active)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, _nodes.MappingNode):
            return _mapping(node, path, source, active)
    finally:
        active.discard(id(node))
    source.problems.append((path, _line(node), "unsupported YAML node"))  # pragma: no cover
    return None


def _merge_sources(node: Node) -> List[MappingNode]:
    if isinstance(node, _nodes.MappingNode):
        return [node]
    if isinstance(node, _nodes.SequenceNode):
        return [item for item in node.value if isinstance(item, _nodes.MappingNode)]
    return []


def _mapping(
    node: MappingNode, path: PathKey, source: SourceMap, active: Set[int]
) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    first_line: Dict[str, int] = {}
    merged: List[Tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if isinstance(key_node, _nodes.ScalarNode) and key_node.tag == _MERGE:
            for mapping in _merge_sources(value_node):
                merged.extend(mapping.value)
            continue
        if not isinstance(key_node, _nodes.ScalarNode):
            source.problems.append(
                (path, _line(key_node), "a key must be a plain name, not a list or mapping")
            )
            continue
        key = key_node.value
        if key in first_line:
            source.problems.append(
                (
                    (*path, key),
                    _line(key_node),
                    "%r is given twice (first on line %d)" % (key, first_line[key]),
                )
            )
        first_line[key] = _line(key_node)
        key_path = (*path, key)
        source.lines[key_path] = _line(key_node)
        result[key] = to_value(value_node, key_path, source, active)
    for key_node, value_node in merged:  # explicit keys win over merged ones
        key = str(key_node.value)
        if key not in result:
            source.lines.setdefault((*path, key), _line(key_node))
            result[key] = to_value(value_node, (*path, key), source, active)
    return result


def parse_value(text: str) -> Tuple[Any, Optional[str]]:
    """Read a command-line value as YAML: ``12`` -> 12, ``[1, 2]`` -> a list, ``a: b`` -> text.

    Returns:
        ``(value, source_text)``; ``source_text`` is set for plain numbers/booleans/null.
        Anything that is not a scalar or a flow ``[...]``/``{...}`` collection is kept as
        the literal text.
    """
    stripped = text.strip()
    try:
        documents = compose_documents(text)
    except YamlSyntaxError:
        return text, None
    if len(documents) != 1:
        return text, None
    node = documents[0]
    if isinstance(node, (_nodes.MappingNode, _nodes.SequenceNode)) and not node.flow_style:
        return text, None
    if (
        isinstance(node, _nodes.ScalarNode)
        and node.tag == _NULL
        and stripped not in ("~", "null", "Null", "NULL")
    ):
        return text, None  # e.g. "#comment": not meant as null
    source = SourceMap()
    value = to_value(node, (), source, None)
    if source.problems:
        return text, None
    return value, source.texts.get(())
