#!/usr/bin/env bash
# bench/size.sh — fd-local's throughput as its store grows: one fd-local (SQLite, pinned), grown through its own
# SCIM API to each size in turn, and measured at each size under the same weighted Okta mix, with the same load
# generator (bench/loadgen). Also the bytes per user on disk at each size, by table and index. See bench/README.md.
#
# One command:   bash bench/size.sh                 (10,000 / 100,000 / 1,000,000 users: ~15 minutes once built)
# Results: bench/results/size.json, and a summary table on stdout.
# Exit status: 0 when every run finished with no error and the throughput stayed within TARGET_FLAT percent of the
# first size's; 1 otherwise.
#
# At each size: grow the directory to it (creates through POST /Users, 32 connections, not measured), wait for the
# WAL to be checkpointed, then RUNS measured runs of the mix (each with its own small pool of 500 users it creates
# first); the figure is their median. Disk use is read with SQLite's dbstat table.
#
# Knobs (environment): SPIN=0 SIZES="10000 100000 1000000" RUNS=2 CONNECTIONS=16 DURATION=15 WARMUP=5 SERVER_CPU=1
#   LOADGEN_CPU=0 TARGET_FLAT=10 (percent) QUIET_WAIT=20 FD_BIN=<dir> BUILD=1 FD_DATA_PARENT=<dir>
#   FULL_MIX=create=20,get=30,filter=30,put=10,patch=10
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SIZES=${SIZES:-"10000 100000 1000000"}
RUNS=${RUNS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SEED_USERS=500
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
TARGET_FLAT=${TARGET_FLAT:-10}
QUIET_WAIT=${QUIET_WAIT:-20}
FULL_MIX=${FULL_MIX:-"create=20,get=30,filter=30,put=10,patch=10"}
RESULTS_DIR="$BENCH_DIR/results"

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
bench_init
ensure_fd_binaries
build_loadgen
mkdir -p "$RESULTS_DIR" "$WORK/runs"
TAG="s$(date +%s)"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

start_fd_local size

# Users in the directory, as the server counts them (one SCIM list request with count=0).
user_count() {
    curl -sf -H "Authorization: Bearer $FD_TOKEN" "$FD_URL/Users?count=0" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["totalResults"])'
}

# Grows the directory by $1 users: creates only, 32 connections, nothing measured.
grow() {
    local n=$1 out="$WORK/runs/grow-$2.json"
    [ "$n" -gt 0 ] || return 0
    log "growing the directory by $n users"
    taskset -c "$LOADGEN_CPU" timeout 3600 "$LOADGEN" --url "$FD_URL" --token "$FD_TOKEN" --connections 32 \
        --seed-users "$n" --warmup-secs 0 --duration-secs 0 --mix create=1 --label "grow-$2" --tag "$TAG-g$2" \
        --out "$out" >/dev/null 2>"$WORK/grow.stderr" || { cat "$WORK/grow.stderr" >&2; die "growing failed"; }
}

# Bytes on disk by table and index (dbstat), and the files' sizes, as JSON.
disk_use() {
    python3 - "$FD_DATA/directory.sqlite3" <<'EOF'
import json, os, sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
rows = db.execute("SELECT name, SUM(pgsize), SUM(payload), SUM(unused), COUNT(*) FROM dbstat GROUP BY name").fetchall()
by_name = {name: {"bytes": size, "payload": payload, "unused": unused, "pages": pages}
           for name, size, payload, unused, pages in rows}
page_size = db.execute("PRAGMA page_size").fetchone()[0]
freelist = db.execute("PRAGMA freelist_count").fetchone()[0]
files = {name: os.path.getsize(path + suffix) for name, suffix in [("db", ""), ("wal", "-wal"), ("shm", "-shm")]
         if os.path.exists(path + suffix)}
print(json.dumps({"page_size": page_size, "freelist_pages": freelist, "files": files, "objects": by_name}))
EOF
}

RESULTS=()
previous=0
for size in $SIZES; do
    have=$(user_count)
    grow $((size - have)) "$size"
    have=$(user_count)
    sleep 2  # the checkpointer copies the WAL into the database file every 200 ms
    disk=$(disk_use)
    echo "$disk" >"$WORK/runs/disk-$size.json"
    for run in $(seq 1 "$RUNS"); do
        wait_quiet
        label="size-$size-$run"
        run_load "$label" "$FD_URL" "$FD_TOKEN" "$FD_PID" "$FULL_MIX" "$WORK/runs/$label.json"
    done
    RESULTS+=("$size:$have")
    previous=$size
done
: "$previous"
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$FD_PID/status")
stop_fd_local

python3 - "$WORK/runs" "$RESULTS_DIR/size.json" "$STARTED" "$TARGET_FLAT" "$RUNS" "$FULL_MIX" "$CONNECTIONS" \
    "$rss_kb" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "${RESULTS[@]}" <<'EOF'
import json, statistics, sys
runs_dir, out, started, target, runs, mix, connections, rss_kb, commit = sys.argv[1:10]
sizes = [tuple(map(int, s.split(":"))) for s in sys.argv[10:]]
rows, ok = [], True
for size, users in sizes:
    measured = []
    for run in range(1, int(runs) + 1):
        report = json.load(open(f"{runs_dir}/size-{size}-{run}.json"))["measured"]
        ok &= report["errors"] == 0
        measured.append(report["cpu"]["server_requests_per_cpu_sec"])
    disk = json.load(open(f"{runs_dir}/disk-{size}.json"))
    objects = disk["objects"]
    users_bytes = sum(o["bytes"] for name, o in objects.items() if name == "users" or name.startswith("sqlite_autoindex_users") or name.startswith("users_by"))
    rows.append({
        "size": size, "users": users, "req_per_cpu_sec": measured, "median": statistics.median(measured),
        "bytes_per_user": round(disk["files"]["db"] / users), "users_bytes_per_user": round(users_bytes / users),
        "by_object_bytes_per_user": {name: round(o["bytes"] / users) for name, o in sorted(objects.items()) if o["bytes"] * 50 > users_bytes},
        "disk": disk,
    })
first = rows[0]["median"]
for row in rows:
    row["vs_first_pct"] = round(100 * (row["median"] - first) / first, 1)
flat = all(abs(row["vs_first_pct"]) <= float(target) for row in rows)
json.dump({"started": started, "git_commit": commit, "mix": mix, "connections": int(connections),
           "runs_per_size": int(runs), "target_flat_pct": float(target), "flat": flat,
           "max_rss_kb": int(rss_kb), "sizes": rows}, open(out, "w"), indent=2)
print(f"{'users':>10} {'req/CPU-s (median)':>20} {'vs first':>9} {'disk B/user':>12} {'users+indexes B/user':>21}")
for row in rows:
    print(f"{row['users']:>10,} {row['median']:>20,.0f} {row['vs_first_pct']:>8}% {row['bytes_per_user']:>12,} {row['users_bytes_per_user']:>21,}")
print(f"flat within {target}%: {'yes' if flat else 'NO'}; fd-local max RSS {int(rss_kb) // 1024} MiB; {out}")
sys.exit(0 if ok and flat else 1)
EOF
