#!/usr/bin/env bash
# Install your own packages into .venv, editable, so that bootstrap.sh keeps them: list
# them in local-packages.txt at the top of the checkout, one directory per line
# (relative to the checkout, or absolute; '#' starts a comment). bootstrap.sh runs this
# after every `uv sync` (which removes whatever uv.lock does not name); run it yourself
# after adding a line. A package already installed from the same directory is not
# reinstalled unless its pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
list=local-packages.txt
[ -f "$list" ] || exit 0
[ -x .venv/bin/python ] || { echo "local-packages: no .venv here: run scripts/bootstrap.sh" >&2; exit 1; }
args=()
while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [ -n "$line" ] || continue
    if [ ! -f "$line/pyproject.toml" ] && [ ! -f "$line/setup.py" ]; then
        echo "local-packages: $list names '$line', which is not a Python project (no pyproject.toml or setup.py)" >&2
        exit 1
    fi
    args+=(-e "$line")
done < "$list"
[ ${#args[@]} -gt 0 ] || exit 0
printf '[local-packages] installing into .venv:%s\n' "$(printf ' %s' "${args[@]}" | sed 's/ -e//g')" >&2
exec uv pip install -q -p .venv/bin/python "${args[@]}"
