"""Every LUTE_* environment variable is declared once, in lute.settings, and documented."""

from __future__ import annotations

import ast
import re

import pytest

from lute import settings
from tests.conftest import ROOT, lute_exec

#: Strings that look like variable names but are not variables.
NOT_VARIABLES = {
    "LUTE_ENVIRONMENT_FOLLOWS",  # the marker between a sourced script's output and its env
    "LUTE_SIGNALS",  # Python names
    "LUTE_OPTION_DEFAULTS",
    "LUTE_DEBUG_EXIT",
    "LUTE_DEBUG_PAUSE",
    "LUTE_TASK_LOG_FORMAT",
    "LUTE_DAG",  # the YAML tag !LUTE_DAG of the original's workflow files
    "LUTE_SOCKET",  # the original's socket variable, named where its migration is told
}
#: Variables of the development scripts and the test suite, not of LUTE itself.
DEVELOPMENT = re.compile(r"LUTE_(TEST|BOOTSTRAP)_[A-Z0-9_]+|LUTE_DEV_PYTHON|LUTE_PYTHON|LUTE_EXEC")
NAME = re.compile(r"(?:LUTE|JID)_[A-Z0-9_]+")


def _named_in_source() -> dict:  # type: ignore[type-arg]
    """Every string constant in the shipped code that is exactly a variable's name."""
    found = {}
    for path in sorted((ROOT / "packages").glob("*/src/lute/**/*.py")):
        if path.name == "settings.py" and path.parent.name == "lute":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and NAME.fullmatch(node.value)
                and node.value not in NOT_VARIABLES
            ):
                found.setdefault(node.value, []).append(
                    "%s:%d" % (path.relative_to(ROOT), node.lineno)
                )
    return found


def test_no_module_names_a_variable_itself() -> None:
    """Code reads a variable through its Setting (``settings.X.get()``), never by name."""
    assert _named_in_source() == {}


def test_every_variable_in_the_docs_and_messages_is_declared() -> None:
    mentioned = set()
    for path in [*(ROOT / "packages").glob("*/src/lute/**/*.py"), *(ROOT / "docs").glob("*.md")]:
        mentioned |= set(NAME.findall(path.read_text()))
    prefixes = {name for name in mentioned if name.endswith("_")}  # "LUTE_ELOG_*" in prose
    undeclared = mentioned - prefixes - set(settings.ALL) - NOT_VARIABLES
    assert {name for name in undeclared if not DEVELOPMENT.fullmatch(name)} == set()


def test_the_docs_table_is_the_generated_one() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert settings.markdown_table() in page, "regenerate it: python -m lute.settings"


def test_help_lists_every_user_variable() -> None:
    helped = lute_exec(["--help"]).stdout
    for setting in settings.user_settings():
        assert "\n  %s " % setting.name in helped, setting.name


@pytest.mark.parametrize("text", ["1", "true", "Yes", "ON"])
def test_flags_read_one_way_true(text: str) -> None:
    assert settings.USE_ZMQ.get({"LUTE_USE_ZMQ": text}) is True


@pytest.mark.parametrize("text", ["0", "false", "No", "off"])
def test_flags_read_one_way_false(text: str) -> None:
    assert settings.USE_ZMQ.get({"LUTE_USE_ZMQ": text}) is False


@pytest.mark.parametrize(
    ("setting", "text", "message"),
    [
        (settings.USE_ZMQ, "maybe", "LUTE_USE_ZMQ='maybe': expected 1 or 0"),
        (settings.MPI_RANKS, "two", "LUTE_MPI_RANKS='two': expected a whole number"),
        (settings.MPI_RANKS, "0", "LUTE_MPI_RANKS='0': must be greater than 0"),
        (settings.ELOG_TIMEOUT, "soon", "LUTE_ELOG_TIMEOUT='soon': expected a number"),
        (settings.DB_JOURNAL_MODE, "fast", "LUTE_DB_JOURNAL_MODE='fast': expected one of WAL"),
    ],
)
def test_a_bad_value_names_its_variable(setting: settings.Setting, text: str, message: str) -> None:
    with pytest.raises(settings.SettingError, match=re.escape(message)):
        setting.get({setting.name: text})


def test_unset_and_blank_give_the_default() -> None:
    assert settings.ELOG_ATTEMPTS.get({}) == 3
    assert settings.ELOG_ATTEMPTS.get({"LUTE_ELOG_ATTEMPTS": "  "}) == 3
    assert settings.DB_JOURNAL_MODE.get({"LUTE_DB_JOURNAL_MODE": "delete"}) == "DELETE"


def test_a_bad_flag_is_a_usage_error_of_lute_exec(config) -> None:  # type: ignore[no-untyped-def]
    done = lute_exec(["run", "-c", str(config), "-t", "Tester"], env={"LUTE_USE_ZMQ": "maybe"})
    assert done.returncode == 2
    assert "LUTE_USE_ZMQ='maybe'" in done.stderr and "Traceback" not in done.stderr
