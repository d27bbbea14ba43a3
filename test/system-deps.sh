#!/usr/bin/env bash
# Makes sure the real components the tests talk to are installed and running:
#   - PostgreSQL 15 (Debian package; started with pg_ctlcluster, password set for TCP logins),
#   - Debian chromium + ffmpeg (browser tests, decoding checks), espeak-ng (known speech for the
#     analysis tests),
# and exports TEST_DATABASE_ADMIN_URL when sourced. Installs missing Debian packages when run as
# root; otherwise says what is missing. Idempotent.
set -euo pipefail

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v ffprobe >/dev/null 2>&1 || need_pkgs+=(ffmpeg)
command -v pg_ctlcluster >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v espeak-ng >/dev/null 2>&1 || need_pkgs+=(espeak-ng)
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "system-deps: installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "system-deps: missing ${need_pkgs[*]}; install them (apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
fi

if [[ -z "${TEST_DATABASE_ADMIN_URL:-}" ]]; then
  cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
  if [[ -z "$cluster" ]]; then
    pg_createcluster 15 main >/dev/null
    cluster="15 main"
  fi
  # shellcheck disable=SC2086
  pg_ctlcluster $cluster start 2>/dev/null || true
  port=$(pg_lsclusters -h | awk 'NR==1 {print $3}')
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
  done
  runuser -u postgres -- psql -q -p "$port" -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  export TEST_DATABASE_ADMIN_URL="postgres://postgres:postgres@127.0.0.1:${port}/postgres"
fi
echo "system-deps: PostgreSQL at ${TEST_DATABASE_ADMIN_URL%%@*}@… ready; chromium, ffprobe and espeak-ng present"
