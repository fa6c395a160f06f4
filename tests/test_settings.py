"""Every LUTE_* environment variable is declared once, in lute.settings, and documented."""

from __future__ import annotations

import ast
import re
from typing import Any, Dict, List, Optional, Tuple

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


#: The only places a declared variable's name is used as a key of an environment other
#: than to read it: where the Executor writes the hand-off variables into the environment
#: of the Task it starts, and where the Task takes the run's key out of its own (and puts
#: it back into the copy a forked child connects with). Module (below ``src/``), function,
#: the variables it may write or remove; reads are allowed nowhere.
ENVIRONMENT_WRITERS = {
    ("lute/execution/ipc/_listener.py", "Listener.task_environment"): {
        "LUTE_IPC_ADDRESS",
        "LUTE_IPC_KEY",
        "LUTE_IPC_MAX_FRAME",
        "LUTE_USE_ZMQ",
        "LUTE_ZMQ_ADDRESS",
    },
    ("lute/execution/supervision.py", "Launch.spawn"): {"LUTE_TASK_NAME", "LUTE_EXECUTOR_PID"},
    ("lute/execution/ipc/_connect.py", "connect"): {"LUTE_IPC_KEY"},
    ("lute/execution/ipc/_connect.py", "_conceal_key"): {"LUTE_IPC_KEY"},
}
#: The Setting objects by the name code refers to them with (``settings.ELOG_URL``).
SETTING_OBJECTS = {
    attribute: value.name
    for attribute, value in vars(settings).items()
    if isinstance(value, settings.Setting)
}


class _KeyUses(ast.NodeVisitor):
    """Every use of a declared variable's name as a mapping key: ``environ[X.name]``,
    ``env.get(X.name)``, ``X.name in os.environ``, ``{X.name: ...}``, ``os.getenv(...)``,
    also through a module-level alias (``ENV_KEY = settings.IPC_KEY.name``)."""

    def __init__(self, aliases: Dict[str, str]) -> None:
        self.aliases = aliases
        self.scope: List[str] = []
        self.uses: List[Tuple[str, str, str, int]] = []  # (function, variable, how, line)

    def variable(self, node: Optional[ast.AST]) -> Optional[str]:
        """The variable whose name ``node`` evaluates to, if it is a declared one's."""
        if isinstance(node, ast.Attribute) and node.attr == "name":
            owner = node.value
            attribute = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            )
            return SETTING_OBJECTS.get(attribute or "")
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            return self.aliases.get(node.attr)
        return None

    def use(self, key: Optional[ast.AST], how: str, line: int) -> None:
        variable = self.variable(key)
        if variable is not None:
            self.uses.append((".".join(self.scope), variable, how, line))

    def scoped(self, node: Any) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = scoped

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key: ast.AST = node.slice
        if type(key).__name__ == "Index":  # Python 3.8 wraps the key
            key = key.value  # type: ignore[attr-defined]
        how = {ast.Store: "write", ast.Del: "remove"}.get(type(node.ctx), "read")
        self.use(key, how, node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        how = {
            "get": "read",
            "getenv": "read",
            "pop": "remove",
            "unsetenv": "remove",
            "setdefault": "read",
            "putenv": "write",
        }.get(name or "")
        if how is not None and node.args:
            self.use(node.args[0], how, node.lineno)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            self.use(node.left, "read", node.lineno)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            self.use(key, "write", node.lineno)
        self.generic_visit(node)


def _aliases(trees: Dict[str, ast.Module]) -> Dict[str, str]:
    """Module-level names bound to a declared variable's name (``ENV_KEY = IPC_KEY.name``)."""
    probe = _KeyUses({})
    found = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, variable = node.targets[0], probe.variable(node.value)
                if isinstance(target, ast.Name) and variable is not None:
                    found[target.id] = variable
    return found


def _environment_key_uses(trees: Dict[str, ast.Module]) -> List[str]:
    """Every use of a declared variable's name as a key outside ``lute/settings.py``,
    but the writes :data:`ENVIRONMENT_WRITERS` allows, as ``module:line: function how X``."""
    aliases = _aliases(trees)
    offending = []
    for module, tree in sorted(trees.items()):
        visitor = _KeyUses(aliases)
        visitor.visit(tree)
        for function, variable, how, line in visitor.uses:
            if how != "read" and variable in ENVIRONMENT_WRITERS.get((module, function), ()):
                continue
            offending.append("%s:%d: %s %s %s" % (module, line, function, how, variable))
    return offending


def _shipped_trees() -> Dict[str, ast.Module]:
    trees = {}
    for path in sorted((ROOT / "packages").glob("*/src/lute/**/*.py")):
        module = path.relative_to(path.parents[len(path.relative_to(ROOT).parts) - 4]).as_posix()
        if module != "lute/settings.py":
            trees[module] = ast.parse(path.read_text(), str(path))
    return trees


def test_no_module_reads_a_declared_variable_but_through_its_setting() -> None:
    """``os.environ.get(settings.X.name)`` and the like parse the value a second way: the
    Setting (``settings.X.get(environ)``) is the one reader."""
    assert _environment_key_uses(_shipped_trees()) == []


def test_the_scan_sees_every_way_of_reading_a_variable() -> None:
    source = """
from lute import settings
from lute.settings import ELOG_URL
ALIAS = settings.IPC_KEY.name

def reader(environ):
    environ.get(ELOG_URL.name)
    os.environ[settings.ELOG_URL.name]
    os.getenv(ALIAS)
    ALIAS in environ
    _protocol.ALIAS in environ

def spawn(env):
    env[ALIAS] = "x"
    env.pop(ALIAS)
    return {ELOG_URL.name: "x"}
"""
    uses = _environment_key_uses({"lute/m.py": ast.parse(source)})
    assert [use.split(":", 2)[1:] for use in uses] == [
        ["7", " reader read LUTE_ELOG_URL"],
        ["8", " reader read LUTE_ELOG_URL"],
        ["9", " reader read LUTE_IPC_KEY"],
        ["10", " reader read LUTE_IPC_KEY"],
        ["11", " reader read LUTE_IPC_KEY"],
        ["14", " spawn write LUTE_IPC_KEY"],
        ["15", " spawn remove LUTE_IPC_KEY"],
        ["16", " spawn write LUTE_ELOG_URL"],
    ]
    # A hand-off writer may write and remove its variables, never read them.
    allowed = ENVIRONMENT_WRITERS[("lute/execution/ipc/_connect.py", "_conceal_key")]
    writer = "def _conceal_key(env):\n    env.pop(ALIAS)\n    env[ALIAS] = 1\n    env.get(ALIAS)\n"
    tree = ast.parse("ALIAS = settings.IPC_KEY.name\n" + writer)
    assert allowed == {"LUTE_IPC_KEY"}
    assert _environment_key_uses({"lute/execution/ipc/_connect.py": tree}) == [
        "lute/execution/ipc/_connect.py:5: _conceal_key read LUTE_IPC_KEY"
    ]


def _foreign_reads() -> Dict[str, List[str]]:
    """Variables read by a literal name (``os.environ.get("TERM")``, ``"NO_COLOR" in env``)
    from an environment (a mapping whose name holds ``env``), outside lute/settings.py."""

    def environment(node: ast.AST) -> bool:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        return "env" in name.lower()

    def variable(node: Optional[ast.AST]) -> Optional[str]:
        text = node.value if isinstance(node, ast.Constant) else None
        return text if isinstance(text, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", text) else None

    found: Dict[str, List[str]] = {}
    for module, tree in _shipped_trees().items():
        for node in ast.walk(tree):
            name = None
            loaded = isinstance(getattr(node, "ctx", None), ast.Load)
            if isinstance(node, ast.Subscript) and loaded and environment(node.value):
                key = node.slice
                name = variable(
                    getattr(key, "value", None) if type(key).__name__ == "Index" else key
                )
            elif isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("get", "getenv") and environment(node.func.value):
                    name = variable(node.args[0])
            elif (
                isinstance(node, ast.Compare)
                and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
                and environment(node.comparators[0])
            ):
                name = variable(node.left)
            if name is not None and name not in settings.ALL:
                found.setdefault(name, []).append("%s:%d" % (module, node.lineno))
    return found


def test_the_other_programs_variables_that_lute_reads_are_listed() -> None:
    """docs/settings.md lists the variables LUTE reads that are not its settings."""
    from lute.tasks import _context

    page = (ROOT / "docs" / "settings.md").read_text()
    listed = set(
        re.findall(r"`([A-Z][A-Z0-9_]+)`", page.partition("## Variables of other programs")[2])
    )
    listed -= set(settings.ALL)  # named in passing ("before LUTE_MPI_RANKS")
    read = set(_foreign_reads()) | set(_context._RANK_VARIABLES)
    assert {"SLURM_NTASKS", "SLURM_JOB_ID", "NO_COLOR", "TERM"} <= read  # the scan sees them
    assert read - listed == set(), _foreign_reads()
    assert listed - read - {"CONDA_EXE", "CONDA_PYTHON_EXE"} == set()  # read in a loop


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
