"""Every example of docs/workflows.md, run in order against the one-node cluster."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, SlurmCluster
from tests.slurm.console_story import blocks, commands, run_page

pytestmark = pytest.mark.slurm

PAGE = ROOT / "docs" / "workflows.md"


def test_the_page_shows_every_command_and_both_file_forms() -> None:
    run = [
        command
        for language, text in blocks(PAGE)
        if language == "console"
        for command, _ in commands(text)
    ]
    for name in ("workflow submit", "workflow status", "workflow cancel", "workflow resubmit"):
        assert any(name in command for command in run), name
    assert any("--dry-run" in command and "--runs" in command for command in run)
    text = PAGE.read_text()
    for example in ("chain.yaml", "sweep-merge.yaml", "original.yaml"):
        assert '--8<-- "examples/workflows/%s"' % example in text


def test_every_example_of_the_page(slurm: SlurmCluster) -> None:
    run_page(PAGE, slurm)
