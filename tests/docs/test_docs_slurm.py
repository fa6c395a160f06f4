"""Every example of the pages about SLURM (docs/slurm.md), run against the one-node
cluster, as a story.

A page's shell samples that need the cluster are marked ``<!-- test: skip run against
the one-node SLURM cluster by tests/docs/test_docs_slurm.py -->`` (test_docs_samples.py
runs samples in a sandbox without SLURM); a page with one such sample has all of its
shell samples run here, in order, in a directory standing for ``/home/me/beamtime``,
with the page's ``# file: NAME`` YAML blocks written into it (a ``--8<-- "PATH"`` line
in one stands for that file of the repository, as on the site) and its Python blocks
executed. Each documented output line must be among the sample's output lines (spaces
collapsed; the page's directory, interpreter and job ids replaced by the real ones, the
page's ids being too large to be mistaken for anything else); an output block without
``…`` must show every line, and a sample without one must print nothing. A sample whose
output has a ``lute-exec: error`` line must exit with 2, any other with 0. Before
``status`` and ``resubmit`` the jobs submitted from the directory so far are waited for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import pytest

from tests.conftest import ROOT, SlurmCluster
from tests.docs.conftest import DOCS
from tests.docs.markdown_samples import Sample, samples

HOME = "/home/me/beamtime"
PYTHON = "/opt/lute/bin/python"
SKIPPED = "…"
REASON = "run against the one-node SLURM cluster by tests/docs/test_docs_slurm.py"


def _shell(page: Path) -> List[Sample]:
    return [sample for sample in samples(page) if sample.language == "bash"]


#: The pages whose shell samples run on the cluster.
PAGES = [page for page in sorted(DOCS.glob("*.md")) if any(
    sample.options.get("skip") == REASON for sample in _shell(page)
)]  # fmt: skip


def _flat(line: str) -> str:
    return " ".join(line.split())


def _included(text: str) -> str:
    """The text with each ``--8<-- "PATH"`` line replaced by that file of the repository."""
    return re.sub(
        r'^--8<-- "([^"]+)"\n',
        lambda found: (ROOT / found.group(1)).read_text(),
        text,
        flags=re.M,
    )


class Story:
    """Runs a page's samples in one directory, mapping job ids both ways."""

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

    def run(self, sample: Sample) -> None:
        command = sample.code
        documented = (sample.output or "").splitlines()
        if re.search(r"lute-exec (workflow )?(status|resubmit)", command):
            self._wait_for_jobs()
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self._to_real(command)],
            cwd=str(self.tmp),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        shown = done.stdout + done.stderr
        failing = any(line.startswith("lute-exec: error") for line in documented)
        assert done.returncode == (2 if failing else 0), "%s\n%s" % (sample.where, shown)
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
        assert not missing, "%s\nmissing: %s\ngot:\n%s" % (sample.where, missing, "\n".join(lines))
        if SKIPPED not in documented:
            assert len(lines) == len(expected), "%s\nundocumented output:\n%s" % (
                sample.where,
                "\n".join(line for line in lines if line not in expected),
            )


def test_slurm_md_is_run_here() -> None:
    assert DOCS / "slurm.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_shell_sample_of_the_page_is_run_here(page: Path) -> None:
    """None of them is skipped for another reason, nor runs in a sandbox without SLURM."""
    assert [s.where for s in _shell(page) if s.options.get("skip") != REASON] == []


def test_slurm_md_has_examples_of_every_command() -> None:
    run = [sample.code for sample in _shell(DOCS / "slurm.md")]
    for name in ("submit", "status", "cancel", "resubmit", "--dry-run", "--runs", "--sweep"):
        assert any(name in command for command in run), name


@pytest.mark.slurm
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_example_of_the_page(page: Path, slurm: SlurmCluster) -> None:
    with tempfile.TemporaryDirectory(prefix="lute-", dir="/tmp") as directory:
        tmp = Path(directory)
        story = Story(tmp, slurm)
        for sample in samples(page):
            first, _, rest = sample.code.partition("\n")
            if sample.language == "yaml" and first.startswith("# file: "):
                (tmp / first[len("# file: ") :]).write_text(_included(rest))
            elif sample.language == "python" and not sample.included:
                exec(compile(sample.code, str(page), "exec"), {})
            elif sample.language == "bash":
                story.run(sample)
