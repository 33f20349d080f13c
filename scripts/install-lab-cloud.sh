#!/usr/bin/env bash
# Install the Debian packages of the lab OpenStack (`dcops lab cloud`) without letting them
# configure or start anything: debconf answers say "no" to every database, message bus and
# endpoint question, and a policy-rc.d refuses every service start during the install.
# Usage: scripts/install-lab-cloud.sh   (needs root or sudo; a no-op when all are installed)
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t wanted < <(grep -vE '^\s*(#|$)' lab-cloud-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
start=$(date +%s)
echo "installing the lab cloud's Debian packages (${#missing[@]} missing; about 2 minutes)"
grep -vE '^\s*(#|$)' lab-cloud.preseed | $sudo debconf-set-selections
# A policy-rc.d that exits 101 forbids invoke-rc.d to start anything; remove only our own.
policy=/usr/sbin/policy-rc.d
own=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# dcops: no service starts while the lab cloud packages install\nexit 101\n' \
    | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own=1
fi
trap '[ -n "$own" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
echo "lab cloud packages installed in $(( $(date +%s) - start )) s"
