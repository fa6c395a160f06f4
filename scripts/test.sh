#!/usr/bin/env bash
# Run the whole default test suite from a fresh machine: installs what the tests need
# (scripts/bootstrap.sh), checks lint, then runs pytest. Extra arguments go to pytest.
# Long matrices live in nox sessions (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
# What the tests need besides the dev environment: SLURM and munge (the SLURM tests
# start a one-node cluster on localhost, scripts/slurm-local.sh), slurmdbd and MariaDB
# (a second cluster with accounting, scripts/slurm-accounting.sh, for the sacct tests),
# environment-modules and zsh (its completion script is loaded).
export LUTE_BOOTSTRAP_TEST="${LUTE_BOOTSTRAP_TEST:-1}"
bash scripts/bootstrap.sh
export UV_PYTHON_DOWNLOADS=never
if command -v pyenv >/dev/null 2>&1 && [ -z "${PYENV_VERSION:-}" ]; then
    PYENV_VERSION=$(pyenv versions --bare | grep -E '^3\.(8|9|1[0-3])\.' | paste -sd: -)
    export PYENV_VERSION
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --check .; exit 1; }

echo "== pytest"
set +e
.venv/bin/python -m pytest -m "not slow" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: treating that as a failure" >&2
    exit 1
fi
exit "$rc"
