"""The site builds in strict mode, and its generated parts say what the code says.

One strict build (``mkdocs build --strict``, as ``nox -s docs`` does), into a temporary
directory, with the screenshots of a real run (``docs/hooks/screenshots.py``: three runs
and headless Chromium, about ten seconds of the build); the tests below read its output.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

SCREENSHOTS_SWITCH = "LUTE_BOOTSTRAP_DOCS_SCREENSHOTS"


def _hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks" / ("%s.py" % name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly from this work tree."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        # Not --quiet: it hides the warnings from --strict, which then passes a broken site.
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, "the strict build failed:\n%s%s" % (done.stdout, done.stderr)
    return out


def _text(site: Path, page: str) -> str:
    """The page's text, without its markup (highlighted code is split into spans)."""
    markup = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    import yaml

    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.Loader)

    def pages(entries: list) -> list:  # type: ignore[type-arg]
        found = []
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                found += pages(value) if isinstance(value, list) else [value]
        return found

    for page in pages(config["nav"]):
        built = "index.html" if page == "index.md" else page[: -len(".md")] + "/index.html"
        assert (site / built).is_file(), page


def test_the_cli_reference_is_the_parser_s_help(site: Path) -> None:
    page = _text(site, "cli")
    texts = _hook("generated").help_texts()
    assert {command for command, _ in texts} >= {"lute-exec run", "lute-exec db list"}
    commands = {command for command, _ in texts}
    assert "lute-exec init" in commands
    assert {
        "lute-exec %s" % name for name in ("submit", "status", "cancel", "resubmit")
    } <= commands
    workflow = ("submit", "status", "list", "cancel", "resubmit")
    assert {"lute-exec workflow %s" % action for action in workflow} <= commands
    for command, text in texts:
        for line in text.splitlines():
            assert line.rstrip() in page, "%s: %r" % (command, line)


def test_the_exit_codes_are_the_table_of_the_code(site: Path) -> None:
    from lute.execution.outcome import EXIT_CODE_TABLE

    page = _text(site, "troubleshooting")
    for code, meaning in EXIT_CODE_TABLE:
        assert "%d\n%s" % (code, meaning) in page, code


def test_the_tutorial_shows_the_files_init_writes(site: Path) -> None:
    from lute.execution.cli._init import Scaffold, files_for

    page = _text(site, "first-task")
    files = files_for(Scaffold("beamstats", task="BeamStats"))
    for name in ("pyproject.toml", "config.yaml"):
        for line in files[name].splitlines():
            assert all(word in page for word in line.split()), (name, line)


def _png_size(path: Path) -> tuple:  # type: ignore[type-arg]
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_the_report_screenshots_are_real_and_shown(site: Path) -> None:
    for page in ("first-task", "results"):
        assert 'src="../img/report-run.png"' in (site / page / "index.html").read_text()
    assert 'src="../img/report-index.png"' in (site / "results" / "index.html").read_text()
    if os.environ.get(SCREENSHOTS_SWITCH) == "0":
        pytest.skip("%s=0: placeholders instead of screenshots" % SCREENSHOTS_SWITCH)
    for name, size in (("report-run.png", (1100, 1180)), ("report-index.png", (1100, 320))):
        shot = site / "img" / name
        assert _png_size(shot) == size
        assert shot.stat().st_size > 10_000, "%s looks blank" % name


def test_the_api_reference_renders_the_docstrings(site: Path) -> None:
    page = _text(site, "api/tasks")
    for name in ("Task", "ThirdPartyTask", "TaskResult", "ElogSummaryPlots", "Message"):
        assert name in page
    assert "Run _pre_run, _run and _post_run and report the outcome." in page
