"""Config problems: what is wrong, where (file, line, parameter path), in plain words.

Standard library only: reading a config and the early header read
(:mod:`lute.io.config._early`) report problems without importing pydantic. Turning
pydantic's validation errors into problems is :mod:`lute.io.config._validation_problems`.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from lute._records import FrozenRecord
from lute.io.config._yaml_source import PathKey

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "Locator",
    "close_matches",
    "did_you_mean",
    "dotted",
]


def dotted(path: Sequence[Union[str, int]]) -> str:
    """``("Test", "compound_var", "int_var")`` -> ``"Test.compound_var.int_var"``."""
    return ".".join(str(part) for part in path)


def close_matches(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> List[str]:
    """Candidates that look like ``word`` (a misspelling or a different capitalisation)."""
    candidates = list(candidates)
    import difflib  # only when a name is wrong

    found = difflib.get_close_matches(word, candidates, n=3, cutoff=cutoff)
    for candidate in candidates:
        if candidate.lower() == word.lower() and candidate != word and candidate not in found:
            found.insert(0, candidate)
    return found


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""``."""
    found = close_matches(word, candidates)
    if not found:
        return ""
    return "; did you mean %s?" % " or ".join(repr(name) for name in found)


class ConfigProblem(FrozenRecord):
    """One thing wrong with a config.

    Immutable and hashable (problems are de-duplicated in sets).

    Attributes:
        file: The config file (or ``"command line"`` for an override).
        line: 1-based line, when known.
        path: Dotted parameter path (``"Test.compound_var.int_var"``; header values
            are ``"lute_config.run"``).
        message: What is wrong and, where possible, how to fix it.
    """

    _FIELDS = ("file", "line", "path", "message")
    __slots__ = ("file", "line", "message", "path")
    file: str
    line: Optional[int]
    path: str
    message: str

    def __init__(self, file: str, line: Optional[int], path: str, message: str) -> None:
        self._set_fields(file, line, path, message)

    def __str__(self) -> str:
        where = self.file if self.line is None else "%s:%d" % (self.file, self.line)
        return (
            "%s: %s: %s" % (where, self.path, self.message)
            if self.path
            else "%s: %s" % (where, self.message)
        )


class ConfigError(Exception):
    """A config has problems; all of them are in :attr:`problems`.

    Attributes:
        problems: Every problem found, in file/line order.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        ordered = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
        self.problems: List[ConfigProblem] = ordered
        super().__init__(self._text())

    def _text(self) -> str:
        count = len(self.problems)
        files = sorted({problem.file for problem in self.problems})
        title = "%d problem%s in %s:" % (
            count,
            "" if count == 1 else "s",
            ", ".join(files) or "the config",
        )
        return "\n".join([title] + ["  " + str(problem) for problem in self.problems])

    def __str__(self) -> str:
        return self._text()


class Locator:
    """Finds the file and line of a parameter path (nearest recorded ancestor)."""

    def __init__(self, file: str, lines: Dict[PathKey, int], origins: Dict[PathKey, str]) -> None:
        self.file = file
        self.lines = lines
        self.origins = origins

    def __call__(self, path: PathKey) -> Tuple[str, Optional[int]]:
        for end in range(len(path), 0, -1):
            prefix = tuple(path[:end])
            if prefix in self.origins:
                return self.origins[prefix], None
            if prefix in self.lines:
                return self.file, self.lines[prefix]
        return self.file, None

    def problem(self, path: PathKey, message: str) -> ConfigProblem:
        """A problem located at ``path``."""
        file, line = self(path)
        return ConfigProblem(file, line, dotted(path), message)
