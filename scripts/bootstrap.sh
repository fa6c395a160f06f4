#!/usr/bin/env bash
# Prepare a fresh Debian machine (as root, or with sudo) for LUTE development:
# system packages for MPI (and, with LUTE_BOOTSTRAP_TEST=1, what the tests need besides:
# SLURM, munge, environment-modules, zsh, chromium for the docs' screenshots), uv and nox,
# and a workspace virtual environment in .venv holding all three distributions in
# editable mode, with compiled bytecode, plus your own packages listed in
# local-packages.txt (scripts/local-packages.sh).
# Idempotent: every step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*" >&2; }
export UV_PYTHON_DOWNLOADS=never

# Every pyenv Python we may use (3.8-3.13) must be visible to uv and nox.
if command -v pyenv >/dev/null 2>&1; then
    PYENV_VERSION=$(pyenv versions --bare | grep -E '^3\.(1[1])\.' | head -n1)
    rest=$(pyenv versions --bare | grep -E '^3\.(8|9|10|12|13)\.' | paste -sd: -)
    export PYENV_VERSION="${PYENV_VERSION}${rest:+:$rest}"
fi

apt_pkgs=()
command -v mpirun >/dev/null 2>&1 || apt_pkgs+=(openmpi-bin libopenmpi-dev)
if [ "${LUTE_BOOTSTRAP_TEST:-0}" = 1 ]; then
    command -v slurmctld >/dev/null 2>&1 || apt_pkgs+=(slurm-wlm munge)
    # The accounting cluster of scripts/slurm-accounting.sh (sacct).
    command -v slurmdbd >/dev/null 2>&1 || apt_pkgs+=(slurmdbd)
    command -v mariadbd >/dev/null 2>&1 || apt_pkgs+=(mariadb-server)
    [ -f /usr/share/modules/init/bash ] || apt_pkgs+=(environment-modules)
    command -v zsh >/dev/null 2>&1 || apt_pkgs+=(zsh)
    # The docs build screenshots the report pages of a real run (tests/docs).
    command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    log "installing Debian packages: ${apt_pkgs[*]}"
    # Without systemd, a package's postinst would start its service (mariadb, munge …)
    # through invoke-rc.d: a policy-rc.d that denies it (as Docker images ship) for the
    # install, if the machine has none; the test scripts start the daemons themselves.
    policy=""
    if [ ! -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 0755 "$policy"
        trap '$SUDO rm -f "$policy"' EXIT
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
    if [ -n "$policy" ]; then $SUDO rm -f "$policy"; trap - EXIT; fi
fi

PY=${LUTE_PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1 || ! command -v nox >/dev/null 2>&1; then
    log "installing uv and nox with pip"
    "$PY" -m pip install -q uv nox
    hash -r
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

if [ ! -x .venv/bin/lute-exec ] || [ uv.lock -nt .venv/bin/lute-exec ] \
    || [ -n "$(find packages -name pyproject.toml -newer .venv/bin/lute-exec)" ]; then
    log "creating .venv with all three distributions (editable) and the dev tools"
    # Compiled bytecode: on an install users cannot write to (a shared facility
    # environment) every run would otherwise recompile pydantic (0.74 s instead of 0.21 s).
    uv sync --all-packages --group dev -p "${LUTE_DEV_PYTHON:-3.11}" -q --compile-bytecode
    touch .venv/bin/lute-exec
fi
# `uv sync` removes every package uv.lock does not name: put back the user's own.
bash scripts/local-packages.sh
log "ready: .venv ($(.venv/bin/python --version))"
