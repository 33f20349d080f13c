#!/usr/bin/env bash
# The main job on the embedded example site: validate the site, check the machine, plan every
# tenancy offline, poll the simulated machine room once, and verify the audit record.
set -euo pipefail
cd "$(dirname "$0")/.."
dcops=.venv/bin/dcops
export DCOPS_USER="${DCOPS_USER:-zhangwei}"

step() { printf '\n== %s\n' "$*"; }

step "site: dcops.toml and inventory/"
$dcops site check
step "this machine: what each capability needs"
$dcops doctor
step "cloud: every tenancy request planned offline, with policies"
$dcops plan --all
step "machine room: simulated devices on loopback, polled once"
$dcops dcim simulate --detach
trap '$dcops dcim simulate stop >/dev/null 2>&1 || true' EXIT
$dcops dcim poll --once
step "audit: the record of every change, verified"
$dcops audit verify
