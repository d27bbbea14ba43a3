#!/usr/bin/env bash
# Installs the tools the tests need into a cache folder outside the repository (nothing here is
# committed). Idempotent: a tool already present is left alone.
#   CANDID_TOOLS_DIR  where binaries go (default: ~/.cache/candid-tools)
# Needs Go and the Go module proxy.
set -euo pipefail

TOOLS_DIR="${CANDID_TOOLS_DIR:-$HOME/.cache/candid-tools}"
VERSITYGW_VERSION="v1.8.0"
mkdir -p "$TOOLS_DIR"

if [[ -x "$TOOLS_DIR/versitygw" ]]; then
  echo "versitygw: present at $TOOLS_DIR/versitygw"
else
  if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: 'go' is not on PATH; install Go (e.g. apt-get install golang) and retry" >&2
    exit 1
  fi
  echo "versitygw: installing $VERSITYGW_VERSION into $TOOLS_DIR"
  GOBIN="$TOOLS_DIR" go install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}"
fi

# helm: renders and lints helm/candid in test/deploy/chart.test.ts (no helm binary ships in npm
# or Debian; v3.22.0's go.mod has no replace directives, so `go install` builds it).
HELM_VERSION="v3.22.0"
if [[ -x "$TOOLS_DIR/helm" ]]; then
  echo "helm: present at $TOOLS_DIR/helm"
else
  if ! command -v go >/dev/null 2>&1; then
    echo "install-tools: 'go' is not on PATH; install Go (e.g. apt-get install golang) and retry" >&2
    exit 1
  fi
  echo "helm: installing $HELM_VERSION into $TOOLS_DIR (a few minutes: it compiles)"
  GOBIN="$TOOLS_DIR" go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
fi

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
