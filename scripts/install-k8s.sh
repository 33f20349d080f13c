#!/usr/bin/env bash
# Build the lab Kubernetes control plane (kube-apiserver, kube-controller-manager) from the Go module
# proxy through the wrapper module in scripts/k8s, cache the binaries by version outside build/, and
# install them into .venv/bin. etcd comes from Debian's etcd-server (scripts/apt-packages.txt).
# Usage: scripts/install-k8s.sh            (a cached build is reused; the first build takes 10-30 min)
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.37.2
cache="${DCOPS_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dcops}/k8s/${version}"
bins=(kube-apiserver kube-controller-manager)

command -v go >/dev/null || { echo "install-k8s: Go is needed to build the lab Kubernetes (apt-get install golang-go or a newer Go)" >&2; exit 1; }
mkdir -p "$cache" .venv/bin
stamp="$(sha256sum scripts/k8s/go.mod scripts/k8s/go.sum | sha256sum | cut -c1-16)"
if [ "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ]; then
  start=$(date +%s)
  minor="${version#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${version} \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} \
    -X k8s.io/component-base/version.gitTreeState=clean"
  echo "install-k8s: building ${bins[*]} ${version} (the first build takes 10-30 min)"
  rm -rf "$cache/new" && mkdir -p "$cache/new"
  (cd scripts/k8s && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" \
    -o "$cache/new/" "${bins[@]/#/k8s.io/kubernetes/cmd/}")
  for bin in "${bins[@]}"; do mv "$cache/new/$bin" "$cache/$bin"; done
  rmdir "$cache/new"
  echo "$stamp" > "$cache/stamp"
  echo "install-k8s: built in $(( $(date +%s) - start )) s"
fi
for bin in "${bins[@]}"; do install -m 0755 "$cache/$bin" ".venv/bin/$bin"; done
echo "install-k8s: $(.venv/bin/kube-apiserver --version) in .venv/bin"
