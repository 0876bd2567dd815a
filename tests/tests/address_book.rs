//! The address book's freshness over both stores, through the web service: a book kept warm and updated
//! write by write answers exactly as a book built from scratch, and on DynamoDB (moto) a warm search is one
//! request, a write costs the next search one more, and no request is a `Scan`.
//!
//! `cargo test -p fd-tests --test address_book -- --nocapture` prints the DynamoDB request counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use fd_shared::auth::{Credential, Pepper, issue_key, new_id};
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::secret::SecretSource;
use fd_shared::store::dynamodb::{self, CallCounter, DynamoStore};
use fd_shared::store::sqlite::SqliteStore;
use fd_shared::store::{Company, Directory, SessionRecord, Store};
use fd_signin::session::{Session, SessionKey};
use fd_signin::{SignInService, SpEndpoints};
use fd_web::{WebRequest, WebResponse, WebService};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::OffsetDateTime;

const SECRET: &str = "address-book-test-session-key-0123456789";
const NAMES: [&str; 6] =
    ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson"];
const TITLES: [&str; 3] = ["Engineer", "Manager", "Director"];

fn web(store: &Arc<dyn Store>) -> WebService {
    let sign_in = Arc::new(SignInService::new(
        store.clone(),
        SecretSource::ready("session key", SECRET.to_string()),
        SpEndpoints::new("https://fd.example.com").unwrap(),
    ));
    WebService::new(store.clone(), sign_in)
}

async fn get(web: &WebService, path_and_query: &str, cookie: &str) -> (u16, Value) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let request = WebRequest { method: "GET", path, query, cookie: Some(cookie), content_type: None, body: b"" };
    match web.handle(request, OffsetDateTime::now_utc()).await {
        WebResponse::Json { status, body } => (status, body),
        other => panic!("expected JSON from {path_and_query}, got {other:?}"),
    }
}

/// A company of two directories, each with a key, and a signed-in viewer in the first.
struct Company2 {
    directories: Vec<(String, Credential)>,
    cookie: String,
}

async fn company(store: &dyn Store) -> Company2 {
    let pepper = Pepper::new(vec![9; 32]).unwrap();
    let short = format!("co-{}", &new_id()[..8]);
    let now = fd_shared::time::now_rfc3339();
    store
        .create_company(&Company { short_name: short.clone(), name: "Company".into(), created: now.clone() })
        .await
        .unwrap();
    let mut directories = Vec::new();
    for name in ["Europe", "America"] {
        let directory =
            Directory { id: new_id(), name: name.into(), created: now.clone(), company: Some(short.clone()) };
        store.create_directory(&directory).await.unwrap();
        let issued = issue_key(&directory.id, "okta", &pepper);
        store.create_key(&issued.record).await.unwrap();
        let credential = Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper).unwrap();
        directories.push((directory.id, credential));
    }
    let viewer = UserRecord::new(doc("viewer@example.com", "Viewer", None, "Engineer", true));
    store.create_user(&directories[0].1, &viewer).await.unwrap();
    let at = OffsetDateTime::now_utc().unix_timestamp();
    let session = Session::new(&directories[0].0, &viewer.id, at + 3600);
    let record = SessionRecord {
        id_hash: session.id_hash(),
        directory: directories[0].0.clone(),
        user_id: viewer.id.clone(),
        created: at,
        last_used: at,
        expires_at: at + 3600,
        device: "Test".into(),
    };
    store.create_session(&record).await.unwrap();
    let cookie = format!("fd_session={}", session.seal(&SessionKey::new(SECRET.as_bytes().to_vec()).unwrap()));
    Company2 { directories, cookie }
}

fn doc(user_name: &str, display_name: &str, manager: Option<&str>, title: &str, active: bool) -> UserDoc {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": user_name, "displayName": display_name, "title": title, "active": active,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    });
    if let Some(manager) = manager {
        body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json!({"manager": {"displayName": manager}});
    }
    UserDoc::from_request(body).unwrap()
}

/// Everything the API shows of the company: every contact (with manager and direct reports) and the facets.
async fn everything(web: &WebService, cookie: &str) -> Value {
    let (status, list) = get(web, "/api/contacts", cookie).await;
    assert_eq!(status, 200, "{list}");
    let mut contacts = Vec::new();
    for contact in list["contacts"].as_array().unwrap() {
        let (status, full) = get(web, &format!("/api/contacts/{}", contact["id"].as_str().unwrap()), cookie).await;
        assert_eq!(status, 200);
        contacts.push(full);
    }
    let (_, facets) = get(web, "/api/facets", cookie).await;
    let (_, searched) = get(web, "/api/contacts?q=a&active=true", cookie).await;
    json!({"list": list, "contacts": contacts, "facets": facets, "searched": searched})
}

/// Random writes (creates, renames, manager changes, deactivations, deletes) in bursts; after each burst the warm
/// book must answer exactly as a book built from scratch.
async fn warm_books_answer_as_fresh_ones(store: Arc<dyn Store>, seed: u64) {
    let company = company(&*store).await;
    let warm = web(&store);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut people: Vec<(usize, UserRecord)> = Vec::new();
    let mut serial = 0;
    for round in 0..12 {
        // Mostly small bursts (named by the latest writes); every fourth one long enough to spill a shard.
        let burst = if round % 4 == 3 { 40 } else { rng.random_range(1..6) };
        for _ in 0..burst {
            let action = rng.random_range(0..10);
            if people.len() < 4 || (action < 3 && people.len() < 40) {
                serial += 1;
                let directory = rng.random_range(0..2);
                let name = NAMES[rng.random_range(0..NAMES.len())];
                let manager = rng.random_bool(0.6).then(|| NAMES[rng.random_range(0..NAMES.len())]);
                let record = UserRecord::new(doc(&format!("u{serial}@example.com"), name, manager, "Engineer", true));
                store.create_user(&company.directories[directory].1, &record).await.unwrap();
                people.push((directory, record));
                continue;
            }
            let at = rng.random_range(0..people.len());
            let (directory, current) = people[at].clone();
            let credential = &company.directories[directory].1;
            if action == 9 {
                store.delete_user(credential, &current).await.unwrap();
                people.remove(at);
                continue;
            }
            let user_name = current.doc.user_name().to_string();
            let name = if action < 6 {
                NAMES[rng.random_range(0..NAMES.len())].to_string()
            } else {
                current.doc.display_name().to_string()
            };
            let manager = rng.random_bool(0.6).then(|| NAMES[rng.random_range(0..NAMES.len())]);
            let title = TITLES[rng.random_range(0..TITLES.len())];
            let next = current.successor(doc(&user_name, &name, manager, title, rng.random_bool(0.8)));
            store.replace_user(credential, &current, &next).await.unwrap();
            people[at].1 = next;
        }
        let warm_view = everything(&warm, &company.cookie).await;
        let fresh_view = everything(&web(&store), &company.cookie).await;
        assert_eq!(warm_view, fresh_view, "round {round} (seed {seed}): the warm book differs from a fresh one");
        assert_eq!(warm_view["list"]["total"], json!(people.len() + 1), "round {round}: every person, once");
    }
}

fn endpoint() -> String {
    std::env::var("FD_TEST_AWS_ENDPOINT")
        .expect("FD_TEST_AWS_ENDPOINT is not set: run infra/scripts/test.sh (it starts moto)")
}

async fn dynamo_store(counter: Option<&CallCounter>) -> Arc<DynamoStore> {
    let config = dynamodb::emulator_config(&endpoint()).await;
    let table = format!("fd-book-{}", new_id());
    dynamodb::bootstrap_table(&aws_sdk_dynamodb::Client::new(&config), &table).await.unwrap();
    Arc::new(match counter {
        Some(counter) => DynamoStore::with_counter(&config, &table, counter),
        None => DynamoStore::new(dynamodb::dynamodb_client(&config, None), &table),
    })
}

#[tokio::test]
async fn warm_books_answer_as_fresh_ones_on_sqlite() {
    for seed in [1, 2, 3] {
        warm_books_answer_as_fresh_ones(Arc::new(SqliteStore::in_memory().unwrap()), seed).await;
    }
}

#[tokio::test]
async fn warm_books_answer_as_fresh_ones_on_dynamodb() {
    for seed in [1, 2] {
        warm_books_answer_as_fresh_ones(dynamo_store(None).await, seed).await;
    }
}

#[tokio::test]
async fn a_warm_search_on_dynamodb_is_one_request() {
    let counter = CallCounter::new();
    let store: Arc<dyn Store> = dynamo_store(Some(&counter)).await;
    let company = company(&*store).await;
    let (europe, america) = (&company.directories[0], &company.directories[1]);
    let report = UserRecord::new(doc("report@example.com", "Ada Lovelace", Some("Grace Hopper"), "Engineer", true));
    store.create_user(&europe.1, &report).await.unwrap();
    let warm = web(&store);
    let mut measured: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();

    counter.reset();
    let (_, body) = get(&warm, "/api/contacts?q=ada", &company.cookie).await;
    assert_eq!(body["total"], 1);
    measured.insert("1 first search (cold book)", counter.snapshot());

    for (name, query) in [("2 warm search", "/api/contacts?q=a"), ("3 warm facets", "/api/facets?q=a")] {
        counter.reset();
        let (status, _) = get(&warm, query, &company.cookie).await;
        assert_eq!(status, 200);
        assert_eq!(counter.snapshot(), BTreeMap::from([("BatchGetItem".to_string(), 1)]), "{name}: one request");
        measured.insert(name, counter.snapshot());
    }

    // A write in the other directory: the next search reads that one user again, by id, and links the manager.
    let grace = UserRecord::new(doc("grace@example.com", "Grace Hopper", None, "Director", true));
    store.create_user(&america.1, &grace).await.unwrap();
    let manager_in_europe = UserRecord::new(doc("grace2@example.com", "Grace Hopper", None, "Director", true));
    counter.reset();
    let (_, body) = get(&warm, "/api/contacts?q=grace", &company.cookie).await;
    assert_eq!(body["total"], 1);
    assert_eq!(counter.snapshot(), BTreeMap::from([("BatchGetItem".to_string(), 2)]), "the write costs one more");
    // Items: the shards that exist, the session and its user, then Grace alone.
    let items = counter.items_read("BatchGetItem");
    assert!(items <= 16 * 2 + 3 + 1 + 1, "{items} items");
    measured.insert("4 search after one write", counter.snapshot());
    store.create_user(&europe.1, &manager_in_europe).await.unwrap();
    let (_, ada) = get(&warm, &format!("/api/contacts/{}", report.id), &company.cookie).await;
    assert_eq!(
        ada["manager"]["id"],
        json!(manager_in_europe.id),
        "linked in its own directory once its manager exists"
    );

    // More writes to one user than its shard remembers: the next search reads that shard again.
    let mut current = report.clone();
    for i in 0..12 {
        let next =
            current.successor(doc("report@example.com", "Ada Lovelace", Some("Grace Hopper"), TITLES[i % 3], true));
        store.replace_user(&europe.1, &current, &next).await.unwrap();
        current = next;
    }
    counter.reset();
    let (_, body) = get(&warm, "/api/contacts?q=ada", &company.cookie).await;
    assert_eq!(body["contacts"][0]["title"], json!(TITLES[11 % 3]));
    let snapshot = counter.snapshot();
    assert_eq!(snapshot.get("Query"), Some(&1), "one shard read again: {snapshot:?}");
    measured.insert("5 search after 12 writes to one user", snapshot);

    let all: u64 =
        measured.values().flat_map(|m| m.iter()).filter(|(op, _)| op.as_str() == "Scan").map(|(_, n)| n).sum();
    assert_eq!(all, 0, "never a Scan");
    println!("\nDynamoDB requests per address-book request (moto):");
    for (name, calls) in &measured {
        println!("  {name:40} {calls:?}");
    }
}
