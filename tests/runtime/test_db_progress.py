"""A Task's progress in the database: one PROGRESS row per execution, replaced."""

from __future__ import annotations

from typing import Optional

import pytest

from lute.io.db import PROGRESS_LEVEL, Database, DatabaseError
from tests.runtime.test_db_messages import db, start

__all__ = ["db"]  # the fixture, shared with the other message tests


def test_the_latest_progress_replaces_the_one_before(db: Database) -> None:
    execution_id = start(db)
    assert db.last_progress(execution_id) is None
    db.add_messages(execution_id, [(1.0, None, "starting")])
    first = db.set_progress(execution_id, 1, 4, when=2.0)
    db.add_messages(execution_id, [(3.0, None, "halfway")])
    second = db.set_progress(execution_id, 2, 4, when=4.0, replaces=first)
    third = db.set_progress(execution_id, 3, 4, when=5.0)  # without the hint
    assert first < second < third  # a follower polling by id sees each change
    stored = db.messages(execution_id)
    assert [(m.text, m.level) for m in stored] == [
        ("starting", None),
        ("halfway", None),
        ("75% (3/4)", PROGRESS_LEVEL),
    ]
    last = db.last_progress(execution_id)
    assert last is not None and last.id == third and last.time.startswith("1970-01-01T00:00:05")
    assert last.progress == {"fraction": 0.75, "done": 3.0, "total": 4.0, "text": "75% (3/4)"}
    # Not a message the Task sent: neither counted nor the last message.
    assert db.execution(execution_id).messages_received == 2
    assert [m.text for m in db.last_messages(execution_id, 5)] == ["starting", "halfway"]
    assert [m.text for m in db.last_messages(execution_id, 1, progress=True)] == ["75% (3/4)"]


@pytest.mark.parametrize(
    ("done", "total", "text", "fraction"),
    [
        (0.425, None, "42.5%", 0.425),
        (1, None, "100%", 1.0),
        (0, 10, "0% (0/10)", 0.0),
        (1234567, 2000000, "61% (1234567/2000000)", 0.6172835),
        (0.9999, None, "99.9%", 0.999),
        (2, 3, "66% (2/3)", 2 / 3),
        (0.5, 2.5, "20% (0.5/2.5)", 0.2),
    ],
)
def test_progress_text_reads_back(
    db: Database, done: float, total: Optional[float], text: str, fraction: float
) -> None:
    execution_id = start(db)
    db.set_progress(execution_id, done, total, rank=1)
    last = db.last_progress(execution_id)
    assert last is not None and last.text == text and last.rank == 1
    assert last.progress is not None and last.progress["fraction"] == pytest.approx(fraction)
    if total is None:
        assert last.progress["done"] is None and last.progress["total"] is None


def test_plain_messages_are_not_progress(db: Database) -> None:
    execution_id = start(db)
    db.add_messages(execution_id, [(1.0, None, "42%")])
    [message] = db.messages(execution_id)
    assert message.progress is None
    assert db.last_progress(execution_id) is None


def test_bad_progress_is_refused(db: Database) -> None:
    execution_id = start(db)
    with pytest.raises(DatabaseError, match="not a progress"):
        db.set_progress(execution_id, "half")  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="no execution with id 99"):
        db.set_progress(99, 0.5)
    with pytest.raises(DatabaseError, match="no execution"):
        db.last_progress(99)
    assert db.messages(execution_id) == []
