"""The tables, indexes and views of the current schema, as SQL. Private to :mod:`lute.io.db`.

Only statements, no code: :mod:`lute.io.db._schema` creates a new file from them and
:mod:`lute.io.db._migrations` rebuilds older files with the same text, so a fresh file and
an upgraded one have the same layout. ``docs/database.md`` documents it for users; keep
both in step.
"""

from __future__ import annotations

from typing import Tuple

from lute.io.db._values import STATUSES

__all__ = [
    "EXECUTIONS",
    "EXECUTION_INDEXES",
    "RERUN_COLUMN",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SUBMISSIONS",
    "TASK_RESULTS",
    "TASK_RESULT_INDEXES",
    "VIEWS",
    "WORKFLOWS",
]

SCHEMA_VERSION = 4

_STATUS_LIST = "(%s)" % ",".join("'%s'" % name for name in STATUSES)

# The column schema version 3 added to executions (the execution a rerun repeats);
# version 2's table is EXECUTIONS without it (see _migrations).
# (Written as SQLite's ALTER TABLE leaves the text, so that both layouts read the same.)
RERUN_COLUMN = ", rerun_of INTEGER REFERENCES executions (id) ON DELETE SET NULL"

# One row per managed-task execution. AUTOINCREMENT so ids are never reused: "newest"
# means "highest id" everywhere. {name} lets a migration build it beside the old table.
EXECUTIONS = f"""
    CREATE TABLE {{name}} (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        managed_task      TEXT NOT NULL,
        task_name         TEXT NOT NULL,
        experiment        TEXT,
        run               TEXT,
        run_number        INTEGER,
        status            TEXT NOT NULL CHECK (status IN {_STATUS_LIST}),
        created           TEXT NOT NULL,
        started           TEXT,
        ended             TEXT,
        exit_code         INTEGER,
        signal            TEXT,
        host              TEXT,
        user              TEXT,
        pid               INTEGER,
        work_dir          TEXT,
        environment       TEXT,
        versions          TEXT,
        error             TEXT,
        config_path       TEXT,
        supervisor_host   TEXT,
        supervisor_pid    INTEGER,
        supervisor_start  TEXT,
        supervisor_key    TEXT,
        heartbeat         TEXT,
        messages_received INTEGER NOT NULL DEFAULT 0,
        messages_dropped  INTEGER NOT NULL DEFAULT 0,
        log_path          TEXT,
        report_path       TEXT,
        warnings          TEXT,
        submission_id     INTEGER REFERENCES submissions (id),
        slurm_job_id      INTEGER,
        slurm_array_index INTEGER{RERUN_COLUMN})
    """

EXECUTION_INDEXES: Tuple[str, ...] = (
    "CREATE INDEX executions_lookup ON executions (task_name, experiment, run_number)",
    # The listing filters of Database.executions (benchmarks/db_listing.py shows the
    # plans). The status index also finds the runs going on, to tell which are LOST.
    # Time filters need none: newest first is id order, which is (nearly) time order.
    "CREATE INDEX executions_experiment ON executions (experiment, run_number)",
    "CREATE INDEX executions_managed ON executions (managed_task)",
    "CREATE INDEX executions_status ON executions (status)",
    # One row per SLURM job / array task; claim_queued finds it by this key.
    "CREATE UNIQUE INDEX executions_slurm ON executions"
    " (slurm_job_id, coalesce(slurm_array_index, -1)) WHERE slurm_job_id IS NOT NULL",
    "CREATE INDEX executions_submission ON executions (submission_id, slurm_array_index)"
    " WHERE submission_id IS NOT NULL",
)

# One row per submission to SLURM (one sbatch, or one split array); resubmissions link
# to the submission whose failures they run again.
SUBMISSIONS = """
    CREATE TABLE submissions (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        created         TEXT NOT NULL,
        resubmission_of INTEGER REFERENCES submissions (id),
        host            TEXT,
        user            TEXT,
        description     TEXT
    )
    """

# Workflows (lute-exec workflow submit): one row per submission of a DAG file; a
# resubmission links to the workflow whose unfinished part it runs again.
WORKFLOWS: Tuple[str, ...] = (
    """
    CREATE TABLE workflows (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT NOT NULL,
        created         TEXT NOT NULL,
        resubmission_of INTEGER REFERENCES workflows (id),
        dag_path        TEXT,
        config_path     TEXT,
        host            TEXT,
        user            TEXT,
        command         TEXT,
        description     TEXT,
        cancelled       TEXT
    )
    """,
    # Each node: its managed task, rule, parents (a JSON list of node names) and the
    # --dependency its jobs were submitted with.
    """
    CREATE TABLE workflow_nodes (
        workflow_id     INTEGER NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
        node            TEXT NOT NULL,
        position        INTEGER NOT NULL,
        managed_task    TEXT NOT NULL,
        trigger_rule    TEXT NOT NULL,
        parents         TEXT NOT NULL,
        run_dependent   INTEGER NOT NULL,
        dependency      TEXT,
        PRIMARY KEY (workflow_id, node)
    ) WITHOUT ROWID
    """,
    # The executions of each node (those it queued and, for a resubmission, the
    # completed ones it keeps).
    """
    CREATE TABLE workflow_executions (
        workflow_id     INTEGER NOT NULL,
        node            TEXT NOT NULL,
        execution_id    INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        PRIMARY KEY (workflow_id, execution_id),
        FOREIGN KEY (workflow_id, node)
            REFERENCES workflow_nodes (workflow_id, node) ON DELETE CASCADE
    ) WITHOUT ROWID
    """,
    "CREATE INDEX workflow_executions_execution ON workflow_executions (execution_id)",
    # Which executions each execution follows: run 17's index step, run 17's peak
    # finding; a merge, every run's.
    """
    CREATE TABLE execution_parents (
        execution_id    INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        parent_id       INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        PRIMARY KEY (execution_id, parent_id)
    ) WITHOUT ROWID
    """,
)

# One row per reported TaskResult (its payload and status), or per result the Executor
# received but could not decode (raw holds its bytes, error why).
TASK_RESULTS = f"""
    CREATE TABLE {{name}} (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id     INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        task_status      TEXT CHECK (task_status IS NULL OR task_status IN {_STATUS_LIST}),
        payload          TEXT,
        payload_type     TEXT,
        payload_encoding TEXT CHECK (payload_encoding IS NULL
                                     OR payload_encoding IN ('json', 'repr')),
        created          TEXT NOT NULL,
        raw              BLOB,
        error            TEXT,
        UNIQUE (id, execution_id)
    )
    """

TASK_RESULT_INDEXES: Tuple[str, ...] = (
    "CREATE INDEX task_results_execution ON task_results (execution_id)",
)

# Views for the sqlite3 shell: each result item / parameter with its execution.
VIEWS: Tuple[str, ...] = (
    """
    CREATE VIEW result_view AS
    SELECT r.id AS id, r.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, r.position AS position,
           r.kind AS kind, r.summary AS summary, t.payload AS payload,
           t.payload_type AS payload_type, t.payload_encoding AS payload_encoding,
           t.task_status AS task_status, t.created AS created,
           r.task_result_id AS task_result_id, t.error AS error,
           length(t.raw) AS raw_size
    FROM results AS r
    JOIN task_results AS t ON t.id = r.task_result_id
    JOIN executions AS e ON e.id = r.execution_id
    """,
    """
    CREATE VIEW parameter_view AS
    SELECT p.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, v.path AS path,
           v.value AS value
    FROM parameter_values AS v
    JOIN parameters AS p ON p.id = v.parameters_id
    JOIN executions AS e ON e.id = p.execution_id
    """,
)

# A new file, in an order that satisfies every REFERENCES clause.
SCHEMA: Tuple[str, ...] = (
    SUBMISSIONS,
    EXECUTIONS.format(name="executions"),
    *EXECUTION_INDEXES,
    # The validated model of an execution, whole, and one row per leaf parameter.
    """
    CREATE TABLE parameters (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id  INTEGER NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
        model         TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE parameter_values (
        parameters_id INTEGER NOT NULL REFERENCES parameters (id) ON DELETE CASCADE,
        path          TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (parameters_id, path)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX parameter_values_path ON parameter_values (path)",
    TASK_RESULTS.format(name="task_results"),
    *TASK_RESULT_INDEXES,
    # One row per item of a TaskResult's summary. execution_id is repeated here so that
    # positions are unique per execution; the composite key keeps it consistent.
    """
    CREATE TABLE results (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        task_result_id INTEGER NOT NULL,
        execution_id   INTEGER NOT NULL,
        position       INTEGER NOT NULL,
        kind           TEXT NOT NULL,
        summary        TEXT NOT NULL,
        UNIQUE (execution_id, position),
        FOREIGN KEY (task_result_id, execution_id)
            REFERENCES task_results (id, execution_id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX results_task_result ON results (task_result_id)",
    # level (version 3: a logged record's level, NULL for a plain message) is written as
    # ALTER TABLE leaves it in an upgraded file.
    """
    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        execution_id  INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        time          TEXT NOT NULL,
        rank          INTEGER,
        text          TEXT NOT NULL
        , level TEXT)
    """,
    "CREATE INDEX messages_execution ON messages (execution_id, id)",
    *WORKFLOWS,
    *VIEWS,
)
