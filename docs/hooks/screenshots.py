"""mkdocs hook: screenshots of the report pages, taken from a real run at every build.

Before the pages are built, examples/beamstats is installed into a temporary directory,
three runs go through the real ``lute-exec`` (Tester, Tester failing, BeamStatsRunner:
a summary dict and a matplotlib histogram), and headless Chromium photographs the
BeamStatsRunner page and the index. The pictures join the site as
``img/report-run.png`` and ``img/report-index.png``; nothing is written into docs/.

Needs ``uv`` and Debian's ``chromium`` (scripts/bootstrap.sh installs both with
``LUTE_BOOTSTRAP_TEST=1``). ``LUTE_BOOTSTRAP_DOCS_SCREENSHOTS=0`` puts a one-pixel
placeholder in their place, for a quick build on a machine without Chromium.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
#: Site path -> (what the screenshot shows, window size).
SHOTS = {
    "img/report-run.png": ("reports/BeamStatsRunner_*.html", "1100,1180"),
    "img/report-index.png": ("reports/index.html", "1100,320"),
}
#: The switch that skips Chromium (placeholders instead).
SWITCH = "LUTE_BOOTSTRAP_DOCS_SCREENSHOTS"
#: A 1x1 transparent PNG.
PLACEHOLDER = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=3000",
]

_taken: Dict[str, Path] = {}
_scratch: List[Path] = []


class ScreenshotError(RuntimeError):
    """The run or Chromium failed; the message says which and how."""


def _run(command: List[str], env: Optional[Dict[str, str]] = None) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise ScreenshotError(
            "%s exited with %d:\n%s%s"
            % (" ".join(command), done.returncode, done.stdout, done.stderr)
        )
    return done.stdout + done.stderr


def real_runs(scratch: Path) -> Path:
    """Install examples/beamstats into ``scratch`` and run three managed tasks there.

    Returns:
        The work directory holding their reports.
    """
    uv = shutil.which("uv")
    if uv is None:
        raise ScreenshotError("the screenshots need uv on PATH: run scripts/bootstrap.sh")
    site = scratch / "site-packages"
    _run([uv, "pip", "install", "-q", "--no-deps", "--target", str(site), "examples/beamstats"])
    work = scratch / "work"
    env = dict(os.environ, PYTHONPATH=str(site), LUTE_CONFIG_CACHE="0")
    lute_exec = [sys.executable, "-m", "lute.execution.cli", "run"]
    override = "work_dir=%s" % work
    _run([*lute_exec, "-c", "examples/config.yaml", "-t", "Tester", override], env)
    failing = [*lute_exec, "-c", "examples/config.yaml", "-t", "Tester", override]
    try:
        _run([*failing, "Test.throw_error=true"], env)
    except ScreenshotError as expected:  # exit code 1: the index shows a FAILED run
        if "exited with 1" not in str(expected):
            raise
    _run(
        [*lute_exec, "-c", "examples/beamstats/config.yaml", "-t", "BeamStatsRunner", override], env
    )
    return work


def screenshot(page: Path, png: Path, size: str, profile: Path) -> None:
    """Photograph ``page`` (a local HTML file) with headless Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise ScreenshotError(
            "the screenshots need Debian's chromium: `apt-get install chromium`, or "
            "LUTE_BOOTSTRAP_TEST=1 bash scripts/bootstrap.sh (%s=0 skips them)" % SWITCH
        )
    _run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            "--user-data-dir=%s" % profile,
            "--window-size=%s" % size,
            "--screenshot=%s" % png,
            page.as_uri(),
        ]
    )
    if not png.is_file() or png.stat().st_size == 0:
        raise ScreenshotError("chromium wrote no screenshot of %s" % page)


def take_all(scratch: Path) -> Dict[str, Path]:
    """Every screenshot of :data:`SHOTS`, taken from fresh runs, by site path."""
    work = real_runs(scratch)
    taken = {}
    for site_path, (pattern, size) in SHOTS.items():
        [page] = sorted(glob.glob(str(work / pattern)))
        png = scratch / Path(site_path).name
        screenshot(Path(page), png, size, Path(tempfile.mkdtemp(prefix="chromium-", dir=scratch)))
        taken[site_path] = png
    return taken


def on_pre_build(config: Any, **_kwargs: Any) -> None:
    """mkdocs event: take the screenshots (or make placeholders) before any page."""
    scratch = Path(tempfile.mkdtemp(prefix="lute-docs-shots-"))
    _scratch.append(scratch)
    _taken.clear()
    if os.environ.get(SWITCH, "1") == "0":
        for site_path in SHOTS:
            png = scratch / Path(site_path).name
            png.write_bytes(PLACEHOLDER)
            _taken[site_path] = png
        return
    _taken.update(take_all(scratch))


def on_files(files: Any, config: Any, **_kwargs: Any) -> Any:
    """mkdocs event: the screenshots become files of the site."""
    from mkdocs.structure.files import File

    for site_path, png in _taken.items():
        files.append(File.generated(config, site_path, abs_src_path=str(png)))
    return files


def on_post_build(config: Any, **_kwargs: Any) -> None:
    """mkdocs event: the runs and pictures have been copied into the site; drop them."""
    while _scratch:
        shutil.rmtree(_scratch.pop(), ignore_errors=True)
