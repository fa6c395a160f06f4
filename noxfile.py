"""Test matrix for the three LUTE distributions.

Sessions (``nox -l`` lists them):
- ``runtime-3.8`` … ``runtime-3.13``: lute-runtime alone (no pydantic, no pyzmq) + its tests.
- ``models-3.9`` … ``models-3.13``: lute-runtime + lute-models + their tests.
- ``executor-3.9`` … ``executor-3.13``: all three distributions + the executor tests.
- ``cross``: executor on one Python, Task in a venv of another holding only lute-runtime.
- ``mpi``: MPI tests (Open MPI + mpi4py).
- ``lint`` (ruff), ``typecheck`` (mypy on the public API).
- ``docs``: the documentation site, built strictly into ``site/``.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "runtime", "models", "executor", "cross", "docs"]
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

RUNTIME = "packages/lute-runtime"
MODELS = "packages/lute-models"
EXECUTOR = "packages/lute-executor"
ALL_PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
NEW_PYTHONS = ALL_PYTHONS[1:]
TEST_DEPS = ["pytest>=7", "pytest-timeout>=2"]

# (executor Python, Task Python) pairs for the cross-environment session.
CROSS_PAIRS = [("3.9", "3.8"), ("3.12", "3.8"), ("3.13", "3.13"), ("3.11", "3.12")]


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("python", "-m", "pytest", *paths, *session.posargs)


@nox.session(python=ALL_PYTHONS)
def runtime(session: nox.Session) -> None:
    """lute-runtime installed alone: it must work with the standard library only."""
    session.install(RUNTIME, *TEST_DEPS, "hypothesis")
    session.run(
        "python",
        "-c",
        "import importlib.util as u, sys; "
        "bad=[m for m in ('pydantic','zmq','yaml') if u.find_spec(m)]; "
        "sys.exit('unexpected packages beside lute-runtime: %s' % bad if bad else 0)",
    )
    _pytest(session, "tests/runtime")


@nox.session(python=NEW_PYTHONS)
def models(session: nox.Session) -> None:
    """lute-runtime + lute-models, without the executor."""
    session.install(RUNTIME, MODELS, *TEST_DEPS, "hypothesis")
    _pytest(session, "tests/runtime", "tests/models")


@nox.session(python=NEW_PYTHONS)
def executor(session: nox.Session) -> None:
    """All three distributions."""
    # The report's renderers too, so that their tests run here as in the default run.
    session.install(
        RUNTIME,
        MODELS,
        EXECUTOR,
        *TEST_DEPS,
        "hypothesis",
        "numpy",
        "matplotlib",
        "plotly",
        "bokeh",
    )
    _pytest(session, "tests", "-m", "not mpi and not slow")


@nox.session(python=["3.9", "3.11", "3.12", "3.13"])
@nox.parametrize("task_python", ["3.8", "3.12", "3.13"])
def cross(session: nox.Session, task_python: str) -> None:
    """Executor on this Python, Task in a venv of ``task_python`` with lute-runtime only."""
    if (session.python, task_python) not in CROSS_PAIRS:
        session.skip("pair not in the cross matrix")
    session.install(RUNTIME, MODELS, EXECUTOR, *TEST_DEPS)
    session.env["LUTE_TEST_TASK_PYTHON"] = task_python
    _pytest(session, "tests/cross")


@nox.session(python="3.11")
def mpi(session: nox.Session) -> None:
    """MPI Tasks under real mpirun (needs Open MPI or MPICH on PATH)."""
    session.install(RUNTIME, MODELS, EXECUTOR, *TEST_DEPS, "mpi4py")
    _pytest(session, "tests", "-m", "mpi")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy on the public API of the three distributions."""
    session.install(RUNTIME, MODELS, EXECUTOR, "mypy", "types-PyYAML")
    session.run(
        "mypy",
        "packages/lute-runtime/src/lute",
        "packages/lute-models/src/lute",
        "packages/lute-executor/src/lute",
    )


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The site (mkdocs.yml) in strict mode: a warning fails it. Screenshots of the report
    pages are taken from real runs (docs/hooks/screenshots.py: needs uv and chromium)."""
    session.install(
        RUNTIME,
        MODELS,
        EXECUTOR + "[plots]",
        "ruff",  # mkdocstrings formats signatures with it
        "mkdocs>=1.6",
        "mkdocs-material>=9.5",
        "mkdocstrings[python]>=0.26",
    )
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)
