#!/usr/bin/env bash
# Build the Pulumi engine that `dcops provision` runs — the `pulumi` CLI and the OpenStack and
# Kubernetes resource plugins — from the Go module proxy, and install them into the venv's bin
# folder (.venv/bin), where dcops looks first.
#
#   pulumi                       the CLI, from github.com/pulumi/pulumi/pkg/v3 (scripts/engine/cli)
#   pulumi-resource-openstack    dcops' own plugin: the Terraform bridge + terraform-provider-openstack,
#                                under the tokens of the PyPI pulumi-openstack SDK (scripts/engine/openstack)
#   pulumi-resource-kubernetes   Pulumi's Kubernetes provider (scripts/engine/kubernetes)
#
# Built binaries are kept per version (and per digest of the wrapper module's sources) in
# $DCOPS_ENGINE_CACHE (default ~/.cache/dcops/engine, outside build/, which scripts/install.sh
# wipes); Go's module and build caches are reused. A cold build takes about 20 minutes on two
# idle cores (over an hour on a busy machine), a second run seconds. Concurrent runs (several
# checkouts) wait for each other per binary.
#
# Usage: scripts/install-engine.sh [cli|openstack|kubernetes ...]   (default: all three)
# Needs Go ≥ 1.26 and the Go module proxy. No Python language host is built: dcops runs inline
# programs through the Automation API, which serves the program itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CLI_VERSION=3.274.1
KUBERNETES_VERSION=4.25.0
# The proxy serves pulumi-kubernetes' provider module at this one pseudo-version (= release 4.25.0).
KUBERNETES_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
# The OpenStack plugin takes the version of the pulumi-openstack SDK its tokens come from.
OPENSTACK_VERSION=$(sed -n 's/^const SDKVersion = "\(.*\)"$/\1/p' scripts/engine/openstack/provider/tokens.go)

CACHE=${DCOPS_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dcops/engine}
BIN=${DCOPS_ENGINE_BIN:-$ROOT/.venv/bin}
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly"
LDFLAGS="-s -w"

say() { printf 'engine: %s\n' "$*"; }
die() { printf 'engine: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go is not installed: install Go ≥ 1.26 (https://go.dev/dl/) and run $0 again"
[ -n "$OPENSTACK_VERSION" ] || die "no SDKVersion in scripts/engine/openstack/provider/tokens.go"
mkdir -p "$CACHE" "$BIN"

# The cache key of a wrapper module: its version and a digest of its sources.
key() { # VERSION MODULE_DIR
  local digest
  digest=$(cd "$2" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  printf '%s-%s' "$1" "$digest"
}

# A fresh copy of a wrapper module to build in (never inside the checkout).
stage() { # MODULE_DIR WORK
  rm -rf "$2"
  mkdir -p "$2"
  cp -R "$1/." "$2/"
  chmod -R u+w "$2"
}

elapsed() { local s=$(($(date +%s) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

build_cli() { # DEST
  local work=$1.work
  stage scripts/engine/cli "$work"
  (cd "$work" && go build -trimpath \
    -ldflags "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
    -o "$1/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  rm -rf "$work"
}

build_openstack() { # DEST
  local work=$1.work version_flag="-X dcops.local/engine/openstack/provider.Version=$OPENSTACK_VERSION"
  stage scripts/engine/openstack "$work"
  (
    cd "$work"
    # The schema is generated from the provider at build time, then embedded in the plugin.
    go build -trimpath -ldflags "$LDFLAGS $version_flag" -o tfgen ./cmd/pulumi-tfgen-openstack
    ./tfgen schema --skip-examples --out schema-out >tfgen.log 2>&1 || { cat tfgen.log >&2; exit 1; }
    cp schema-out/schema.json cmd/pulumi-resource-openstack/schema.json
    go build -trimpath -ldflags "$LDFLAGS $version_flag" -o "$1/pulumi-resource-openstack" \
      ./cmd/pulumi-resource-openstack
    cp schema-out/schema.json "$1/schema.json"
  )
  rm -rf "$work"
}

build_kubernetes() { # DEST
  local work=$1.work dir
  stage scripts/engine/kubernetes "$work"
  (
    cd "$work"
    go mod download "$KUBERNETES_MODULE"
    dir=$(go list -m -f '{{.Dir}}' "$KUBERNETES_MODULE")
    cp "$dir/cmd/pulumi-resource-kubernetes/schema.json" "$dir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" .
    chmod u+w schema.json terraform-mapping.json
    VERSION=$KUBERNETES_VERSION go run ./generate
    go build -trimpath \
      -ldflags "$LDFLAGS -X $KUBERNETES_MODULE/pkg/version.Version=$KUBERNETES_VERSION" \
      -o "$1/pulumi-resource-kubernetes" .
  )
  rm -rf "$work"
}

# Build one piece unless its cache folder is complete, then install its binary into $BIN.
piece() { # NAME VERSION MODULE_DIR BINARY
  local name=$1 version=$2 binary=$4 dest start
  dest=$CACHE/$name/$(key "$version" "$3")
  mkdir -p "$CACHE/$name"
  exec 9>"$dest.lock"
  flock 9 # another checkout may be building the same binary: wait for it
  if [ ! -x "$dest/$binary" ]; then
    say "building $binary $version (cold: several minutes; log: $dest.log)"
    start=$(date +%s)
    rm -rf "$dest"
    mkdir -p "$dest.tmp"
    if ! "build_$name" "$dest.tmp" >"$dest.log" 2>&1; then
      tail -n 40 "$dest.log" >&2
      rm -rf "$dest.tmp"
      die "building $binary failed; full log: $dest.log"
    fi
    mv "$dest.tmp" "$dest"
    say "built $binary $version in $(elapsed "$start")"
  fi
  exec 9>&-
  # A hard link is instant and costs no space; another file system gets a copy.
  if ! [ "$BIN/$binary" -ef "$dest/$binary" ]; then
    ln -f "$dest/$binary" "$BIN/$binary" 2>/dev/null || install -m 0755 "$dest/$binary" "$BIN/$binary"
  fi
  say "$binary $version → $BIN/$binary"
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(cli openstack kubernetes)
for name in "${wanted[@]}"; do
  case $name in
    cli) piece cli "$CLI_VERSION" scripts/engine/cli pulumi ;;
    openstack) piece openstack "$OPENSTACK_VERSION" scripts/engine/openstack pulumi-resource-openstack ;;
    kubernetes) piece kubernetes "$KUBERNETES_VERSION" scripts/engine/kubernetes pulumi-resource-kubernetes ;;
    *) die "unknown piece $name (cli, openstack or kubernetes)" ;;
  esac
done
