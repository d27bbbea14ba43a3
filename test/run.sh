#!/usr/bin/env bash
# `npm test`: every check and every test, against real components.
#   1. installs/starts what the tests need (PostgreSQL, chromium, ffmpeg, versitygw, toxiproxy, helm);
#   2. static checks: tsc --noEmit, buf lint + generated code is current;
#   3. bun test over unit, contract, integration, deploy, browser end-to-end and chaos suites.
# Tests create their own databases, buckets and folders and remove them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

source test/system-deps.sh
bash test/install-tools.sh

# The Python venvs of the transcriber (with pytest) and of the OpenAI-compatible server the
# OpenAI adapter's integration test runs; outside the repo, reused while the lock files match.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/candid-tools"
export CANDID_TRANSCRIBER_VENV="${CANDID_TRANSCRIBER_VENV:-$cache/transcriber-venv}"
export CANDID_OPENAI_STT_VENV="${CANDID_OPENAI_STT_VENV:-$cache/openai-stt-venv}"
bash services/transcriber/setup-venv.sh "$CANDID_TRANSCRIBER_VENV" --test
bash services/transcriber/setup-venv.sh "$CANDID_OPENAI_STT_VENV" --openai-server

echo "== typecheck"
tsc --noEmit -p .
(cd web && svelte-kit sync)  # generates web/.svelte-kit/tsconfig.json, which web/tsconfig.json extends
svelte-check --workspace web --tsconfig ./tsconfig.json --fail-on-warnings --output machine | tail -1
echo "== proto"
bash proto/generate.sh --check

echo "== tests"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
echo "== transcriber (pytest)"
"$CANDID_TRANSCRIBER_VENV/bin/pytest" -q -p no:cacheprovider services/transcriber
py_status=$?
bun test --timeout 120000 services proto web/src/lib test/contract test/integration test/deploy test/e2e test/chaos "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
# Bun prints a failure's error above its "(fail)" line, somewhere in a long log; repeat each one
# (at most 40 lines of what came before it) at the end, where a CI tail shows it.
awk '/^\((pass|skip|todo)\)|^[^ ]+\.test\.[jt]sx?:$/ { n = 0; next }
     /^\(fail\)/ { print "---"; for (i = (n > 40 ? n - 40 : 0); i < n; i++) print buf[i % 40]; print; n = 0; next }
     { buf[n % 40] = $0; n++ }' "$out" > "$out.fail"
if [[ -s "$out.fail" ]]; then
  echo "== failures, each with what bun printed before it"
  cat "$out.fail"
fi
rm -f "$out.fail"
pass=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | tr -dc 0-9)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | tr -dc 0-9)
echo "${pass:-0} passed, ${fail:-0} failed"
((py_status == 0)) || echo "transcriber pytest failed (status $py_status)" >&2
((status != 0)) && exit "$status"
exit "$py_status"
