"""``{{ ... }}`` placeholders in config values.

Inside any text value:

- ``{{ run }}`` -- a header value; ``{{ run:04d }}`` -- with a Python format spec;
- ``{{ FindPeaks.out_file }}`` -- a value of another Task's section (dotted, nested
  keys and list positions allowed: ``{{ Task.group.files.0 }}``);
- ``{{ lute_config.run }}`` -- the header, spelled out;
- ``{{ $EXPERIMENT }}`` -- an environment variable.

A value that is exactly one placeholder (no format spec) takes the referenced value as
it is -- a number stays a number, a list a list; otherwise the text is assembled.
Referenced values may contain placeholders themselves; circles are reported. Nothing is
evaluated: only the forms above are understood.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Set

from lute.io.config._problems import ConfigProblem, Locator, did_you_mean, dotted
from lute.io.config._yaml_source import MISSING, PathKey, child_of
from lute.io.models._formatting import format_value

__all__ = ["FAILED", "HEADER", "Substituter"]

HEADER = "lute_config"
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(
    r"^\s*(?P<env>\$)?(?P<name>[A-Za-z_]\w*(?:\.\w+)*)\s*(?::(?P<spec>[^{}]*))?$", re.DOTALL
)


class _Failed:
    def __repr__(self) -> str:
        return "FAILED"


#: Marks a value whose placeholders could not be filled (its problem is reported).
FAILED: Any = _Failed()
_MISSING = object()


class Substituter:
    """Fills placeholders lazily, value by value, reporting every problem once.

    Args:
        tree: ``{"lute_config": header, "Task": section, ...}`` as read from YAML.
        texts: Source texts of plain scalars (updated for whole-value references).
        locate: Finds the file and line of a path.
        environ: Environment variables.
        header_default: Value of a header key the file does not set (``KeyError`` if none).
        normalise: Per-path functions applied to a resolved value (e.g. make paths absolute).
    """

    def __init__(
        self,
        tree: Dict[str, Any],
        texts: Dict[PathKey, str],
        locate: Locator,
        environ: Mapping[str, str],
        header_default: Callable[[str], Any],
        normalise: Optional[Dict[PathKey, Callable[[Any], Any]]] = None,
    ) -> None:
        self.tree = tree
        self.texts = texts
        self.locate = locate
        self.environ = environ
        self.header_default = header_default
        self.normalise = normalise or {}
        self.problems: List[ConfigProblem] = []
        self.failed: Set[PathKey] = set()
        self._done: Dict[PathKey, Any] = {}
        self._stack: List[PathKey] = []
        self._reported_cycles: Set[frozenset] = set()

    # -- public ------------------------------------------------------------------
    def resolve(self, path: PathKey) -> Any:
        """The value at ``path`` with every placeholder filled, or :data:`FAILED`.

        Failed entries of a mapping are left out of it (their problems are reported).
        """
        if path in self._done:
            return self._done[path]
        if path in self.failed:
            return FAILED
        if path in self._stack:
            self._report_cycle(path)
            return FAILED
        raw = self._raw(path)
        if raw is _MISSING:
            return FAILED
        self._stack.append(path)
        try:
            value = self._resolve_value(path, raw)
        finally:
            self._stack.pop()
        if value is FAILED:
            self.failed.add(path)
            return FAILED
        if path in self.normalise:
            value = self.normalise[path](value)
        self._done[path] = value
        return value

    # -- internals ---------------------------------------------------------------
    def _raw(self, path: PathKey) -> Any:
        current: Any = self.tree
        for part in path:
            current = child_of(current, part)
            if current is MISSING:
                return _MISSING
        return current

    def _resolve_value(self, path: PathKey, raw: Any) -> Any:
        if isinstance(raw, str):
            return self._resolve_text(path, raw)
        if isinstance(raw, dict):
            result = {}
            for key in raw:
                value = self.resolve((*path, key))
                if value is not FAILED:
                    result[key] = value
            return result
        if isinstance(raw, list):
            items = [self.resolve((*path, index)) for index in range(len(raw))]
            return FAILED if any(item is FAILED for item in items) else items
        return raw

    def _report(self, path: PathKey, message: str) -> None:
        self.problems.append(self.locate.problem(path, message))

    def _report_cycle(self, path: PathKey) -> None:
        cycle = [*self._stack[self._stack.index(path) :], path]
        key = frozenset(cycle)
        for member in cycle:
            self.failed.add(member)
        if key in self._reported_cycles:
            return
        self._reported_cycles.add(key)
        self._report(
            cycle[0],
            "placeholders refer to each other in a circle: %s"
            % " -> ".join(dotted(member) for member in cycle),
        )

    def _resolve_text(self, path: PathKey, text: str) -> Any:
        matches = list(_PLACEHOLDER.finditer(text))
        if not matches:
            if "{{" in text:
                self._report(path, "%r has '{{' without a closing '}}'" % text)
                return FAILED
            return text
        whole = len(matches) == 1 and matches[0].group(0) == text
        pieces: List[str] = []
        position = 0
        failed = False
        for match in matches:
            pieces.append(text[position : match.start()])
            position = match.end()
            inner = match.group(1)
            parsed = _REFERENCE.match(inner)
            if parsed is None:
                self._report(
                    path,
                    "cannot read the placeholder %s: use {{ name }}, {{ Task.param }}, "
                    "{{ $ENV_VAR }} or {{ name:format }}" % match.group(0),
                )
                failed = True
                continue
            spec = (parsed.group("spec") or "").strip()
            value, ref_path = self._lookup(
                path, match.group(0), parsed.group("name"), bool(parsed.group("env"))
            )
            if value is FAILED:
                failed = True
                continue
            if whole and not spec and parsed.group("spec") is None:
                if ref_path is not None and ref_path in self.texts:
                    self.texts[path] = self.texts[ref_path]
                return value
            piece = self._as_text(path, match.group(0), value, spec, ref_path)
            if piece is None:
                failed = True
                continue
            pieces.append(piece)
        if failed:
            return FAILED
        pieces.append(text[position:])
        return "".join(pieces)

    def _as_text(
        self, path: PathKey, placeholder: str, value: Any, spec: str, ref_path: Optional[PathKey]
    ) -> Optional[str]:
        if isinstance(value, (dict, list)):
            self._report(
                path,
                "%s is a %s and cannot be put inside text"
                % (placeholder, "mapping" if isinstance(value, dict) else "list"),
            )
            return None
        if spec:
            try:
                return format_value(value, spec)
            except ValueError as err:
                self._report(path, "%s: %s" % (placeholder, err))
                return None
        if ref_path is not None and ref_path in self.texts:
            return self.texts[ref_path]
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _lookup(self, path: PathKey, placeholder: str, name: str, env: bool) -> Any:
        """(value, path it came from) for one placeholder; reports problems."""
        if env:
            if name not in self.environ:
                self._report(
                    path, "%s: the environment variable %s is not set" % (placeholder, name)
                )
                return FAILED, None
            return self.environ[name], None
        parts: List[Any] = name.split(".")
        sections = [key for key in self.tree if key != HEADER]
        header = self.tree.get(HEADER)
        header_keys = list(header) if isinstance(header, dict) else []
        target: PathKey
        if parts == [HEADER] or (len(parts) > 1 and parts[0] in sections):
            target = tuple(parts)
        else:
            if parts[0] == HEADER:
                parts = parts[1:]
            if parts[0] in header_keys:
                target = (HEADER, *parts)
            elif len(parts) == 1 and parts[0] in sections:
                target = (parts[0],)
            else:
                return self._header_default(path, placeholder, parts, header_keys + sections)
        target = self._with_indices(target)
        if self._raw(target) is _MISSING:
            self._report(path, "%s: %s is not set in this file" % (placeholder, dotted(target)))
            return FAILED, None
        value = self.resolve(target)
        return value, target

    def _header_default(
        self, path: PathKey, placeholder: str, parts: List[str], known: List[str]
    ) -> Any:
        try:
            default = self.header_default(parts[0])
        except KeyError:
            self._report(
                path,
                "%s: %r is neither a header value nor a section of this file%s"
                % (placeholder, parts[0], did_you_mean(parts[0], known)),
            )
            return FAILED, None
        if len(parts) > 1:
            self._report(path, "%s: the header value %r has no parts" % (placeholder, parts[0]))
            return FAILED, None
        return default, None

    def _with_indices(self, target: PathKey) -> PathKey:
        # Digits address list items: {{ Task.files.0 }}.
        fixed: List[Any] = []
        current: Any = self.tree
        for part in target:
            if isinstance(current, list) and isinstance(part, str) and part.isdigit():
                part = int(part)
            fixed.append(part)
            if isinstance(current, dict):
                current = current.get(part)
            elif isinstance(current, list) and isinstance(part, int) and part < len(current):
                current = current[part]
            else:
                current = None
        return tuple(fixed)
