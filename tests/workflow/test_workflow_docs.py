"""docs/workflows.md shows every workflow command and both DAG file forms; its examples
run on the cluster, in order, with the other SLURM pages (tests/docs/test_docs_slurm.py)."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.markdown_samples import samples

PAGE = ROOT / "docs" / "workflows.md"


def test_the_page_shows_every_command_and_both_file_forms() -> None:
    run = [sample.code for sample in samples(PAGE) if sample.language == "bash"]
    for name in ("workflow submit", "workflow status", "workflow cancel", "workflow resubmit"):
        assert any(name in command for command in run), name
    assert any("--dry-run" in command and "--runs" in command for command in run)
    text = PAGE.read_text()
    for example in ("chain.yaml", "sweep-merge.yaml", "original.yaml"):
        assert '--8<-- "examples/workflows/%s"' % example in text


def test_its_examples_are_run_on_the_cluster() -> None:
    from tests.docs.test_docs_slurm import PAGES

    assert PAGE in PAGES
