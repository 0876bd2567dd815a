//! `scim-loadgen`: a closed-loop SCIM 2.0 load generator for `bench/run.sh`.
//!
//! N keep-alive HTTP/1.1 connections (one hyper client connection each) run on a
//! single-threaded tokio runtime. Each connection loops: pick an operation from the
//! weighted mix, send it, read the whole response, check it, record its latency.
//!
//! The mix is stateful, as an Okta provisioning client is: `create` POSTs a new
//! ~25-attribute Okta-style user (core + enterprise extension) and adds its id and
//! userName to a shared pool; `get`, `put`, `patch` and `filter` target a random user
//! of that pool (`filter` is `userName eq "<a created userName>"` and must find exactly
//! that user). Before the measured window the pool is seeded with `--seed-users` users
//! and the mix runs for `--warmup-secs` unrecorded.
//!
//! Every response is checked (status and, where it matters, the body); anything else
//! is an error, counted per operation and kind. The report is JSON (`--out` or stdout).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Create,
    Get,
    Filter,
    Put,
    Patch,
}

const OPS: [Op; 5] = [Op::Create, Op::Get, Op::Filter, Op::Put, Op::Patch];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Get => "get",
            Op::Filter => "filter",
            Op::Put => "put",
            Op::Patch => "patch",
        }
    }
    fn idx(self) -> usize {
        self as usize
    }
    fn parse(s: &str) -> Option<Op> {
        OPS.into_iter().find(|op| op.name() == s)
    }
}

#[derive(Debug, Clone)]
struct Config {
    /// `host:port` to connect to (and to send as Host).
    authority: String,
    /// Path prefix of the SCIM endpoints, e.g. `/scim/v2` or `/v2`, without trailing slash.
    base_path: String,
    base_url: String,
    token: String,
    connections: usize,
    seed_users: usize,
    warmup: Duration,
    duration: Duration,
    max_requests: u64,
    mix: Vec<(Op, u32)>,
    label: String,
    out: Option<String>,
    tag: String,
    /// PID of the server, to report the CPU time it used during the measured window.
    server_pid: Option<u32>,
    /// Keep the load generator's thread running between responses instead of sleeping in `epoll_wait`.
    spin: bool,
}

const USAGE: &str = "usage: scim-loadgen --url http://HOST:PORT/scim/v2 --token TOKEN [--connections 32] \
[--seed-users 500] [--warmup-secs 5] [--duration-secs 20] [--max-requests N] \
[--mix create=1,get=1,filter=1,put=1,patch=1] [--label NAME] [--tag RUNTAG] [--server-pid PID] [--out FILE] \
[--spin 0|1]";

fn parse_args() -> Result<Config, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut token = None;
    let mut connections = 32usize;
    let mut seed_users = 500usize;
    let mut warmup = 5.0f64;
    let mut duration = 20.0f64;
    let mut max_requests = u64::MAX;
    let mut mix_s = "create=1,get=1,filter=1,put=1,patch=1".to_string();
    let mut label = "server".to_string();
    let mut out = None;
    let mut tag = None;
    let mut server_pid = None;
    let mut spin = false;
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => url = Some(value),
            "--token" => token = Some(value),
            "--connections" => connections = num(&value)? as usize,
            "--seed-users" => seed_users = num(&value)? as usize,
            "--warmup-secs" => warmup = num(&value)?,
            "--duration-secs" => duration = num(&value)?,
            "--max-requests" => max_requests = num(&value)? as u64,
            "--mix" => mix_s = value,
            "--label" => label = value,
            "--out" => out = Some(value),
            "--tag" => tag = Some(value),
            "--server-pid" => server_pid = Some(num(&value)? as u32),
            "--spin" => spin = num(&value)? != 0.0,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let url = url.ok_or_else(|| format!("--url is required\n{USAGE}"))?;
    let token = token.ok_or_else(|| format!("--token is required\n{USAGE}"))?;
    let rest = url.strip_prefix("http://").ok_or("--url must start with http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut mix = Vec::new();
    for part in mix_s.split(',').filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let op = Op::parse(name.trim()).ok_or_else(|| format!("--mix: unknown operation {name:?}"))?;
        let weight: u32 = weight.trim().parse().map_err(|e| format!("--mix {name}: {e}"))?;
        if weight > 0 {
            mix.push((op, weight));
        }
    }
    if mix.is_empty() {
        return Err("--mix is empty".into());
    }
    if connections == 0 {
        return Err("--connections must be > 0".into());
    }
    let tag = tag.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("r{:x}", nanos & 0xffff_ffff)
    });
    Ok(Config {
        authority: authority.to_string(),
        base_path: path.trim_end_matches('/').to_string(),
        base_url: url.trim_end_matches('/').to_string(),
        token,
        connections,
        seed_users,
        warmup: Duration::from_secs_f64(warmup),
        duration: Duration::from_secs_f64(duration),
        max_requests,
        mix,
        label,
        out,
        tag,
        server_pid,
        spin,
    })
}

/// xorshift64*: a cheap per-connection PRNG (no need for cryptographic quality).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone)]
struct User {
    id: String,
    user_name: String,
    seq: u64,
}

struct Shared {
    cfg: Config,
    /// CPU counters taken when the measured window opens.
    cpu_at_start: Mutex<Option<CpuSnapshot>>,
    users: Mutex<Vec<User>>,
    next_user: AtomicU64,
    issued: AtomicU64,
    total_weight: u32,
}

impl Shared {
    fn pick_op(&self, rng: &mut Rng) -> Op {
        let mut r = rng.below(u64::from(self.total_weight)) as u32;
        for &(op, w) in &self.cfg.mix {
            if r < w {
                return op;
            }
            r -= w;
        }
        self.cfg.mix[0].0
    }
    fn pick_user(&self, rng: &mut Rng) -> Option<User> {
        let users = self.users.lock().unwrap();
        if users.is_empty() {
            return None;
        }
        Some(users[rng.below(users.len() as u64) as usize].clone())
    }
}

/// Statistics of one phase, per operation.
#[derive(Default)]
struct PhaseStats {
    requests: [u64; 5],
    ok: [u64; 5],
    latencies_us: [Vec<u32>; 5],
    errors: [BTreeMap<String, u64>; 5],
    reconnects: u64,
    start: Option<Instant>,
    end: Option<Instant>,
}

impl PhaseStats {
    fn record(&mut self, op: Op, latency: Duration, outcome: Result<(), String>) {
        let i = op.idx();
        self.requests[i] += 1;
        self.latencies_us[i].push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
        match outcome {
            Ok(()) => self.ok[i] += 1,
            Err(kind) => *self.errors[i].entry(kind).or_insert(0) += 1,
        }
    }
    fn merge(&mut self, other: PhaseStats) {
        for i in 0..5 {
            self.requests[i] += other.requests[i];
            self.ok[i] += other.ok[i];
            self.latencies_us[i].extend_from_slice(&other.latencies_us[i]);
            for (k, v) in &other.errors[i] {
                *self.errors[i].entry(k.clone()).or_insert(0) += v;
            }
        }
        self.reconnects += other.reconnects;
        self.start = match (self.start, other.start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.end = match (self.end, other.end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

struct Conn {
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

impl Conn {
    async fn open(authority: &str) -> Result<http1::SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(authority).await.map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request; returns status and body. Reconnects lazily after a failure.
    async fn send(
        &mut self,
        cfg: &Config,
        req: Request<Full<Bytes>>,
        reconnects: &mut u64,
    ) -> Result<(StatusCode, Bytes), String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            if self.sender.is_some() {
                *reconnects += 1;
            }
            self.sender = None;
            self.sender = Some(Conn::open(&cfg.authority).await?);
        }
        let sender = self.sender.as_mut().unwrap();
        let result = async {
            sender.ready().await.map_err(|e| format!("io: {e}"))?;
            let response = sender.send_request(req).await.map_err(|e| format!("io: {e}"))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| format!("io: {e}"))?.to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, result).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err("timeout".into())
            }
        }
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const GIVEN: [&str; 8] = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"];
const FAMILY: [&str; 8] = ["Smith", "Jones", "Garcia", "Chen", "Müller", "Okafor", "Tanaka", "Silva"];
const DEPARTMENTS: [&str; 4] = ["Platform", "Sales", "Finance", "Support"];
const TITLES: [&str; 4] = ["Engineer", "Senior Engineer", "Account Executive", "Analyst"];

/// An Okta-style user: core + enterprise extension, ~25 attributes.
fn user_body(seq: u64, user_name: &str, id: Option<&str>, variant: u64) -> Value {
    let given = GIVEN[(seq % 8) as usize];
    let family = FAMILY[((seq / 8) % 8) as usize];
    let v = variant as usize;
    let mut user = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": user_name,
        "externalId": format!("00u{seq:012x}"),
        "name": {"givenName": given, "familyName": family},
        "displayName": format!("{given} {family}"),
        "nickName": given,
        "profileUrl": format!("https://intranet.example.com/people/{seq}"),
        "emails": [
            {"value": user_name, "type": "work", "primary": true},
            {"value": format!("{}.{}{seq}@home.example.org", given.to_lowercase(), family.to_lowercase()), "type": "other", "primary": false}
        ],
        "phoneNumbers": [
            {"value": format!("+1-555-{:04}", seq % 10000), "type": "work"},
            {"value": format!("+1-555-{:04}", (seq + v as u64 + 1) % 10000), "type": "mobile"}
        ],
        "addresses": [{
            "type": "work",
            "streetAddress": format!("{} Main Street", 100 + v),
            "locality": "San Francisco",
            "region": "CA",
            "postalCode": "94105",
            "country": "US",
            "primary": true
        }],
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "userType": "Employee",
        "title": TITLES[v % 4],
        "active": true,
        ENTERPRISE_SCHEMA: {
            "employeeNumber": format!("E{seq:07}"),
            "costCenter": format!("CC-{}", 100 + v % 10),
            "division": "Operations",
            "department": DEPARTMENTS[v % 4],
            "manager": {"displayName": "Pat Manager"}
        }
    });
    if let Some(id) = id {
        user["id"] = json!(id);
    }
    user
}

fn request(cfg: &Config, method: Method, path_and_query: &str, body: Option<Vec<u8>>) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("{}{}", cfg.base_path, path_and_query))
        .header(header::HOST, cfg.authority.as_str())
        .header(header::AUTHORIZATION, format!("Bearer {}", cfg.token))
        .header(header::ACCEPT, SCIM_JSON);
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, SCIM_JSON);
    }
    b.body(Full::new(Bytes::from(body.unwrap_or_default()))).expect("valid request")
}

#[derive(Deserialize)]
struct ResourceIds {
    id: Option<String>,
    #[serde(rename = "userName")]
    user_name: Option<String>,
}

#[derive(Deserialize)]
struct ListIds {
    #[serde(rename = "totalResults")]
    total_results: u64,
    #[serde(rename = "Resources", default)]
    resources: Vec<ResourceIds>,
}

fn expect_status(status: StatusCode, allowed: &[u16]) -> Result<(), String> {
    if allowed.contains(&status.as_u16()) { Ok(()) } else { Err(format!("status {}", status.as_u16())) }
}

fn check_resource(body: &[u8], id: Option<&str>, user_name: &str) -> Result<ResourceIds, String> {
    let r: ResourceIds = serde_json::from_slice(body).map_err(|_| "bad body: not a resource".to_string())?;
    if r.id.is_none() {
        return Err("bad body: no id".into());
    }
    if let Some(id) = id
        && r.id.as_deref() != Some(id)
    {
        return Err("bad body: wrong id".into());
    }
    if r.user_name.as_deref() != Some(user_name) {
        return Err("bad body: wrong userName".into());
    }
    Ok(r)
}

struct Worker {
    shared: Arc<Shared>,
    conn: Conn,
    rng: Rng,
}

impl Worker {
    /// Runs one operation and records it. Falls back to `create` while the pool is empty.
    async fn run_op(&mut self, mut op: Op, stats: &mut PhaseStats) {
        let target = if op == Op::Create { None } else { self.shared.pick_user(&mut self.rng) };
        if target.is_none() {
            op = Op::Create;
        }
        let cfg = &self.shared.cfg;
        let start = Instant::now();
        let outcome: Result<(), String> = match op {
            Op::Create => {
                let seq = self.shared.next_user.fetch_add(1, Ordering::Relaxed);
                let user_name = format!("{}.user{seq}@example.com", cfg.tag);
                let body = serde_json::to_vec(&user_body(seq, &user_name, None, 0)).unwrap();
                let req = request(cfg, Method::POST, "/Users", Some(body));
                match self.conn.send(cfg, req, &mut stats.reconnects).await {
                    Err(e) => Err(e),
                    Ok((status, body)) => expect_status(status, &[201])
                        .and_then(|()| check_resource(&body, None, &user_name))
                        .map(|r| {
                            self.shared.users.lock().unwrap().push(User { id: r.id.unwrap(), user_name, seq });
                        }),
                }
            }
            Op::Get => {
                let u = target.unwrap();
                let req = request(cfg, Method::GET, &format!("/Users/{}", u.id), None);
                match self.conn.send(cfg, req, &mut stats.reconnects).await {
                    Err(e) => Err(e),
                    Ok((status, body)) => {
                        expect_status(status, &[200]).and_then(|()| check_resource(&body, Some(&u.id), &u.user_name).map(drop))
                    }
                }
            }
            Op::Filter => {
                let u = target.unwrap();
                let filter = format!("userName eq \"{}\"", u.user_name);
                let req = request(cfg, Method::GET, &format!("/Users?filter={}", percent_encode(&filter)), None);
                match self.conn.send(cfg, req, &mut stats.reconnects).await {
                    Err(e) => Err(e),
                    Ok((status, body)) => expect_status(status, &[200]).and_then(|()| {
                        let list: ListIds =
                            serde_json::from_slice(&body).map_err(|_| "bad body: not a ListResponse".to_string())?;
                        if list.total_results != 1 || list.resources.len() != 1 {
                            return Err(format!("bad body: totalResults {}", list.total_results));
                        }
                        if list.resources[0].id.as_deref() != Some(u.id.as_str()) {
                            return Err("bad body: wrong id".into());
                        }
                        Ok(())
                    }),
                }
            }
            Op::Put => {
                let u = target.unwrap();
                let variant = 1 + self.rng.below(1000);
                let body = serde_json::to_vec(&user_body(u.seq, &u.user_name, Some(&u.id), variant)).unwrap();
                let req = request(cfg, Method::PUT, &format!("/Users/{}", u.id), Some(body));
                match self.conn.send(cfg, req, &mut stats.reconnects).await {
                    Err(e) => Err(e),
                    Ok((status, body)) => {
                        expect_status(status, &[200]).and_then(|()| check_resource(&body, Some(&u.id), &u.user_name).map(drop))
                    }
                }
            }
            Op::Patch => {
                let u = target.unwrap();
                let active = self.rng.below(2) == 0;
                let body = serde_json::to_vec(&json!({
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "replace", "value": {"active": active}}]
                }))
                .unwrap();
                let req = request(cfg, Method::PATCH, &format!("/Users/{}", u.id), Some(body));
                match self.conn.send(cfg, req, &mut stats.reconnects).await {
                    Err(e) => Err(e),
                    // RFC 7644 §3.5.2: 200 with the resource, or 204 without a body.
                    Ok((status, body)) => expect_status(status, &[200, 204]).and_then(|()| {
                        if status == StatusCode::OK {
                            check_resource(&body, Some(&u.id), &u.user_name).map(drop)
                        } else {
                            Ok(())
                        }
                    }),
                }
            }
        };
        stats.record(op, start.elapsed(), outcome);
    }

    async fn run(mut self, index: usize, barrier: Arc<Barrier>) -> [PhaseStats; 3] {
        let mut seed = PhaseStats::default();
        let mut warm = PhaseStats::default();
        let mut measured = PhaseStats::default();
        let n = self.shared.cfg.connections;
        let seeds = self.shared.cfg.seed_users / n + usize::from(index < self.shared.cfg.seed_users % n);
        for _ in 0..seeds {
            self.run_op(Op::Create, &mut seed).await;
        }
        barrier.wait().await;
        let deadline = Instant::now() + self.shared.cfg.warmup;
        while Instant::now() < deadline {
            let op = self.shared.pick_op(&mut self.rng);
            self.run_op(op, &mut warm).await;
        }
        if barrier.wait().await.is_leader() {
            *self.shared.cpu_at_start.lock().unwrap() = Some(CpuSnapshot::take(self.shared.cfg.server_pid));
        }
        let start = Instant::now();
        let deadline = start + self.shared.cfg.duration;
        while Instant::now() < deadline
            && self.shared.issued.fetch_add(1, Ordering::Relaxed) < self.shared.cfg.max_requests
        {
            let op = self.shared.pick_op(&mut self.rng);
            self.run_op(op, &mut measured).await;
        }
        measured.start = Some(start);
        measured.end = Some(Instant::now());
        [seed, warm, measured]
    }
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn latency_json(lat: &mut [u32]) -> Value {
    lat.sort_unstable();
    let mean = if lat.is_empty() { 0.0 } else { lat.iter().map(|&x| f64::from(x)).sum::<f64>() / lat.len() as f64 / 1000.0 };
    json!({
        "p50": round3(percentile_ms(lat, 50.0)),
        "p90": round3(percentile_ms(lat, 90.0)),
        "p99": round3(percentile_ms(lat, 99.0)),
        "max": round3(percentile_ms(lat, 100.0)),
        "mean": round3(mean),
    })
}

fn errors_json(stats: &PhaseStats) -> (u64, Value) {
    let mut total = 0;
    let mut kinds = serde_json::Map::new();
    for op in OPS {
        for (kind, count) in &stats.errors[op.idx()] {
            total += count;
            kinds.insert(format!("{} {kind}", op.name()), json!(count));
        }
    }
    (total, Value::Object(kinds))
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("scim-loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let report = runtime.block_on(run(cfg.clone()));
    let text = serde_json::to_string_pretty(&report).unwrap();
    match &cfg.out {
        Some(path) => std::fs::write(path, text + "\n").expect("write --out"),
        None => println!("{text}"),
    }
}

async fn run(cfg: Config) -> Value {
    let total_weight = cfg.mix.iter().map(|&(_, w)| w).sum();
    let shared = Arc::new(Shared {
        users: Mutex::new(Vec::with_capacity(cfg.seed_users + 100_000)),
        next_user: AtomicU64::new(0),
        issued: AtomicU64::new(0),
        total_weight,
        cpu_at_start: Mutex::new(None),
        cfg,
    });
    let cfg = &shared.cfg;
    eprintln!(
        "[{}] {} connections, seeding {} users, warm-up {:?}, measuring {:?} ...",
        cfg.label, cfg.connections, cfg.seed_users, cfg.warmup, cfg.duration
    );
    let barrier = Arc::new(Barrier::new(cfg.connections));
    let mut handles = Vec::new();
    for i in 0..cfg.connections {
        let worker = Worker {
            shared: Arc::clone(&shared),
            conn: Conn { sender: None },
            rng: Rng::new(0x5eed + i as u64 * 7919),
        };
        handles.push(tokio::spawn(worker.run(i, Arc::clone(&barrier))));
    }
    // With --spin, a task that only yields keeps the runtime's one thread running: it polls for responses
    // without ever sleeping, so a server never has to wake the load generator's core (on a VM, an inter-processor
    // interrupt charged to the server's CPU time at each response it sends to an idle client).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinner = cfg.spin.then(|| {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                tokio::task::yield_now().await;
            }
        })
    });
    let mut seed = PhaseStats::default();
    let mut warm = PhaseStats::default();
    let mut measured = PhaseStats::default();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.expect("worker panicked"));
    }
    done.store(true, Ordering::Relaxed);
    if let Some(spinner) = spinner {
        spinner.await.expect("spinner");
    }
    let cpu_at_end = CpuSnapshot::take(cfg.server_pid);
    for [s, w, m] in results {
        seed.merge(s);
        warm.merge(w);
        measured.merge(m);
    }
    let elapsed = match (measured.start, measured.end) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let total: u64 = measured.requests.iter().sum();
    let ok: u64 = measured.ok.iter().sum();
    let (errors, error_kinds) = errors_json(&measured);
    let mut all: Vec<u32> = measured.latencies_us.iter().flatten().copied().collect();
    let mut per_op = serde_json::Map::new();
    for op in OPS {
        let i = op.idx();
        if measured.requests[i] == 0 {
            continue;
        }
        let op_errors: u64 = measured.errors[i].values().sum();
        per_op.insert(
            op.name().into(),
            json!({
                "requests": measured.requests[i],
                "errors": op_errors,
                "rps": round3(measured.requests[i] as f64 / elapsed.max(1e-9)),
                "latency_ms": latency_json(&mut measured.latencies_us[i]),
            }),
        );
    }
    let (seed_errors, seed_kinds) = errors_json(&seed);
    let (warm_errors, warm_kinds) = errors_json(&warm);
    let rps = total as f64 / elapsed.max(1e-9);
    let latency = latency_json(&mut all);
    let cpu = cpu_report(cfg.server_pid, cfg_start_cpu(&shared), &cpu_at_end, elapsed, total);
    eprintln!(
        "[{}] {total} requests in {elapsed:.2}s = {rps:.1} req/s, p50 {} ms, p99 {} ms, errors {errors} (warm-up errors {warm_errors}, seed errors {seed_errors})",
        cfg.label, latency["p50"], latency["p99"]
    );
    let mix: serde_json::Map<String, Value> = cfg.mix.iter().map(|&(op, w)| (op.name().to_string(), json!(w))).collect();
    json!({
        "label": cfg.label,
        "base_url": cfg.base_url,
        "connections": cfg.connections,
        "spin": cfg.spin,
        "mix": mix,
        "seed_users": cfg.seed_users,
        "warmup_secs": cfg.warmup.as_secs_f64(),
        "duration_secs": cfg.duration.as_secs_f64(),
        "measured": {
            "requests": total,
            "ok": ok,
            "errors": errors,
            "error_kinds": error_kinds,
            "elapsed_secs": round3(elapsed),
            "rps": round3(rps),
            "latency_ms": latency,
            "per_op": per_op,
            "reconnects": measured.reconnects,
            "cpu": cpu,
        },
        "warmup": {
            "requests": warm.requests.iter().sum::<u64>(),
            "errors": warm_errors,
            "error_kinds": warm_kinds,
            "rps": round3(warm.requests.iter().sum::<u64>() as f64 / cfg.warmup.as_secs_f64().max(1e-9)),
        },
        "seed": {"requests": seed.requests.iter().sum::<u64>(), "errors": seed_errors, "error_kinds": seed_kinds},
        "users_created_total": shared.users.lock().unwrap().len(),
    })
}

/// Linux CPU counters, in clock ticks: the server process (all threads), this process, and each core.
#[derive(Clone, Default)]
struct CpuSnapshot {
    server_ticks: Option<u64>,
    self_ticks: Option<u64>,
    /// (name, busy ticks, total ticks) per `cpuN` line of /proc/stat.
    cores: Vec<(String, u64, u64)>,
}

fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

impl CpuSnapshot {
    fn take(server_pid: Option<u32>) -> CpuSnapshot {
        let cores = std::fs::read_to_string("/proc/stat")
            .map(|text| {
                text.lines()
                    .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
                    .filter_map(|l| {
                        let mut it = l.split_whitespace();
                        let name = it.next()?.to_string();
                        let v: Vec<u64> = it.filter_map(|x| x.parse().ok()).collect();
                        // user nice system idle iowait irq softirq steal [guest guest_nice: already in user]
                        let total: u64 = v.iter().take(8).sum();
                        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
                        Some((name, total - idle, total))
                    })
                    .collect()
            })
            .unwrap_or_default();
        CpuSnapshot {
            server_ticks: server_pid.and_then(|p| process_ticks(&p.to_string())),
            self_ticks: process_ticks("self"),
            cores,
        }
    }
}

fn cfg_start_cpu(shared: &Shared) -> CpuSnapshot {
    shared.cpu_at_start.lock().unwrap().clone().unwrap_or_default()
}

/// CPU used during the measured window: the server's and the load generator's CPU seconds and share of one
/// core, the server's requests per CPU-second, and how busy each core was (whatever ran there).
fn cpu_report(server_pid: Option<u32>, start: CpuSnapshot, end: &CpuSnapshot, elapsed: f64, requests: u64) -> Value {
    let hz = 100.0; // USER_HZ: 100 on every mainstream Linux architecture.
    let secs = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / hz),
        _ => None,
    };
    let server = secs(start.server_ticks, end.server_ticks);
    let loadgen = secs(start.self_ticks, end.self_ticks);
    let mut cores = serde_json::Map::new();
    for (name, busy1, total1) in &end.cores {
        if let Some((_, busy0, total0)) = start.cores.iter().find(|(n, _, _)| n == name)
            && total1 > total0
        {
            cores.insert(name.clone(), json!(round3((busy1 - busy0) as f64 / (total1 - total0) as f64)));
        }
    }
    json!({
        "server_pid": server_pid,
        "server_cpu_secs": server.map(round3),
        "server_core_share": server.map(|s| round3(s / elapsed.max(1e-9))),
        "server_requests_per_cpu_sec": server.filter(|&s| s > 0.0).map(|s| round3(requests as f64 / s)),
        "loadgen_cpu_secs": loadgen.map(round3),
        "loadgen_core_share": loadgen.map(|s| round3(s / elapsed.max(1e-9))),
        "core_busy_share": cores,
    })
}
