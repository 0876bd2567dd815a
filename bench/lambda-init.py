#!/usr/bin/env python3
"""Cold start, warm invoke overhead and peak memory of Lambda bootstraps, against a minimal Lambda Runtime API on
loopback.

For each run it starts the binary with AWS_LAMBDA_RUNTIME_API pointing here and records
  init   = process start -> its first GET /2018-06-01/runtime/invocation/next (Lambda's "Init Duration")
  first  = process start -> the response to the first event is posted (what the first caller waits for)
then hands the same process --warm more events, one after another, and times each one
  warm   = the stub starts writing the event (its answer to /next) -> the request line of the POST .../response for
           that event has arrived
and reads VmHWM (peak resident set) from /proc/<pid>/status before stopping the process.

The warm figure is the runtime's whole loop for one event (read the /next answer, decode the API Gateway event, run
the handler, encode and post the response) plus the stub's share, which is the same for every binary: its one send
of the event, loopback delivery both ways and its thread waking on the response's first line. It leaves out the
stub's parsing of headers and bodies and the 202 it sends back. The runtime keeps one keep-alive connection, so no
connection is opened inside the window (the JSON counts the connections each process opened).

The warm event is the --event without its Authorization header (or --warm-event): every function answers it from the
request alone (scim-get 401, the other SCIM verbs 405, saml-acs 404) and the baseline 204, with no storage call.

The stub and the processes it starts share one CPU (--cpu; default the last one this process may use; "none" leaves
them unpinned): a round trip then costs two context switches on that CPU, where unpinned it may cost waking another
CPU from idle, which in a VM takes tens of µs and depends on what else the machine is running.

Binaries are run in interleaved rounds (each round runs every binary once, in a rotating order), so a change in the
machine's load during the benchmark falls on all of them alike. Two warm-up rounds (page cache) are not counted.

usage: lambda-init.py --runs N --warm K [--cpu N|none] --event EVENT.json [--warm-event EVENT.json]
                      --out RESULT.json NAME=BINARY [NAME=BINARY ...]
The process environment is passed through (set AWS_ENDPOINT_URL, FD_DYNAMODB_TABLE, FD_SECRET_ID, credentials).
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import threading
import time

WARMUP_ROUNDS = 2
STALLS_ALLOWED = 3


def event_reply(body, request_id):
    """The whole answer to one /next, written with a single send."""
    deadline = int(time.time() * 1000) + 3_600_000
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {request_id}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {deadline}\r\n"
        "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state = None  # set per run: see Run

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        RuntimeApi.state.connections += 1

    def handle_one_request(self):
        # BaseHTTPRequestHandler's, with the arrival of the request line timed before any parsing.
        try:
            self.raw_requestline = self.rfile.readline(65537)
            self.arrived = time.perf_counter_ns()
            if not self.raw_requestline or len(self.raw_requestline) > 65536:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(501)
                return
            method()
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the process under test was stopped mid-poll

    def do_GET(self):
        st = RuntimeApi.state
        if not self.path.endswith("/runtime/invocation/next"):
            self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        reply = st.next_event(self.arrived)
        if reply is None:
            st.stop.wait(120)  # park the poll after the last event until the run ends
            self.close_connection = True
            return
        # Timed before the write: a wake-up of the process under test can preempt the stub right after it.
        st.sent = time.perf_counter_ns()
        self.wfile.write(reply)

    def do_POST(self):
        st = RuntimeApi.state
        arrived = self.arrived
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if "/response" in self.path or "/error" in self.path:
            st.answered(self.path, body, "/response" in self.path, arrived)
        self.wfile.write(ACCEPTED)


class Run:
    """One process's run: the cold event, then the warm ones."""

    def __init__(self, cold, warm):
        self.cold = cold  # reply bytes
        self.warm = warm  # list of (request id, reply bytes)
        self.handed = 0  # events handed out
        self.sent = None  # perf_counter_ns just before the last event was written
        self.init = None
        self.first = None
        self.cold_response = None
        self.cold_ok = False
        self.warm_us = []
        self.warm_bodies = []
        self.warm_errors = 0
        self.wrong_ids = 0
        self.connections = 0
        self.cold_done = threading.Event()
        self.warm_done = threading.Event()
        self.stop = threading.Event()

    def next_event(self, arrived):
        if self.handed == 0:
            self.init = arrived
            self.handed = 1
            return self.cold
        if self.handed <= len(self.warm) and self.cold_done.is_set():
            reply = self.warm[self.handed - 1][1]
            self.handed += 1
            return reply
        return None

    def answered(self, path, body, ok, arrived):
        if self.handed == 1:
            self.first = arrived
            self.cold_response = body
            self.cold_ok = ok
            self.cold_done.set()
            if not self.warm:
                self.warm_done.set()
            return
        self.warm_us.append((arrived - self.sent) / 1000)
        if f"/invocation/{self.warm[self.handed - 2][0]}/" not in path:
            self.wrong_ids += 1
        if ok:
            self.warm_bodies.append(body)
        else:
            self.warm_errors += 1
        if self.handed > len(self.warm):
            self.warm_done.set()


def without_authorization(event):
    data = json.loads(event)
    for key in ("headers", "multiValueHeaders"):
        if isinstance(data.get(key), dict):
            data[key] = {k: v for k, v in data[key].items() if k.lower() != "authorization"}
    return json.dumps(data).encode()


def status_of(body):
    try:
        return str(json.loads(body).get("statusCode"))
    except (ValueError, AttributeError):
        return "None"


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def percentile(values, q):
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def run_once(binary, env, cold, warm):
    """Returns the Run, or None if the process stalled."""
    st = Run(cold, warm)
    RuntimeApi.state = st
    # A fresh Runtime API per run, so a late poll from the previous process cannot be mistaken for this one's.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    start = time.perf_counter_ns()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished = st.cold_done.wait(10) and st.warm_done.wait(10 + len(warm) * 0.01)
    hwm = vm_hwm_kib(proc.pid) if finished and proc.poll() is None else None
    proc.kill()
    proc.wait()
    st.stop.set()
    server.shutdown()
    server.server_close()
    if not finished or st.init is None or hwm is None:
        return None
    st.start = start
    st.hwm_kib = hwm
    return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warm", type=int, default=2000, help="warm events per process after the cold one")
    ap.add_argument("--event", required=True)
    ap.add_argument("--warm-event", help="default: --event without its Authorization header")
    ap.add_argument("--cpu", default="", help="CPU for the stub and the binaries (default: the last allowed; none)")
    ap.add_argument("--out", required=True)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    if args.cpu != "none":
        cpu = int(args.cpu) if args.cpu else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})  # inherited by every binary started
    pinned = f"CPU {cpu}" if args.cpu != "none" else "unpinned"
    event = open(args.event, "rb").read()
    warm_event = open(args.warm_event, "rb").read() if args.warm_event else without_authorization(event)
    warm_request = json.loads(warm_event)
    warm_what = f"{warm_request.get('requestContext', {}).get('http', {}).get('method')} {warm_request.get('rawPath')}"
    if not args.warm_event:
        warm_what += " without Authorization"

    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "RUST_LOG": "warn",
    })

    specs = [spec.split("=", 1) for spec in args.binaries]
    acc = {name: {"inits": [], "firsts": [], "statuses": [], "warm_us": [], "warm_statuses": set(), "hwm": [],
                  "connections": [], "warm_errors": 0, "wrong_ids": 0, "stalled": 0} for name, _ in specs}
    for rnd in range(args.runs + WARMUP_ROUNDS):
        shift = rnd % len(specs)
        for name, binary in specs[shift:] + specs[:shift]:
            a = acc[name]
            while True:
                cold = event_reply(event, f"cold-{rnd:04d}")
                ids = [f"warm-{rnd:04d}-{i:05d}" for i in range(args.warm)]
                st = run_once(binary, env, cold, [(rid, event_reply(warm_event, rid)) for rid in ids])
                if st is not None:
                    break
                # Seen rarely on a loaded machine; counted and reported, and the run is repeated.
                a["stalled"] += 1
                if a["stalled"] > STALLS_ALLOWED:
                    raise SystemExit(f"{name}: no response within the timeout, {a['stalled']} times")
            if rnd < WARMUP_ROUNDS:
                continue
            a["inits"].append((st.init - st.start) / 1e6)
            a["firsts"].append((st.first - st.start) / 1e6)
            a["statuses"].append(status_of(st.cold_response) if st.cold_ok else "error")
            a["warm_us"].extend(st.warm_us)
            a["warm_statuses"].update(status_of(b) for b in set(st.warm_bodies))
            a["warm_errors"] += st.warm_errors
            a["wrong_ids"] += st.wrong_ids
            a["hwm"].append(st.hwm_kib)
            a["connections"].append(st.connections)

    results = {}
    for name, binary in specs:
        a = acc[name]
        r = {
            "binary": binary,
            "size_bytes": os.path.getsize(binary),
            "runs": args.runs,
            "init_ms_median": round(statistics.median(a["inits"]), 2),
            "init_ms_p90": round(percentile(a["inits"], 0.9), 2),
            "first_response_ms_median": round(statistics.median(a["firsts"]), 2),
            "status_codes": sorted(set(a["statuses"])),
            "stalled_runs_repeated": a["stalled"],
        }
        if args.warm:
            r.update({
                "warm_event": warm_what,
                "warm_invokes_per_run": args.warm,
                "warm_us_median": round(statistics.median(a["warm_us"]), 1),
                "warm_us_p90": round(percentile(a["warm_us"], 0.9), 1),
                "warm_us_p99": round(percentile(a["warm_us"], 0.99), 1),
                "warm_cpu": pinned,
                "warm_status_codes": sorted(a["warm_statuses"]),
                "warm_errors": a["warm_errors"],
                "warm_wrong_request_ids": a["wrong_ids"],
                "runtime_api_connections_max": max(a["connections"]),
            })
        r.update({
            "max_rss_mib": round(max(a["hwm"]) / 1024, 2),
            "max_rss_mib_median": round(statistics.median(a["hwm"]) / 1024, 2),
        })
        results[name] = r

    base = results.get("baseline")
    print(f"warm: {args.warm} events per process after the cold one ({warm_what}), {args.runs} processes per binary, "
          f"stub and binary on {pinned}; "
          "µs from the stub's send of the event to the arrival of its response (runtime loop + handler + the "
          "stub's send, loopback both ways and wake-up, the same for every binary). "
          "max RSS: VmHWM after the warm events, highest of the runs.")
    print(f"{'function':12} {'size MB':>8} {'init ms':>8} {'init p90':>9} {'first ms':>9} {'init/base':>10} "
          f"{'warm µs':>8} {'warm p90':>9} {'warm/base':>10} {'+µs':>6} {'RSS MiB':>8}  status (cold; warm)")
    for name, r in results.items():
        ratio = (r["init_ms_median"] / base["init_ms_median"]) if base else float("nan")
        r["init_ratio_vs_baseline"] = round(ratio, 3)
        warm_ratio = float("nan")
        if args.warm and base:
            warm_ratio = r["warm_us_median"] / base["warm_us_median"]
            r["warm_ratio_vs_baseline"] = round(warm_ratio, 3)
            r["warm_us_added_vs_baseline"] = round(r["warm_us_median"] - base["warm_us_median"], 1)
        print(f"{name:12} {r['size_bytes'] / 1e6:8.2f} {r['init_ms_median']:8.2f} {r['init_ms_p90']:9.2f} "
              f"{r['first_response_ms_median']:9.2f} {ratio:9.2f}x "
              f"{r.get('warm_us_median', float('nan')):8.1f} {r.get('warm_us_p90', float('nan')):9.1f} "
              f"{warm_ratio:9.2f}x {r.get('warm_us_added_vs_baseline', float('nan')):6.1f} {r['max_rss_mib']:8.2f}  "
              f"{','.join(r['status_codes'])}; {','.join(r.get('warm_status_codes', []))}")
    bad = [n for n, r in results.items() if r.get("warm_errors") or r.get("warm_wrong_request_ids")]
    if bad:
        print(f"warning: error responses or mismatched request ids in the warm events of {', '.join(bad)}")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
