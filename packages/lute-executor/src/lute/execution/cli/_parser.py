"""The ``lute-exec`` parser: its commands, their options, the text of ``--help``.

Only the named command's module is imported and only its parser built; the whole parser
is built for top-level help, for errors and for the shell completion scripts.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, List, Optional, Tuple

from lute.execution.outcome import EXIT_CODE_TABLE

__all__ = ["COMMANDS", "PASS_ON", "build_parser", "command_function", "epilog"]

_EXAMPLES = """\
examples:
  lute-exec run -c config.yaml -t Tester                 run the Test Task
  lute-exec run -c config.yaml -t Tester Test.float_var=2.5 Test.compound_var.int_var=3
  lute-exec run -c config.yaml -t Tester --dry-run       show what would be launched
  lute-exec list                                         managed tasks and their Tasks
  lute-exec describe Test                                parameters of the Test Task
  lute-exec db list -w ./lute-work                       recent executions
  lute-exec db show 3 -w ./lute-work --json              one execution, for scripts
  lute-exec rerun 3 -w ./lute-work                       run execution 3 again, linked to it
  lute-exec follow --last -w ./lute-work                 stream the newest run until it ends
  lute-exec top -c config.yaml                           what is running now
  lute-exec submit -c config.yaml -t Tester --runs 12-40 -- --time=30   a SLURM job array
  lute-exec status -w ./lute-work                        submitted work beside SLURM's view
  lute-exec workflow submit dag.yaml -c config.yaml --runs 12-40   a DAG, by SLURM's dependencies
"""

# command -> (module, function adding its parser, function running it), in --help order.
COMMANDS: Dict[str, Tuple[str, str, str]] = {
    "run": ("lute.execution.cli._run", "add_parser", "run"),
    "list": ("lute.execution.cli._info", "add_list", "list_managed_tasks"),
    "describe": ("lute.execution.cli._info", "add_describe", "describe"),
    "db": ("lute.execution.cli._db", "add_parser", "run"),
    "rerun": ("lute.execution.cli._rerun", "add_parser", "rerun"),
    "follow": ("lute.execution.cli._watch", "add_follow", "follow"),
    "top": ("lute.execution.cli._watch", "add_top", "top"),
    "submit": ("lute.execution.cli._submit", "add_submit", "submit"),
    "status": ("lute.execution.cli._status", "add_status", "status"),
    "cancel": ("lute.execution.cli._status", "add_cancel", "cancel"),
    "resubmit": ("lute.execution.cli._submit", "add_resubmit", "resubmit"),
    "workflow": ("lute.execution.cli._workflow", "add_parser", "run"),
    "completion": ("lute.execution.cli._completion", "add_parser", "run"),
    "init": ("lute.execution.cli._init", "add_parser", "run"),
}
#: Commands whose arguments after ``--`` (sbatch options) are taken out before parsing
#: and handed over as ``args.after_dashes``.
PASS_ON = ("submit", "resubmit", "workflow")


def epilog() -> str:
    """The text after ``lute-exec --help``: examples, environment, exit codes."""
    from lute.settings import user_settings

    variables = [(setting.name, setting.meaning) for setting in user_settings()]
    codes = [(str(code), meaning) for code, meaning in EXIT_CODE_TABLE]
    return "%s\nenvironment:\n%s\nexit codes:\n%s" % (
        _EXAMPLES,
        _two_columns(variables, 22),
        _two_columns(codes, 4),
    )


def _two_columns(rows: List[Tuple[str, str]], width: int) -> str:
    import textwrap  # only for --help

    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, 96 - width) or [""]
        lines.append("  %-*s %s" % (width, name, wrapped[0]))
        lines.extend("  %s %s" % (" " * width, more) for more in wrapped[1:])
    return "\n".join(lines) + "\n"


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The ``lute-exec`` parser; with ``command``, only that subcommand's parser is built.

    Building every subcommand's arguments (and translating their help texts) costs a
    few milliseconds of each run; top-level help and errors use the whole parser.
    """
    from lute.runtime_version import __version__

    parser = argparse.ArgumentParser(
        prog="lute-exec",
        description="Run LUTE managed tasks: validate parameters from a YAML config, launch "
        "the Task, follow it and record its status and results.",
        epilog=epilog() if command is None else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="lute-exec %s" % __version__)
    # ``completion`` describes the whole parser: it gets the builder from its arguments,
    # as it may not import this module, which imports it by name (COMMANDS).
    parser.set_defaults(build_parser=build_parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if command is None or command == name:
            command_function(name, 1)(sub)
    return parser


def command_function(name: str, which: int) -> Callable[..., Any]:
    import importlib

    entry = COMMANDS[name]
    return getattr(importlib.import_module(entry[0]), entry[which])  # type: ignore[no-any-return]
