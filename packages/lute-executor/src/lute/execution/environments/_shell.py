"""Bash: sourcing scripts and running ``module`` lines, reading back the variables.

Shell code always runs in a separate ``bash`` whose resulting variables are read back
with ``env -0``: nothing a script prints is ever evaluated. Child processes run with a
bounded time (:func:`run_bounded`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from typing import Dict, Mapping, Sequence

from lute.execution.environments._errors import EnvironmentSpecError

__all__ = ["DEFAULT_TIMEOUT", "run_bounded", "source_script"]

DEFAULT_TIMEOUT = 120.0
# Bash sets these itself; the result keeps the caller's values rather than bash's.
_BASH_BOOKKEEPING = ("SHLVL", "_", "PWD", "OLDPWD")
_SENTINEL = "LUTE_ENVIRONMENT_FOLLOWS"
# Exit codes of the ``module`` script: no ``module`` command, or 100 + the failed line's
# index (specs hold at most 150 lines, so codes stay below 256).
_MODULES_MISSING_EXIT = 97
_MODULE_LINE_EXIT_BASE = 100


def source_script(
    script: str, env: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT
) -> Dict[str, str]:
    """Return the environment ``script`` leaves behind when sourced by bash.

    ``script`` may carry arguments (``"/sw/setup.sh --gpu"``). The variables are read
    from ``env -0`` (NUL-separated) after sourcing: the script's output is never
    evaluated (it is shown on stderr if sourcing fails).

    Raises:
        EnvironmentSpecError: The script is missing, fails, exits the shell or hangs.
    """
    parts = shlex.split(script)
    if not parts or not os.path.isfile(parts[0]):
        raise EnvironmentSpecError(
            "shell_source: script %r does not exist" % (parts[0] if parts else script)
        )
    body = "source %s >&2 || exit $?" % " ".join(shlex.quote(p) for p in parts)
    return _bash_environment(body, env, what="sourcing %s" % script, timeout=timeout)


def _module_environment(
    module_lines: Sequence[str],
    env: Mapping[str, str],
    *,
    init_files: Sequence[str],
    timeout: float,
) -> Dict[str, str]:
    """Run ``module`` sub-commands in bash with ``env``; return the variables they leave.

    ``module`` is defined first, when bash does not have it yet, from
    ``$MODULESHOME/init/bash`` or the first of ``init_files`` that defines it.

    Raises:
        EnvironmentSpecError: No bash, no ``module`` command, or a line failed (named).
    """
    if shutil.which("bash") is None:
        raise EnvironmentSpecError("modules: bash is needed to run 'module' and is not on PATH")
    inits = " ".join(shlex.quote(p) for p in init_files)
    lines = [
        "if ! type module >/dev/null 2>&1; then",
        '  for init in ${MODULESHOME:+"$MODULESHOME/init/bash"} %s; do' % inits,
        '    if [ -r "$init" ]; then . "$init" >&2; type module >/dev/null 2>&1 && break; fi',
        "  done",
        "fi",
        "type module >/dev/null 2>&1 || exit %d" % _MODULES_MISSING_EXIT,
    ]
    for index, line in enumerate(module_lines):
        words = " ".join(shlex.quote(w) for w in shlex.split(line))
        lines.append("module %s >&2 || exit %d" % (words, _MODULE_LINE_EXIT_BASE + index))
    try:
        return _bash_environment("\n".join(lines), env, what="running module", timeout=timeout)
    except _BashExit as failed:
        if failed.code == _MODULES_MISSING_EXIT:
            raise EnvironmentSpecError(
                "modules: no 'module' command here (neither environment-modules nor Lmod: "
                "looked for a 'module' function, $MODULESHOME/init/bash and %s); install "
                "one, or describe the environment with {script: ...} or {venv: ...}"
                % ", ".join(init_files)
            ) from None
        index = failed.code - _MODULE_LINE_EXIT_BASE
        if 0 <= index < len(module_lines):
            raise EnvironmentSpecError(
                "modules: `module %s` failed:\n%s" % (module_lines[index], failed.stderr)
            ) from None
        raise EnvironmentSpecError(str(failed)) from None


# Processes ----------------------------------------------------------------------------
def run_bounded(
    argv: Sequence[str], env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` with captured output; on timeout kill its whole process group.

    Killing only the direct child would leave its children (a ``sleep`` in a script, a
    server started by an import) holding the output pipes open, and reading them would
    then wait for those children.

    Raises:
        subprocess.TimeoutExpired: It ran longer than ``timeout`` seconds (and was killed).
        OSError: It could not be started.
    """
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass  # already gone
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


# Bash ---------------------------------------------------------------------------------
class _BashExit(EnvironmentSpecError):
    """Bash exited non-zero; ``code`` and ``stderr`` say how."""

    def __init__(self, message: str, code: int, stderr: str) -> None:
        super().__init__(message)
        self.code = code
        self.stderr = stderr


def _bash_environment(
    body: str,
    env: Mapping[str, str],
    *,
    what: str,
    timeout: float,
    args: Sequence[str] = (),
) -> Dict[str, str]:
    """Run ``body`` in bash with ``env``; return the variables it leaves behind.

    ``args`` become ``"$@"``. The variables are read from ``env -0`` after a sentinel,
    so output on stdout cannot be mistaken for variables, and a script that exits the
    shell early is reported instead of yielding an empty environment.
    """
    bash = shutil.which("bash")
    if bash is None:
        raise EnvironmentSpecError("%s needs bash, which is not on PATH" % what)
    # `env` by absolute path: the script may have replaced PATH.
    env_tool = shutil.which("env") or "/usr/bin/env"
    command = "%s\nprintf '%%s\\0' %s && %s -0" % (body, _SENTINEL, shlex.quote(env_tool))
    try:
        done = run_bounded([bash, "-c", command, "bash", *args], env, timeout)
    except subprocess.TimeoutExpired:
        raise EnvironmentSpecError("%s took longer than %.0f s" % (what, timeout)) from None
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode != 0:
        raise _BashExit(
            "%s failed with exit code %d:\n%s" % (what, done.returncode, stderr),
            done.returncode,
            stderr,
        )
    entries = done.stdout.split(b"\0")
    marker = _SENTINEL.encode()
    if marker not in entries:
        raise EnvironmentSpecError(
            "%s: the shell exited before its environment could be read (does a script "
            "call `exit`?)\n%s" % (what, stderr)
        )
    result: Dict[str, str] = {}
    for entry in entries[entries.index(marker) + 1 :]:
        name, sep, value = entry.decode(errors="replace").partition("=")
        if sep and name:
            result[name] = value
    for name in _BASH_BOOKKEEPING:
        if name in env:
            result[name] = env[name]
        else:
            result.pop(name, None)
    return result
