"""``lute-exec``: run managed tasks and inspect what they recorded.

One private module per command family (``_run``, ``_info``, ``_db``); only the named
command's module is imported and only its parser built (the whole parser is built for
top-level help and errors). Every failure ends with one line on stderr and an exit code
of :data:`lute.execution.outcome.EXIT_CODE_TABLE`: bad input never shows a traceback;
an internal error (a bug) saves its traceback to a file and says where. A reader that
stops reading (``lute-exec db list | head``) ends the command quietly.

``LUTE_FAST_EXIT=0`` turns off the fast exit (see :func:`console_main`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from lute.execution.outcome import EXIT_CANCELLED, EXIT_CODE_TABLE, EXIT_INTERNAL, EXIT_USAGE
from lute.settings import SettingError

__all__ = ["console_main", "main"]

_EXAMPLES = """\
examples:
  lute-exec run -c config.yaml -t Tester                 run the Test Task
  lute-exec run -c config.yaml -t Tester Test.float_var=2.5 Test.compound_var.int_var=3
  lute-exec run -c config.yaml -t Tester --dry-run       show what would be launched
  lute-exec list                                         managed tasks and their Tasks
  lute-exec describe Test                                parameters of the Test Task
  lute-exec db list -w ./lute-work                       recent executions
  lute-exec db show 3 -w ./lute-work --json              one execution, for scripts
  lute-exec follow --last -w ./lute-work                 stream the newest run until it ends
  lute-exec top -c config.yaml                           what is running now
"""

# command -> (module, function adding its parser, function running it), in --help order.
_COMMANDS: Dict[str, Tuple[str, str, str]] = {
    "run": ("lute.execution.cli._run", "add_parser", "run"),
    "list": ("lute.execution.cli._info", "add_list", "list_managed_tasks"),
    "describe": ("lute.execution.cli._info", "add_describe", "describe"),
    "db": ("lute.execution.cli._db", "add_parser", "run"),
    "follow": ("lute.execution.cli._watch", "add_follow", "follow"),
    "top": ("lute.execution.cli._watch", "add_top", "top"),
}


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


def _parser(command: Optional[str] = None) -> argparse.ArgumentParser:
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        if command is None or command == name:
            _command_function(name, 1)(sub)
    return parser


def _command_function(name: str, which: int) -> Callable[..., Any]:
    import importlib

    entry = _COMMANDS[name]
    return getattr(importlib.import_module(entry[0]), entry[which])  # type: ignore[no-any-return]


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``lute-exec`` console script; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    try:
        named = arguments[0] if arguments and arguments[0] in _COMMANDS else None
        parser = _parser(named)
        args = parser.parse_args(arguments)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return int(_command_function(args.command, 2)(args))
    except BrokenPipeError:
        return _reader_gone()
    except SettingError as failure:  # a LUTE_* variable with a value it cannot have
        sys.stderr.write("lute-exec: error: %s\n" % failure)
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("lute-exec: interrupted\n")
        return EXIT_CANCELLED
    except Exception as failure:  # a bug (or a plug-in's): one line, the traceback saved
        return _internal_error(failure)


def _reader_gone() -> int:
    """Whoever read our output stopped (``| head``): end quietly, as other tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # later flushes find somewhere to go
    except (OSError, ValueError):
        pass
    return 0


def _internal_error(failure: BaseException) -> int:
    import time
    import traceback

    from lute._paths import cache_dir

    text = "".join(traceback.format_exception(type(failure), failure, failure.__traceback__))
    where = os.path.join(
        cache_dir("crashes"), "lute-exec-%s-%d.txt" % (time.strftime("%Y%m%dT%H%M%S"), os.getpid())
    )
    try:
        os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
        with open(where, "w", encoding="utf-8") as handle:
            handle.write("lute-exec %s\n\n%s" % (" ".join(sys.argv[1:]), text))
        saved = "the traceback is in %s" % where
    except OSError:
        saved = "the traceback could not be saved:\n%s" % text
    sys.stderr.write(
        "lute-exec: internal error: %s: %s\n(a bug in lute-exec or in a plug-in it loaded; %s)\n"
        % (type(failure).__name__, failure, saved)
    )
    return EXIT_INTERNAL


def console_main() -> None:
    """The ``lute-exec`` console script: :func:`main`, then a fast exit.

    Interpreter teardown (garbage-collecting pydantic and every model) costs ~25 ms per
    run, a sixth of a no-op run, and hundreds of runs happen per experiment. Everything
    lute-exec opened is closed by then (database, IPC listener, log and report files),
    so the process flushes its streams and logging handlers and leaves with
    ``os._exit``. ``LUTE_FAST_EXIT=0`` restores a normal exit (for coverage or profilers,
    which write their data at exit).
    """
    from lute.settings import FAST_EXIT

    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said anyway
            if stream is sys.stdout:
                _reader_gone()
    try:
        fast = FAST_EXIT.get()
    except ValueError as failure:
        sys.stderr.write("lute-exec: warning: %s\n" % failure)
        fast = True
    if not fast:
        sys.exit(code)
    logging_module = sys.modules.get("logging")
    if logging_module is not None:
        logging_module.shutdown()
    os._exit(code)
