-- A results database of schema version 1, written by lute-runtime's schema-1 code
-- (commit 08496f4, lute.io.db.Database's own methods) and dumped with iterdump();
-- execution 8 was deleted afterwards, so the sequences run ahead of the highest ids.
BEGIN TRANSACTION;
CREATE TABLE executions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        managed_task  TEXT NOT NULL,
        task_name     TEXT NOT NULL,
        experiment    TEXT,
        run           TEXT,
        run_number    INTEGER,
        status        TEXT NOT NULL CHECK (status IN ('PENDING','RUNNING','COMPLETED','FAILED','TIMEDOUT','CANCELLED','STOPPED')),
        created       TEXT NOT NULL,
        started       TEXT,
        ended         TEXT,
        exit_code     INTEGER,
        signal        TEXT,
        host          TEXT,
        user          TEXT,
        pid           INTEGER,
        work_dir      TEXT,
        environment   TEXT,
        versions      TEXT,
        error         TEXT,
        config_path   TEXT
    );
INSERT INTO "executions" VALUES(1,'Tester','Test','xpp1234','0012',12,'COMPLETED','2026-12-01T08:54:22.964905+00:00','2026-12-01T08:54:22.965210+00:00','2026-12-01T08:54:22.965314+00:00',0,NULL,'node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}',NULL,'/w/config.yaml');
INSERT INTO "executions" VALUES(2,'FindPeakser','FindPeaks','xpp1234','dark',NULL,'FAILED','2026-12-01T08:54:22.966087+00:00','2026-12-01T08:54:22.966252+00:00','2026-12-01T08:54:22.966337+00:00',-9,'SIGKILL','node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}','Traceback (most recent call last):
  File "x.py", line 1
ValueError: bad \udcff','/w/config.yaml');
INSERT INTO "executions" VALUES(3,'Tester','Test','xpp1234','13',13,'RUNNING','2026-12-01T08:54:22.966699+00:00','2026-12-01T08:54:22.966845+00:00',NULL,NULL,NULL,'node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}',NULL,'/w/config.yaml');
INSERT INTO "executions" VALUES(4,'Tester','Test',NULL,NULL,NULL,'PENDING','2026-12-01T08:54:22.967078+00:00',NULL,NULL,NULL,NULL,'node01','root',NULL,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}',NULL,'/w/config.yaml');
INSERT INTO "executions" VALUES(5,'Tester','Test','xpp1234','0014',14,'STOPPED','2026-12-01T08:54:22.967357+00:00','2026-12-01T08:54:22.967491+00:00',NULL,NULL,NULL,'node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}',NULL,'/w/config.yaml');
INSERT INTO "executions" VALUES(6,'Tester','Test','xpp1234','0015',15,'TIMEDOUT','2026-12-01T08:54:22.967759+00:00','2026-12-01T08:54:22.967940+00:00','2026-12-01T08:54:22.968000+00:00',124,NULL,'node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}',NULL,'/w/config.yaml');
INSERT INTO "executions" VALUES(7,'Tester','Test','xpp1234','0016',16,'CANCELLED','2026-12-01T08:54:22.968195+00:00','2026-12-01T08:54:22.968332+00:00','2026-12-01T08:54:22.968411+00:00',NULL,'SIGTERM','node01','root',4242,'/w','{"interpreter":"/usr/bin/python3"}','{"lute":"0.1.0"}','cancelled by SIGTERM','/w/config.yaml');
CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        execution_id  INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        time          TEXT NOT NULL,
        rank          INTEGER,
        text          TEXT NOT NULL
    );
INSERT INTO "messages" VALUES(1,1,'2024-05-01T12:00:00.000000+00:00',0,'started fitting');
INSERT INTO "messages" VALUES(2,1,'2024-05-01T12:00:01.500000+00:00',1,'rank 1 says hi');
INSERT INTO "messages" VALUES(3,1,'2024-05-01T12:00:02.000000+00:00',NULL,'multi
line');
INSERT INTO "messages" VALUES(4,3,'2024-05-01T12:00:10.000000+00:00',0,'still going');
CREATE TABLE parameter_values (
        parameters_id INTEGER NOT NULL REFERENCES parameters (id) ON DELETE CASCADE,
        path          TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (parameters_id, path)
    ) WITHOUT ROWID
    ;
INSERT INTO "parameter_values" VALUES(1,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(1,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(1,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(1,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(1,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(1,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(1,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(1,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(1,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(2,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(2,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(2,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(2,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(2,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(2,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(2,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(2,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(2,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(3,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(3,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(3,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(3,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(3,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(3,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(3,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(3,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(3,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(4,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(4,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(4,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(4,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(4,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(4,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(4,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(4,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(4,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(5,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(5,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(5,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(5,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(5,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(5,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(5,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(5,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(5,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(6,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(6,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(6,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(6,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(6,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(6,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(6,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(6,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(6,'text','"Z\u00fcrich \u2713"');
INSERT INTO "parameter_values" VALUES(7,'compound_var.dict_var.a','"b"');
INSERT INTO "parameter_values" VALUES(7,'compound_var.int_var','10');
INSERT INTO "parameter_values" VALUES(7,'float_var','0.01');
INSERT INTO "parameter_values" VALUES(7,'list_var','[1,2]');
INSERT INTO "parameter_values" VALUES(7,'lute_config.experiment','"xpp1234"');
INSERT INTO "parameter_values" VALUES(7,'lute_config.run','"0012"');
INSERT INTO "parameter_values" VALUES(7,'lute_config.work_dir','"/w"');
INSERT INTO "parameter_values" VALUES(7,'nan_var','NaN');
INSERT INTO "parameter_values" VALUES(7,'text','"Z\u00fcrich \u2713"');
CREATE TABLE parameters (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id  INTEGER NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
        model         TEXT NOT NULL
    );
INSERT INTO "parameters" VALUES(1,1,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(2,2,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(3,3,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(4,4,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(5,5,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(6,6,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
INSERT INTO "parameters" VALUES(7,7,'{"lute_config":{"experiment":"xpp1234","run":"0012","work_dir":"/w"},"float_var":0.01,"nan_var":NaN,"compound_var":{"int_var":10,"dict_var":{"a":"b"}},"list_var":[1,2],"text":"Z\u00fcrich \u2713"}');
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
    );
INSERT INTO "results" VALUES(1,1,1,0,'dict','Rate: 0.05;Total: 10');
INSERT INTO "results" VALUES(2,1,1,1,'plots','/w/peak.html');
INSERT INTO "results" VALUES(3,1,1,2,'text','done');
INSERT INTO "results" VALUES(4,2,1,3,'number','3.5');
INSERT INTO "results" VALUES(5,3,2,0,'none','');
CREATE TABLE task_results (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id     INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
        task_status      TEXT CHECK (task_status IS NULL OR task_status IN ('PENDING','RUNNING','COMPLETED','FAILED','TIMEDOUT','CANCELLED','STOPPED')),
        payload          TEXT,
        payload_type     TEXT,
        payload_encoding TEXT CHECK (payload_encoding IS NULL
                                     OR payload_encoding IN ('json', 'repr')),
        created          TEXT NOT NULL,
        UNIQUE (id, execution_id)
    );
INSERT INTO "task_results" VALUES(1,1,'COMPLETED','{"peaks":[1.5,2.5]}','dict','json','2026-12-01T08:54:22.965495+00:00');
INSERT INTO "task_results" VALUES(2,1,NULL,NULL,NULL,NULL,'2026-12-01T08:54:22.965726+00:00');
INSERT INTO "task_results" VALUES(3,2,'FAILED','<object object at 0x7f7ea45a4850>','object','repr','2026-12-01T08:54:22.966465+00:00');
CREATE INDEX executions_lookup ON executions (task_name, experiment, run_number);
CREATE INDEX parameter_values_path ON parameter_values (path);
CREATE INDEX task_results_execution ON task_results (execution_id);
CREATE INDEX results_task_result ON results (task_result_id);
CREATE INDEX messages_execution ON messages (execution_id, id);
CREATE VIEW result_view AS
    SELECT r.id AS id, r.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, r.position AS position,
           r.kind AS kind, r.summary AS summary, t.payload AS payload,
           t.payload_type AS payload_type, t.payload_encoding AS payload_encoding,
           t.task_status AS task_status, t.created AS created,
           r.task_result_id AS task_result_id
    FROM results AS r
    JOIN task_results AS t ON t.id = r.task_result_id
    JOIN executions AS e ON e.id = r.execution_id;
CREATE VIEW parameter_view AS
    SELECT p.execution_id AS execution_id, e.managed_task AS managed_task,
           e.task_name AS task_name, e.experiment AS experiment, e.run AS run,
           e.run_number AS run_number, e.status AS status, v.path AS path,
           v.value AS value
    FROM parameter_values AS v
    JOIN parameters AS p ON p.id = v.parameters_id
    JOIN executions AS e ON e.id = p.execution_id;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('executions',8);
INSERT INTO "sqlite_sequence" VALUES('parameters',8);
INSERT INTO "sqlite_sequence" VALUES('task_results',4);
INSERT INTO "sqlite_sequence" VALUES('results',6);
COMMIT;
PRAGMA user_version=1;
PRAGMA application_id=1280660549;
