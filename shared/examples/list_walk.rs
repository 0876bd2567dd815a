//! Items DynamoDB reads for an Okta-style import walk (`GET /Users?startIndex=1&count=100`, then 101, 201, ...),
//! against a moto server: once continuing each page from the previous one (what the store does), once with every
//! continuation expired (what skipping to each `startIndex` costs). Prints the items read per page and in total.
//!
//! ```sh
//! bench/list-walk.sh                 # starts moto if needed; 10,000 users, count=100
//! USERS=1000 COUNT=50 bench/list-walk.sh
//! COLD=0 bench/list-walk.sh          # the continued walk only (the cold one takes moto about 20 minutes)
//! ```
//!
//! Items are counted from DynamoDB's responses by the store's `CallCounter`: `ScannedCount` of each `Query` (the
//! users skipped by `Select COUNT` included) and the items `GetItem`/`BatchGetItem` return.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failure is the report

use fd_shared::auth::{Credential, Pepper, issue_key, new_id};
use fd_shared::scim::schema::USER_SCHEMA;
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::store::dynamodb::{self, CallCounter, DynamoStore};
use fd_shared::store::{AdminStore, CONTINUATION_TTL_SECS, Directory, UserStore};
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Walks the directory in pages of `count`, each page at the instant `at(page number)`; returns the items read per
/// page.
async fn walk(
    store: &DynamoStore,
    counter: &CallCounter,
    cred: &Credential,
    count: u64,
    at: impl Fn(u64) -> i64,
) -> Vec<u64> {
    let mut per_page = Vec::new();
    let mut start = 1;
    loop {
        counter.reset();
        let page = store.list_users(cred, start, count, at(per_page.len() as u64)).await.unwrap();
        per_page.push(counter.items_read_total());
        if (page.users.len() as u64) < count {
            return per_page;
        }
        start += count;
    }
}

fn report(label: &str, users: u64, count: u64, per_page: &[u64]) {
    println!("\n{label}:");
    println!("  {:>6} {:>11} {:>11}", "page", "startIndex", "items read");
    for (i, items) in per_page.iter().enumerate() {
        println!("  {:>6} {:>11} {:>11}", i + 1, i as u64 * count + 1, items);
    }
    let total: u64 = per_page.iter().sum();
    println!(
        "  total: {total} items read for {users} users in {} pages ({:.2} per user)",
        per_page.len(),
        total as f64 / users.max(1) as f64
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let endpoint = std::env::var("FD_TEST_AWS_ENDPOINT")
        .expect("FD_TEST_AWS_ENDPOINT is not set: run bench/list-walk.sh, or eval \"$(infra/scripts/moto.sh start)\"");
    let users = env_number("USERS", 10_000);
    let count = env_number("COUNT", 100);

    let counter = CallCounter::new();
    let config = dynamodb::emulator_config(&endpoint).await;
    let client = dynamodb::dynamodb_client(&config, Some(&counter));
    let table = format!("fd-list-walk-{}", new_id());
    dynamodb::bootstrap_table(&client, &table).await.unwrap();
    let store = DynamoStore::new(client, table);

    let pepper = Pepper::new(b"list-walk-benchmark-pepper-0123456789".to_vec()).unwrap();
    let directory =
        Directory { id: new_id(), name: "List walk".into(), created: fd_shared::time::now_rfc3339(), company: None };
    store.create_directory(&directory).await.unwrap();
    let issued = issue_key(&directory.id, "bench", &pepper);
    store.create_key(&issued.record).await.unwrap();
    let cred = Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper).unwrap();

    eprintln!("seeding {users} users...");
    let records: Vec<UserRecord> = (0..users)
        .map(|i| {
            let doc = json!({"schemas": [USER_SCHEMA], "userName": format!("user{i}@example.com"),
                             "displayName": format!("User {i}"), "active": true});
            UserRecord::new(UserDoc::from_request(doc).unwrap())
        })
        .collect();
    store.seed_users(&directory.id, &records).await.unwrap();

    let now = fd_shared::time::now_unix();
    let continued = walk(&store, &counter, &cred, count, |_| now).await;
    report(
        &format!("Sequential walk, each page continuing the previous one (count={count})"),
        users,
        count,
        &continued,
    );
    if env_number("COLD", 1) == 0 {
        return;
    }
    // Each page later than the previous page's continuation lives: every startIndex is cold.
    let cold = walk(&store, &counter, &cred, count, |page| now + (page as i64 + 1) * (CONTINUATION_TTL_SECS + 1)).await;
    report(&format!("The same walk with every continuation expired (count={count})"), users, count, &cold);
}
