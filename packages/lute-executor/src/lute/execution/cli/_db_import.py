"""``lute-exec db import FILE``: an original LUTE database's history, in this schema.

The original file is read, never changed. Its executions are added to a database of
this version (``--into``, default ``lute-imported.db`` beside it): use that one as the
work directory's ``lute.db`` (or name it as ``db_path``) and the history is there for
``db list``, validators and ``read_latest_db_entry``. Importing again adds only what is
new since.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from lute.execution.cli._common import error, print_json

__all__ = ["add_import_parser", "run_import"]

DEFAULT_NAME = "lute-imported.db"


def add_import_parser(actions: Any) -> None:
    """Add ``db import`` to the ``db`` actions."""
    parser = actions.add_parser(
        "import",
        help="bring an original LUTE database's executions into this schema",
        description="Add the executions of a database written by the original LUTE (one "
        "table per Task, gen_cfg, exec_cfg) to a database of this version. The original "
        "file is not changed; executions already imported from it are skipped.",
    )
    parser.add_argument("file", help="the original lute.db")
    parser.add_argument(
        "--into",
        metavar="DB",
        help="the database to add them to (created if missing; default: %s beside FILE)"
        % DEFAULT_NAME,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output: {source, into, imported: [execution ids]}",
    )


def run_import(args: argparse.Namespace) -> int:
    """Import, then say how many executions were added and where."""
    from lute.io.db import Database, DatabaseError

    source = os.path.abspath(args.file)
    target = os.path.abspath(args.into or os.path.join(os.path.dirname(source), DEFAULT_NAME))
    if target == source:
        return error("--into must name another file than the original %s" % source)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with Database(target) as db:
            added = db.import_original(source)
    except (DatabaseError, OSError) as failure:
        return error(str(failure))
    if args.json:
        print_json({"source": source, "into": target, "imported": added})
        return 0
    print(
        "imported %d execution%s from %s into %s%s"
        % (
            len(added),
            "" if len(added) == 1 else "s",
            source,
            target,
            " (ids %d-%d)" % (added[0], added[-1]) if added else "",
        )
    )
    return 0
