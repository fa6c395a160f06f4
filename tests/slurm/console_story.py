"""A docs page's examples, run in order against the one-node cluster, as a story.

The page's ``# file: NAME`` YAML blocks (a ``--8<-- "PATH"`` line in one stands for
that file of the repository, as on the site) are written into a directory standing for
``/home/me/beamtime``, its Python blocks executed, and its ``console`` blocks run in
order, each ``$ command`` through bash. Each documented output line must be among the
command's output lines (spaces collapsed; the page's directory, interpreter and job
ids replaced by the real ones, the page's ids being too large to be mistaken for
anything else); a block without ``…`` must show every line of it. Before ``status``
and ``resubmit`` the jobs submitted from the directory so far are waited for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from tests.conftest import ROOT, SlurmCluster

__all__ = ["blocks", "commands", "run_page"]

HOME = "/home/me/beamtime"
PYTHON = "/opt/lute/bin/python"
SKIPPED = "…"


def blocks(page: Path) -> List[Tuple[str, str]]:
    """``(language, text)`` of every fenced block of the page."""
    return re.findall(r"^```(\w+)\n(.*?)^```$", page.read_text(), flags=re.S | re.M)


def _included(text: str) -> str:
    """The text with each ``--8<-- "PATH"`` line replaced by that file of the repository."""
    return re.sub(
        r'^--8<-- "([^"]+)"\n',
        lambda found: (ROOT / found.group(1)).read_text(),
        text,
        flags=re.M,
    )


def commands(text: str) -> List[Tuple[str, List[str]]]:
    """A console block's ``(command, documented output lines)``."""
    found: List[Tuple[str, List[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line)
    return found


def _flat(line: str) -> str:
    return " ".join(line.split())


class Story:
    """Runs the page's commands in one directory, mapping job ids both ways."""

    def __init__(self, tmp: Path, cluster: SlurmCluster) -> None:
        self.tmp = tmp
        self.cluster = cluster
        self.ids: Dict[str, str] = {}  # the page's job id -> the real one
        shims = tmp / ".bin"
        shims.mkdir()
        (shims / "lute-exec").write_text(
            '#!/bin/sh\nexec %s -m lute.execution.cli "$@"\n' % sys.executable
        )
        (shims / "lute-exec").chmod(0o755)
        self.env = dict(os.environ, PATH="%s:%s" % (shims, os.environ["PATH"]))

    def _to_real(self, text: str) -> str:
        text = text.replace(PYTHON, sys.executable).replace(HOME, str(self.tmp))
        for page, real in self.ids.items():
            text = re.sub(r"(?<!\d)%s(?!\d)" % page, real, text)
        return text

    def _wait_for_jobs(self, timeout: float = 180.0) -> None:
        """Until no job submitted from the directory is pending or running."""
        deadline = time.monotonic() + timeout
        while True:
            listed = subprocess.run(
                ["squeue", "-h", "-r", "-t", "PD,R,CG,CF", "-o", "%i|%Z"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            ).stdout.splitlines()
            ours = [line for line in listed if line.partition("|")[2].startswith(str(self.tmp))]
            if not ours:
                return
            assert time.monotonic() < deadline, "jobs still going: %s" % ours
            time.sleep(0.2)

    def run(self, command: str, documented: List[str]) -> None:
        if re.search(r"lute-exec (workflow )?(status|resubmit)", command):
            self._wait_for_jobs()
        done = subprocess.run(
            ["bash", "-c", self._to_real(command)],
            cwd=str(self.tmp),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        shown = done.stdout + done.stderr
        failing = any(line.startswith("lute-exec: error") for line in documented)
        assert done.returncode == (2 if failing else 0), "$ %s\n%s" % (command, shown)
        jobs = [line for line in done.stdout.splitlines() if line.isdigit()]
        page_jobs = [line for line in documented if line.isdigit()]
        for page, real in zip(page_jobs, jobs):
            self.ids[page] = real
        self.cluster.track(*jobs)
        lines = [_flat(line) for line in shown.splitlines() if line.strip()]
        expected = [
            _flat(self._to_real(line)) for line in documented if line.strip() and line != SKIPPED
        ]
        missing = [line for line in expected if line not in lines]
        assert not missing, "$ %s\nmissing: %s\ngot:\n%s" % (command, missing, "\n".join(lines))
        if SKIPPED not in documented:
            assert len(lines) == len(expected), "$ %s\nundocumented output:\n%s" % (
                command,
                "\n".join(line for line in lines if line not in expected),
            )


def run_page(page: Path, cluster: SlurmCluster) -> None:
    """Run every example of ``page``, in order, in a directory standing for ``HOME``."""
    with tempfile.TemporaryDirectory(prefix="lute-", dir="/tmp") as directory:
        tmp = Path(directory)
        story = Story(tmp, cluster)
        for language, text in blocks(page):
            first, _, rest = text.partition("\n")
            if language == "yaml" and first.startswith("# file: "):
                (tmp / first[len("# file: ") :]).write_text(_included(rest))
            elif language == "python":
                exec(compile(text, str(page), "exec"), {})
            elif language == "console":
                for command, documented in commands(text):
                    story.run(command, documented)
