"""``Task._report_progress``: its checks, its rate limit, and who gets the reports."""

from __future__ import annotations

import time
from typing import Any, List, Optional

import pytest

from lute.execution.ipc import LUTE_SIGNALS
from lute.io.parameters import TaskParameters
from lute.tasks import _context
from lute.tasks.task import PROGRESS_INTERVAL, Task
from tests.runtime import test_task_logging


class _Channel(test_task_logging._Channel):
    """A stand-in Communicator with the WELCOME of an Executor of some version."""

    def close(self) -> None:
        pass

    def progress(self) -> List[Any]:
        return [
            (m.contents["done"], m.contents["total"])
            for m in self.sent
            if m.signal == "TASK_PROGRESS"
        ]


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> _Channel:
    made = _Channel({"signals": list(LUTE_SIGNALS)})
    monkeypatch.setattr(_context, "_communicator", made)
    return made


class Counting(Task):
    def __init__(self, count: int, total: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.total = total

    def _run(self) -> None:
        for index in range(self.count):
            self._report_progress(index + 1, self.total)


def _task(count: int = 0, total: Optional[int] = None) -> Counting:
    return Counting(count, total, params=TaskParameters({"lute_config": {}}))


@pytest.mark.parametrize(
    ("done", "total", "error", "words"),
    [
        ("3", 10, TypeError, "done must be a number"),
        (True, None, TypeError, "done must be a number"),
        (None, None, TypeError, "done must be a number"),
        (1, "10", TypeError, "total must be a number"),
        (float("nan"), None, ValueError, "done must be finite"),
        (1, float("inf"), ValueError, "total must be finite"),
        (1.5, None, ValueError, "without total, done is a fraction from 0 to 1"),
        (-0.1, None, ValueError, "fraction from 0 to 1"),
        (3, 0, ValueError, "total must be above 0"),
        (11, 10, ValueError, "done must be from 0 to total (10), got 11"),
        (-1, 10, ValueError, "done must be from 0 to total"),
    ],
)
def test_bad_arguments_are_refused_clearly(
    channel: _Channel, done: Any, total: Any, error: type, words: str
) -> None:
    with pytest.raises(error) as raised:
        _task()._report_progress(done, total)
    assert words in str(raised.value)
    assert not channel.sent


def test_numpy_style_numbers_are_accepted(channel: _Channel) -> None:
    class Scalar:  # what numpy.int64 offers: __float__, not an int subclass
        def __float__(self) -> float:
            return 4.0

    _task()._report_progress(Scalar(), 8)
    assert channel.progress() == [(4.0, 8)]


def test_a_tight_loop_sends_few_reports_and_the_last_one(channel: _Channel) -> None:
    task = _task(100000, 100000)
    started = time.monotonic()
    task.run()
    took = time.monotonic() - started
    sent = channel.progress()
    assert sent[0] == (1, 100000) and sent[-1] == (100000, 100000)
    assert len(sent) <= 2 + took / PROGRESS_INTERVAL, (len(sent), took)
    assert took < 5, took


def test_the_value_held_back_is_sent_when_the_task_ends(channel: _Channel) -> None:
    task = _task(3, 10)  # ends at 3 of 10: the calls after the first are held back
    task.run()
    assert channel.progress() == [(1, 10), (3, 10)]
    signals = [m.signal for m in channel.sent]
    # The last progress comes before the result and the final signal.
    assert signals.index("TASK_PROGRESS", 1) < signals.index("TASK_RESULT")


def test_completion_is_sent_at_once_and_only_once(channel: _Channel) -> None:
    task = _task()
    task._report_progress(0.5)
    task._report_progress(1.0)
    task._report_progress(1.0)
    assert channel.progress() == [(0.5, None), (1.0, None)]


def test_an_executor_that_does_not_know_progress_gets_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    older = _Channel({"protocol": 1})  # its WELCOME lists no signals
    monkeypatch.setattr(_context, "_communicator", older)
    task = _task(5, 5)
    task.run()
    assert "TASK_PROGRESS" not in [m.signal for m in older.sent]
    assert [m.signal for m in older.sent][-1] == "TASK_DONE"


def test_outside_an_executor_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    _task()._report_progress(2, 4)
    assert "[lute TASK_PROGRESS] {'done': 2, 'total': 4}" in capsys.readouterr().err
