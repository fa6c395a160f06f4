"""Shell completion scripts: generated from the parser, completing real names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LUTE_EXEC, lute_exec


def _complete_in_bash(script: Path, words: str, bin_dir: Path) -> str:
    """What bash's completion offers for ``words`` (the last word being completed)."""
    program = """
source %s
COMP_WORDS=(%s)
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_shtab_lute_exec lute-exec "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%%s\\n' "${COMPREPLY[@]}"
""" % (script, words)
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def lute_exec_on_path(tmp_path: Path) -> Path:
    """A ``lute-exec`` command on PATH for the script to call (this checkout's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "lute-exec"
    wrapper.write_text('#!/bin/sh\nexec %s "$@"\n' % " ".join(LUTE_EXEC))
    wrapper.chmod(0o755)
    return bin_dir


def test_bash_completes_commands_options_and_managed_tasks(
    tmp_path: Path, lute_exec_on_path: Path
) -> None:
    script = tmp_path / "lute-exec.bash"
    script.write_text(lute_exec(["completion", "bash"]).stdout)
    assert "run" in _complete_in_bash(script, "lute-exec r", lute_exec_on_path).split()
    assert "--dry-run" in _complete_in_bash(script, "lute-exec run --dr", lute_exec_on_path)
    offered = _complete_in_bash(script, "lute-exec run -t Te", lute_exec_on_path).split()
    assert "Tester" in offered and "MPITester" not in offered
    described = _complete_in_bash(script, "lute-exec describe TestS", lute_exec_on_path).split()
    assert "TestSocket" in described and "SocketTester" not in described
    assert "show" in _complete_in_bash(script, "lute-exec db s", lute_exec_on_path).split()
    # db list's filters: --managed a managed task, --task a Task class, not the other.
    managed = _complete_in_bash(script, "lute-exec db list --managed Test", lute_exec_on_path)
    assert "Tester" in managed.split() and "TestSocket" not in managed.split()
    tasks = _complete_in_bash(script, "lute-exec db list --task Test", lute_exec_on_path).split()
    assert "TestSocket" in tasks and "Tester" not in tasks


def test_zsh_script_is_generated_and_loads(tmp_path: Path) -> None:
    done = lute_exec(["completion", "zsh"])
    assert done.returncode == 0
    assert "#compdef lute-exec" in done.stdout
    assert "_lute_exec_managed_tasks" in done.stdout
    assert shutil.which("zsh"), "zsh is installed by scripts/test.sh (LUTE_BOOTSTRAP_TEST=1)"
    script = tmp_path / "_lute-exec"
    script.write_text(done.stdout)
    loaded = subprocess.run(
        ["zsh", "-c", "autoload -U compinit; compinit -u; source %s" % script],
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr


def test_list_names_and_tasks_for_completion() -> None:
    names = lute_exec(["list", "--names"]).stdout.split()
    assert "Tester" in names and "MPITester" in names
    tasks = lute_exec(["list", "--tasks"]).stdout.split()
    assert "Test" in tasks and "Tester" not in tasks
