#!/usr/bin/env bash
# Installs the tools the tests need into a cache folder outside the repository (nothing here is
# committed). Idempotent: a tool already present is left alone.
#   CANDID_TOOLS_DIR  where binaries go (default: ~/.cache/candid-tools)
# Needs Go and the Go module proxy.
set -euo pipefail

TOOLS_DIR="${CANDID_TOOLS_DIR:-$HOME/.cache/candid-tools}"
mkdir -p "$TOOLS_DIR"

# go_tool NAME MODULE@VERSION [NOTE] [BUILT]: builds a Go command into TOOLS_DIR as NAME unless it
# is there (BUILT: the name `go install` gives the binary, when it is not NAME).
go_tool() {
  local name=$1 module=$2 note=${3:-} built=${4:-}
  if [[ -x "$TOOLS_DIR/$name" ]]; then
    echo "$name: present at $TOOLS_DIR/$name"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: 'go' is not on PATH; install Go (e.g. apt-get install golang) and retry" >&2
    exit 1
  fi
  echo "$name: installing ${module##*@} into $TOOLS_DIR$note"
  if [[ -z "$built" || "$built" == "$name" ]]; then
    GOBIN="$TOOLS_DIR" go install "$module"
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  GOBIN="$tmp" go install "$module"
  mv "$tmp/$built" "$TOOLS_DIR/$name"
  rm -rf "$tmp"
}

# versitygw: the real S3-compatible server the S3 contract and integration tests start.
go_tool versitygw "github.com/versity/versitygw/cmd/versitygw@v1.8.0"
# toxiproxy-server: the fault proxy of the chaos suite (test/chaos: latency, bandwidth, resets and
# stalls between client and gateway). v2.5.0 names its server package cmd/server.
go_tool toxiproxy-server "github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0" "" server
# helm: renders and lints helm/candid in test/deploy/chart.test.ts (no helm binary ships in npm
# or Debian; v3.22.0's go.mod has no replace directives, so `go install` builds it).
go_tool helm "helm.sh/helm/v3/cmd/helm@v3.22.0" " (a few minutes: it compiles)"

# promtool: checks and unit-tests helm/candid/rules (Debian's `prometheus` package ships it).
if command -v promtool >/dev/null 2>&1; then
  echo "promtool: present at $(command -v promtool)"
elif [[ $(id -u) -eq 0 ]]; then
  echo "promtool: installing Debian package prometheus"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
else
  echo "install-tools: promtool missing; run: apt-get install prometheus" >&2
  exit 1
fi
