#!/usr/bin/env bash
# Regenerates requirements.txt, requirements-test.txt and requirements-openai-server.txt from the *.in files: every package,
# transitive ones too, pinned exactly with the hashes of all its published files, so that
# `pip install --require-hashes` installs the same bytes on CPython 3.10-3.12, linux x86_64.
# Resolved under the oldest supported Python (3.10), so the versions chosen still ship 3.10 wheels
# and backports needed only there (exceptiongroup, tomli) are included; they are harmless on newer.
#   PYTHON310  a Python 3.10 interpreter (default: python3.10); pip-tools is put in a scratch venv.
# Then checks that binary wheels exist for 3.10, 3.11 and 3.12 (pip download --only-binary).
set -euo pipefail
cd "$(dirname "$0")"
py=${PYTHON310:-python3.10}
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$py" -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q pip==25.2 pip-tools==7.6.2
compile() { CUSTOM_COMPILE_COMMAND=services/transcriber/lock.sh "$tools/venv/bin/pip-compile" --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --quiet "$@"; }
compile -o requirements.txt requirements.in
compile -o requirements-test.txt requirements-test.in
compile -o requirements-openai-server.txt requirements-openai-server.in
if [[ "${1:-}" != "--no-check" ]]; then
  for v in 3.10 3.11 3.12; do
    echo "lock: checking wheels for CPython $v linux x86_64"
    "$tools/venv/bin/pip" download -q --require-hashes --only-binary=:all: --no-deps \
      --python-version "$v" --implementation cp --platform manylinux_2_28_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 \
      -d "$tools/dl-$v" -r requirements.txt -r requirements-test.txt -r requirements-openai-server.txt
  done
fi
echo "lock: requirements*.txt written"
