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
from typing import List, Optional

from lute.execution.cli._parser import COMMANDS, PASS_ON, build_parser, command_function
from lute.execution.outcome import EXIT_CANCELLED, EXIT_INTERNAL, EXIT_USAGE
from lute.settings import SettingError

__all__ = ["console_main", "main"]


def _take_overrides(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: List[str]
) -> None:
    """``Task.param=value`` overrides given after an option (``workflow submit DAG -c C
    Test.x=1``) join the others: argparse reads a command's positionals only once, before
    the options. Anything else left over is refused as argparse would."""
    overrides = getattr(args, "overrides", None)
    taken = [word for word in extra if "=" in word and not word.startswith("-")]
    if extra and (overrides is None or len(taken) != len(extra)):
        parser.error("unrecognized arguments: %s" % " ".join(extra))
    if taken and overrides is not None:
        overrides.extend(taken)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``lute-exec`` console script; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    try:
        named = arguments[0] if arguments and arguments[0] in COMMANDS else None
        passed_on: List[str] = []
        if named in PASS_ON and "--" in arguments:
            split = arguments.index("--")
            arguments, passed_on = arguments[:split], arguments[split + 1 :]
        parser = build_parser(named)
        args, extra = parser.parse_known_args(arguments)
        _take_overrides(parser, args, extra)
        args.after_dashes = passed_on
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return int(command_function(args.command, 2)(args))
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
