"""Which results database a command reads, and how times are shown and given.

A database is found from ``--db FILE``, ``-w WORK_DIR``, ``-c CONFIG`` (its header's
``db_path`` or ``work_dir``, read without validating the config), ``$LUTE_CONFIGPATH``,
or ``./lute.db``; when none names one, the error says what to pass. Times are shown in
the local time zone with its name, as the console and the reports show them; ``--since``
and ``--until`` take a date, a date and time, or an age (``90s``, ``15m``, ``2h``, ``3d``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from typing import Any

__all__ = [
    "add_database_options",
    "database_path",
    "local_time",
    "open_submitted",
    "parse_time",
]

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WhereError(ValueError):
    """No database could be found; the message says what to pass."""


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """``--db``, ``-w`` and ``-c``: where the results database is."""
    where = parser.add_argument_group("which database")
    exclusive = where.add_mutually_exclusive_group()
    exclusive.add_argument("--db", dest="db_path", metavar="FILE", help="the database file")
    exclusive.add_argument(
        "-w", "--work-dir", metavar="DIR", help="the work directory holding lute.db"
    )
    exclusive.add_argument(
        "-c",
        "--config",
        metavar="CONFIG",
        help="a config whose work_dir (or db_path) holds it (default: $LUTE_CONFIGPATH)",
    )


def database_path(args: argparse.Namespace) -> str:
    """The database the options (or the environment, or ``.``) name.

    Raises:
        WhereError: Nothing names one and there is no ``./lute.db``.
    """
    from lute.io.db import default_db_path
    from lute.settings import CONFIGPATH

    if getattr(args, "db_path", None):
        return os.path.abspath(args.db_path)
    if getattr(args, "work_dir", None):
        return default_db_path(os.path.abspath(args.work_dir))
    config = getattr(args, "config", None) or CONFIGPATH.get()
    if config:
        return _from_config(config)
    here = default_db_path(os.path.abspath("."))
    if os.path.exists(here):
        return here
    raise WhereError(
        "no results database here (%s does not exist): pass -w WORK_DIR, --db FILE or "
        "-c CONFIG, or set LUTE_CONFIGPATH" % here
    )


def open_submitted(args: argparse.Namespace, *, write: bool, what: str) -> Any:
    """The database the options name, which must exist: commands about submitted work
    do not create one.

    Args:
        args: The parsed options.
        write: Open it writable (to record what reconciling decides).
        what: What was not submitted there, for the error (``"nothing"``).

    Raises:
        WhereError: Nothing names a database.
        lute.io.db.DatabaseError: It does not exist, or cannot be opened.
    """
    from lute.io.db import Database, DatabaseError

    path = database_path(args)
    if not os.path.exists(path):
        raise DatabaseError("no results database at %s (%s was submitted there)" % (path, what))
    return Database(path, readonly=not write)


def _from_config(config: str) -> str:
    from lute.io.config import ConfigError, early_header, read_config_file
    from lute.io.db import default_db_path

    try:
        raw = read_config_file(config)
    except (ConfigError, OSError) as error:
        raise WhereError("cannot read %s to find its database: %s" % (config, error)) from None
    early = early_header(raw)
    db_path = raw.header.get("db_path")
    if isinstance(db_path, str) and db_path.strip() and "{{" not in db_path:
        return early.resolve_path(db_path)
    work_dir = early.work_dir or (None if "work_dir" in raw.header else os.path.abspath("."))
    if work_dir is None:
        raise WhereError(
            "%s: its work_dir is known only once the config is validated; pass -w WORK_DIR" % config
        )
    return default_db_path(work_dir)


def local_time(value: Any) -> str:
    """A stored UTC time (ISO text or datetime) in local time with its zone name."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def parse_time(text: str) -> datetime.datetime:
    """A ``--since``/``--until`` value as an aware datetime (local time when no zone).

    Accepts ``2026-12-01``, ``2026-12-01T08:00``, ``2026-12-01 08:00:00+00:00`` and ages
    before now: ``90s``, ``15m``, ``2h``, ``3d``.

    Raises:
        argparse.ArgumentTypeError: Anything else.
    """
    age = _AGE.match(text)
    if age:
        seconds = float(age.group(1)) * _UNITS[age.group(2)]
        return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "%r is not a time: give a date (2026-12-01), a date and time (2026-12-01T08:00) "
            "or an age (90s, 15m, 2h, 3d)" % text
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as people type it
    return moment
