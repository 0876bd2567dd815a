#!/usr/bin/env bash
# bench/floor.sh — fd-local against an HTTP floor: bench/floor, a one-thread hyper server that answers the same
# SCIM routes with canned responses (no storage, no validation). Both are driven by the same load generator
# (bench/loadgen) with the same mixes, one at a time, alternately, on the same pinned core; the figure that
# counts is requests per server CPU-second, and fd-local's share of the floor's. See bench/README.md.
#
# One command, bounded (~5 minutes once built with the defaults):   bash bench/floor.sh
# Results: bench/results/floor.json, and a summary table on stdout.
# Exit status: 0 when every run finished with no error; 1 when any request failed (or setup failed).
#
# Per round (ROUNDS of them), four runs, each against a fresh server started under `taskset -c SERVER_CPU`
# (every thread pinned), the load generator under `taskset -c LOADGEN_CPU`:
#   floor and fd-local on the weighted Okta mix (create 20, get 30, filter 30, put 10, patch 10),
#   floor and fd-local on the read mix (get 50, filter 50, after the seed creates);
# odd rounds start with the floor, even rounds with fd-local (drift on the machine hits both alike).
#
# Knobs (environment): SPIN=0 (1: the load generator polls instead of sleeping) ROUNDS=3 CONNECTIONS=16 DURATION=15 WARMUP=5 SEED_USERS=500 SERVER_CPU=1 LOADGEN_CPU=0
#   TARGET_FULL=30 TARGET_READ=50 (percent of the floor) QUIET_WAIT=20 (max seconds to wait for an idle machine
#   before each run) FD_BIN=<dir> (fd-local and fd-admin; default target/release) BUILD=1 (rebuild them)
#   FD_DATA_PARENT=<dir> (where fd-local's SQLite data dirs are made; default: a temp dir on disk)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SEED_USERS=${SEED_USERS:-500}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
TARGET_FULL=${TARGET_FULL:-30}
TARGET_READ=${TARGET_READ:-50}
QUIET_WAIT=${QUIET_WAIT:-20}
RESULTS_DIR="$BENCH_DIR/results"
FULL_MIX="create=20,get=30,filter=30,put=10,patch=10"
READ_MIX="get=50,filter=50"

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
bench_init
FLOOR="$BENCH_DIR/floor/target/release/scim-floor"

ensure_fd_binaries
build_loadgen
log "building the floor server (bench/floor)"
env -u CARGO_TARGET_DIR cargo build --quiet --release --locked --manifest-path "$BENCH_DIR/floor/Cargo.toml"

mkdir -p "$RESULTS_DIR"
TAG="f$(date +%s)"

# The floor server, fresh, pinned to SERVER_CPU.
#   bench_floor LABEL MIX OUT
bench_floor() {
    local label=$1 mix=$2 out=$3 token port pid
    token="floor-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
    wait_quiet
    port=$(free_port)
    taskset -c "$SERVER_CPU" "$FLOOR" --addr "127.0.0.1:$port" --token "$token" --base /scim/v2 \
        >"$WORK/$label.stdout" 2>"$WORK/$label.stderr" &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" || { cat "$WORK/$label.stderr" >&2; die "the floor server did not start"; }
    log "$label: floor pid $pid on 127.0.0.1:$port (cpu $SERVER_CPU)"
    run_load "$label" "http://127.0.0.1:$port/scim/v2" "$token" "$pid" "$mix" "$out"
    stop_server "$pid"
}

# A fresh fd-local (new SQLite data dir, directory and key), pinned to SERVER_CPU.
#   bench_fd_local LABEL MIX OUT
bench_fd_local() {
    local label=$1 mix=$2 out=$3
    start_fd_local "$label"
    run_load "$label" "$FD_URL" "$FD_TOKEN" "$FD_PID" "$mix" "$out"
    stop_fd_local
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$WORK/runs"
for round in $(seq 1 "$ROUNDS"); do
    for mix_name in full read; do
        if [ "$mix_name" = full ]; then mix=$FULL_MIX; else mix=$READ_MIX; fi
        if [ $((round % 2)) = 1 ]; then order="floor fd-local"; else order="fd-local floor"; fi
        for server in $order; do
            label="r$round-$server-$mix_name"
            log "round $round/$ROUNDS: $server, $mix_name mix ($mix)"
            if [ "$server" = floor ]; then
                bench_floor "$label" "$mix" "$WORK/runs/$label.json"
            else
                bench_fd_local "$label" "$mix" "$WORK/runs/$label.json"
            fi
        done
    done
done

# Report.
export BENCH_STARTED=$STARTED BENCH_LOAD_BEFORE=$LOAD_BEFORE BENCH_ROUNDS=$ROUNDS \
    BENCH_SERVER_CPU=$SERVER_CPU BENCH_LOADGEN_CPU=$LOADGEN_CPU BENCH_WORK=$WORK BENCH_ROOT=$ROOT \
    BENCH_RESULTS=$RESULTS_DIR/floor.json BENCH_FD_DATA_PARENT=${FD_DATA_PARENT:-$WORK} \
    BENCH_TARGET_FULL=$TARGET_FULL BENCH_TARGET_READ=$TARGET_READ BENCH_FULL_MIX=$FULL_MIX BENCH_READ_MIX=$READ_MIX \
    BENCH_FD_LOCAL_VERSION="$("$FD_BIN/fd-local" --version 2>/dev/null || echo unknown)" \
    BENCH_FD_BIN="$FD_BIN/fd-local" BENCH_FLOOR_BIN="$FLOOR" BENCH_FD_STALE=$FD_STALE \
    BENCH_RUSTC="$(rustc --version 2>/dev/null || echo unknown)"
python3 - <<'PY'
import datetime, hashlib, json, os, platform, statistics, subprocess, sys

env = os.environ
work = env["BENCH_WORK"]
rounds = int(env["BENCH_ROUNDS"])
targets = {"full": float(env["BENCH_TARGET_FULL"]), "read": float(env["BENCH_TARGET_READ"])}
mixes = {"full": env["BENCH_FULL_MIX"], "read": env["BENCH_READ_MIX"]}
server_cpu = env["BENCH_SERVER_CPU"]

runs = {}
for r in range(1, rounds + 1):
    for mix in ("full", "read"):
        for server in ("floor", "fd-local"):
            label = f"r{r}-{server}-{mix}"
            with open(os.path.join(work, "runs", label + ".json")) as f:
                runs[label] = json.load(f)


def git(*args):
    try:
        return subprocess.run(["git", "-C", env["BENCH_ROOT"], *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return None


def binary_info(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"path": path, "sha256": digest,
            "mtime": datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def eff(label):
    return runs[label]["measured"]["cpu"].get("server_requests_per_cpu_sec")


per_round = []
for r in range(1, rounds + 1):
    entry = {"round": r}
    for mix in ("full", "read"):
        fd, fl = f"r{r}-fd-local-{mix}", f"r{r}-floor-{mix}"
        fd_eff, fl_eff = eff(fd), eff(fl)
        entry[mix] = {
            "fd_local_requests_per_cpu_sec": fd_eff, "floor_requests_per_cpu_sec": fl_eff,
            "ratio_per_cpu_sec": round(fd_eff / fl_eff, 4) if fd_eff and fl_eff else None,
            "fd_local_rps": runs[fd]["measured"]["rps"], "floor_rps": runs[fl]["measured"]["rps"],
            "ratio_rps": round(runs[fd]["measured"]["rps"] / runs[fl]["measured"]["rps"], 4)
            if runs[fl]["measured"]["rps"] else None,
        }
    per_round.append(entry)


def median_of(mix, key):
    values = [e[mix][key] for e in per_round if e[mix][key] is not None]
    return statistics.median(values) if values else None


summary = {}
for mix in ("full", "read"):
    ratio = median_of(mix, "ratio_per_cpu_sec")
    summary[mix] = {
        "mix": mixes[mix],
        "median_fd_local_requests_per_cpu_sec": median_of(mix, "fd_local_requests_per_cpu_sec"),
        "median_floor_requests_per_cpu_sec": median_of(mix, "floor_requests_per_cpu_sec"),
        "median_ratio_per_cpu_sec": ratio,
        "ratios_per_cpu_sec": [e[mix]["ratio_per_cpu_sec"] for e in per_round],
        "median_ratio_rps": median_of(mix, "ratio_rps"),
        "target_percent": targets[mix],
        "target_met": bool(ratio is not None and 100 * ratio >= targets[mix]),
    }

errors = {k: r["measured"]["errors"] + r["warmup"]["errors"] + r["seed"]["errors"] for k, r in runs.items()}
first = next(iter(runs.values()))
report = {
    "started": env["BENCH_STARTED"],
    "git_commit": git("rev-parse", "HEAD"),
    "git_dirty": bool(git("status", "--porcelain")),
    "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "server_cpu": int(server_cpu),
                "loadgen_cpu": int(env["BENCH_LOADGEN_CPU"]), "loadavg_before": env["BENCH_LOAD_BEFORE"],
                "loadavg_after": open("/proc/loadavg").read().split()[:3], "kernel": platform.release()},
    "settings": {"rounds": rounds, "connections": first["connections"], "spin": first.get("spin", False), "seed_users": first["seed_users"],
                 "warmup_secs": first["warmup_secs"], "duration_secs": first["duration_secs"],
                 "mixes": mixes, "order": "odd rounds floor first, even rounds fd-local first; fresh server per run"},
    "fd_local_binary": dict(binary_info(env["BENCH_FD_BIN"]), sources_newer_than_binary=int(env["BENCH_FD_STALE"])),
    "floor_binary": binary_info(env["BENCH_FLOOR_BIN"]),
    "versions": {"fd-local": env["BENCH_FD_LOCAL_VERSION"], "rustc": env["BENCH_RUSTC"]},
    "setup": {"fd-local": "release build, SQLite (WAL, synchronous=NORMAL) in a fresh data dir under "
                          + env["BENCH_FD_DATA_PARENT"] + ", default logging (one JSON line per request to a file)",
              "floor": "bench/floor: hyper 1 http1, current-thread tokio runtime, canned responses, ids in a HashMap"},
    "summary": summary,
    "rounds": per_round,
    "errors": errors,
    "runs": runs,
}
with open(env["BENCH_RESULTS"], "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")


def fmt(x, spec):
    return format(x, spec) if x is not None else "-"


print()
print(f"{'run':<22} {'requests':>9} {'req/s':>9} {'cpu':>5} {'req/cpu-s':>10} {'p50 ms':>8} {'p99 ms':>8} "
      f"{'errors':>6} {'other':>6} {'lg cpu':>6}")
for label, r in runs.items():
    m = r["measured"]
    c = m["cpu"]
    core = c.get("core_busy_share", {}).get(f"cpu{server_cpu}")
    share = c.get("server_core_share")
    other = core - share if core is not None and share is not None else None
    print(f"{label:<22} {m['requests']:>9} {m['rps']:>9.0f} {fmt(share, '.2f'):>5} "
          f"{fmt(c.get('server_requests_per_cpu_sec'), '.0f'):>10} {m['latency_ms']['p50']:>8.2f} "
          f"{m['latency_ms']['p99']:>8.2f} {m['errors']:>6} {fmt(other, '.2f'):>6} "
          f"{fmt(c.get('loadgen_core_share'), '.2f'):>6}")
print()
print(f"{'round':<6} {'full: fd-local/floor per CPU-s':>31} {'(req/s)':>9} {'read: fd-local/floor per CPU-s':>31} "
      f"{'(req/s)':>9}")
for e in per_round:
    print(f"{e['round']:<6} {fmt(e['full']['ratio_per_cpu_sec'], '.1%'):>31} {fmt(e['full']['ratio_rps'], '.1%'):>9} "
          f"{fmt(e['read']['ratio_per_cpu_sec'], '.1%'):>31} {fmt(e['read']['ratio_rps'], '.1%'):>9}")
print()
for mix, title in (("full", "weighted Okta mix"), ("read", "get+filter mix")):
    s = summary[mix]
    print(f"{title} ({s['mix']}): fd-local {fmt(s['median_fd_local_requests_per_cpu_sec'], '.0f')} req/CPU-s, "
          f"floor {fmt(s['median_floor_requests_per_cpu_sec'], '.0f')} req/CPU-s (medians); median ratio "
          f"{fmt(s['median_ratio_per_cpu_sec'], '.1%')} (target >= {s['target_percent']:g}%: "
          f"{'MET' if s['target_met'] else 'NOT MET'})")
print(f"{first['connections']} keep-alive connections, {first['duration_secs']:g} s measured after "
      f"{first['warmup_secs']:g} s warm-up, {rounds} round(s); servers on cpu {server_cpu}, load generator on cpu "
      f"{env['BENCH_LOADGEN_CPU']}. 'cpu' = share of one core the server used; 'other' = share of the server's core "
      "taken by other processes; 'lg cpu' = the load generator's share of its core.")
for label, r in runs.items():
    c = r["measured"]["cpu"]
    core = c.get("core_busy_share", {}).get(f"cpu{server_cpu}")
    if core is not None and c.get("server_core_share") is not None and core - c["server_core_share"] > 0.10:
        print(f"note: during {label}, other processes used ~{core - c['server_core_share']:.0%} of the server's core "
              "(req/s depressed; req/cpu-s much less so).")
    lg = c.get("loadgen_core_share")
    if lg is not None and lg > 0.85:
        print(f"WARNING: during {label}, the load generator used {lg:.0%} of its core: it may be the bottleneck.")
if int(env["BENCH_FD_STALE"]):
    print(f"WARNING: {env['BENCH_FD_STALE']} source file(s) are newer than the fd-local binary measured "
          "(BUILD=1 rebuilds it).")
print(f"results: {env['BENCH_RESULTS']}")
if any(errors.values()):
    print("ERRORS: " + ", ".join(f"{k}: {v}" for k, v in errors.items() if v)
          + " — see error_kinds in the results; these figures are not valid.")
    sys.exit(1)
print("errors: none (every response had the expected status and body)")
PY
