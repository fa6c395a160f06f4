"""Messages stored while a run goes on: batches, counts, and a follower that polls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from lute.io.db import Database, DatabaseError, MessageRecord, default_db_path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(default_db_path(str(tmp_path)))
    yield database
    database.close()


def start(db: Database) -> int:
    return db.start_execution(
        managed_task="Tester", task_name="Test", experiment="x", run=1, parameters={}
    ).execution_id


def counts(db: Database, execution_id: int) -> Any:
    record = db.execution(execution_id)
    return record.messages_received, record.messages_dropped


def test_batches_are_counted_with_what_a_cap_dropped(db: Database) -> None:
    execution_id = start(db)
    db.add_messages(execution_id, [(1.0, 0, "a"), (2.0, 1, "b")])
    db.add_messages(execution_id, [(3.0, None, "c")], dropped=10)
    db.add_messages(execution_id, [], dropped=5)
    db.add_messages(execution_id, [])  # nothing at all: nothing written
    assert counts(db, execution_id) == (18, 15)
    assert [m.text for m in db.messages(execution_id)] == ["a", "b", "c"]


@pytest.mark.parametrize("dropped", [-1, True, 1.5, None])
def test_dropped_must_be_a_count(db: Database, dropped: Any) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="dropped must be a non-negative int"):
        db.add_messages(execution_id, [(1.0, 0, "a")], dropped=dropped)
    assert counts(db, execution_id) == (0, 0)


def test_a_bad_batch_stores_and_counts_nothing(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="message 2: rank must be an int"):
        db.add_messages(execution_id, [(1.0, 0, "a"), (2.0, 0, "b"), (3.0, True, "c")])
    with pytest.raises(DatabaseError, match="message 0: text must be a string"):
        db.add_messages(execution_id, [(1.0, 0, b"bytes")])  # type: ignore[list-item]
    with pytest.raises(DatabaseError, match="no execution with id 99"):
        db.add_messages(99, [(1.0, 0, "a")], dropped=3)
    assert counts(db, execution_id) == (0, 0) and db.messages(execution_id) == []


def test_text_that_sqlite_refuses_is_made_storable(db: Database) -> None:
    execution_id = start(db)
    db.add_messages(execution_id, [(1.0, 0, "Zürich ✓"), (2.0, 0, "bad \udcff name")])
    assert [m.text for m in db.messages(execution_id)] == ["Zürich ✓", "bad \\udcff name"]


def test_messages_carry_their_id_and_still_compare_as_tuples(db: Database) -> None:
    execution_id = start(db)
    db.add_messages(execution_id, [(0.0, 0, "hello"), (1.5, None, "world")])
    first, second = db.messages(execution_id)
    assert isinstance(first, MessageRecord) and second.id > first.id
    assert first == ("1970-01-01T00:00:00.000000+00:00", 0, "hello")
    when, rank, text = second
    assert (when, rank, text) == (second.time, second.rank, second.text)
    assert second.to_dict() == {
        "id": second.id,
        "time": "1970-01-01T00:00:01.500000+00:00",
        "rank": None,
        "text": "world",
    }
    assert json.loads(json.dumps(second.to_dict()))["text"] == "world"
    assert "id=%d" % first.id in repr(first)


def test_pickled_and_copied_messages_keep_their_id(db: Database) -> None:
    import copy
    import pickle

    execution_id = start(db)
    db.add_messages(execution_id, [(0.0, 3, "x")])
    (message,) = db.messages(execution_id)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(message, protocol))
        assert (again, again.id, type(again)) == (message, message.id, MessageRecord)
    assert copy.deepcopy(message).id == copy.copy(message).id == message.id


def test_after_id_and_limit_page_through_the_messages(db: Database) -> None:
    execution_id = start(db)
    other = start(db)
    db.add_messages(execution_id, [(float(i), 0, "m%d" % i) for i in range(25)])
    db.add_messages(other, [(0.0, 0, "not mine")])
    db.add_messages(execution_id, [(99.0, 1, "last")])
    seen, after = [], None
    while True:
        page = db.messages(execution_id, after_id=after, limit=10)
        if not page:
            break
        assert len(page) <= 10
        seen.extend(page)
        after = page[-1].id
    assert [m.text for m in seen] == ["m%d" % i for i in range(25)] + ["last"]
    assert seen == db.messages(execution_id)
    assert db.messages(execution_id, after_id=seen[-1].id) == []
    assert db.messages(execution_id, limit=0) == []
    with pytest.raises(DatabaseError, match="after_id must be a non-negative int"):
        db.messages(execution_id, after_id=-1)
    with pytest.raises(DatabaseError, match="limit must be a non-negative int"):
        db.messages(execution_id, limit=-2)


WRITER = """
import os, sys, time
from lute.io.db import Database
db = Database(sys.argv[1])
execution_id = int(sys.argv[2])
while not os.path.exists(sys.argv[3]):
    time.sleep(0.002)
number = 0
for batch in range(20):
    db.add_messages(execution_id, [(time.time(), batch % 3, "m%d" % (number + i))
                                   for i in range(500)], dropped=7)
    number += 500
    time.sleep(0.005)
db.set_status(execution_id, "COMPLETED", exit_code=0)
"""

FOLLOWER = """
import json, os, sys, time
from lute.io.db import Database
db = Database(sys.argv[1], readonly=True)
execution_id = int(sys.argv[2])
open(sys.argv[3], "w").close()
texts, after, polls = [], None, 0
while True:
    ended = db.execution(execution_id).is_terminal  # read before the messages: none missed
    page = db.messages(execution_id, after_id=after, limit=1000)
    polls += 1
    if page:
        texts.extend(m.text for m in page)
        after = page[-1].id
    elif ended:
        break
    else:
        time.sleep(0.01)
print(json.dumps({"texts": texts, "polls": polls}))
"""


def test_a_follower_in_another_process_sees_every_message_once_in_order(
    db: Database, tmp_path: Path
) -> None:
    execution_id = start(db)
    go = str(tmp_path / "go")
    path = db.path
    follower = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, path, str(execution_id), go],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, path, str(execution_id), go],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, writer_err = writer.communicate(timeout=180)
        out, follower_err = follower.communicate(timeout=180)
    finally:
        writer.kill()
        follower.kill()
    assert (writer.returncode, writer_err) == (0, "")
    assert (follower.returncode, follower_err) == (0, "")
    report = json.loads(out)
    assert report["texts"] == ["m%d" % i for i in range(10000)]
    assert report["polls"] > 1  # it followed the run rather than reading it afterwards
    assert counts(db, execution_id) == (10000 + 20 * 7, 20 * 7)
    assert os.path.exists(go)


def test_a_large_batch_is_one_cheap_transaction(db: Database) -> None:
    execution_id = start(db)
    batch = [(time.time(), i % 4, "message number %d" % i) for i in range(10000)]
    began = time.perf_counter()
    db.add_messages(execution_id, batch)
    elapsed = time.perf_counter() - began
    assert counts(db, execution_id) == (10000, 0)
    assert len(db.messages(execution_id)) == 10000
    assert elapsed < 5.0, "10,000 messages took %.2f s" % elapsed  # ~0.02 s here
