#!/usr/bin/env bash
# bench/run.sh — fd-local (Rust, SQLite) against scim2-server (Python reference, in-memory, uvicorn, 1 worker)
# on the same Okta-like SCIM mix, with the same load generator (bench/loadgen). See bench/README.md.
#
# One command, bounded (~2.5 minutes once built):   bash bench/run.sh
# Results: bench/results/latest.json, and a summary table on stdout.
# Exit status: 0 when every run finished with no error; 1 when any measured request failed (or setup failed).
#
# Knobs (environment): SPIN=0 (1: the load generator polls instead of sleeping) CONNECTIONS=32 DURATION=20 WARMUP=5 SEED_USERS=500 SERVER_CPU=1 LOADGEN_CPU=0
#   TARGET_RATIO=25 QUIET_WAIT=20 (max seconds to wait for an idle machine before each run) BUILD=1 (rebuild fd-local/fd-admin even when the binaries exist)
#   FD_DATA_PARENT=<dir> (where fd-local's SQLite data dirs are made; default: a temp dir on disk)
#   FD_BIN=<dir> (where fd-local and fd-admin are; default target/release)
#   FULL_MIX=create=1,get=1,filter=1,put=1,patch=1 CGF_MIX=create=1,get=1,filter=1 (load generator --mix weights)
#   ROUNDS=1 (rounds of the four runs, alternating which server goes first; ratios are then medians)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
SEED_USERS=${SEED_USERS:-500}
SERVER_CPU=${SERVER_CPU:-1}
LOADGEN_CPU=${LOADGEN_CPU:-0}
TARGET_RATIO=${TARGET_RATIO:-25}
QUIET_WAIT=${QUIET_WAIT:-20}
VENV="$BENCH_DIR/.venv"
RESULTS_DIR="$BENCH_DIR/results"

# Pinned Python side (scim2-server with its whole dependency closure, uvicorn with uvloop and httptools):
# bench/requirements.txt. The venv records the file's contents and re-installs when they change.
PY_REQUIREMENTS_FILE="$BENCH_DIR/requirements.txt"

# Shared helpers: log, die, the work dir and EXIT trap, stop_server, wait_quiet, free_port, wait_port,
# ensure_fd_binaries, build_loadgen, run_load, start_fd_local / stop_fd_local.
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
bench_init

# 1. Python venv with the pinned reference server.
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
PY_REQUIREMENTS=$(cat "$PY_REQUIREMENTS_FILE")
if [ "$(cat "$VENV/.bench-requirements" 2>/dev/null)" != "$PY_REQUIREMENTS" ]; then
    log "installing pinned scim2-server / uvicorn into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PY_REQUIREMENTS_FILE"
    printf '%s' "$PY_REQUIREMENTS" > "$VENV/.bench-requirements"
fi

# The reference server: scim2-server's own ASGI application over its in-memory storage (the async
# variant of the storage the `scim2-server` command serves), default RFC 7643 schemas and resource
# types (User with the enterprise extension), and the static bearer-token check of that command.
cat > "$WORK/scim2_bench_app.py" <<'PY'
import os

from scim2_models import UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import load_default_provider

TOKEN = os.environ["SCIM2_BENCH_TOKEN"]


class BearerTokenASGIApplication(ASGIApplication):
    """scim2-server's ASGI application, with the static bearer token check of ``scim2-server --bearer-token``."""

    def check_auth(self, request):
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token != TOKEN:
            raise UnauthorizedException


provider = load_default_provider()
provider.config.authentication_schemes = [BEARER_TOKEN_SCHEME]
app = BearerTokenASGIApplication(AsyncInMemoryStorage(), provider)
PY

# 2. Binaries.
ensure_fd_binaries
build_loadgen

mkdir -p "$RESULTS_DIR"
TAG="b$(date +%s)"

# 3a. fd-local: a fresh SQLite data dir, a directory and an API key, the server pinned to SERVER_CPU.
#   bench_fd_local LABEL MIX OUT
bench_fd_local() {
    local label=$1 mix=$2 out=$3
    start_fd_local "$label"
    run_load "$label" "$FD_URL" "$FD_TOKEN" "$FD_PID" "$mix" "$out"
    stop_fd_local
}

# 3b. scim2-server under uvicorn, one worker (one process), pinned to SERVER_CPU.
#   bench_scim2 LABEL MIX OUT
bench_scim2() {
    local label=$1 mix=$2 out=$3 token port pid
    token="bench-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
    wait_quiet
    port=$(free_port)
    SCIM2_BENCH_TOKEN=$token taskset -c "$SERVER_CPU" "$VENV/bin/python" -m uvicorn \
        --app-dir "$WORK" scim2_bench_app:app --host 127.0.0.1 --port "$port" --workers 1 \
        --loop uvloop --http httptools --no-access-log --log-level warning \
        >"$WORK/$label.stdout" 2>"$WORK/$label.stderr" &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" || { cat "$WORK/$label.stderr" >&2; die "scim2-server did not start"; }
    log "$label: scim2-server (uvicorn) pid $pid on 127.0.0.1:$port (cpu $SERVER_CPU)"
    run_load "$label" "http://127.0.0.1:$port/v2" "$token" "$pid" "$mix" "$out"
    stop_server "$pid"
}

ROUNDS=${ROUNDS:-1}
FULL_MIX=${FULL_MIX:-create=1,get=1,filter=1,put=1,patch=1}
CGF_MIX=${CGF_MIX:-create=1,get=1,filter=1}
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ROUNDS > 1 repeats the four runs, alternating which server goes first (drift on the machine hits both alike);
# each run's name then ends in .rN, and the ratios reported are the medians of the rounds'.
for round in $(seq 1 "$ROUNDS"); do
    r=""
    [ "$ROUNDS" -gt 1 ] && r=".r$round"
    if [ $((round % 2)) = 1 ]; then
        bench_scim2 "scim2-server$r" "$FULL_MIX" "$WORK/scim2-server$r.json"
        bench_fd_local "fd-local$r" "$FULL_MIX" "$WORK/fd-local$r.json"
        bench_fd_local "fd-local-create-get-filter$r" "$CGF_MIX" "$WORK/fd-local-cgf$r.json"
        bench_scim2 "scim2-server-create-get-filter$r" "$CGF_MIX" "$WORK/scim2-server-cgf$r.json"
    else
        bench_fd_local "fd-local$r" "$FULL_MIX" "$WORK/fd-local$r.json"
        bench_scim2 "scim2-server$r" "$FULL_MIX" "$WORK/scim2-server$r.json"
        bench_scim2 "scim2-server-create-get-filter$r" "$CGF_MIX" "$WORK/scim2-server-cgf$r.json"
        bench_fd_local "fd-local-create-get-filter$r" "$CGF_MIX" "$WORK/fd-local-cgf$r.json"
    fi
done

# 4. Report.
export BENCH_STARTED=$STARTED BENCH_LOAD_BEFORE=$LOAD_BEFORE BENCH_TARGET_RATIO=$TARGET_RATIO BENCH_ROUNDS=$ROUNDS \
    BENCH_SERVER_CPU=$SERVER_CPU BENCH_LOADGEN_CPU=$LOADGEN_CPU BENCH_WORK=$WORK BENCH_ROOT=$ROOT \
    BENCH_RESULTS=$RESULTS_DIR/latest.json BENCH_FD_DATA_PARENT=${FD_DATA_PARENT:-$WORK} \
    BENCH_FD_LOCAL_VERSION="$("$FD_BIN/fd-local" --version 2>/dev/null || echo unknown)" \
    BENCH_FD_BIN="$FD_BIN/fd-local" BENCH_FD_STALE=$FD_STALE \
    BENCH_RUSTC="$(rustc --version 2>/dev/null || echo unknown)"
"$VENV/bin/python" - <<'PY'
import json, os, platform, statistics, subprocess, sys
from importlib.metadata import version

env = os.environ
work = env["BENCH_WORK"]
rounds = int(env["BENCH_ROUNDS"])


def suffix(n):
    return "" if rounds == 1 else f".r{n}"


runs = {}
for n in range(1, rounds + 1):
    for key, name in [("scim2-server", "scim2-server"), ("fd-local", "fd-local"),
                      ("fd-local-create-get-filter", "fd-local-cgf"),
                      ("scim2-server-create-get-filter", "scim2-server-cgf")]:
        with open(os.path.join(work, name + suffix(n) + ".json")) as f:
            runs[key + suffix(n)] = json.load(f)

def git(*args):
    try:
        return subprocess.run(["git", "-C", env["BENCH_ROOT"], *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return None

def binary_info(path):
    import datetime, hashlib
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"path": path, "sha256": digest,
            "mtime": datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(timespec="seconds"),
            "sources_newer_than_binary": int(env["BENCH_FD_STALE"])}


fd_binary = binary_info(env["BENCH_FD_BIN"])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None

target = float(env["BENCH_TARGET_RATIO"])


def compare(fd_key, py_key):
    fd, py = runs[fd_key]["measured"], runs[py_key]["measured"]
    ratio = fd["rps"] / py["rps"] if py["rps"] else None
    fd_eff = fd["cpu"].get("server_requests_per_cpu_sec")
    py_eff = py["cpu"].get("server_requests_per_cpu_sec")
    cpu_ratio = fd_eff / py_eff if py_eff and fd_eff else None
    return {"mix": runs[fd_key]["mix"],
            "fd_local_rps": fd["rps"], "scim2_server_rps": py["rps"],
            "ratio": round(ratio, 2) if ratio else None,
            "target_ratio": target, "target_met": bool(ratio and ratio >= target),
            "fd_local_p50_ms": fd["latency_ms"]["p50"], "fd_local_p99_ms": fd["latency_ms"]["p99"],
            "scim2_server_p50_ms": py["latency_ms"]["p50"], "scim2_server_p99_ms": py["latency_ms"]["p99"],
            "fd_local_requests_per_server_cpu_sec": fd_eff,
            "scim2_server_requests_per_server_cpu_sec": py_eff,
            "cpu_efficiency_ratio": round(cpu_ratio, 2) if cpu_ratio else None}


def compare_rounds(fd_key, py_key):
    """compare() of one round; with several rounds, the median of each figure and the per-round ratios."""
    per = [compare(fd_key + suffix(n), py_key + suffix(n)) for n in range(1, rounds + 1)]
    if rounds == 1:
        return per[0]

    def med(k):
        values = [c[k] for c in per if c[k] is not None]
        return round(statistics.median(values), 3) if values else None

    c = {k: med(k) for k in per[0] if k not in ("mix", "target_ratio", "target_met")}
    c.update(mix=per[0]["mix"], target_ratio=target, target_met=bool(c["ratio"] and c["ratio"] >= target),
             statistic=f"median of {rounds} rounds", ratios=[p["ratio"] for p in per],
             cpu_efficiency_ratios=[p["cpu_efficiency_ratio"] for p in per])
    return c


comparison = compare_rounds("fd-local", "scim2-server")
comparison_cgf = compare_rounds("fd-local-create-get-filter", "scim2-server-create-get-filter")
errors = {k: r["measured"]["errors"] + r["warmup"]["errors"] + r["seed"]["errors"] for k, r in runs.items()}

report = {
    "started": env["BENCH_STARTED"],
    "git_commit": git("rev-parse", "HEAD"),
    "git_dirty": bool(git("status", "--porcelain")),
    "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "server_cpu": int(env["BENCH_SERVER_CPU"]),
                "loadgen_cpu": int(env["BENCH_LOADGEN_CPU"]), "loadavg_before": env["BENCH_LOAD_BEFORE"],
                "kernel": platform.release()},
    "fd_local_binary": fd_binary,
    "versions": {"fd-local": env["BENCH_FD_LOCAL_VERSION"], "rustc": env["BENCH_RUSTC"],
                 "python": platform.python_version(), "scim2-server": version("scim2-server"),
                 "scim2-models": version("scim2-models"), "pydantic": version("pydantic"),
                 "uvicorn": version("uvicorn"), "uvloop": version("uvloop"), "httptools": version("httptools")},
    "setup": {"fd-local": "release build, SQLite (WAL, synchronous=NORMAL) in a fresh data dir under "
                          + env["BENCH_FD_DATA_PARENT"] + ", default logging (one JSON line per request to a file)",
              "scim2-server": "ASGIApplication + AsyncInMemoryStorage, default RFC 7643 schemas, static bearer "
                              "token; uvicorn --workers 1 --loop uvloop --http httptools --no-access-log"},
    "comparison": comparison,
    "comparison_create_get_filter": comparison_cgf,
    "errors": errors,
    "runs": runs,
}
with open(env["BENCH_RESULTS"], "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

NAME_WIDTH = max(31, *(len(k) for k in runs))


def row(name, r):
    m = r["measured"]
    c = m["cpu"]
    share = c.get("server_core_share")
    eff = c.get("server_requests_per_cpu_sec")
    return (f"{name:<{NAME_WIDTH}} {'+'.join(r['mix']):<28} {m['requests']:>9} {m['rps']:>10.1f} "
            f"{m['latency_ms']['p50']:>9.2f} {m['latency_ms']['p99']:>9.2f} {m['errors']:>7} "
            f"{(f'{share:.2f}' if share is not None else '-'):>6} {(f'{eff:.0f}' if eff else '-'):>9}")

print()
print(f"{'server':<{NAME_WIDTH}} {'mix':<28} {'requests':>9} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} "
      f"{'cpu':>6} {'req/cpu-s':>9}")
for key in runs:
    print(row(key, runs[key]))
print()
for title, c in [("full Okta-like mix", comparison), ("create+get+filter mix", comparison_cgf)]:
    print(f"fd-local / scim2-server, {title}: {c['ratio']:.1f}x req/s"
          + (f" (target >= {target:g}x: {'MET' if c['target_met'] else 'NOT MET'})" if c is comparison else "")
          + (f"; {c['cpu_efficiency_ratio']:.1f}x requests per server CPU-second" if c["cpu_efficiency_ratio"] else "")
          + (f" — medians of {rounds} rounds (req/s: {', '.join(f'{x:.1f}x' for x in c['ratios'] if x)}; per CPU-second: "
             f"{', '.join(f'{x:.1f}x' for x in c['cpu_efficiency_ratios'] if x)})" if rounds > 1 else ""))
first = next(iter(runs.values()))
print(f"{first['connections']} keep-alive connections, {first['duration_secs']:g} s measured "
      f"after {first['warmup_secs']:g} s warm-up; servers on cpu {env['BENCH_SERVER_CPU']}, "
      f"load generator on cpu {env['BENCH_LOADGEN_CPU']}; 'cpu' = share of one core the server used.")
busy = {k: r["measured"]["cpu"].get("core_busy_share", {}) for k, r in runs.items()}
for k, r in runs.items():
    c = r["measured"]["cpu"]
    core = busy[k].get(f"cpu{env['BENCH_SERVER_CPU']}")
    if core is not None and c.get("server_core_share") is not None and core - c["server_core_share"] > 0.10:
        print(f"WARNING: during {k}, other processes used ~{core - c['server_core_share']:.0%} of the server's core "
              f"(figures are depressed; rerun on an idle machine).")
    lg = c.get("loadgen_core_share")
    if lg is not None and lg > 0.85:
        print(f"WARNING: during {k}, the load generator used {lg:.0%} of its core: it may be the bottleneck.")
if fd_binary["sources_newer_than_binary"]:
    print(f"WARNING: {fd_binary['sources_newer_than_binary']} source file(s) are newer than the fd-local binary "
          "measured (BUILD=1 rebuilds it).")
print(f"results: {env['BENCH_RESULTS']}")
if any(errors.values()):
    print("ERRORS: " + ", ".join(f"{k}: {v}" for k, v in errors.items() if v)
          + " — see error_kinds in the results; these figures are not valid.")
    sys.exit(1)
print("errors: none (every response had the expected status and body)")
PY
