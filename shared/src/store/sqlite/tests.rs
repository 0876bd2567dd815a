//! Migrations and file sharing of the SQLite store.

use super::SqliteStore;
use std::sync::Arc;

crate::store_contract_tests!(async { Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn crate::store::Store> });

mod scim {
    use super::*;
    crate::scim_contract_tests!(async { Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn crate::store::Store> });
}

#[test]
fn a_statement_with_a_bound_limit_is_prepared_once() {
    let store = SqliteStore::in_memory().unwrap();
    let conn = store.lock();
    for limit in [1, 2, 5, 2] {
        super::user_ids_by_display_name(&conn, "directory", "Charles Babbage", limit).unwrap();
    }
    let statement = conn.prepare_cached(super::USER_IDS_BY_DISPLAY_NAME).unwrap();
    assert_eq!(statement.get_status(rusqlite::StatementStatus::RePrepare), 0);
}

#[test]
fn new_users_get_time_ordered_ids() {
    use crate::store::UserStore;
    let store = SqliteStore::in_memory().unwrap();
    let first = store.new_user_id();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let second = store.new_user_id();
    for id in [&first, &second] {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version(), Some(uuid::Version::SortRand), "{id}");
    }
    assert!(first < second, "{first} {second}");
}

#[tokio::test]
async fn version_1_databases_get_the_display_name_index() {
    use crate::store::{AdminStore, UserStore};
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let directory = crate::auth::new_id();
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(&super::SCHEMA.replace("    display_name_key TEXT,\n", "")).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute("INSERT INTO directories VALUES (?1, 'Old', '2025-01-01T00:00:00Z')", [&directory]).unwrap();
        old.execute(
            "INSERT INTO users (directory, id, user_name_key, version, created, last_modified, doc)
                 VALUES (?1, 'u1', 'charles', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', ?2)",
            rusqlite::params![directory, r#"{"userName": "charles", "displayName": "Charles BABBAGE"}"#],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let pepper = crate::auth::Pepper::new(vec![7; 32]).unwrap();
    let issued = crate::auth::issue_key(&directory, "test", &pepper);
    store.create_key(&issued.record).await.unwrap();
    let header = format!("Bearer {}", issued.token);
    let cred = crate::auth::Credential::from_authorization(Some(&header), &pepper).unwrap();
    assert_eq!(store.find_user_ids_by_display_name(&cred, "charles babbage", 2).await.unwrap(), ["u1"]);
    drop(store);
    // Opening again finds the column in place.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await.unwrap(), ["u1"]);
    let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, super::SCHEMA_VERSION);
    drop(store);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn two_connections_share_one_file() {
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let admin = SqliteStore::open(&path).unwrap();
    let server = SqliteStore::open(&path).unwrap();
    crate::store::contract::shared_between_handles(&admin, &server).await;
    std::fs::remove_dir_all(dir).ok();
}

/// A database written before companies existed: its directories are companies of their own, found by id, and new
/// companies can be created beside them.
#[tokio::test]
async fn version_2_databases_get_companies() {
    use crate::store::AdminStore;
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let directory = crate::auth::new_id();
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        let companies = super::SCHEMA.find("CREATE TABLE IF NOT EXISTS directories").unwrap();
        old.execute_batch(&super::SCHEMA[companies..]).unwrap();
        old.pragma_update(None, "user_version", 2).unwrap();
        old.execute("INSERT INTO directories VALUES (?1, 'Old corp', '2025-01-01T00:00:00Z')", [&directory]).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = store.get_directory(&directory).await.unwrap().unwrap();
    assert_eq!(old.company, None);
    assert_eq!(old.company_key(), directory);
    let company = store.get_company(&directory).await.unwrap().unwrap();
    assert_eq!(company.name, "Old corp");
    let acme = crate::store::Company {
        short_name: "acme".into(),
        name: "Acme".into(),
        created: "2026-01-01T00:00:00Z".into(),
    };
    store.create_company(&acme).await.unwrap();
    let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, super::SCHEMA_VERSION);
    drop(store);
    std::fs::remove_dir_all(dir).ok();
}

/// A database written before the identity rule: userNames keyed by their lowercase form move to their identity
/// key when it is opened; a look-alike of an existing user keeps its old key and is listed.
#[tokio::test]
async fn version_4_databases_key_user_names_by_identity() {
    use crate::scim::user::UserRecord;
    use crate::store::contract::user;
    use crate::store::{AdminStore, SignInStore, UserStore};
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let (directory, issued, credential) = tenant("Old");
    let (strasse, street, jose) = {
        let store = SqliteStore::open(&path).unwrap();
        store.create_directory(&directory).await.unwrap();
        store.create_key(&issued.record).await.unwrap();
        let strasse = UserRecord::new(user("Straße@example.com"));
        store.create_user(&credential, &strasse).await.unwrap();
        let jose = UserRecord::new(user("Jose\u{301}@example.com"));
        store.create_user(&credential, &jose).await.unwrap();
        // As the previous release keyed them: lowercase, no folding or normalisation.
        for user in [&strasse, &jose] {
            store
                .lock()
                .execute(
                    "UPDATE users SET user_name_key = ?2 WHERE id = ?1",
                    rusqlite::params![user.id, user.doc.user_name().to_lowercase()],
                )
                .unwrap();
        }
        // Then a look-alike the previous release let in.
        let street = UserRecord::new(user("STRASSE@example.com"));
        store.create_user(&credential, &street).await.unwrap();
        store.lock().pragma_update(None, "user_version", 4).unwrap();
        (strasse, street, jose)
    };
    let store = SqliteStore::open(&path).unwrap();
    let found = store.find_user_by_user_name(&credential, "JOS\u{c9}@example.com").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(jose.id.clone()), "composed finds decomposed");
    // Two users of one identity: the identity key is the later one's (the older kept its old key, and is listed
    // for the admin); a lookup by either spelling finds the key's holder.
    assert_eq!(
        store.sign_in_user(&directory.id, "Straße@example.com").await.unwrap().map(|u| u.id),
        Some(street.id.clone())
    );
    assert_eq!(
        store.find_user_by_user_name(&credential, "strasse@example.com").await.unwrap().map(|u| u.id),
        Some(street.id)
    );
    let migration = store.migrate_user_names(&directory.id).await.unwrap();
    assert_eq!((migration.checked, migration.moved), (3, 0));
    assert_eq!(migration.conflicts, [strasse.id]);
    let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, super::SCHEMA_VERSION);
    drop(store);
    std::fs::remove_dir_all(dir).ok();
}

/// A database written before schema 6 kept `users` as a `WITHOUT ROWID` table: opening it copies every user into
/// the rowid table, with its keys and indexes, and a second open leaves it alone.
#[tokio::test]
async fn version_5_databases_move_users_to_a_rowid_table() {
    use crate::scim::user::UserRecord;
    use crate::store::contract::user;
    use crate::store::{AdminStore, UserStore};
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let (directory, issued, credential) = tenant("Old");
    let ada = UserRecord::new(crate::store::contract::user_with("ada@example.com", Some("ext-ada")));
    let grace = UserRecord::new(user("grace@example.com"));
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        let rowid_users = "    UNIQUE (directory, id),\n    UNIQUE (directory, user_name_key)\n);";
        assert!(super::SCHEMA.contains(rowid_users));
        let schema_5 = super::SCHEMA.replace(
            rowid_users,
            "    PRIMARY KEY (directory, id),\n    UNIQUE (directory, user_name_key)\n) WITHOUT ROWID;",
        );
        old.execute_batch(&schema_5).unwrap();
        old.execute_batch(super::DISPLAY_NAME_INDEX).unwrap();
        old.execute_batch(
            "ALTER TABLE directories ADD COLUMN company TEXT REFERENCES companies(short_key);
             ALTER TABLE directories ADD COLUMN users_version INTEGER NOT NULL DEFAULT 0;",
        )
        .unwrap();
        old.pragma_update(None, "user_version", 5).unwrap();
    }
    {
        // Written through the store's own statements, before it migrates: open without the migration step.
        let old = rusqlite::Connection::open(&path).unwrap();
        let store = SqliteStore {
            connection: std::sync::Mutex::new(old),
            writes: Default::default(),
            _checkpointer: None,
            map: None,
        };
        store.create_directory(&directory).await.unwrap();
        store.create_key(&issued.record).await.unwrap();
        store.create_user(&credential, &ada).await.unwrap();
        store.create_user(&credential, &grace).await.unwrap();
        let sql: String =
            store.lock().query_row("SELECT sql FROM sqlite_schema WHERE name = 'users'", [], |r| r.get(0)).unwrap();
        assert!(sql.contains("WITHOUT ROWID"), "the old shape: {sql}");
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        let sql: String =
            store.lock().query_row("SELECT sql FROM sqlite_schema WHERE name = 'users'", [], |r| r.get(0)).unwrap();
        assert!(!sql.contains("WITHOUT ROWID"), "the rowid shape: {sql}");
        assert_eq!(store.get_user(&credential, &ada.id).await.unwrap().doc, ada.doc);
        let found = store.find_user_by_user_name(&credential, "GRACE@example.com").await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(grace.id.clone()));
        let by_external = store.find_users_by_external_id(&credential, "ext-ada").await.unwrap();
        let by_external: Vec<String> = by_external.into_iter().map(|u| u.id).collect();
        assert_eq!(by_external, std::slice::from_ref(&ada.id));
        assert_eq!(store.list_users(&credential, 1, 10, 0).await.unwrap().total, 2);
        // Still one user per userName and per id.
        let again = UserRecord::new(user("Ada@Example.com"));
        assert!(matches!(store.create_user(&credential, &again).await, Err(crate::store::StoreError::UserNameTaken)));
        let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, super::SCHEMA_VERSION);
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Every write keeps the document's render layout beside it, and a read hands it out with the text; a database
/// written before schema 7 gets the column, its users read without a layout (and render the same) until written.
#[tokio::test]
async fn version_6_databases_get_render_layouts_as_users_are_written() {
    use crate::scim::stored::RenderLayout;
    use crate::scim::user::UserRecord;
    use crate::store::contract::user;
    use crate::store::{AdminStore, UserStore};
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite3");
    let (directory, issued, credential) = tenant("Old");
    let ada = UserRecord::new(user("ada@example.com"));
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        let column = "    render_layout TEXT,\n";
        assert!(super::SCHEMA.contains(column));
        old.execute_batch(&super::SCHEMA.replace(column, "")).unwrap();
        old.execute_batch(
            "ALTER TABLE directories ADD COLUMN company TEXT REFERENCES companies(short_key);
             ALTER TABLE directories ADD COLUMN users_version INTEGER NOT NULL DEFAULT 0;",
        )
        .unwrap();
        old.execute(
            "INSERT INTO directories (id, name, created) VALUES (?1, 'Old', ?2)",
            [&directory.id, &directory.created],
        )
        .unwrap();
        old.execute(
            "INSERT INTO users (directory, id, user_name_key, version, created, last_modified, doc, display_name_key)
                 VALUES (?1, ?2, 'ada@example.com', 1, ?3, ?3, ?4, '')",
            rusqlite::params![directory.id, ada.id, ada.created, ada.doc.json_text().unwrap()],
        )
        .unwrap();
        old.pragma_update(None, "user_version", 6).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store.create_key(&issued.record).await.unwrap();
    let users_url = "https://directory.example/scim/v2/Users";
    let before = store.get_stored_user(&credential, &ada.id).await.unwrap();
    assert_eq!(before.layout, None, "written before schema 7");
    let expected = serde_json::to_string(&ada.to_scim(users_url)).unwrap();
    assert_eq!(before.render(users_url).unwrap(), expected);

    let next = ada.successor(user("ada@example.com"));
    store.replace_user(&credential, &ada, &next).await.unwrap();
    let after = store.get_stored_user(&credential, &next.id).await.unwrap();
    assert_eq!(after.layout, RenderLayout::of(next.doc.json_text().unwrap()));
    assert!(after.layout.is_some());
    assert_eq!(after.render(users_url).unwrap(), serde_json::to_string(&next.to_scim(users_url)).unwrap());

    let grace = UserRecord::new(user("grace@example.com"));
    store.create_user(&credential, &grace).await.unwrap();
    let found = store.find_stored_user_by_user_name(&credential, "GRACE@example.com").await.unwrap().unwrap();
    assert!(found.layout.is_some(), "a created user is laid out");
    let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, super::SCHEMA_VERSION);
    drop(store);
    std::fs::remove_dir_all(dir).ok();
}

/// A directory, an access key to it and the credential that key presents (nothing stored yet).
fn tenant(name: &str) -> (crate::store::Directory, crate::auth::IssuedKey, crate::auth::Credential) {
    let directory = crate::store::Directory {
        id: crate::auth::new_id(),
        name: name.into(),
        created: "2025-01-01T00:00:00Z".into(),
        company: None,
    };
    let pepper = crate::auth::Pepper::new(vec![9; 32]).unwrap();
    let issued = crate::auth::issue_key(&directory.id, "k", &pepper);
    let credential =
        crate::auth::Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper).unwrap();
    (directory, issued, credential)
}

/// A directory and a credential for it, in `store`.
async fn directory_with_key(store: &SqliteStore) -> crate::auth::Credential {
    use crate::store::AdminStore;
    let (directory, issued, credential) = tenant("Batch");
    store.create_directory(&directory).await.unwrap();
    store.create_key(&issued.record).await.unwrap();
    credential
}

/// Writes that arrive together commit together, and each gets its own outcome: a userName taken within the batch
/// fails alone, and leaves nothing behind (its savepoint is rolled back), while the others are kept.
#[tokio::test]
async fn concurrent_writes_share_a_commit_and_fail_alone() {
    use crate::scim::user::UserRecord;
    use crate::store::contract::user;
    use crate::store::{AddressBookStore, UserStore};
    let store = SqliteStore::in_memory().unwrap();
    let credential = directory_with_key(&store).await;
    let directories = [credential.directory.clone()];
    let writes = |versions: Vec<crate::store::UsersVersion>| -> u64 {
        versions.iter().flat_map(|v| &v.shards).map(|shard| shard.writes).sum()
    };
    let writes_before = writes(store.users_versions(&directories, &[]).await.unwrap());
    let records: Vec<UserRecord> = ["a@example.com", "b@example.com", "A@EXAMPLE.COM", "c@example.com"]
        .into_iter()
        .map(|name| UserRecord::new(user(name)))
        .collect();
    let batches_before = store.writes.batches();
    let outcomes = futures_join_all(records.iter().map(|record| store.create_user(&credential, record))).await;
    assert_eq!(store.writes.batches() - batches_before, 1, "one batch for writes that arrived together");
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok() && outcomes[3].is_ok(), "{outcomes:?}");
    assert!(matches!(outcomes[2], Err(crate::store::StoreError::UserNameTaken)), "{outcomes:?}");
    assert_eq!(store.list_users(&credential, 1, 10, 0).await.unwrap().total, 3);
    assert!(matches!(store.get_user(&credential, &records[2].id).await, Err(crate::store::StoreError::NotFound)));
    // The failed write's version bump went with its savepoint: three writes counted, not four.
    let writes_after = writes(store.users_versions(&directories, &[]).await.unwrap());
    assert_eq!(writes_after - writes_before, 3);
}

/// A directory whose writes were counted in `directories.users_version` (before schema 7) counts on from there,
/// whether or not `user_writes` still has its latest writes; an address book that saw the old count sees only
/// the new writes.
#[tokio::test]
async fn the_users_version_counts_on_from_the_directory_row() {
    use crate::scim::user::UserRecord;
    use crate::store::contract::user;
    use crate::store::{AddressBookStore, UserStore};
    for logged in [false, true] {
        let store = SqliteStore::in_memory().unwrap();
        let credential = directory_with_key(&store).await;
        let directory = credential.directory.clone();
        {
            let conn = store.lock();
            conn.execute("UPDATE directories SET users_version = 41 WHERE id = ?1", [&directory]).unwrap();
            if logged {
                conn.execute("INSERT INTO user_writes VALUES (?1, 41, 'earlier')", [&directory]).unwrap();
            }
        }
        let known = store.users_versions(std::slice::from_ref(&directory), &[]).await.unwrap();
        assert_eq!(known[0].shards[0].writes, 41, "logged: {logged}");
        let ada = UserRecord::new(user("ada@example.com"));
        store.create_user(&credential, &ada).await.unwrap();
        let now = store.users_versions(std::slice::from_ref(&directory), &known).await.unwrap();
        assert_eq!(now[0].shards[0].writes, 42, "logged: {logged}");
        assert_eq!(now[0].shards[0].recent, std::slice::from_ref(&ada.id), "logged: {logged}");
        let unknown = store.users_versions(&[crate::auth::new_id()], &[]).await.unwrap();
        assert_eq!(unknown[0].shards[0].writes, 0);
    }
}

/// The writer that leads a batch may be cancelled while it waits for others to join: the batch still runs when its
/// future is dropped, and a writer that joined it is answered.
#[tokio::test]
async fn a_cancelled_leader_still_commits_its_batch() {
    use crate::scim::user::UserRecord;
    use crate::store::UserStore;
    use crate::store::contract::user;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let store = SqliteStore::in_memory().unwrap();
    let credential = directory_with_key(&store).await;
    let (ada, bob) = (UserRecord::new(user("ada@example.com")), UserRecord::new(user("bob@example.com")));
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = Box::pin(store.create_user(&credential, &ada));
    assert!(leader.as_mut().poll(&mut cx).is_pending(), "the leader yields once before it runs the batch");
    let mut follower = Box::pin(store.create_user(&credential, &bob));
    assert!(follower.as_mut().poll(&mut cx).is_pending(), "the follower waits for the leader's batch");
    drop(leader);
    assert!(matches!(follower.as_mut().poll(&mut cx), Poll::Ready(Ok(()))), "answered when the batch ran");
    assert_eq!(store.get_user(&credential, &ada.id).await.unwrap().id, ada.id);
    assert_eq!(store.get_user(&credential, &bob.id).await.unwrap().id, bob.id);
}

/// Polls every future until all are ready, in order of arrival (what a runtime does with requests that arrive
/// together), and returns their outputs.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = future {
                if let std::task::Poll::Ready(value) = f.as_mut().poll(cx) {
                    *output = Some(value);
                    *future = None;
                }
            }
        }
        if pending.iter().all(Option::is_none) { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A remap waits until the file outgrew the map by an eighth of the map, and at least the minimum slack.
#[test]
fn remaps_wait_for_a_fraction_of_the_map() {
    use super::{MIN_REMAP_SLACK, remap_due};
    assert!(!remap_due(0, 0) && !remap_due(MIN_REMAP_SLACK, 0) && remap_due(MIN_REMAP_SLACK + 1, 0));
    let gib = 1 << 30;
    assert!(!remap_due(gib + gib / 8, gib) && remap_due(gib + gib / 8 + 1, gib));
    assert!(!remap_due(u64::MAX, u64::MAX));
}

/// The serving connection's memory map follows the file as the checkpoints grow it.
#[tokio::test]
async fn the_memory_map_follows_the_checkpointed_file() {
    use crate::scim::user::UserRecord;
    use crate::store::UserStore;
    use crate::store::contract::user;
    use std::sync::atomic::Ordering::Relaxed;
    let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("db.sqlite3")).unwrap();
    let credential = directory_with_key(&store).await;
    let map = std::sync::Arc::clone(store.map.as_ref().unwrap());
    let mapped_at_start = map.mapped_bytes.load(Relaxed);
    for n in 0..300 {
        store.create_user(&credential, &UserRecord::new(user(&format!("user{n}@example.com")))).await.unwrap();
    }
    // The checkpointer copies the WAL into the file within a few of its intervals.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while map.file_bytes.load(Relaxed) < 200_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let file = map.file_bytes.load(Relaxed);
    assert!(file >= 200_000, "the checkpoint grew the file to {file} bytes");
    let limit: i64 = store.lock().query_row("PRAGMA mmap_size", [], |r| r.get(0)).unwrap();
    let mapped = map.mapped_bytes.load(Relaxed);
    // `file` was read before the refresh: a later checkpoint may grow the file again, never shrink it.
    assert!(!super::remap_due(file, mapped) && mapped > mapped_at_start, "{mapped}");
    assert!(limit == super::MMAP_BYTES || limit == super::MMAP_BYTES - 4096, "{limit}");
    drop(store);
    std::fs::remove_dir_all(dir).ok();
}
