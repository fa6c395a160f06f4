"""Every example of docs/slurm.md, run against the one-node cluster (see console_story)."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, SlurmCluster
from tests.slurm.console_story import blocks, commands, run_page

pytestmark = pytest.mark.slurm

PAGE = ROOT / "docs" / "slurm.md"


def test_the_page_has_examples_of_every_command() -> None:
    run = [
        command
        for language, text in blocks(PAGE)
        if language == "console"
        for command, _ in commands(text)
    ]
    for name in ("submit", "status", "cancel", "resubmit", "--dry-run", "--runs", "--sweep"):
        assert any(name in command for command in run), name


def test_every_example_of_the_page(slurm: SlurmCluster) -> None:
    run_page(PAGE, slurm)
