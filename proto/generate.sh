#!/usr/bin/env bash
# Regenerates proto/gen from the .proto files with buf + ts-proto. With --check, fails when the
# committed output is stale. Run from anywhere: `npm run gen` / `npm run gen:check`.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=./node_modules/.bin/buf
"$buf" lint proto
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  cp -r proto/gen "$tmp/before" 2>/dev/null || mkdir -p "$tmp/before"
  rm -rf proto/gen && "$buf" generate proto --template proto/buf.gen.yaml
  if ! diff -r "$tmp/before" proto/gen >/dev/null; then
    diff -r "$tmp/before" proto/gen | head -40
    echo "proto/gen is stale: run 'npm run gen' and commit the result" >&2
    exit 1
  fi
  echo "proto/gen is current"
else
  rm -rf proto/gen && "$buf" generate proto --template proto/buf.gen.yaml
  echo "generated proto/gen"
fi
