#!/usr/bin/env bash
# Runs the SCIM compliance checkers scim2-tester and scim-sanity (pinned in venv.sh) against a throwaway fd-local.
#
#   infra/scripts/compliance.sh                               uses target/debug (run `cargo build` first)
#   FD_BIN_DIR=/path/to/binaries infra/scripts/compliance.sh  uses fd-local and fd-admin from there
#
# It builds nothing. It installs the checkers into .venv (venv.sh --compliance-tools, Python 3.11+), creates a
# SQLite data directory in a temporary directory, a directory and an access key in it with fd-admin, starts
# fd-local on a free loopback port, runs scim2-tester and then scim-sanity against it with the key's Bearer token
# (through infra/scripts/compliance.py, which skips what /ServiceProviderConfig does not advertise), prints a
# summary, and stops that fd-local again, also on error or interrupt. The temporary directory (data, fd-local's
# log, scim2-tester's transcript of every request and response) is removed after a clean run and kept otherwise.
#
# Exit status: 0 when every check that applies passed, 1 when one failed, 2 when the run could not be set up.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${FD_BIN_DIR:-$REPO/target/debug}"
if [[ -d "$BIN_DIR" ]]; then
  BIN_DIR="$(cd "$BIN_DIR" && pwd)"
fi
cd "$REPO"
VENV="$REPO/.venv"
DRIVER="$REPO/infra/scripts/compliance.py"
# How long to wait for fd-local to print its URL and answer, in tenths of a second.
WAIT_TENTHS=300

usage() {
  sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) echo "compliance.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "compliance.sh: $*" >&2; exit 2; }

for bin in fd-local fd-admin; do
  [[ -x "$BIN_DIR/$bin" ]] || die "$BIN_DIR/$bin is missing: run \`cargo build\` first, or set FD_BIN_DIR"
done

step "Python tools (.venv, with the compliance checkers)"
infra/scripts/venv.sh --compliance-tools

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fd-compliance.XXXXXX")"
DATA="$WORK/data"
LOCAL_PID=""
keep_work=1

# The store is chosen by options only: the environment must not point fd-admin or fd-local elsewhere.
fd() {
  env -u FD_DATA_DIR -u FD_DYNAMODB_TABLE -u FD_SECRET_ID "$BIN_DIR/$1" "${@:2}"
}

# running PID: true while PID is a live process (not a zombie) and a child of this script, which is how the PID
# of the fd-local it started is told from a reused one.
running() {
  local status state ppid
  status="$(cat "/proc/$1/status" 2>/dev/null)" || return 1
  state="$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' <<<"$status")"
  ppid="$(sed -n 's/^PPid:[[:space:]]*//p' <<<"$status")"
  [[ -n "$state" && "$state" != Z && "$ppid" == "$$" ]]
}

# Stops the fd-local this script started, by its PID.
stop_local() {
  [[ -n "$LOCAL_PID" ]] || return 0
  local pid="$LOCAL_PID" i
  LOCAL_PID=""
  if running "$pid"; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_local
  if (( keep_work )); then
    echo "compliance.sh: kept $WORK (fd-local.log, scim2-tester.transcript)" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

json_field() {
  "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

step "directory and access key (fd-admin, SQLite in $DATA)"
dir_id="$(fd fd-admin --data-dir "$DATA" directory create "Compliance" --json | json_field id)"
token="$(fd fd-admin --data-dir "$DATA" key create --directory "$dir_id" --name "Compliance checkers" --json | json_field token)"
[[ -n "$dir_id" && -n "$token" ]] || die "fd-admin did not return a directory id and a token"

step "fd-local"
# Port 0: the kernel picks a free loopback port; fd-local prints the URL it got as its first line.
# Not through fd(): $! must be the PID of fd-local itself (env execs it), not of a subshell.
env -u FD_DATA_DIR -u FD_DYNAMODB_TABLE -u FD_SECRET_ID \
  "$BIN_DIR/fd-local" --addr 127.0.0.1:0 --data-dir "$DATA" >"$WORK/fd-local.out" 2>"$WORK/fd-local.log" </dev/null &
LOCAL_PID=$!

base_url=""
for ((i = 0; i < WAIT_TENTHS; i++)); do
  if ! running "$LOCAL_PID"; then
    tail -n 20 "$WORK/fd-local.log" >&2 || true
    die "fd-local exited during startup"
  fi
  base_url="$(sed -n 's/^SCIM base URL: //p' "$WORK/fd-local.out")"
  [[ -n "$base_url" ]] && break
  sleep 0.1
done
[[ -n "$base_url" ]] || die "fd-local did not print its URL within $((WAIT_TENTHS / 10))s"

export FD_COMPLIANCE_TOKEN="$token"
answers() {
  "$VENV/bin/python" - "$base_url" <<'PY' >/dev/null 2>&1
import os, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1] + "/ServiceProviderConfig",
    headers={"Authorization": "Bearer " + os.environ["FD_COMPLIANCE_TOKEN"]},
)
urllib.request.urlopen(request, timeout=1)
PY
}
for ((i = 0; i < WAIT_TENTHS; i++)); do
  answers && break
  running "$LOCAL_PID" || die "fd-local exited during startup"
  sleep 0.1
done
answers || die "fd-local did not answer GET /ServiceProviderConfig within $((WAIT_TENTHS / 10))s"
echo "compliance.sh: fd-local at $base_url (pid $LOCAL_PID)" >&2

step "scim2-tester"
tester_rc=0
"$VENV/bin/python" "$DRIVER" scim2-tester "$base_url" --transcript "$WORK/scim2-tester.transcript" \
  | tee "$WORK/scim2-tester.out" || tester_rc=$?

step "scim-sanity"
sanity_rc=0
"$VENV/bin/python" "$DRIVER" scim-sanity "$base_url" | tee "$WORK/scim-sanity.out" || sanity_rc=$?

stop_local

step "summary"
tail -n 1 "$WORK/scim2-tester.out"
tail -n 1 "$WORK/scim-sanity.out"
failures="$(grep -h '^  FAIL ' "$WORK/scim2-tester.out" "$WORK/scim-sanity.out" || true)"
if [[ -n "$failures" ]]; then
  echo "failed checks:"
  printf '%s\n' "$failures"
fi

if (( tester_rc == 2 || sanity_rc == 2 )); then
  exit 2
fi
if (( tester_rc != 0 || sanity_rc != 0 )); then
  exit 1
fi
keep_work=0
echo "compliance.sh: every check that applies passed" >&2
