# bench/lib.sh — shell helpers shared by bench/run.sh and bench/floor.sh. Sourced, not run.
#
# The sourcing script sets (before calling these): BENCH_DIR, ROOT, CONNECTIONS, DURATION, WARMUP, SEED_USERS,
# SERVER_CPU, LOADGEN_CPU, QUIET_WAIT; and after bench_init: TAG (a run tag; unique userNames per run).
# bench_init sets WORK (a temp dir, removed on exit), PIDS (what we started; the EXIT trap stops them), FD_BIN
# (where fd-local and fd-admin are: $FD_BIN if set, else $ROOT/target/release) and LOADGEN.

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Checks the tools and cores, makes the work dir and installs the EXIT trap.
bench_init() {
    local tool ncpu
    for tool in python3 cargo taskset; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
    ncpu=$(nproc --all)
    [ "$SERVER_CPU" -lt "$ncpu" ] && [ "$LOADGEN_CPU" -lt "$ncpu" ] || die "need cores $SERVER_CPU and $LOADGEN_CPU (have $ncpu)"
    FD_BIN=${FD_BIN:-$ROOT/target/release}
    LOADGEN="$BENCH_DIR/loadgen/target/release/scim-loadgen"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/scim-bench.XXXXXX")
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do  # newest first: the load generator, then its server
        pid=${PIDS[$i]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}

# Stops one server we started (by its PID), reaps it, and forgets its PID (so that the EXIT trap never
# signals a PID the system may have reused since).
stop_server() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

forget_pid() {
    local p kept=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

# Busy share (percent) of all cores over one second, from /proc/stat.
machine_busy() {
    local a b
    a=$(grep '^cpu ' /proc/stat); sleep 1; b=$(grep '^cpu ' /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '{idle[NR]=$5+$6; tot[NR]=0; for (i=2; i<=9; i++) tot[NR]+=$i}
        END {d=tot[2]-tot[1]; if (d <= 0) print 0; else printf "%d\n", 100*(d-(idle[2]-idle[1]))/d}'
}

# Before a run, waits (at most QUIET_WAIT seconds) for other work on the machine to calm down: the pinned
# server shares its core with anything else that runs. Says so when the machine stays busy.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) busy
    while :; do
        busy=$(machine_busy)
        [ "$busy" -le 15 ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "machine still ${busy}% busy (other processes); running anyway — see the warnings below the table"
            return 0
        fi
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until 127.0.0.1:$1 accepts connections (server PID $2 must stay alive), at most 30 s.
wait_port() {
    local port=$1 pid=$2
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    return 1
}

# Builds fd-local and fd-admin (release) when FD_BIN lacks them or BUILD=1, and sets FD_STALE: how many
# source files are newer than the fd-local binary (a binary older than the sources would measure old code).
ensure_fd_binaries() {
    if [ "${BUILD:-0}" = 1 ] || [ ! -x "$FD_BIN/fd-local" ] || [ ! -x "$FD_BIN/fd-admin" ]; then
        [ "$FD_BIN" = "$ROOT/target/release" ] || die "no fd-local/fd-admin in FD_BIN=$FD_BIN (BUILD=1 builds only into $ROOT/target/release)"
        log "building fd-local and fd-admin (release; several minutes on 2 cores)"
        (cd "$ROOT" && env -u CARGO_TARGET_DIR cargo build --release -p fd-local -p fd-admin)
    fi
    FD_STALE=$(find "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" "$ROOT/shared" "$ROOT/functions" "$ROOT/infra" \
        \( -name target -prune \) -o \( \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -newer "$FD_BIN/fd-local" -print \) \
        2>/dev/null | wc -l)
    if [ "$FD_STALE" -gt 0 ]; then
        log "WARNING: $FD_STALE source file(s) are newer than $FD_BIN/fd-local: it may not be the current code (BUILD=1 rebuilds)"
    fi
}

build_loadgen() {
    log "building the load generator (bench/loadgen)"
    env -u CARGO_TARGET_DIR cargo build --quiet --release --locked --manifest-path "$BENCH_DIR/loadgen/Cargo.toml"
}

# Runs the load generator, pinned to LOADGEN_CPU, against one server. SPIN=1 keeps the load generator's thread
# polling instead of sleeping between responses (see bench/README.md, "Waking the load generator").
#   run_load LABEL URL TOKEN SERVER_PID MIX OUT
run_load() {
    local label=$1 url=$2 token=$3 pid=$4 mix=$5 out=$6
    local lg status=0
    # In the background and waited for, so that a signal to this script is handled at once (the EXIT trap
    # then stops the load generator too).
    taskset -c "$LOADGEN_CPU" timeout 300 "$LOADGEN" \
        --url "$url" --token "$token" --connections "$CONNECTIONS" --seed-users "$SEED_USERS" \
        --warmup-secs "$WARMUP" --duration-secs "$DURATION" --mix "$mix" \
        --label "$label" --tag "$TAG-$label" --server-pid "$pid" --out "$out" --spin "${SPIN:-0}" &
    lg=$!
    PIDS+=("$lg")
    wait "$lg" || status=$?
    forget_pid "$lg"
    [ "$status" -eq 0 ] || die "load generator failed (exit $status) against $label"
}

# Starts a fresh fd-local: a new SQLite data dir (under FD_DATA_PARENT, default WORK), a directory and an API
# key made by fd-admin, the server started under `taskset -c SERVER_CPU` (so every thread it ever starts is
# pinned) on a free loopback port. Sets FD_PID, FD_URL, FD_TOKEN, FD_DATA.
#   start_fd_local LABEL
start_fd_local() {
    local label=$1 dir_id port
    FD_DATA=$(mktemp -d "${FD_DATA_PARENT:-$WORK}/fd-data.XXXXXX")
    dir_id=$("$FD_BIN/fd-admin" --data-dir "$FD_DATA" directory create Bench --json \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    FD_TOKEN=$("$FD_BIN/fd-admin" --data-dir "$FD_DATA" key create --directory "$dir_id" --name bench --json \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    wait_quiet
    port=$(free_port)
    taskset -c "$SERVER_CPU" "$FD_BIN/fd-local" --data-dir "$FD_DATA" --addr "127.0.0.1:$port" \
        >"$WORK/$label.stdout" 2>"$WORK/$label.stderr" &
    FD_PID=$!
    PIDS+=("$FD_PID")
    wait_port "$port" "$FD_PID" || { cat "$WORK/$label.stderr" >&2; die "fd-local did not start"; }
    FD_URL="http://127.0.0.1:$port/scim/v2"
    log "$label: fd-local pid $FD_PID on 127.0.0.1:$port (cpu $SERVER_CPU), data $FD_DATA"
}

# Stops the fd-local start_fd_local started; removes its data dir when it is not under WORK (WORK goes on exit).
stop_fd_local() {
    stop_server "$FD_PID"
    [ -n "${FD_DATA_PARENT:-}" ] && rm -rf "$FD_DATA"
    return 0
}
