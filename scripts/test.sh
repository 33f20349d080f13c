#!/usr/bin/env bash
# Lint, type-check the installed package, build the docs strictly and run the tests.
# Usage: scripts/test.sh [PYTEST ARGS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check .
packages=$(python -c 'import tomllib; print(" ".join("-p " + p for p in tomllib.load(open("pyproject.toml","rb"))["tool"]["setuptools"]["packages"] if p.count(".") == 1))')
echo "== mypy (installed package)"; (cd "$(mktemp -d)" && mypy --config-file "$OLDPWD/pyproject.toml" $packages)
echo "== pytest"; python -m pytest "$@"
