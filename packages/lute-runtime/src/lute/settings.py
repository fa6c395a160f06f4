"""Every ``LUTE_*`` environment variable (and the facility's that LUTE reads), declared
once: name, meaning, default, parser.

Code reads a variable through its :class:`Setting` (``settings.DB_JOURNAL_MODE.get()``),
never with a bare ``os.environ.get("LUTE_...")``; the ``lute-exec --help`` epilog and the
table in ``docs/settings.md`` are generated from :data:`ALL` (``python -m lute.settings``
prints that table), and a test fails when the code names a ``LUTE_*`` variable that is not
declared here.

Standard library only, Python 3.8, and cheap to import: the Task side reads the IPC
variables through it.
"""

from __future__ import annotations

import os

# Annotations only (PEP 563): importing typing costs more than this module on 3.8.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["ALL", "Setting", "SettingError", "parse_flag"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Who sets a variable: the user (or the site), or the Executor for the Task it launches.
USER = "user"
HANDOFF = "handoff"


class SettingError(ValueError):
    """A variable is set to a value its parser refuses; the message names it."""


def parse_flag(name: str, text: str) -> bool:
    """``True`` for 1/true/yes/on, ``False`` for 0/false/no/off (any case).

    Raises:
        SettingError: Anything else.
    """
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingError("%s=%r: expected 1 or 0 (or true/false, yes/no, on/off)" % (name, text))


def _parse_positive(name: str, text: str, kind: type) -> Any:
    try:
        value = kind(text.strip())
    except ValueError:
        raise SettingError(
            "%s=%r: expected a %s" % (name, text, "whole number" if kind is int else "number")
        ) from None
    if value <= 0:
        raise SettingError("%s=%r: must be greater than 0" % (name, text))
    return value


class Setting:
    """One environment variable.

    Args:
        name: The variable's name.
        meaning: One line for ``--help`` and the docs.
        default: The value when the variable is unset or empty.
        kind: ``"text"``, ``"flag"`` (1/0 …), ``"int"`` or ``"number"`` (both > 0), or
            ``"choice"``.
        choices: The accepted values of a ``"choice"`` (case-insensitive; given upper-case).
        audience: :data:`USER` (set by users or the site) or :data:`HANDOFF` (set by the
            Executor in the Task's environment).
        secret: Its value is never shown (keys, passwords).
    """

    __slots__ = ("audience", "choices", "default", "kind", "meaning", "name", "secret")

    def __init__(
        self,
        name: str,
        meaning: str,
        *,
        default: Any = None,
        kind: str = "text",
        choices: Tuple[str, ...] = (),
        audience: str = USER,
        secret: bool = False,
    ) -> None:
        self.name = name
        self.meaning = meaning
        self.default = default
        self.kind = kind
        self.choices = choices
        self.audience = audience
        self.secret = secret

    def raw(self, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
        """The variable's text; ``None`` when it is unset or blank."""
        text = (os.environ if environ is None else environ).get(self.name)
        if text is None or not text.strip():
            return None
        return text

    def is_set(self, environ: Optional[Mapping[str, str]] = None) -> bool:
        """Whether the variable holds a (non-blank) value."""
        return self.raw(environ) is not None

    def get(self, environ: Optional[Mapping[str, str]] = None) -> Any:
        """The parsed value, or :attr:`default` when unset.

        Args:
            environ: Where to look (default: ``os.environ``).

        Raises:
            SettingError: The value does not parse; the message names the variable.
        """
        text = self.raw(environ)
        if text is None:
            return self.default
        return self.parse(text)

    def parse(self, text: str) -> Any:
        """``text`` read as this variable's value (for a value given elsewhere, such as a
        config's, checked with this variable's message).

        Raises:
            SettingError: ``text`` does not parse; the message names the variable.
        """
        if self.kind == "flag":
            return parse_flag(self.name, text)
        if self.kind == "int":
            return _parse_positive(self.name, text, int)
        if self.kind == "number":
            return _parse_positive(self.name, text, float)
        if self.kind == "choice":
            value = text.strip().upper()
            if value not in self.choices:
                raise SettingError(
                    "%s=%r: expected one of %s" % (self.name, text, ", ".join(self.choices))
                )
            return value
        return text

    def describe_default(self) -> str:
        """The default as the docs show it."""
        if self.default is None:
            return "unset"
        if self.kind == "flag":
            return "1" if self.default else "0"
        return str(self.default)

    def __repr__(self) -> str:
        return "Setting(%r)" % self.name


# The Task's environment, set by the Executor at launch ----------------------------------
IPC_ADDRESS = Setting(
    "LUTE_IPC_ADDRESS",
    "the Executor's stdlib IPC endpoint (unix:/path or tcp:HOST:PORT)",
    audience=HANDOFF,
)
ZMQ_ADDRESS = Setting(
    "LUTE_ZMQ_ADDRESS",
    "the Executor's ZMQ endpoint, offered beside the stdlib one",
    audience=HANDOFF,
)
IPC_KEY = Setting(
    "LUTE_IPC_KEY",
    "the run's HMAC key, hex (never logged or stored)",
    audience=HANDOFF,
    secret=True,
)
IPC_MAX_FRAME = Setting(
    "LUTE_IPC_MAX_FRAME",
    "largest IPC frame accepted, in bytes",
    kind="int",
    audience=HANDOFF,
)
TASK_NAME = Setting(
    "LUTE_TASK_NAME",
    "the Task to import before its parameters arrive",
    audience=HANDOFF,
)
EXECUTOR_PID = Setting(
    "LUTE_EXECUTOR_PID",
    "pid of the Executor that started the Task: the Task stops if it is gone at start",
    kind="int",
    audience=HANDOFF,
)

# Set by users or the site ------------------------------------------------------------------
USE_ZMQ = Setting(
    "LUTE_USE_ZMQ",
    "1: offer ZMQ beside the socket (the Task env must have pyzmq); 0: stdlib only",
    kind="flag",
)
CONFIGPATH = Setting("LUTE_CONFIGPATH", "config file when -c is not given")
MPI_RANKS = Setting(
    "LUTE_MPI_RANKS", "ranks of MPI Tasks when neither the config nor SLURM says", kind="int"
)
MPI_LAUNCHER = Setting(
    "LUTE_MPI_LAUNCHER", "launcher for MPI Tasks (default: srun in SLURM, else mpirun)"
)
SRUN_MPI = Setting(
    "LUTE_SRUN_MPI", "srun's --mpi plugin for MPI Tasks (default: pmix where srun has it)"
)
SLURM_DEFAULTS = Setting(
    "LUTE_SLURM_DEFAULTS",
    "YAML file of the site's default sbatch options for lute-exec submit (docs/slurm.md)",
)
DB_JOURNAL_MODE = Setting(
    "LUTE_DB_JOURNAL_MODE",
    "SQLite journal mode of the results database: DELETE for NFS",
    default="WAL",
    kind="choice",
    choices=("WAL", "DELETE", "TRUNCATE", "PERSIST"),
)
CONFIG_CACHE = Setting(
    "LUTE_CONFIG_CACHE",
    "0: parse the YAML on every run (no parsed-config cache)",
    default=True,
    kind="flag",
)
FAST_EXIT = Setting(
    "LUTE_FAST_EXIT",
    "0: lute-exec exits through normal interpreter teardown (for coverage, profilers)",
    default=True,
    kind="flag",
)
XDG_CACHE_HOME = Setting(
    "XDG_CACHE_HOME",
    "where probe results, parsed configs and crash reports are kept (default: ~/.cache)",
)
JID_UPDATE_COUNTERS = Setting(
    "JID_UPDATE_COUNTERS", "the facility's run-counters URL (set by its job launcher)"
)
ELOG_URL = Setting("LUTE_ELOG_URL", "eLog base URL; setting it turns eLog posting on")
ELOG_ENTRIES = Setting(
    "LUTE_ELOG_ENTRIES",
    "1: post eLog entries (to the default eLog when LUTE_ELOG_URL is unset); 0: none",
    kind="flag",
)
ELOG_USER = Setting("LUTE_ELOG_USER", "eLog user for HTTP basic authentication")
ELOG_PASSWORD = Setting(
    "LUTE_ELOG_PASSWORD", "eLog password for HTTP basic authentication", secret=True
)
ELOG_TAGS = Setting("LUTE_ELOG_TAGS", "space-separated tags of every eLog entry", default="LUTE")
ELOG_ENTRY_PATH = Setting(
    "LUTE_ELOG_ENTRY_PATH", "eLog entry endpoint, with {experiment} (default: the LCLS one)"
)
ELOG_TIMEOUT = Setting(
    "LUTE_ELOG_TIMEOUT", "seconds one eLog request may take", default=10.0, kind="number"
)
ELOG_ATTEMPTS = Setting(
    "LUTE_ELOG_ATTEMPTS", "tries of one eLog request before it is given up", default=3, kind="int"
)
ELOG_AUTH = Setting(
    "LUTE_ELOG_AUTH",
    "how eLog requests authenticate: basic (user and password) or kerberos (GSSAPI, "
    "needs lute-executor[kerberos] and a ticket)",
    default="BASIC",
    kind="choice",
    choices=("BASIC", "KERBEROS"),
)
ELOG_RUN_TABLE = Setting(
    "LUTE_ELOG_RUN_TABLE",
    "post a result's key/values to the eLog's run table (run parameters) as well",
    default=True,
    kind="flag",
)
SUMMARIES_ROOT = Setting(
    "LUTE_SUMMARIES_ROOT",
    "facility summaries directory: summary-plot pages are also written to "
    "<root>/<display name>/report.html ({experiment} and {hutch} are filled in)",
)

# Set by the facility's job launcher (the eLog's ARP) for the job it starts ---------------
EXPERIMENT = Setting(
    "EXPERIMENT", "experiment of the job the eLog started: the header's default experiment"
)
RUN_NUM = Setting(
    "RUN_NUM", "<run>_<datetime> of the job the eLog started: the header's default run"
)
RUN = Setting("RUN", "run the original read_latest_db_entry looks for by default")

# The original LUTE's debugging exits (lute.execution.debug_utils) ------------------------
DEBUG_EXIT_AT_YAML = Setting(
    "LUTE_DEBUG_EXIT_AT_YAML",
    "original LUTE: exit after reading the config; here: use lute-exec run --dry-run",
)
DEBUG_BEFORE_TPP_EXEC = Setting(
    "LUTE_DEBUG_BEFORE_TPP_EXEC",
    "original LUTE: exit before a third-party program starts; here: lute-exec run --dry-run "
    "shows its command line",
)

#: Every declared variable, by name, in the order the docs list them.
ALL: Dict[str, Setting] = {
    setting.name: setting
    for setting in (
        CONFIGPATH,
        MPI_RANKS,
        MPI_LAUNCHER,
        SRUN_MPI,
        SLURM_DEFAULTS,
        USE_ZMQ,
        DB_JOURNAL_MODE,
        CONFIG_CACHE,
        FAST_EXIT,
        XDG_CACHE_HOME,
        JID_UPDATE_COUNTERS,
        ELOG_URL,
        ELOG_ENTRIES,
        ELOG_USER,
        ELOG_PASSWORD,
        ELOG_TAGS,
        ELOG_ENTRY_PATH,
        ELOG_TIMEOUT,
        ELOG_ATTEMPTS,
        ELOG_AUTH,
        ELOG_RUN_TABLE,
        SUMMARIES_ROOT,
        EXPERIMENT,
        RUN_NUM,
        RUN,
        DEBUG_EXIT_AT_YAML,
        DEBUG_BEFORE_TPP_EXEC,
        IPC_ADDRESS,
        ZMQ_ADDRESS,
        IPC_KEY,
        IPC_MAX_FRAME,
        TASK_NAME,
        EXECUTOR_PID,
    )
}


def user_settings() -> List[Setting]:
    """The variables users or sites set (those ``lute-exec --help`` lists)."""
    return [setting for setting in ALL.values() if setting.audience == USER]


def markdown_table() -> str:
    """The table of ``docs/settings.md``."""
    rows = [
        "| variable | set by | meaning | default |",
        "| --- | --- | --- | --- |",
    ]
    for setting in ALL.values():
        who = "the Executor, for the Task" if setting.audience == HANDOFF else "you or the site"
        rows.append(
            "| `%s` | %s | %s | %s |"
            % (setting.name, who, setting.meaning.replace("|", "\\|"), setting.describe_default())
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
