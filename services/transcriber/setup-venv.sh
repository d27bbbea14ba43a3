#!/usr/bin/env bash
# Makes (or reuses) the Python virtual environment the transcriber runs in.
#   setup-venv.sh DIR [--test] [--openai-server]
# DIR: where the venv goes (`npm start` uses data/transcriber-venv; the tests use
# ${CANDID_TRANSCRIBER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/candid-tools/transcriber-venv}).
# --test: also installs requirements-test.txt (pytest).
# --openai-server: also installs requirements-openai-server.txt (faster-whisper-server, the real
#   OpenAI-compatible server test/integration/transcriber-openai.test.ts runs; its own venv,
#   ${CANDID_OPENAI_STT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/candid-tools/openai-stt-venv}).
# Installs with `pip install --require-hashes --only-binary=:all:` from requirements.txt, so the
# bytes are the ones locked by lock.sh. Idempotent: DIR holds a stamp with the sha256 of each
# requirements file it was installed from; when the stamps match it does nothing (well under a
# second). A changed requirements.txt rebuilds the venv from scratch, so no stale package stays.
# Needs python3 >= 3.10 (PYTHON=... to choose one); exits 3 when there is none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: setup-venv.sh DIR [--test] [--openai-server]}
shift
extras=()
for a in "$@"; do
  case $a in
    --test) extras+=(test) ;;
    --openai-server) extras+=(openai-server) ;;
    *) echo "setup-venv: unknown option $a (usage: setup-venv.sh DIR [--test] [--openai-server])" >&2; exit 64 ;;
  esac
done

find_python() {
  local c
  for c in ${PYTHON:-} python3 python3.12 python3.11 python3.10; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv; sys.exit(0 if (3, 10) <= sys.version_info[:2] else 1)' 2>/dev/null; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
want_main=$(sha "$here/requirements.txt")
stamp_main="$dir/.candid-requirements.sha256"
stamp_of() { echo "$dir/.candid-requirements-$1.sha256"; }

have() { [[ -x "$dir/bin/python" && -f "$1" && "$(cat "$1")" == "$2" ]]; }
all_current() {
  have "$stamp_main" "$want_main" || return 1
  local e
  for e in ${extras[@]+"${extras[@]}"}; do have "$(stamp_of "$e")" "$(sha "$here/requirements-$e.txt")" || return 1; done
}
if all_current; then
  echo "transcriber venv: up to date at $dir"
  exit 0
fi

start=$(date +%s)
pip_install() {
  "$dir/bin/python" -m pip install --require-hashes --only-binary=:all: --no-input \
    --disable-pip-version-check --progress-bar on "$@"
}
if ! have "$stamp_main" "$want_main"; then
  py=$(find_python) || { echo "setup-venv: needs python3 >= 3.10 (with the venv module; set PYTHON=/path/to/python3.x)" >&2; exit 3; }
  if [[ -e "$dir" ]]; then
    # Only ever remove what is recognisably a venv (never a mistyped DIR).
    [[ -f "$dir/pyvenv.cfg" ]] || { echo "setup-venv: $dir exists and is not a venv; remove it or choose another DIR" >&2; exit 1; }
    echo "transcriber venv: requirements changed, rebuilding $dir"
    rm -rf "$dir"
  fi
  echo "transcriber venv: creating $dir with $py ($("$py" -V 2>&1))"
  "$py" -m venv "$dir"
  pip_install -r "$here/requirements.txt"
  echo "$want_main" > "$stamp_main"
fi
for e in ${extras[@]+"${extras[@]}"}; do
  want=$(sha "$here/requirements-$e.txt")
  have "$(stamp_of "$e")" "$want" && continue
  echo "transcriber venv: installing requirements-$e.txt"
  pip_install -r "$here/requirements-$e.txt"
  echo "$want" > "$(stamp_of "$e")"
done
echo "transcriber venv: ready at $dir ($(du -sh "$dir" | cut -f1), $(($(date +%s) - start)) s)"
