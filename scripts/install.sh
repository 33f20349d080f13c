#!/usr/bin/env bash
# Install what dcops needs on a fresh Debian machine: Debian packages and a venv with dcops in it.
# Usage: scripts/install.sh [EXTRAS]   (default extras: all,dev)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all,dev}"

mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lab OpenStack's Debian packages (`dcops lab cloud`, the live tests), with the cloud extra.
case ",${extras}," in *,all,*|*,cloud,*) scripts/install-lab-cloud.sh ;; esac

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# A regular (not editable) install, so that tests exercise the installed package. A stale build/
# would carry modules that were moved or deleted into the wheel: start it afresh.
rm -rf build
.venv/bin/python -m pip install -q --force-reinstall --no-deps .
.venv/bin/python -m pip install -q ".[${extras}]"
# Recordings of real SNMP devices for the DCIM tests. The package pins an older pysmi than the
# simulator it ships for, and its recordings are plain files: install it alone, without deps.
case ",${extras}," in *,dev,*) .venv/bin/python -m pip install -q --no-deps "snmpsim-data>=1.0,<2" ;; esac
# axe-core, run inside the console's pages by the accessibility test (from npm, never a CDN).
case ",${extras}," in
  *,dev,*)
    # Debian's npm package conflicts with a Node.js that bundles its own npm (as NodeSource's
    # does): ask for it only where no npm is found.
    if ! command -v npm >/dev/null; then
      sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    npm install --prefix .venv/share/axe --no-audit --no-fund --silent axe-core@4.14.1
    ;;
esac
# The lab Kubernetes control plane, built from Go modules (10-30 min the first time, then cached):
# in CI, or when DCOPS_LAB_K8S=1 asks for it; DCOPS_LAB_K8S=skip leaves it out (.ci/run builds it
# in the background).
if [ "${DCOPS_LAB_K8S:-}" != skip ] && { [ "${CI:-}" = "true" ] || [ "${DCOPS_LAB_K8S:-}" = "1" ]; }; then
  scripts/install-k8s.sh
fi
# The Pulumi engine that `dcops provision` runs (the CLI and the OpenStack and Kubernetes plugins),
# built from the Go module proxy into .venv/bin and cached per version outside build/: a cold
# build takes about 20 minutes on two cores, a second install seconds. DCOPS_ENGINE=skip leaves it out.
case ",${extras}," in
  *,stacks,* | *,all,*)
    if [ "${DCOPS_ENGINE:-build}" = skip ]; then
      echo "DCOPS_ENGINE=skip: the Pulumi engine is not built (dcops provision and the live tests need it)"
    else
      scripts/install-engine.sh
    fi
    ;;
esac
echo "dcops installed in .venv ($(.venv/bin/dcops --version))"
case ":$PATH:" in
  *":$PWD/.venv/bin:"*) ;;
  *) echo "to run it as dcops: export PATH=\"$PWD/.venv/bin:\$PATH\"" ;;
esac
