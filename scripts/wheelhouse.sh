#!/usr/bin/env bash
# Build the wheelhouse the dcops_server role installs from: dcops, every dependency of the
# extras the management host runs, and pip itself, as wheels in one tar file. The management
# host then installs with `pip install --no-index`, reaching no package index (it has none).
# Usage: scripts/wheelhouse.sh [OUT.tar] [EXTRAS]   (default wheelhouse/dcops-wheelhouse.tar, server,dcim,audit)
# Wheels must match the host's Python (3.11 on Debian bookworm): run this with a Python 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-wheelhouse/dcops-wheelhouse.tar}"
extras="${2:-server,dcim,audit}"
python="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip wheel -q --wheel-dir "$work/wheels" ".[${extras}]" pip
mkdir -p "$(dirname "$out")"
# Sorted names and fixed metadata: the same wheels give the same tar, so a re-run copies nothing.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/wheels" -cf "$out.part" .
mv "$out.part" "$out"
echo "wheelhouse $out: $(ls "$work/wheels" | wc -l) wheels, $(du -h "$out" | cut -f1)"
