"""The console under a real terminal (a pty) and without one."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path
from typing import Dict, Optional

import pytest

from lute.execution.console import Console
from tests.conftest import LUTE_EXEC

STATUS_LINE = re.compile(r"\r\x1b\[K\[Tester (?:\x1b\[\d+m)?RUNNING(?:\x1b\[0m)? ([0-9.]+) s\]")


def run_on_a_terminal(
    config: Path,
    args: list,  # type: ignore[type-arg]
    env: Optional[Dict[str, str]] = None,
    managed_task: str = "Tester",
) -> str:
    main, child = pty.openpty()
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env["TERM"] = "xterm-256color"
    full_env.update(env or {})
    proc = subprocess.Popen(
        [*LUTE_EXEC, "run", "-c", str(config), "-t", managed_task, *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=full_env,
    )
    os.close(child)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child side closed
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    os.close(main)
    return output.decode(errors="replace")


def test_the_status_line_ticks_while_the_task_is_quiet(config: Path) -> None:
    text = run_on_a_terminal(config, ["Test.sleep_seconds=3.5"])
    shown = {match.group(1) for match in STATUS_LINE.finditer(text)}
    # A quiet Task of 3.5 s: the clock was redrawn at least three more times.
    assert len(shown) >= 4, shown


def test_status_words_are_coloured_on_a_terminal(config: Path) -> None:
    text = run_on_a_terminal(config, [])
    assert "\x1b[32mCOMPLETED\x1b[0m" in text
    assert re.search(r"Test \x1b\[32mCOMPLETED\x1b\[0m in [0-9.]+ s \(exit code 0\)", text)


def test_no_color_keeps_the_status_line_without_colour(config: Path) -> None:
    text = run_on_a_terminal(config, [], env={"NO_COLOR": "1"})
    assert "\r\x1b[K[Tester" in text
    assert "\x1b[3" not in text and "\x1b[0m" not in text


def test_a_dumb_terminal_gets_plain_lines(config: Path) -> None:
    text = run_on_a_terminal(config, [], env={"TERM": "dumb"})
    assert "\x1b[" not in text and "\r\x1b" not in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+ Tester \| Test COMPLETED in", text)


def test_without_a_terminal_lines_are_plain_and_timestamped() -> None:
    stream = io.StringIO()
    console = Console("Tester", stream=stream)
    console.status("RUNNING")
    console.line("hello")
    console.verdict("Test", "COMPLETED", "in 0.1 s (exit code 0)")
    console.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\x1b" not in stream.getvalue()
    # Stamped with the zone, as `lute-exec db` and the report show times.
    zone = time.strftime("%Z")
    assert zone
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d %s Tester \| " % re.escape(zone)
    assert all(re.match(stamp, line) for line in lines), lines


@pytest.mark.parametrize(
    ("done", "total", "label"),
    [
        (0.25, None, "25%"),
        (3, 12, "3/12"),
        (2.0, None, "100%"),
        (1234567, 2000000, "1234567/2000000"),
        (2.5, 10.0, "2.5/10"),
    ],
)
def test_progress_draws_a_bar(done: float, total: Optional[float], label: str) -> None:
    stream = io.StringIO()
    console = Console("Tester", stream=stream, live=True, colour=False)
    console.status("RUNNING")
    console.progress(done, total)
    console.close()
    assert re.search(r"\[[#.]{20}\] %s" % re.escape(label), stream.getvalue())


@pytest.mark.parametrize(("value", "coloured"), [("", True), ("1", False), ("0", False)])
def test_only_a_non_empty_no_color_turns_colour_off(value: str, coloured: bool) -> None:
    console = Console("Tester", stream=io.StringIO(), live=True, environ={"NO_COLOR": value})
    assert console.colour is coloured
    assert Console("Tester", stream=io.StringIO(), live=True, environ={}).colour is True


def test_without_a_terminal_progress_is_a_line_every_few_seconds() -> None:
    stream = io.StringIO()
    console = Console("Tester", stream=stream)
    for done in range(1, 1001):
        console.progress(done, 1000)
    console.close()
    lines = [line for line in stream.getvalue().splitlines() if "progress" in line]
    # The first, then (within the same few seconds) only the completion.
    assert [line.split("| ")[1] for line in lines] == [
        "progress: 0% (1/1000)",
        "progress: 100% (1000/1000)",
    ]
