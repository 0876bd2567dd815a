//! Faults between the store and DynamoDB: a fault-injecting proxy ([`fd_tests::fault_proxy`]) stands between the
//! SDK clients and moto, and every Okta operation goes through the real function handlers while the proxy resets
//! connections, stalls past the attempt timeout, answers 500, throttles, or cancels transactions for a conflict.
//!
//! Each operation × fault runs twice: the fault once (the operation succeeds after a retry) and the fault on every
//! request (the operation is answered `503` with `Retry-After` and a SCIM error body, never `500`, and succeeds
//! again once the fault is gone). After every case the directory's items are read back from moto directly, not
//! through the proxy: they are exactly as before the request or exactly as after it, never in between.
//!
//! The SDK limits are shortened here (attempt 500 ms, call 1.5 s) so the matrix runs in seconds; the Lambda limits
//! are [`dynamodb::SdkLimits::LAMBDA`]. `cargo test -p fd-tests --test faults -- --nocapture` prints the matrix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use aws_sdk_dynamodb::config::retry::RetryPartition;
use aws_sdk_dynamodb::types::AttributeValue;
use fd_shared::auth::{Pepper, issue_key, new_id};
use fd_shared::scim::error::{ERROR_SCHEMA, ScimError};
use fd_shared::scim::schema::ENTERPRISE_USER_SCHEMA;
use fd_shared::service::ScimService;
use fd_shared::store::dynamodb::{self, DynamoStore, SdkLimits};
use fd_shared::store::{AdminStore, Directory};
use fd_tests::fault_proxy::{Fault, FaultProxy, Only};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shortened limits: the same shape as the Lambda limits, in test time (an attempt still long enough for moto on
/// a busy CI machine, so that the one fault injected is the only failed attempt).
const TEST_LIMITS: SdkLimits = SdkLimits {
    connect: Duration::from_millis(1000),
    attempt: Duration::from_millis(2500),
    operation: Duration::from_millis(6000),
    max_attempts: 3,
    initial_backoff: Duration::from_millis(10),
    max_backoff: Duration::from_millis(50),
};
/// A stall outlasts every attempt and the whole call: a request that succeeds after one was given up on by the
/// attempt timeout (counted, not timed).
const STALL: Duration = Duration::from_secs(30);
/// Guards against a hang (a call the limits failed to bound); far above every bound, never a measurement.
const HANG: Duration = Duration::from_secs(25);
/// First try plus retries of a conflicted transaction (the store's own loop).
const TRANSACTION_ATTEMPTS: u64 = 4;

fn endpoint() -> String {
    support::aws_endpoint()
}

use support::{body_of, handle as call, request};

/// [`support::okta_user`] without a manager (the matrix reads its state back without manager links).
fn okta_user(tag: &str) -> Value {
    let mut user = support::okta_user(tag);
    user[ENTERPRISE_USER_SCHEMA].as_object_mut().unwrap().remove("manager");
    user
}

fn active(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": active}}]})
}

/// A `503` as the issue demands: `Retry-After`, a SCIM error body, and nothing internal in it.
fn assert_unavailable(response: &Response<Body>, what: &str, proxy: &str, upstream: &str) {
    let body = body_of(response);
    assert_eq!(response.status().as_u16(), 503, "{what}: {body}");
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok());
    assert!(retry_after.is_some_and(|v| v.parse::<u32>().is_ok_and(|s| s >= 1)), "{what}: Retry-After {retry_after:?}");
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{what}: {body}");
    assert_eq!(body["status"], json!("503"), "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert_eq!(detail, ScimError::unavailable().detail, "{what}: {body}");
    let text = body.to_string();
    for internal in [proxy, upstream, "127.0.0.1", "injected", "Exception", "dispatch", "TransactWriteItems"] {
        assert!(!text.contains(internal), "{what}: the body names {internal:?}: {text}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a directory back from moto
// ---------------------------------------------------------------------------------------------------------------

/// Every item of one directory's partition, attribute values in a comparable form (string sets sorted).
type Snapshot = BTreeMap<String, BTreeMap<String, Value>>;

fn plain(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!(s),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Ss(set) => {
            let mut set = set.clone();
            set.sort();
            json!({ "SS": set })
        }
        other => json!(format!("{other:?}")),
    }
}

async fn snapshot(client: &aws_sdk_dynamodb::Client, table: &str, directory: &str) -> Snapshot {
    let mut items = Snapshot::new();
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("DIR#{directory}")))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items() {
            let sk = item["sk"].as_s().unwrap().clone();
            items.insert(sk, item.iter().map(|(k, v)| (k.clone(), plain(v))).collect());
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    items
}

fn number(item: &BTreeMap<String, Value>, name: &str) -> i64 {
    item.get(name).and_then(|v| v["N"].as_str()).map_or(0, |n| n.parse().unwrap())
}

fn sum(snapshot: &Snapshot, prefix: &str, name: &str) -> i64 {
    snapshot.iter().filter(|(sk, _)| sk.starts_with(prefix)).map(|(_, item)| number(item, name)).sum()
}

/// The users of a snapshot, by id: their stored documents.
fn users(snapshot: &Snapshot) -> BTreeMap<String, (i64, Value)> {
    snapshot
        .iter()
        .filter(|(sk, _)| sk.starts_with("USER#"))
        .map(|(_, item)| {
            let doc: Value = serde_json::from_str(item["doc"].as_str().unwrap()).unwrap();
            (item["id"].as_str().unwrap().to_string(), (number(item, "version"), doc))
        })
        .collect()
}

/// The invariants every committed state keeps: each user item has its userName claim (same id, version and
/// document) and its display-name entry, no claim is orphaned, and the counter counts the users.
fn check_consistent(snapshot: &Snapshot) -> Result<(), String> {
    let users = users(snapshot);
    for (sk, item) in snapshot.iter().filter(|(sk, _)| sk.starts_with("USER#")) {
        let claim_sk = format!("UNAME#{}", item["unameKey"].as_str().unwrap_or_default());
        let claim = snapshot.get(&claim_sk).ok_or(format!("{sk}: no claim {claim_sk}"))?;
        for attribute in ["id", "doc", "version", "lastModified", "created"] {
            if claim.get(attribute) != item.get(attribute) {
                return Err(format!("{sk}: the claim's {attribute} differs"));
            }
        }
        let doc: Value = serde_json::from_str(item["doc"].as_str().unwrap()).unwrap();
        let name_sk = format!("DNAME#{}", doc["displayName"].as_str().unwrap_or_default().to_lowercase());
        let id = item["id"].as_str().unwrap();
        let listed = snapshot
            .get(&name_sk)
            .and_then(|dn| dn.get("ids"))
            .is_some_and(|ids| ids["SS"].as_array().is_some_and(|ids| ids.contains(&json!(id))));
        if !listed {
            return Err(format!("{sk}: not in {name_sk}"));
        }
    }
    for (sk, claim) in snapshot.iter().filter(|(sk, _)| sk.starts_with("UNAME#")) {
        if !users.contains_key(claim["id"].as_str().unwrap_or_default()) {
            return Err(format!("{sk}: a claim without its user"));
        }
    }
    let counted = sum(snapshot, "COUNT#", "n");
    if counted != users.len() as i64 {
        return Err(format!("the counter says {counted} users, the table holds {}", users.len()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Get,
    Lookup,
    Replace,
    Deactivate,
    Reactivate,
}

impl Operation {
    const ALL: [Operation; 6] = [
        Operation::Create,
        Operation::Get,
        Operation::Lookup,
        Operation::Replace,
        Operation::Deactivate,
        Operation::Reactivate,
    ];

    fn name(self) -> &'static str {
        match self {
            Operation::Create => "create (POST)",
            Operation::Get => "get",
            Operation::Lookup => "lookup (userName eq)",
            Operation::Replace => "update (PUT)",
            Operation::Deactivate => "deactivate (PATCH)",
            Operation::Reactivate => "reactivate (PATCH)",
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Operation::Get | Operation::Lookup)
    }

    fn success(self) -> u16 {
        if self == Operation::Create { 201 } else { 200 }
    }

    /// The request, for the user `id` (none yet for a create) tagged `tag`.
    fn request(self, tag: &str, id: Option<&str>, token: &str) -> Request {
        let id = id.unwrap_or_default();
        match self {
            Operation::Create => request("POST", "/Users", token, Some(&okta_user(tag))),
            Operation::Get => request("GET", &format!("/Users/{id}"), token, None),
            Operation::Lookup => {
                let path = format!("/Users?filter=userName%20eq%20%22{tag}-username%22&startIndex=1&count=100");
                request("GET", &path, token, None)
            }
            Operation::Replace => {
                let mut user = okta_user(tag);
                user["title"] = json!("Principal");
                request("PUT", &format!("/Users/{id}"), token, Some(&user))
            }
            Operation::Deactivate => request("PATCH", &format!("/Users/{id}"), token, Some(&active(false))),
            Operation::Reactivate => request("PATCH", &format!("/Users/{id}"), token, Some(&active(true))),
        }
    }

    /// Whether `after` is this operation's result applied once to `before`.
    fn is_after(self, before: &Snapshot, after: &Snapshot, tag: &str) -> bool {
        let (old, new) = (users(before), users(after));
        let one_write = sum(after, "COUNT#", "v") == sum(before, "COUNT#", "v") + 1;
        let single = |users: &BTreeMap<String, (i64, Value)>| users.values().next().cloned();
        match self {
            Operation::Get | Operation::Lookup => false,
            Operation::Create => {
                old.is_empty()
                    && new.len() == 1
                    && one_write
                    && single(&new)
                        .is_some_and(|(v, doc)| v >= 1 && doc["userName"] == json!(format!("{tag}-username")))
            }
            Operation::Replace | Operation::Deactivate | Operation::Reactivate => {
                let (Some((v0, doc0)), Some((v1, doc1))) = (single(&old), single(&new)) else {
                    return false;
                };
                let changed = match self {
                    Operation::Replace => doc0["title"] != json!("Principal") && doc1["title"] == json!("Principal"),
                    Operation::Deactivate => doc0["active"] == json!(true) && doc1["active"] == json!(false),
                    _ => doc0["active"] == json!(false) && doc1["active"] == json!(true),
                };
                let sessions_off = self != Operation::Deactivate
                    || after.keys().any(|sk| sk.starts_with("SESSIONSOFF#"))
                        && !before.keys().any(|sk| sk.starts_with("SESSIONSOFF#"));
                old.len() == 1 && new.len() == 1 && v1 == v0 + 1 && one_write && changed && sessions_off
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------------------------

struct World {
    table: String,
    upstream: String,
    direct: aws_sdk_dynamodb::Client,
    direct_store: Arc<DynamoStore>,
    proxy: FaultProxy,
    proxied: aws_sdk_dynamodb::Client,
    pepper: Pepper,
}

/// A client through the proxy with a retry partition of its own: the SDK's retry token bucket is shared by every
/// client of a partition, and one case's retries must not spend another's.
fn proxied_store(world: &World) -> Arc<DynamoStore> {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let partition = format!("faults-{}", CASE.fetch_add(1, Ordering::SeqCst));
    let config = world.proxied.config().to_builder().retry_partition(RetryPartition::new(partition)).build();
    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), world.table.clone()))
}

/// A fresh directory with an access key; returns (directory id, token).
async fn directory(world: &World) -> (String, String) {
    let directory =
        Directory { id: new_id(), name: "Faults".into(), created: fd_shared::time::now_rfc3339(), company: None };
    world.direct_store.create_directory(&directory).await.unwrap();
    let issued = issue_key(&directory.id, "Okta", &world.pepper);
    world.direct_store.create_key(&issued.record).await.unwrap();
    (directory.id, issued.token.as_str().to_string())
}

struct Outcome {
    status: u16,
    requests: u64,
    faulted: u64,
    elapsed: Duration,
    state: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Once,
    Always,
}

async fn run_case(world: &World, op: Operation, fault: Fault, mode: Mode) -> Outcome {
    let what = format!("{} × {} × {}", op.name(), fault.name(), if mode == Mode::Once { "once" } else { "always" });
    let (dir, token) = directory(world).await;
    let tag = format!("t{}", &new_id()[..8]);
    let direct = ScimService::new(world.direct_store.clone(), world.pepper.clone());
    let mut id = None;
    if op != Operation::Create {
        let response = call(&direct, Operation::Create.request(&tag, None, &token)).await;
        assert_eq!(response.status().as_u16(), 201, "{what}: setup");
        id = body_of(&response)["id"].as_str().map(str::to_string);
        if op == Operation::Reactivate {
            let response = call(&direct, Operation::Deactivate.request(&tag, id.as_deref(), &token)).await;
            assert_eq!(response.status().as_u16(), 200, "{what}: setup");
        }
    }
    let before = snapshot(&world.direct, &world.table, &dir).await;
    check_consistent(&before).unwrap_or_else(|e| panic!("{what}: before: {e}"));

    let service = ScimService::new(proxied_store(world), world.pepper.clone());
    let only = if op.writes() { Only::Operation("TransactWriteItems") } else { Only::All };
    let control = &world.proxy.control;
    control.reset_counts();
    match mode {
        Mode::Once => control.fault_next(fault, only, 1),
        Mode::Always => control.fault_always(fault, only),
    }
    let started = Instant::now();
    let response = tokio::time::timeout(HANG, call(&service, op.request(&tag, id.as_deref(), &token)))
        .await
        .unwrap_or_else(|_| panic!("{what}: not answered: the SDK limits did not bound the call"));
    let elapsed = started.elapsed();
    control.clear();
    let (requests, faulted) = (control.seen(), control.faulted());
    let status = response.status().as_u16();

    let after = snapshot(&world.direct, &world.table, &dir).await;
    check_consistent(&after).unwrap_or_else(|e| panic!("{what}: after: {e}\n{after:#?}"));
    let state = if after == before {
        "before"
    } else if op.is_after(&before, &after, &tag) {
        "after"
    } else {
        panic!("{what}: a state that is neither before nor after the request\nbefore: {before:#?}\nafter: {after:#?}")
    };

    assert_ne!(status, 500, "{what}: {}", body_of(&response));
    let bound =
        if fault == Fault::TransactionConflict { TRANSACTION_ATTEMPTS } else { u64::from(TEST_LIMITS.max_attempts) };
    assert!(faulted <= bound, "{what}: {faulted} faulted requests, more than {bound}");
    match mode {
        Mode::Once => {
            assert_eq!(status, op.success(), "{what}: {}", body_of(&response));
            // A stall never ends within the test: success means the attempt timeout gave up on it.
            assert_eq!(faulted, 1, "{what}");
            assert_eq!(state, if op.writes() { "after" } else { "before" }, "{what}");
            if op == Operation::Lookup {
                assert_eq!(body_of(&response)["totalResults"], json!(1), "{what}");
            }
        }
        Mode::Always => {
            assert_unavailable(&response, &what, &world.proxy.endpoint, &world.upstream);
            assert_eq!(state, "before", "{what}");
            assert!(faulted >= 2 || fault == Fault::Stall(STALL), "{what}: retried {faulted} times");
            // The fault gone, the same request succeeds on the same service: nothing unavailable is kept.
            let again = call(&service, op.request(&tag, id.as_deref(), &token)).await;
            assert_eq!(again.status().as_u16(), op.success(), "{what}: after recovery: {}", body_of(&again));
        }
    }
    Outcome { status, requests, faulted, elapsed, state }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_operations_under_faults_succeed_or_answer_503_and_never_write_half() {
    let upstream = endpoint();
    let direct_config = dynamodb::emulator_config(&upstream).await;
    let direct = aws_sdk_dynamodb::Client::new(&direct_config);
    let table = format!("fd-faults-{}", new_id());
    dynamodb::bootstrap_table(&direct, &table).await.unwrap();
    let proxy = FaultProxy::start(&upstream).await;
    let proxied_config = dynamodb::emulator_config_with(&proxy.endpoint, TEST_LIMITS).await;
    let world = World {
        direct_store: Arc::new(DynamoStore::new(direct.clone(), table.clone())),
        table,
        upstream,
        direct,
        proxied: aws_sdk_dynamodb::Client::new(&proxied_config),
        proxy,
        pepper: Pepper::new(vec![42; 32]).unwrap(),
    };

    let faults = [
        Fault::Reset,
        Fault::Stall(STALL),
        Fault::ServerError,
        Fault::Throttling,
        Fault::ProvisionedThroughput,
        Fault::TransactionConflict,
    ];
    let mut table = String::from("| operation |");
    for fault in &faults {
        let _ = write!(table, " {} |", fault.name());
    }
    table.push_str("\n| --- |");
    table.push_str(&" --- |".repeat(faults.len()));
    table.push('\n');
    let started = Instant::now();
    for op in Operation::ALL {
        let _ = write!(table, "| {} |", op.name());
        for fault in faults {
            if fault == Fault::TransactionConflict && !op.writes() {
                table.push_str(" n/a (no transaction) |");
                continue;
            }
            let once = run_case(&world, op, fault, Mode::Once).await;
            let always = run_case(&world, op, fault, Mode::Always).await;
            let cell = |o: &Outcome| {
                format!(
                    "{} in {} ms, {}/{} req faulted, state {}",
                    o.status,
                    o.elapsed.as_millis(),
                    o.faulted,
                    o.requests,
                    o.state
                )
            };
            let _ = write!(table, " once: {}; always: {} |", cell(&once), cell(&always));
        }
        table.push('\n');
    }
    println!(
        "\nOkta operations × faults (SDK limits: attempt {:?}, call {:?}, {} attempts; stall {:?})\n",
        TEST_LIMITS.attempt, TEST_LIMITS.operation, TEST_LIMITS.max_attempts, STALL
    );
    println!("{table}");
    println!("matrix run in {:.1} s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets Manager down at cold start
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_down_at_cold_start_is_503_then_recovers_in_the_same_process() {
    let upstream = endpoint();
    let direct_config = dynamodb::emulator_config(&upstream).await;
    let direct = aws_sdk_dynamodb::Client::new(&direct_config);
    let table = format!("fd-faults-sm-{}", new_id());
    dynamodb::bootstrap_table(&direct, &table).await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&direct_config);
    let secret_id = format!("fd-faults-pepper-{}", new_id());
    dynamodb::bootstrap_secret(&secrets, &secret_id, "pepper").await.unwrap();
    let pepper = dynamodb::load_pepper(&secrets, &secret_id).await.unwrap();
    let store = DynamoStore::new(direct, table.clone());
    let directory =
        Directory { id: new_id(), name: "Cold".into(), created: fd_shared::time::now_rfc3339(), company: None };
    store.create_directory(&directory).await.unwrap();
    let issued = issue_key(&directory.id, "Okta", &pepper);
    store.create_key(&issued.record).await.unwrap();
    let token = issued.token.as_str();

    // Secrets Manager unreachable from the start: the function's init (and its background load) meet it.
    let proxy = FaultProxy::start(&upstream).await;
    let control = &proxy.control;
    let get_secret = Only::Operation("GetSecretValue");
    control.fault_always(Fault::Reset, get_secret);
    let config = dynamodb::emulator_config_with(&proxy.endpoint, TEST_LIMITS).await;
    let service = fd_shared::runtime::dynamodb_service(&config, table, secret_id);
    let list = || request("GET", "/Users?startIndex=1&count=1", token, None);

    let mut rows = Vec::new();
    for fault in [Fault::Reset, Fault::Stall(STALL), Fault::ServerError, Fault::Throttling] {
        control.fault_always(fault, get_secret);
        control.reset_counts();
        let started = Instant::now();
        let response = tokio::time::timeout(HANG, call(&service, list()))
            .await
            .unwrap_or_else(|_| panic!("Secrets Manager {}: not answered", fault.name()));
        let elapsed = started.elapsed();
        assert_unavailable(&response, &format!("Secrets Manager {}", fault.name()), &proxy.endpoint, &upstream);
        assert!(control.faulted() >= 1, "{}: the secret was not asked for", fault.name());
        // Bounded by the call's limits, not by how long the dependency stays silent (a stall outlasts the test).
        rows.push(format!(
            "| {} (always) | 503 in {} ms, {} GetSecretValue faulted |",
            fault.name(),
            elapsed.as_millis(),
            control.faulted()
        ));
    }

    // Back: the next request in the same process loads the pepper and succeeds.
    control.clear();
    control.reset_counts();
    let response = call(&service, list()).await;
    assert_eq!(response.status().as_u16(), 200, "{}", body_of(&response));
    rows.push(format!("| recovered | 200, {} requests |", control.seen()));

    // Loaded once, kept: Secrets Manager going down again no longer matters.
    control.fault_always(Fault::Reset, get_secret);
    control.reset_counts();
    let response = call(&service, list()).await;
    assert_eq!(response.status().as_u16(), 200, "{}", body_of(&response));
    assert_eq!(control.faulted(), 0, "the pepper is asked for again");
    rows.push("| down again after loading | 200, pepper kept |".into());

    println!(
        "\nSecrets Manager at cold start (GetSecretValue faulted)\n\n| Secrets Manager | SCIM answer |\n| --- | --- |"
    );
    for row in rows {
        println!("{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_secrets_manager_down_at_cold_start_is_503_then_recovers() {
    let upstream = endpoint();
    let direct_config = dynamodb::emulator_config(&upstream).await;
    let direct = aws_sdk_dynamodb::Client::new(&direct_config);
    let table = format!("fd-faults-si-{}", new_id());
    dynamodb::bootstrap_table(&direct, &table).await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&direct_config);
    let secret_id = format!("fd-faults-session-{}", new_id());
    dynamodb::bootstrap_secret(&secrets, &secret_id, "session key").await.unwrap();
    let store = DynamoStore::new(direct, table.clone());
    let directory =
        Directory { id: new_id(), name: "Sign-in".into(), created: fd_shared::time::now_rfc3339(), company: None };
    store.create_directory(&directory).await.unwrap();
    let idp = fd_saml::dev_idp::DevIdp::generate("https://idp.example.com").unwrap();
    let saml = fd_shared::store::SamlConfig {
        login_url: "https://idp.example.com/sso".into(),
        certificates: vec![idp.certificate_pem().to_string()],
        idp_entity_id: None,
        relay_state_allow_list: Vec::new(),
        allow_sha1: false,
        sp_initiated_only: false,
        updated: fd_shared::time::now_rfc3339(),
    };
    store.set_saml_config(&directory.id, &saml).await.unwrap();

    let proxy = FaultProxy::start(&upstream).await;
    let control = &proxy.control;
    let get_secret = Only::Operation("GetSecretValue");
    control.fault_always(Fault::Stall(STALL), get_secret);
    let config = dynamodb::emulator_config_with(&proxy.endpoint, TEST_LIMITS).await;
    let (store, session_secret) = fd_shared::runtime::dynamodb_sign_in_parts(&config, table, secret_id);
    let endpoints = fd_signin::SpEndpoints::new("https://sso.example.com").unwrap();
    let service = fd_signin::SignInService::new(store, session_secret, endpoints);
    let login = || {
        lambda_http::http::Request::builder()
            .method("GET")
            .uri(format!("https://sso.example.com/saml/{}/login", directory.id))
            .body(Body::Empty)
            .unwrap()
    };

    for fault in [Fault::Stall(STALL), Fault::Reset, Fault::ServerError] {
        control.fault_always(fault, get_secret);
        let response = tokio::time::timeout(HANG, fd_signin::http::handle(&service, login()))
            .await
            .unwrap_or_else(|_| panic!("sign-in, Secrets Manager {}: not answered", fault.name()));
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert_eq!(response.status().as_u16(), 503, "{}: {text}", fault.name());
        assert!(response.headers().get("retry-after").is_some(), "{}: no Retry-After", fault.name());
        assert_eq!(text.trim(), "Sign-in is temporarily unavailable.", "{}", fault.name());
    }
    control.clear();
    let response = fd_signin::http::handle(&service, login()).await;
    assert_eq!(response.status().as_u16(), 303, "{}", String::from_utf8_lossy(response.body().as_ref()));
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(location.starts_with("https://idp.example.com/sso?"), "{location}");
    println!(
        "\nSign-in (SP-initiated login) with Secrets Manager down at cold start: 503 with Retry-After; back: 303 to the IdP"
    );
}
