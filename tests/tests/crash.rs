//! Crash safety of the SQLite store: `fd-local` is killed with SIGKILL while eight clients create, PUT and PATCH
//! users, then restarted on the same data directory. Every write it acknowledged (2xx) must still be there: each
//! acknowledged create exists, and each user's stored version is at least the last one acknowledged for it, with
//! that write's value when the versions are equal. A higher version is allowed only for writes that were in flight
//! at the kill (sent, no response), and then it must carry one of their values. Two rounds: the second writes to
//! the store recovered from the first crash, and checks the first round's users again.
//!
//! Each user is written by one client only, one request at a time, so the last acknowledged write of a user is
//! well defined and every successful write adds exactly 1 to its version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::scim::schema::USER_SCHEMA;
use fd_tests::{Backend, LocalServer, Reply};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Concurrent clients.
const CLIENTS: usize = 8;
/// A bound on each client's requests, far above what it sends before the kill.
const MAX_REQUESTS_PER_CLIENT: usize = 20_000;
/// Writes acknowledged before the kill, at least: fewer means the test proved little.
const MIN_ACKNOWLEDGED: usize = 200;
/// Kill and restart cycles.
const ROUNDS: usize = 2;

/// What one client knows about one of its users.
#[derive(Debug)]
struct UserLog {
    id: String,
    user_name: String,
    /// The last acknowledged write: version and `title`.
    acknowledged: (u64, String),
    /// `title`s of writes sent after it without an acknowledgement (in flight at the kill, or refused).
    unacknowledged: Vec<String>,
}

/// What one client did.
#[derive(Debug, Default)]
struct ClientLog {
    /// `<round>-<client>`.
    name: String,
    users: Vec<UserLog>,
    /// userNames of creates sent without an acknowledgement.
    unacknowledged_creates: Vec<String>,
    acknowledged_creates: usize,
    acknowledged_updates: usize,
    /// Requests answered with a status other than 2xx (none expected).
    refused: Vec<String>,
    /// A write was on the wire when the server died.
    in_flight_at_kill: bool,
}

fn version_of(reply: &Reply) -> Option<u64> {
    let etag = reply.header("etag")?;
    let version = etag.strip_prefix("W/\"")?.strip_suffix('"')?.parse().ok()?;
    (reply.body["meta"]["version"].as_str() == Some(etag)).then_some(version)
}

fn user_body(user_name: &str, title: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "displayName": format!("Crash {user_name}"),
        "name": {"givenName": "Crash", "familyName": user_name},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "title": title,
        "active": true,
    })
}

/// Writes until the server goes away: a create every fourth request, otherwise alternately a PUT and a PATCH of
/// the client's users in turn, each setting a fresh `title`.
async fn client(
    server: Arc<LocalServer>,
    token: String,
    client: String,
    killed: Arc<AtomicBool>,
    acks: Arc<AtomicUsize>,
) -> ClientLog {
    let t = Some(token.as_str());
    let mut log = ClientLog { name: client.clone(), ..ClientLog::default() };
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if n % 4 == 0 || log.users.is_empty() {
            let user_name = format!("crash-{client}-{n}@example.com");
            let title = format!("created {client}/{n}");
            match server.try_call("POST", "/Users", t, Some(&user_body(&user_name, &title))).await {
                Ok(reply) if reply.status == 201 => {
                    assert_eq!(reply.body["title"], title.as_str());
                    let version = version_of(&reply).unwrap_or_else(|| panic!("no version: {:?}", reply.headers));
                    let id = reply.body["id"].as_str().unwrap().to_string();
                    log.users.push(UserLog {
                        id,
                        user_name,
                        acknowledged: (version, title),
                        unacknowledged: Vec::new(),
                    });
                    log.acknowledged_creates += 1;
                    acks.fetch_add(1, Ordering::Relaxed);
                }
                Ok(reply) => {
                    log.refused.push(format!("POST {user_name}: {} {}", reply.status, reply.body));
                    log.unacknowledged_creates.push(user_name);
                }
                Err(e) => {
                    assert!(killed.load(Ordering::SeqCst), "client {client}: POST failed before the kill: {e}");
                    log.unacknowledged_creates.push(user_name);
                    log.in_flight_at_kill = true;
                    return log;
                }
            }
            continue;
        }
        let index = n % log.users.len();
        let user = &mut log.users[index];
        let title = format!("updated {client}/{n}");
        let path = format!("/Users/{}", user.id);
        let (method, body) = if n % 2 == 0 {
            ("PUT", user_body(&user.user_name, &title))
        } else {
            let patch = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": title}],
            });
            ("PATCH", patch)
        };
        user.unacknowledged.push(title.clone());
        match server.try_call(method, &path, t, Some(&body)).await {
            Ok(reply) if reply.status == 200 => {
                assert_eq!(reply.body["title"], title.as_str(), "{method} {path}");
                let version = version_of(&reply).unwrap_or_else(|| panic!("no version: {:?}", reply.headers));
                assert_eq!(version, user.acknowledged.0 + 1, "{method} {path}: one writer, one version per write");
                user.acknowledged = (version, title);
                user.unacknowledged.clear();
                log.acknowledged_updates += 1;
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(reply) => log.refused.push(format!("{method} {path}: {} {}", reply.status, reply.body)),
            Err(e) => {
                assert!(killed.load(Ordering::SeqCst), "client {client}: {method} failed before the kill: {e}");
                log.in_flight_at_kill = true;
                return log;
            }
        }
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let backend = Backend::sqlite();
    let Backend::Sqlite { data_dir } = &backend else { unreachable!() };
    let (_, _, token) = backend.tenant("Crash").await;

    // Two rounds: load, SIGKILL, restart on the same data directory, check. The second round writes to the store
    // recovered from the first crash, and checks the first round's users again.
    let mut logs: Vec<ClientLog> = Vec::new();
    let mut kept_creates = 0;
    for round in 0..ROUNDS {
        let server = backend.start_local().await;
        logs.extend(load_then_kill(server, &token, round).await);
        let server = backend.start_local().await;
        kept_creates += check(&server, &token, &mut logs, kept_creates).await;
        if round + 1 == ROUNDS {
            // The recovered store takes writes again.
            let first = &logs.iter().flat_map(|l| &l.users).next().expect("a user").id;
            let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "after the crash"}]});
            let patched = server.call("PATCH", &format!("/Users/{first}"), Some(&token), Some(&patch)).await;
            assert_eq!((patched.status, patched.body["title"].clone()), (200, json!("after the crash")));
        }
        server.stop().await;
    }
    std::fs::remove_dir_all(data_dir).ok();
}

/// Runs the clients against `server`, kills it with SIGKILL 1 to 2 s in (the point varies from run to run), waits
/// for it to die, and returns what the clients did.
async fn load_then_kill(server: LocalServer, token: &str, round: usize) -> Vec<ClientLog> {
    let server = Arc::new(server);
    let pid = server.pid().expect("fd-local pid");
    let killed = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let name = format!("{round}-{c}");
            tokio::spawn(client(server.clone(), token.to_string(), name, killed.clone(), acks.clone()))
        })
        .collect();
    let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_millis());
    let delay = Duration::from_millis(1_000 + u64::from(jitter));
    tokio::time::sleep(delay).await;
    assert!(clients.iter().all(|c| !c.is_finished()), "a client stopped before the kill");
    killed.store(true, Ordering::SeqCst);
    let status = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().expect("run kill");
    assert!(status.success(), "kill -9 {pid}: {status}");

    let mut logs = Vec::new();
    for handle in clients {
        logs.push(tokio::time::timeout(Duration::from_secs(30), handle).await.expect("client ends").expect("client"));
    }
    let server = Arc::into_inner(server).expect("no client holds the server");
    let exit = server.wait().await;
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(exit.signal(), Some(9), "fd-local should have died of SIGKILL: {exit}");
    }
    let refused: Vec<_> = logs.iter().flat_map(|l| &l.refused).collect();
    assert!(refused.is_empty(), "writes refused under load: {refused:#?}");
    let acknowledged: usize = logs.iter().map(|l| l.acknowledged_creates + l.acknowledged_updates).sum();
    assert!(
        acknowledged >= MIN_ACKNOWLEDGED,
        "only {acknowledged} writes acknowledged in {delay:?}: too few to prove anything"
    );
    let creates: usize = logs.iter().map(|l| l.acknowledged_creates).sum();
    let in_flight = logs.iter().filter(|l| l.in_flight_at_kill).count();
    eprintln!(
        "crash test, round {round}: SIGKILL after {delay:?}; {acknowledged} writes acknowledged ({creates} creates, {} \
         updates), {in_flight} in flight at the kill",
        acknowledged - creates
    );
    logs
}

/// Checks every client's users on the restarted `server`, then takes the state read back as the acknowledged one
/// (it is durable now). Returns how many unacknowledged creates turned out to be stored; `kept_before` is that
/// number from earlier rounds.
async fn check(server: &LocalServer, token: &str, logs: &mut [ClientLog], kept_before: usize) -> usize {
    let t = Some(token);
    let (mut users, mut newer, mut kept) = (0usize, 0usize, 0usize);
    for log in logs.iter_mut() {
        let c = &log.name;
        for user in &mut log.users {
            users += 1;
            let got = server.call("GET", &format!("/Users/{}", user.id), t, None).await;
            assert_eq!(got.status, 200, "client {c}: acknowledged create of {} lost: {:?}", user.user_name, got.body);
            assert_eq!(got.body["userName"], user.user_name.as_str());
            let version = version_of(&got).expect("version");
            let title = got.body["title"].as_str().unwrap_or_default().to_string();
            let (acked_version, acked_title) = &user.acknowledged;
            assert!(
                version >= *acked_version,
                "client {c}: user {} went back from acknowledged version {acked_version} to {version}",
                user.id
            );
            if version == *acked_version {
                assert_eq!(&title, acked_title, "client {c}: user {} at version {version}", user.id);
            } else {
                // Only writes in flight at the kill may have landed without an acknowledgement.
                let extra = usize::try_from(version - acked_version).unwrap_or(usize::MAX);
                assert!(
                    extra <= user.unacknowledged.len() && user.unacknowledged.contains(&title),
                    "client {c}: user {} at version {version} with title {title:?}: acknowledged {acked_version} \
                     {acked_title:?}, unacknowledged {:?}",
                    user.id,
                    user.unacknowledged
                );
                newer += 1;
            }
            user.acknowledged = (version, title);
            user.unacknowledged.clear();
        }
        for user_name in log.unacknowledged_creates.drain(..) {
            let filter = format!("/Users?filter=userName%20eq%20%22{}%22", user_name.replace('@', "%40"));
            let found = server.call("GET", &filter, t, None).await;
            assert_eq!(found.status, 200);
            kept += found.body["totalResults"].as_u64().unwrap_or_default() as usize;
        }
    }
    let total = server.call("GET", "/Users?count=0", t, None).await;
    assert_eq!(total.body["totalResults"].as_u64(), Some((users + kept_before + kept) as u64), "{:?}", total.body);
    eprintln!(
        "crash test: after restart, {users} users checked, {newer} at a version beyond the last acknowledged one \
         (a write in flight at the kill landed), {kept} unacknowledged creates stored"
    );
    kept
}
