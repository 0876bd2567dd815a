#!/usr/bin/env bash
# Start or stop a local moto server (DynamoDB and Secrets Manager emulator) for the tests.
#
#   infra/scripts/moto.sh start   start moto on a free loopback port; prints
#                                 export FD_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT
#   infra/scripts/moto.sh stop    stop the server started by `start`
#
# Typical use:  eval "$(infra/scripts/moto.sh start)"; cargo test ...; infra/scripts/moto.sh stop
# State lives in <repo>/.moto/ (pid, port, log). Diagnostics go to stderr, so
# stdout carries only the export line.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="$REPO/.moto"
PID_FILE="$STATE/pid"
PORT_FILE="$STATE/port"
LOG_FILE="$STATE/log"
LAUNCHER="$STATE/moto_server.py"
VENV="$REPO/.venv"
# How long `start` waits for the server to answer, in tenths of a second.
WAIT_TENTHS=300

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# running: true when PID_FILE names a live moto process that we started.
running() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: the process must still be our launcher.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$LAUNCHER" || return 1
  fi
  return 0
}

# moto_server (same arguments: -H HOST -p PORT) with one change: requests are handled one at a time.
# moto's DynamoDB backend is not thread-safe: a TransactWriteItems that fails restores a copy of the whole
# table taken when it started, silently undoing writes other requests committed meanwhile. Serialising
# requests makes every call atomic, as in DynamoDB; connections are still accepted concurrently.
write_launcher() {
  cat >"$LAUNCHER" <<'PY'
import sys
import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_lock = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialised(self, environ, start_response):
    with _lock:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serialised
server.main(sys.argv[1:])
PY
}

answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer means the server is up
PY
}

start() {
  mkdir -p "$STATE"
  if running; then
    local port
    port="$(<"$PORT_FILE")"
    echo "moto.sh: already running (pid $(<"$PID_FILE"), port $port)" >&2
    echo "export FD_TEST_AWS_ENDPOINT=http://127.0.0.1:$port"
    return 0
  fi
  rm -f "$PID_FILE" "$PORT_FILE"

  "$SCRIPT_DIR/venv.sh"
  if [[ ! -x "$VENV/bin/moto_server" ]]; then
    echo "moto.sh: moto[server] is missing from $VENV after venv.sh" >&2
    exit 1
  fi

  local port
  port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

  write_launcher
  # setsid: the server outlives the shell that started it, in its own session.
  setsid "$VENV/bin/python" "$LAUNCHER" -H 127.0.0.1 -p "$port" >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"

  local i
  for ((i = 0; i < WAIT_TENTHS; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "moto.sh: moto exited during startup; log ($LOG_FILE):" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE" "$PORT_FILE"
      exit 1
    fi
    if answers "$port"; then
      echo "moto.sh: moto listening on 127.0.0.1:$port (pid $pid, log $LOG_FILE)" >&2
      echo "export FD_TEST_AWS_ENDPOINT=http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  echo "moto.sh: moto did not answer within $((WAIT_TENTHS / 10))s; stopping it. Log ($LOG_FILE):" >&2
  tail -n 20 "$LOG_FILE" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE" "$PORT_FILE"
  exit 1
}

stop() {
  if ! running; then
    echo "moto.sh: not running" >&2
    rm -f "$PID_FILE" "$PORT_FILE"
    return 0
  fi
  local pid i
  pid="$(<"$PID_FILE")"
  kill "$pid"
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  echo "moto.sh: stopped pid $pid" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  -h | --help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
