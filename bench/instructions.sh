#!/usr/bin/env bash
# bench/instructions.sh — user-space instructions fd-local executes for a fixed number of requests of the Okta
# mix, counted by callgrind (valgrind). Where time moves by a few percent between runs, the count moves by
# about 0.05 %: it tells a change of 1 % that timed runs cannot. It counts no kernel work (the loopback TCP, the
# WAL's writes) and weighs every instruction alike, so it ranks changes to fd-local's own code; throughput is
# still measured by run.sh and floor.sh. See bench/README.md, "Sixth round".
#
# One command (~15 s per binary once built):   bash bench/instructions.sh [FD_BIN_DIR...]
# With several directories (each holding fd-local and fd-admin) it counts each in turn, for comparing builds.
# Knobs (environment): REQUESTS=10000 SEED_USERS=200 CONNECTIONS=16 SERVER_CPU=1 LOADGEN_CPU=0
#   MIX=create=20,get=30,filter=30,put=10,patch=10 FD_BIN=<dir> (when no directory is given; default
#   target/release) BUILD=1 (rebuild target/release first) OUT_DIR=<dir> (keep callgrind's output files there, for
#   callgrind_annotate)
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
REQUESTS=${REQUESTS:-10000}
SEED_USERS=${SEED_USERS:-200}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
MIX=${MIX:-create=20,get=30,filter=30,put=10,patch=10}
QUIET_WAIT=${QUIET_WAIT:-0}

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
bench_init
command -v valgrind >/dev/null || die "valgrind is required (apt-get install valgrind)"
[ $# -gt 0 ] || { ensure_fd_binaries; set -- "$FD_BIN"; }
build_loadgen
TAG="i$(date +%s)"

# Counts one build: fd-local under callgrind, a fresh data dir, the load generator sending REQUESTS requests
# after SEED_USERS creates. Prints the total and the count per request (the seed included in the requests).
count() {
    local bin=$1 data dir_id token port pid out status=0
    data=$(mktemp -d "$WORK/fd-data.XXXXXX")
    dir_id=$("$bin/fd-admin" --data-dir "$data" directory create Bench --json \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    token=$("$bin/fd-admin" --data-dir "$data" key create --directory "$dir_id" --name bench --json \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    port=$(free_port)
    out="$WORK/callgrind.$(basename "$bin").out"
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin/fd-local" --data-dir "$data" --addr "127.0.0.1:$port" >"$WORK/fd.stdout" 2>"$WORK/fd.stderr" &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" || { cat "$WORK/fd.stderr" >&2; die "fd-local did not start under valgrind"; }
    taskset -c "$LOADGEN_CPU" timeout 600 "$LOADGEN" --url "http://127.0.0.1:$port/scim/v2" --token "$token" \
        --connections "$CONNECTIONS" --seed-users "$SEED_USERS" --warmup-secs 0 --duration-secs 600 \
        --max-requests "$REQUESTS" --mix "$MIX" --label instructions --tag "$TAG-$RANDOM" \
        --out "$WORK/load.json" >/dev/null || status=$?
    # SIGINT: fd-local stops cleanly and callgrind writes its totals.
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    [ "$status" -eq 0 ] || die "load generator failed (exit $status)"
    if [ -n "${OUT_DIR:-}" ]; then
        mkdir -p "$OUT_DIR"
        cp "$out" "$OUT_DIR/"
    fi
    python3 - "$bin" "$out" "$WORK/load.json" "$SEED_USERS" <<'EOF'
import json, sys
binary, out, load, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
measured = json.load(open(load))["measured"]
if measured["errors"]:
    sys.exit(f"{measured['errors']} requests failed against {binary}")
total = next(int(line.split()[1]) for line in open(out) if line.startswith("totals:"))
requests = measured["requests"] + seed
print(f"{binary}: {total:,} instructions for {requests:,} requests = {total / requests:,.0f} per request")
EOF
}

for bin in "$@"; do
    count "$bin"
done
