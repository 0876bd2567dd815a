//! The DynamoDB store against moto: the shared store contract, the call budget of each operation, concurrency,
//! and the bootstrap helpers.
//!
//! Needs a moto server whose URL is in `FD_TEST_AWS_ENDPOINT`; without it every test fails (never skips):
//!
//! ```sh
//! eval "$(infra/scripts/moto.sh start)"
//! cargo test -p fd-shared --features contract-tests --test dynamodb_contract
//! infra/scripts/moto.sh stop
//! ```
//!
//! All tests of one process share one table, `fd-contract-<random>`; each test uses fresh random directories.
#![cfg(feature = "dynamodb")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::auth::{Credential, Pepper, issue_key, new_id};
use fd_shared::scim::schema::USER_SCHEMA;
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::store::dynamodb::{self, CallCounter, DynamoStore};
use fd_shared::store::{AdminStore, Directory, SignInStore, Store, StoreError, UserStore};
use fd_shared::time::now_unix;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn endpoint() -> String {
    match std::env::var("FD_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "FD_TEST_AWS_ENDPOINT is not set. These tests run against a local moto server: use the project's test \
             script, or run `eval \"$(infra/scripts/moto.sh start)\"` first (and `infra/scripts/moto.sh stop` after)."
        ),
    }
}

/// The table shared by every test of this process.
fn table() -> &'static str {
    static TABLE: OnceLock<String> = OnceLock::new();
    TABLE.get_or_init(|| format!("fd-contract-{}", new_id()))
}

/// A store on the shared table (created on first use), with its own client: each test has its own runtime.
async fn store_counting(counter: Option<&CallCounter>) -> DynamoStore {
    let config = dynamodb::emulator_config(&endpoint()).await;
    let client = dynamodb::dynamodb_client(&config, counter);
    dynamodb::bootstrap_table(&client, table()).await.expect("bootstrap the test table");
    DynamoStore::new(client, table())
}

async fn store() -> DynamoStore {
    store_counting(None).await
}

mod contract {
    use std::sync::Arc;

    fd_shared::store_contract_tests!(async { Arc::new(super::store().await) as Arc<dyn fd_shared::store::Store> });
}

mod scim_contract {
    use std::sync::Arc;

    fd_shared::scim_contract_tests!(async { Arc::new(super::store().await) as Arc<dyn fd_shared::store::Store> });
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

fn pepper() -> Pepper {
    Pepper::new(b"dynamodb-test-pepper-0123456789abcdefgh".to_vec()).unwrap()
}

async fn tenant(store: &dyn Store) -> Credential {
    let directory = Directory {
        id: new_id(),
        name: "DynamoDB tests".into(),
        created: fd_shared::time::now_rfc3339(),
        company: None,
    };
    store.create_directory(&directory).await.unwrap();
    let issued = issue_key(&directory.id, "tests", &pepper());
    store.create_key(&issued.record).await.unwrap();
    Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper()).unwrap()
}

fn doc(user_name: &str, external_id: Option<&str>) -> UserDoc {
    let mut body = json!({"schemas": [USER_SCHEMA], "userName": user_name, "displayName": "Test User"});
    if let Some(e) = external_id {
        body["externalId"] = json!(e);
    }
    UserDoc::from_request(body).unwrap()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Runs `f` and returns the calls it made, checking the SDK made no retries of its own.
macro_rules! measured {
    ($counter:expr, $f:expr) => {{
        $counter.reset();
        let out = $f.await;
        let calls = $counter.snapshot();
        for (op, n) in &calls {
            assert_eq!($counter.attempts(op), *n, "{op}: unexpected SDK retries");
        }
        (out, calls)
    }};
}

// ---------------------------------------------------------------------------------------------------------------
// DynamoDB-specific tests
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn call_budget_per_operation() {
    let counter = CallCounter::new();
    let store = store_counting(Some(&counter)).await;
    let cred = tenant(&store).await;

    let v1 = UserRecord::new(doc("budget@example.com", Some("ext-budget")));
    let (r, calls) = measured!(counter, store.create_user(&cred, &v1));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "create_user");

    let (r, calls) = measured!(counter, store.get_user(&cred, &v1.id));
    assert_eq!(r.unwrap(), v1);
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "get_user");

    let (r, calls) = measured!(counter, store.find_user_by_user_name(&cred, "BUDGET@example.com"));
    assert_eq!(r.unwrap(), Some(v1.clone()));
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "find_user_by_user_name");

    let v2 = v1.successor(doc("budget@example.com", Some("ext-budget")));
    let (r, calls) = measured!(counter, store.replace_user(&cred, &v1, &v2));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "replace_user");

    let v3 = v2.successor(doc("renamed@example.com", None));
    let (r, calls) = measured!(counter, store.replace_user(&cred, &v2, &v3));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "replace_user with rename");

    let (r, calls) = measured!(counter, store.authorize(&cred));
    r.unwrap();
    assert_eq!(calls, counts(&[("GetItem", 1)]), "authorize");

    let (r, calls) = measured!(counter, store.find_users_by_external_id(&cred, "ext-budget"));
    assert!(r.unwrap().is_empty());
    assert_eq!(calls, counts(&[("GetItem", 1), ("Query", 1)]), "find_users_by_external_id");

    let (r, calls) = measured!(counter, store.list_users(&cred, 1, 10, now_unix()));
    assert_eq!(r.unwrap().total, 1);
    assert_eq!(calls, counts(&[("GetItem", 1), ("Query", 2)]), "list_users (key, counter, one page)");
    // A full page remembers where the next one starts; the next page continues from there.
    let (r, calls) = measured!(counter, store.list_users(&cred, 1, 1, now_unix()));
    assert_eq!(r.unwrap().users.len(), 1);
    assert_eq!(calls, counts(&[("GetItem", 1), ("PutItem", 1), ("Query", 2)]), "list_users, full first page");
    let (r, calls) = measured!(counter, store.list_users(&cred, 2, 1, now_unix()));
    assert!(r.unwrap().users.is_empty());
    assert_eq!(calls, counts(&[("BatchGetItem", 1), ("Query", 2)]), "list_users, continued (key + continuation)");
    let (r, calls) = measured!(counter, store.list_users_after(&cred, None, 10));
    assert_eq!(r.unwrap().users.len(), 1);
    assert_eq!(calls, counts(&[("GetItem", 1), ("Query", 2)]), "list_users_after (key, counter, one page)");

    let (r, calls) = measured!(counter, store.delete_user(&cred, &v3));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "delete_user");

    // Failures cost no more than successes.
    let (r, calls) = measured!(counter, store.get_user(&cred, &v3.id));
    assert!(matches!(r, Err(StoreError::NotFound)));
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "get_user of a deleted user");
    let wrong = Credential { hash: pepper().hash("wrong secret wrong secret wrong secret"), ..cred.clone() };
    let (r, calls) = measured!(counter, store.create_user(&wrong, &UserRecord::new(doc("x@example.com", None))));
    assert!(matches!(r, Err(StoreError::Unauthorized)));
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "create_user with a wrong secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replace_with_stale_version_conflicts() {
    let store = store().await;
    let cred = tenant(&store).await;
    let v1 = UserRecord::new(doc("race@example.com", None));
    store.create_user(&cred, &v1).await.unwrap();

    let left = v1.successor(doc("race@example.com", Some("left")));
    let right = v1.successor(doc("race-renamed@example.com", Some("right")));
    let (a, b) = {
        let (s1, s2, c1, c2, p1, p2) =
            (store.clone(), store.clone(), cred.clone(), cred.clone(), v1.clone(), v1.clone());
        let (l, r) = (left.clone(), right.clone());
        let a = tokio::spawn(async move { s1.replace_user(&c1, &p1, &l).await });
        let b = tokio::spawn(async move { s2.replace_user(&c2, &p2, &r).await });
        (a.await.unwrap(), b.await.unwrap())
    };
    let winner = match (a, b) {
        (Ok(()), Err(StoreError::VersionConflict)) => left,
        (Err(StoreError::VersionConflict), Ok(())) => right,
        other => panic!("exactly one writer must win, the other get VersionConflict: {other:?}"),
    };
    assert_eq!(store.get_user(&cred, &v1.id).await.unwrap(), winner);
    // The loser's userName claim was not written.
    let names = ["race@example.com", "race-renamed@example.com"];
    for name in names {
        let found = store.find_user_by_user_name(&cred, name).await.unwrap();
        assert_eq!(found.is_some(), winner.doc.user_name() == name, "{name}");
    }
    // Replaying the stale version later also conflicts.
    let late = v1.successor(doc("late@example.com", None));
    assert!(matches!(store.replace_user(&cred, &v1, &late).await, Err(StoreError::VersionConflict)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_claim_a_user_name_once_and_count_exactly() {
    let store = store().await;
    let cred = tenant(&store).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, cred) = (store.clone(), cred.clone());
        // Two creators per name, in different cases.
        let name = if i % 2 == 0 { format!("same{}@example.com", i / 2) } else { format!("SAME{}@example.com", i / 2) };
        tasks.push(tokio::spawn(async move { store.create_user(&cred, &UserRecord::new(doc(&name, None))).await }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::UserNameTaken) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(created, 4);
    let page = store.list_users(&cred, 1, 100, now_unix()).await.unwrap();
    assert_eq!((page.total, page.users.len()), (4, 4));
}

#[tokio::test]
async fn long_user_names_and_external_ids_are_keyed_by_digest() {
    let store = store().await;
    let cred = tenant(&store).await;
    let long_name = format!("{}@example.com", "a".repeat(2000));
    let long_ext = "x".repeat(3000);
    let user = UserRecord::new(doc(&long_name, Some(&long_ext)));
    store.create_user(&cred, &user).await.unwrap();
    let twin = UserRecord::new(doc(&long_name.to_uppercase(), None));
    assert!(matches!(store.create_user(&cred, &twin).await, Err(StoreError::UserNameTaken)));
    assert_eq!(store.find_user_by_user_name(&cred, &long_name.to_uppercase()).await.unwrap(), Some(user.clone()));
    assert_eq!(store.find_users_by_external_id(&cred, &long_ext).await.unwrap(), vec![user.clone()]);
    // An id too long to be a key is simply not found, after the credential check.
    let long_id = "i".repeat(5000);
    assert!(matches!(store.get_user(&cred, &long_id).await, Err(StoreError::NotFound)));
    let wrong = Credential { key_id: new_id(), ..cred.clone() };
    assert!(matches!(store.get_user(&wrong, &long_id).await, Err(StoreError::Unauthorized)));
}

#[tokio::test]
async fn list_users_skips_across_pages() {
    let counter = CallCounter::new();
    let store = store_counting(Some(&counter)).await;
    let cred = tenant(&store).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let user = UserRecord::new(doc(&format!("page{i}@example.com"), None));
        store.create_user(&cred, &user).await.unwrap();
        ids.push(user.id);
    }
    ids.sort();
    let page = store.list_users(&cred, 5, 4, now_unix()).await.unwrap();
    assert_eq!(page.total, 12);
    assert_eq!(page.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), ids[4..8].to_vec());
    let past_end = store.list_users(&cred, 13, 4, now_unix()).await.unwrap();
    assert_eq!((past_end.total, past_end.users.len()), (12, 0));
    // start_index 0 reads as 1.
    let first = store.list_users(&cred, 0, 2, now_unix()).await.unwrap();
    assert_eq!(first.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), ids[..2].to_vec());
}

/// A sequential `startIndex` walk reads each user item once: the items read grow linearly with the directory, not
/// quadratically as skipping would. Items are counted from the responses (`ScannedCount` of `Query`, items returned
/// by `GetItem`/`BatchGetItem`), by the store's `CallCounter`.
#[cfg(feature = "contract-tests")]
#[tokio::test]
async fn index_walks_read_items_linearly() {
    const USERS: usize = 1000;
    const COUNT: u64 = 100;
    let counter = CallCounter::new();
    // A table of its own: moto copies a whole table per transaction, and this one gets large.
    let config = dynamodb::emulator_config(&endpoint()).await;
    let client = dynamodb::dynamodb_client(&config, Some(&counter));
    let table = format!("fd-walk-{}", new_id());
    dynamodb::bootstrap_table(&client, &table).await.unwrap();
    let store = DynamoStore::new(client, table);
    let cred = tenant(&store).await;
    let users: Vec<UserRecord> =
        (0..USERS).map(|i| UserRecord::new(doc(&format!("walk{i}@example.com"), None))).collect();
    store.seed_users(&cred.directory, &users).await.unwrap();
    let mut ids: Vec<String> = users.into_iter().map(|u| u.id).collect();
    ids.sort();

    let now = now_unix();
    counter.reset();
    let (mut walked, mut pages, mut start) = (Vec::new(), 0u64, 1u64);
    loop {
        let before = counter.items_read_total();
        let page = store.list_users(&cred, start, COUNT, now).await.unwrap();
        pages += 1;
        let read = counter.items_read_total() - before;
        // Per page: the users served, the key item, the continuation item and the counter shards; never the users
        // before startIndex.
        assert!(read <= COUNT + 2 + u64::from(dynamodb::COUNTER_SHARDS), "page at {start} read {read} items");
        assert_eq!(page.total, USERS as u64);
        walked.extend(page.users.iter().map(|u| u.id.clone()));
        if (page.users.len() as u64) < COUNT {
            break;
        }
        start += COUNT;
    }
    assert_eq!(walked, ids, "every user once, in order");
    let total = counter.items_read_total();
    println!("{USERS} users, count={COUNT}: {pages} pages, {total} items read");
    assert!(total as f64 <= 1.2 * USERS as f64 + pages as f64, "{total} items read for {USERS} users");
    assert_eq!(counter.get("PutItem"), pages - 1, "one continuation per full page");

    // The same walk without continuations (each page's expired) skips by counting: quadratic.
    counter.reset();
    let mut start = 1;
    for page in 0..(USERS as u64 / COUNT) {
        let later = now + (page as i64 + 1) * (fd_shared::store::CONTINUATION_TTL_SECS + 1);
        assert_eq!(store.list_users(&cred, start, COUNT, later).await.unwrap().users.len() as u64, COUNT);
        start += COUNT;
    }
    let cold = counter.items_read_total();
    println!("the same walk from cold indexes: {cold} items read");
    assert!(cold > 4 * USERS as u64, "{cold}");
}

#[tokio::test]
async fn bootstrap_creates_the_table_as_the_template_does_and_is_idempotent() {
    let config = dynamodb::emulator_config(&endpoint()).await;
    let client = dynamodb::dynamodb_client(&config, None);
    let name = format!("fd-bootstrap-{}", new_id());
    assert!(dynamodb::bootstrap_table(&client, &name).await.unwrap());
    assert!(!dynamodb::bootstrap_table(&client, &name).await.unwrap());

    let table = client.describe_table().table_name(&name).send().await.unwrap().table.unwrap();
    let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map(|m| m.as_str().to_string());
    assert_eq!(billing.as_deref(), Some("PAY_PER_REQUEST"));
    let lsi = table.local_secondary_indexes();
    assert_eq!(lsi.len(), 1);
    assert_eq!(lsi[0].index_name(), Some(dynamodb::EXTERNAL_ID_INDEX));
    assert_eq!(lsi[0].projection().and_then(|p| p.projection_type()).map(|p| p.as_str()), Some("ALL"));
    assert_eq!(table.sse_description().and_then(|s| s.status()).map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(table.deletion_protection_enabled(), Some(true));

    let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(dynamodb::TTL_ATTRIBUTE));
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));

    let backups = client.describe_continuous_backups().table_name(&name).send().await.unwrap();
    let pitr = backups.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    assert_eq!(pitr.and_then(|p| p.point_in_time_recovery_status()).map(|s| s.as_str()), Some("ENABLED"));
}

#[tokio::test]
async fn bootstrap_refuses_a_table_without_the_index() {
    let config = dynamodb::emulator_config(&endpoint()).await;
    let client = dynamodb::dynamodb_client(&config, None);
    let name = format!("fd-noindex-{}", new_id());
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .unwrap();
    let err = dynamodb::bootstrap_table(&client, &name).await.unwrap_err();
    assert!(matches!(&err, StoreError::Backend(m) if m.contains(dynamodb::EXTERNAL_ID_INDEX)), "{err}");
}

#[tokio::test]
async fn pepper_secret_is_created_once_and_loads() {
    let config = dynamodb::emulator_config(&endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let id = format!("fd-pepper-{}", new_id());
    assert!(dynamodb::bootstrap_secret(&secrets, &id, "test secret").await.unwrap());
    let first = dynamodb::load_pepper(&secrets, &id).await.unwrap();
    assert!(!dynamodb::bootstrap_secret(&secrets, &id, "test secret").await.unwrap());
    let again = dynamodb::load_pepper(&secrets, &id).await.unwrap();
    // Same secret, same keyed hashes.
    assert!(first.hash("secret").matches(&again.hash("secret")));
    assert!(matches!(dynamodb::load_pepper(&secrets, "fd-no-such-secret").await, Err(StoreError::Backend(_))));
}

#[tokio::test]
async fn unreachable_endpoint_is_unavailable() {
    // A port nothing listens on: connection refused is a transient outage, not a backend fault.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = dynamodb::emulator_config(&format!("http://127.0.0.1:{port}")).await;
    let store = DynamoStore::new(dynamodb::dynamodb_client(&config, None), "fd-unreachable");
    let cred = Credential { directory: new_id(), key_id: new_id(), hash: pepper().hash("x") };
    let err = store.authorize(&cred).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}

/// `aws_config()` (what the Lambda functions use) reads the endpoint, region and credentials from the standard
/// environment and reaches moto over its rustls/ring client. Run in a child process, so this process's environment
/// is never modified.
#[tokio::test]
async fn production_config_honours_aws_endpoint_url() {
    const CHILD: &str = "FD_TEST_CONFIG_CHILD";
    let endpoint = endpoint();
    if std::env::var_os(CHILD).is_some() {
        let config = dynamodb::aws_config().await;
        assert_eq!(config.endpoint_url(), Some(endpoint.as_str()));
        let client = aws_sdk_dynamodb::Client::new(&config);
        client.list_tables().send().await.expect("ListTables through aws_config()");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "production_config_honours_aws_endpoint_url", "--test-threads=1"])
        .env(CHILD, "1")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Display-name index (manager links)
// ---------------------------------------------------------------------------------------------------------------

fn named(user_name: &str, display_name: &str) -> UserDoc {
    UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "userName": user_name, "displayName": display_name}))
        .unwrap()
}

#[tokio::test]
async fn display_name_lookups_cost_one_batch_read() {
    let counter = CallCounter::new();
    let store = store_counting(Some(&counter)).await;
    let cred = tenant(&store).await;
    let charles = UserRecord::new(named("charles@example.com", "Charles Babbage"));
    let (r, calls) = measured!(counter, store.create_user(&cred, &charles));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "create_user (index entry in the same transaction)");

    let (r, calls) = measured!(counter, store.find_user_ids_by_display_name(&cred, "charles babbage", 2));
    assert_eq!(r.unwrap(), vec![charles.id.clone()]);
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "find_user_ids_by_display_name");

    let (r, calls) = measured!(counter, store.get_user_and_display_name_ids(&cred, &charles.id, "Charles Babbage", 2));
    assert_eq!(r.unwrap(), (charles.clone(), vec![charles.id.clone()]));
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "get_user_and_display_name_ids");

    let renamed = charles.successor(named("charles@example.com", "Lord Babbage"));
    let (r, calls) = measured!(counter, store.replace_user(&cred, &charles, &renamed));
    r.unwrap();
    assert_eq!(calls, counts(&[("TransactWriteItems", 1)]), "replace_user moving the index entry");

    let wrong = Credential { hash: pepper().hash("wrong secret wrong secret wrong secret"), ..cred.clone() };
    let (r, calls) = measured!(counter, store.find_user_ids_by_display_name(&wrong, "Lord Babbage", 2));
    assert!(matches!(r, Err(StoreError::Unauthorized)));
    assert_eq!(calls, counts(&[("BatchGetItem", 1)]), "find_user_ids_by_display_name with a wrong secret");
}

#[tokio::test]
async fn reindex_backfills_users_written_before_the_index() {
    let store = store().await;
    let cred = tenant(&store).await;
    let mut users = Vec::new();
    // More than one transaction's worth, several sharing a name.
    for i in 0..50 {
        let user = UserRecord::new(named(&format!("u{i}@example.com"), &format!("Name {}", i % 20)));
        store.create_user(&cred, &user).await.unwrap();
        users.push(user);
    }
    // As before the index existed: no display-name items.
    for i in 0..20 {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("DIR#{}", cred.directory)))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("DNAME#name {i}")))
            .send()
            .await
            .unwrap();
    }
    assert!(store.find_user_ids_by_display_name(&cred, "Name 3", 5).await.unwrap().is_empty());

    let read = store.scan_users(&cred, None, 100).await.unwrap();
    // One user changes after the read: it is skipped, its own write indexed it.
    let changed = read.iter().find(|u| u.doc.display_name() == "Name 3").unwrap().clone();
    let next = changed.successor(named(changed.doc.user_name(), "Renamed Meanwhile"));
    store.replace_user(&cred, &changed, &next).await.unwrap();

    assert_eq!(store.reindex_display_names(&cred, &read).await.unwrap(), 49);
    let mut expected: Vec<String> =
        users.iter().filter(|u| u.doc.display_name() == "Name 3" && u.id != changed.id).map(|u| u.id.clone()).collect();
    expected.sort();
    assert_eq!(store.find_user_ids_by_display_name(&cred, "NAME 3", 5).await.unwrap(), expected);
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Renamed Meanwhile", 5).await.unwrap(), vec![changed.id]);
    assert_eq!(store.find_user_ids_by_display_name(&cred, "name 19", 5).await.unwrap().len(), 2);
}

/// A directory item written before companies existed (no `company` attribute) is a company of its own.
#[tokio::test]
async fn directories_written_before_companies_are_companies_of_their_own() {
    let store = store().await;
    let id = new_id();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("DIRECTORY".into()))
        .item("sk", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
        .item("name", aws_sdk_dynamodb::types::AttributeValue::S("Old corp".into()))
        .item("created", aws_sdk_dynamodb::types::AttributeValue::S("2025-01-01T00:00:00Z".into()))
        .send()
        .await
        .unwrap();
    let directory = fd_shared::store::AdminStore::get_directory(&store, &id).await.unwrap().unwrap();
    assert_eq!((directory.company.as_deref(), directory.company_key()), (None, id.clone()));
    let company = fd_shared::store::AdminStore::get_company(&store, &id).await.unwrap().unwrap();
    assert_eq!((company.short_name, company.name), (id, "Old corp".to_string()));
}

/// Moves a user's claim back where the release before the identity rule kept it: under the lowercase name.
async fn as_before_the_identity_rule(directory: &str, user_name: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let client = dynamodb::dynamodb_client(&dynamodb::emulator_config(&endpoint()).await, None);
    let pk = S(format!("DIR#{directory}"));
    let identity = S(format!("UNAME#{}", fd_shared::scim::user::user_name_key(user_name)));
    let claim = client
        .get_item()
        .table_name(table())
        .key("pk", pk.clone())
        .key("sk", identity.clone())
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the claim under the identity key");
    let mut legacy = claim;
    legacy.insert("sk".into(), S(format!("UNAME#{}", user_name.to_lowercase())));
    client.put_item().table_name(table()).set_item(Some(legacy)).send().await.unwrap();
    client.delete_item().table_name(table()).key("pk", pk).key("sk", identity).send().await.unwrap();
}

/// Users written before the identity rule keep their claims under the lowercase name: they are still found and
/// still unique, a PUT moves the claim, and `migrate_user_names` moves the others.
#[tokio::test]
async fn claims_from_before_the_identity_rule_are_found_and_migrated() {
    let store = store().await;
    let cred = tenant(&store).await;
    let strasse = UserRecord::new(doc("Straße@example.com", None));
    let jose = UserRecord::new(doc("Jose\u{301}@example.com", None));
    for user in [&strasse, &jose] {
        store.create_user(&cred, user).await.unwrap();
        as_before_the_identity_rule(&cred.directory, user.doc.user_name()).await;
    }
    let found = |name: &'static str| {
        let (store, cred) = (&store, &cred);
        async move { store.find_user_by_user_name(cred, name).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(found("STRAßE@example.com").await, Some(strasse.id.clone()), "found under its old claim");
    assert_eq!(
        store.sign_in_user(&cred.directory, "straße@EXAMPLE.com").await.unwrap().map(|u| u.id),
        Some(strasse.id.clone())
    );
    let again = UserRecord::new(doc("straße@example.com", None));
    assert!(matches!(store.create_user(&cred, &again).await, Err(StoreError::UserNameTaken)), "and still unique");

    // A PUT moves its claim to the identity key.
    let jose2 = jose.successor(doc("Jose\u{301}@example.com", Some("e1")));
    store.replace_user(&cred, &jose, &jose2).await.unwrap();
    assert_eq!(found("JOS\u{c9}@example.com").await, Some(jose.id.clone()), "composed finds it now");
    let migration = store.migrate_user_names(&cred.directory).await.unwrap();
    assert_eq!((migration.checked, migration.moved, migration.conflicts.len()), (2, 1, 0), "only Straße was left");
    assert_eq!(found("STRASSE@example.com").await, Some(strasse.id.clone()), "every spelling of the identity");
    let twice = store.migrate_user_names(&cred.directory).await.unwrap();
    assert_eq!((twice.moved, twice.conflicts.len()), (0, 0), "idempotent");
    let look_alike = UserRecord::new(doc("strasse@example.com", None));
    assert!(matches!(store.create_user(&cred, &look_alike).await, Err(StoreError::UserNameTaken)));
}
