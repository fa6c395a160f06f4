"""The samples of every docs page run, and print what the page says they print.

Each page's shell blocks run in order in a sandbox of their own (see ``conftest.py``):
what the tutorial writes, the next block finds. A guide's Python comes from files
the tests run (``--8<--`` includes), never typed into the page.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

from tests.docs.conftest import DOCS, SETUPS, sandbox_env
from tests.docs.markdown_samples import RUN_LANGUAGES, Sample, matches_output, samples

PAGES = sorted(DOCS.glob("*.md"))
#: The guides written for the site: all their Python is included from tested files.
GUIDES = [
    "index.md",
    "quickstart.md",
    "first-task.md",
    "installing.md",
    "first-party-tasks.md",
    "third-party-tasks.md",
    "executors.md",
    "mpi.md",
    "results.md",
    "troubleshooting.md",
    "cli.md",
    "development.md",
]


def _shell_samples(page: Path) -> List[Sample]:
    return [s for s in samples(page) if s.language == "bash" and "skip" not in s.options]


def _python_samples(page: Path) -> List[Sample]:
    return [
        s
        for s in samples(page)
        if s.language == "python" and not s.included and "skip" not in s.options
    ]


def test_every_skipped_sample_says_why() -> None:
    unexplained = [
        sample.where
        for page in PAGES
        for sample in samples(page)
        if "skip" in sample.options and not sample.options["skip"]
    ]
    assert unexplained == []


def test_guides_include_their_python_from_tested_files() -> None:
    typed = [
        sample.where
        for name in GUIDES
        for sample in samples(DOCS / name)
        if sample.language == "python" and not sample.included
    ]
    assert typed == []


#: Reference pages: complete lists (commands, tables, rules) whose Python fragments may be
#: typed into the page, each run by test_the_python_samples_of or skipped with its reason.
REFERENCES = ["architecture.md", "configuration.md", "database.md", "environments.md"]
REFERENCES += ["protocol.md", "reporting.md", "settings.md"]
REFERENCES += ["slurm.md", "workflows.md", "coming-from-original.md"]


def test_every_page_is_a_guide_or_a_reference_page() -> None:
    assert {page.name for page in PAGES} == set(GUIDES) | set(REFERENCES)
    assert not set(GUIDES) & set(REFERENCES)


def test_only_known_languages_are_run() -> None:
    languages = {sample.language for page in PAGES for sample in samples(page)}
    assert "sh" not in languages and "shell" not in languages and "console" not in languages
    assert set(RUN_LANGUAGES) <= {"bash", "python"}


@pytest.mark.parametrize(
    "page", [page for page in PAGES if _shell_samples(page)], ids=lambda page: page.name
)
def test_the_shell_samples_of(page: Path, sandbox: Path) -> None:
    env = sandbox_env(sandbox)
    for sample in _shell_samples(page):
        cwd = sandbox / sample.options.get("cwd", "")
        if "setup" in sample.options:
            SETUPS[sample.options["setup"]](sandbox)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", sample.code],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, in the order it was written
            text=True,
            timeout=300,
        )
        shown = done.stdout
        expected = int(sample.options.get("exit", "0") or 0)
        assert done.returncode == expected, "%s exited with %d, not %d:\n%s" % (
            sample.where,
            done.returncode,
            expected,
            shown,
        )
        if sample.output is not None:
            missing = matches_output(sample.output, shown)
            assert missing is None, "%s: %r is not in what it printed:\n%s" % (
                sample.where,
                missing,
                shown,
            )


@pytest.mark.parametrize(
    "page", [page for page in PAGES if _python_samples(page)], ids=lambda page: page.name
)
def test_the_python_samples_of(page: Path, sandbox: Path) -> None:
    """A page's Python blocks run as one program, in order (later blocks use what earlier
    ones defined), in the sandbox's venv."""
    blocks = _python_samples(page)
    cwd = {block.options.get("cwd", "") for block in blocks}
    assert len(cwd) == 1, "%s: one cwd for all Python blocks of a page" % page.name
    program = "\n".join("# --- %s\n%s" % (block.where, block.code) for block in blocks)
    done = subprocess.run(
        [str(sandbox / ".venv" / "bin" / "python"), "-c", program],
        cwd=sandbox / cwd.pop(),
        env=sandbox_env(sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, "the Python of %s failed:\n%s\n%s" % (
        page.name,
        done.stdout,
        "\n".join("%4d %s" % (n, line) for n, line in enumerate(program.splitlines(), 1)),
    )
