"""The original LUTE's Task-side names: ``get_logger`` (records as TASK_LOG, or as plain
messages for an Executor of the previous version) and ``LUTE_DEBUG_EXIT``."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

import pytest

from lute.execution.ipc import Message


class _Channel:
    """A stand-in Communicator with the WELCOME of an Executor of some version."""

    def __init__(self, welcome: Dict[str, Any]) -> None:
        from lute.execution.ipc._communicator import Communicator

        self.peer_info = welcome
        self.sent: List[Message] = []
        self.accepts = lambda signal: Communicator.accepts(self, signal)  # type: ignore[arg-type]

    def send(self, message: Message) -> None:
        self.sent.append(message)


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Any:
    from lute.tasks import _context

    def install(welcome: Dict[str, Any]) -> _Channel:
        made = _Channel(welcome)
        monkeypatch.setattr(_context, "_communicator", made)
        return made

    return install


def test_log_records_travel_as_task_log_to_an_executor_that_knows_it(channel: Any) -> None:
    from lute.execution.ipc import LUTE_SIGNALS
    from lute.execution.logging import get_logger

    sent = channel({"signals": list(LUTE_SIGNALS)}).sent
    logger = get_logger("mec.fit")
    logger.warning("only %d peaks", 3)
    [message] = sent
    assert message.signal == "TASK_LOG"
    assert message.contents["level"] == "WARNING" and message.contents["name"] == "mec.fit"
    assert message.contents["message"] == "only 3 peaks"
    assert len(get_logger("mec.fit").handlers) == 1  # asking again adds no handler


def test_log_records_are_plain_messages_for_an_executor_of_the_previous_version(
    channel: Any,
) -> None:
    """An older Executor's WELCOME lists no signals: it would refuse TASK_LOG."""
    from lute.execution.logging import get_logger

    sent = channel({"protocol": 1}).sent
    get_logger("mec.old").error("detector missing")
    [message] = sent
    assert (message.signal, message.contents) == ("", "ERROR:mec.old: detector missing")


def test_get_logger_outside_a_task_writes_to_stderr(capsys: Any) -> None:
    from lute.execution.logging import get_logger

    get_logger("mec.here").info("standalone")
    assert "INFO:mec.here: standalone" in capsys.readouterr().err
    executor_side = get_logger("mec.executor", is_task=False)
    assert executor_side.level in (logging.DEBUG, logging.INFO) and not executor_side.propagate


def test_lute_debug_exit(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from lute.execution.debug_utils import LUTE_DEBUG_EXIT

    LUTE_DEBUG_EXIT("LUTE_TEST_DEBUG_STOP")  # unset: goes on
    monkeypatch.setenv("LUTE_TEST_DEBUG_STOP", "1")
    with pytest.raises(SystemExit) as stopped:
        LUTE_DEBUG_EXIT("LUTE_TEST_DEBUG_STOP", "state dump")
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "LUTE_DEBUG_EXIT - %s" % __file__ in out and "state dump" in out
