"""The results database: executions, their parameters, results and messages in SQLite.

One file per work directory (``<work_dir>/lute.db``), written by the Executor and read by
validators, the ``lute-exec db`` command and Tasks (this module needs only the standard
library, so it works in any Task environment). The schema is documented in
``docs/database.md``.

Writer side (the Executor)::

    db = Database(default_db_path(work_dir))
    ids = db.start_execution(managed_task="Tester", task_name="Test", experiment="xpp1234",
                             run=12, parameters=model.model_dump(mode="json"))
    db.set_status(ids.execution_id, "RUNNING", pid=proc.pid)
    db.add_messages(ids.execution_id, batch)          # many times, while it runs
    db.set_progress(ids.execution_id, 420, 1000)      # the latest progress, replaced
    db.heartbeat(ids.execution_id)                    # every HEARTBEAT_INTERVAL seconds
    db.add_result(ids.execution_id, {"Rate": 0.05, "Total": 10}, payload={"fit": [1, 2]})
    db.set_status(ids.execution_id, "COMPLETED", exit_code=0)

Reader side (a validator)::

    with Database(path, readonly=True) as db:
        result = db.latest_result("FindPeaks", experiment="xpp1234", run=12)

    # or as validators written for the original LUTE do:
    out_file = read_latest_db_entry(work_dir, "FindPeaks", "out_file")

Many processes may write one file at the same time: every write is one short
``BEGIN IMMEDIATE`` transaction, retried with jittered back-off while the file is locked,
within ``timeout`` seconds. A :class:`Database` object may be shared between threads.

The package, in import order (each module imports only those above it)::

    _connect        connections, journal mode, busy retry, DatabaseError
    _values         Python values -> stored text (JSON, summaries, statuses, runs, times)
    _pending        results still to come, while a workflow is checked before it is queued
    _triggers       workflow trigger rules: may a node run, given how its parents ended
    _tables         the current schema's tables, indexes and views, as SQL
    _migrations     upgrades of older files to the current schema
    _schema         creating or upgrading the schema of a file
    _supervision    who supervises an execution; whether that Executor is gone
    _records        ExecutionRecord, SubmissionRecord and how rows become them
    _progress       how a Task's progress is stored (a message row of level PROGRESS)
    _outputs        ResultRecord, MessageRecord and how rows become them
    _arguments      checks of the methods' arguments
    _query          filters of the reader's queries (WHERE clauses)
    _lost           executions whose Executor is gone: found on read, recorded on write
    _core           the connection, its lock and transactions, lifetime
    _writer         start_execution, set_status, heartbeat, set_paths, mark_lost
    _output_writer  add_result, add_undecodable_result, add_messages, add_warning
    _queue          SLURM submissions: queue_execution, claim_queued, ...
    _workflow_records  WorkflowRecord, WorkflowNodeRecord, Upstream; an execution's upstream
    _workflows      workflows: their nodes, executions; refusing one whose upstream failed
    _reader         execution(s), parameters, results, raw_result, messages, latest_*
    _latest_entry   read_latest_db_entry, the original LUTE's reader, on this schema
    _import_original  an original LUTE database's executions, added (import_original)

The last two are loaded on first use: runs need neither.

:class:`Database` is the writer, queue and reader mixins over one core; only this module
combines them, and no private module imports it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, List

from lute._lazy import lazy_attributes

if TYPE_CHECKING:  # loaded on first use: validators and imports need them, runs do not
    from lute.io.db._latest_entry import read_latest_db_entry

# Besides the names in __all__, the helpers that the one-module lute.io.db exposed as a
# side effect of its imports stay importable from here ("name as name"). They are not API
# (neither in __all__ nor documented) and cost nothing: their modules load anyway.
from lute.io.db._arguments import RunLike as RunLike
from lute.io.db._arguments import StatusLike as StatusLike
from lute.io.db._connect import JOURNAL_MODE_ENV, DatabaseError
from lute.io.db._connect import apply_journal_mode as apply_journal_mode
from lute.io.db._connect import connect as connect
from lute.io.db._connect import resolve_journal_mode as resolve_journal_mode
from lute.io.db._connect import retry_busy as retry_busy
from lute.io.db._output_writer import OutputWriterMixin
from lute.io.db._outputs import RESULT_COLUMNS as RESULT_COLUMNS
from lute.io.db._outputs import MessageRecord, ResultRecord
from lute.io.db._outputs import result_from_row as result_from_row
from lute.io.db._pending import PendingResult, UpstreamPending, pending_result, pending_results
from lute.io.db._progress import PROGRESS_LEVEL, count_text, parse_progress, progress_text
from lute.io.db._queue import QueueMixin
from lute.io.db._reader import ReaderMixin
from lute.io.db._records import EXECUTION_COLUMNS as EXECUTION_COLUMNS
from lute.io.db._records import ExecutionRecord, SubmissionRecord
from lute.io.db._records import execution_from_row as execution_from_row
from lute.io.db._schema import SCHEMA_VERSION
from lute.io.db._schema import ensure_schema as ensure_schema
from lute.io.db._supervision import HEARTBEAT_INTERVAL, HEARTBEAT_LIMIT, Supervisor, this_process
from lute.io.db._triggers import TRIGGER_RULES
from lute.io.db._triggers import verdict as trigger_verdict
from lute.io.db._values import STATUSES, TERMINAL_STATUSES, PlotsRef, format_summary
from lute.io.db._values import clean_text as clean_text
from lute.io.db._values import decode_json as decode_json
from lute.io.db._values import dump_json as dump_json
from lute.io.db._values import encode_payload as encode_payload
from lute.io.db._values import flatten_parameters as flatten_parameters
from lute.io.db._values import normalise_status as normalise_status
from lute.io.db._values import run_columns as run_columns
from lute.io.db._values import to_json_data as to_json_data
from lute.io.db._values import utc_from_epoch as utc_from_epoch
from lute.io.db._values import utc_now as utc_now
from lute.io.db._workflow_records import Upstream, WorkflowNodeRecord, WorkflowRecord
from lute.io.db._workflows import WorkflowsMixin
from lute.io.db._writer import WriterMixin

__all__ = [
    "DEFAULT_DB_NAME",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_LIMIT",
    "JOURNAL_MODE_ENV",
    "PROGRESS_LEVEL",
    "SCHEMA_VERSION",
    "STATUSES",
    "TERMINAL_STATUSES",
    "TRIGGER_RULES",
    "Database",
    "DatabaseError",
    "ExecutionRecord",
    "MessageRecord",
    "PendingResult",
    "PlotsRef",
    "ResultRecord",
    "SubmissionRecord",
    "Supervisor",
    "Upstream",
    "UpstreamPending",
    "WorkflowNodeRecord",
    "WorkflowRecord",
    "count_text",
    "default_db_path",
    "format_summary",
    "parse_progress",
    "pending_result",
    "pending_results",
    "progress_text",
    "read_latest_db_entry",
    "this_process",
    "trigger_verdict",
]

# The public types are documented as living here.
for _public in (
    DatabaseError,
    ExecutionRecord,
    MessageRecord,
    PlotsRef,
    ResultRecord,
    SubmissionRecord,
    Supervisor,
    Upstream,
    UpstreamPending,
    PendingResult,
    WorkflowNodeRecord,
    WorkflowRecord,
):
    _public.__module__ = __name__
del _public

DEFAULT_DB_NAME = "lute.db"


def default_db_path(work_dir: str) -> str:
    """Absolute path of the results database of a work directory."""
    return os.path.join(os.path.abspath(os.path.expanduser(os.fspath(work_dir))), DEFAULT_DB_NAME)


# Mixins rather than delegation: the public methods stay real methods of Database, with
# their own signatures and docstrings (help(), inspect, mypy), where forwarding methods
# would repeat each of them. The mixins add behaviour only; the state (connection, lock,
# fork check) lives once, in the DatabaseCore they share.
class Database(WorkflowsMixin, QueueMixin, OutputWriterMixin, WriterMixin, ReaderMixin):
    """A connection to one results database file, safe to share between threads.

    Args:
        path: The SQLite file (see :func:`default_db_path`).
        readonly: Open for reading only. The file must exist and have the schema.
        timeout: Seconds a single read or write may wait for other writers before
            :class:`DatabaseError` is raised.
        journal_mode: ``WAL`` (default), ``DELETE``, ``TRUNCATE`` or ``PERSIST``; when
            ``None``, ``$LUTE_DB_JOURNAL_MODE`` decides. WAL needs a local filesystem: set
            ``DELETE`` for a work directory on NFS. Ignored when ``readonly``.

    Raises:
        DatabaseError: The file is missing (read-only), not a LUTE database, or has a
            newer schema version than this code knows.
    """

    def import_original(self, path: str) -> List[int]:
        """Add the executions of an original LUTE database (read, never changed) to this one.

        One execution per row of each of its Task tables: parameters rebuilt as nested
        mappings with the header as ``lute_config``, result, status and times; where it
        came from is in ``environment``. Rows imported before from the same file (same
        table and row) are skipped, so an import can be repeated after the original got
        new rows. See ``docs/database.md``.

        Args:
            path: The original ``lute.db``.

        Returns:
            The ids of the executions added, oldest first.

        Raises:
            DatabaseError: The file is not an original LUTE database, or this one cannot
                be written.
        """
        from lute.io.db._import_original import import_original

        return import_original(self, path)


__getattr__ = lazy_attributes(__name__, {"read_latest_db_entry": "lute.io.db._latest_entry"})
