//! The store contract: behaviour every [`Store`] implementation must show. Each case creates its own directories
//! (random ids), so cases may share one database or table and run concurrently.
//!
//! Use [`crate::store_contract_tests!`] to instantiate one `#[tokio::test]` per case.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

use super::{CONTINUATION_TTL_SECS, Company, Directory, SamlConfig, SessionLookup, SessionRecord, Store, StoreError};
use crate::auth::{Credential, Pepper, issue_key, new_id};
use crate::scim::schema::USER_SCHEMA;
use crate::scim::user::{UserDoc, UserRecord};
use crate::time::now_unix;
use serde_json::json;

/// Generates one `#[tokio::test]` per contract case; `$make` is an async expression yielding
/// `Arc<dyn Store>`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            directories_and_keys,
            companies_hold_directories,
            sessions_are_kept_listed_and_ended,
            deactivation_ends_sessions_for_good,
            new_certificates_and_cleared_sign_in_end_sessions,
            address_book_reads_a_company_and_sees_every_change,
            users_changes_cover_every_write,
            session_and_versions_read_together,
            create_then_get_round_trips,
            credentials_are_checked_on_every_call,
            user_names_are_unique_case_insensitively,
            user_names_are_one_identity,
            directories_are_isolated,
            replace_is_conditional_on_version,
            rename_moves_the_user_name_claim,
            delete_releases_the_user_name,
            list_pages_are_stable_and_complete,
            index_walks_return_every_user_once_in_order,
            index_walks_interleave_between_directories,
            index_walks_survive_concurrent_changes,
            continuations_expire,
            cold_start_indexes_skip_correctly,
            concurrent_walks_by_two_clients_keep_their_own_positions,
            keyset_pages_walk_by_id,
            external_ids_are_indexed,
            scans_walk_the_directory_by_id,
            saml_configuration_is_kept_per_directory,
            sign_in_lookups_stay_in_their_directory,
            assertions_are_recorded_once,
            // Display-name index (manager links).
            display_names_are_found_case_insensitively,
            display_name_index_follows_renames_and_deletes,
            display_name_lookups_stay_in_their_directory,
            display_name_lookups_check_the_credential,
            reindex_skips_users_changed_since_read,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $make.await;
                $crate::store::contract::$case(&*store).await;
            }
        )+
    };
}

/// The pepper every contract case hashes its keys with.
pub fn pepper() -> Pepper {
    match Pepper::new(b"contract-suite-pepper-0123456789abcdef".to_vec()) {
        Ok(p) => p,
        Err(e) => panic!("test pepper: {e}"),
    }
}

/// A fresh directory with one key; returns the directory and a credential for it.
pub async fn new_tenant(store: &dyn Store, name: &str) -> (Directory, Credential) {
    let (directory, token) = new_tenant_with_token(store, name).await;
    let header = format!("Bearer {token}");
    let credential = Credential::from_authorization(Some(&header), &pepper()).expect("parse token");
    (directory, credential)
}

/// A fresh directory with one key; returns the directory and the key's token.
pub async fn new_tenant_with_token(store: &dyn Store, name: &str) -> (Directory, String) {
    let directory =
        Directory { id: new_id(), name: name.to_string(), created: crate::time::now_rfc3339(), company: None };
    store.create_directory(&directory).await.expect("create directory");
    let issued = issue_key(&directory.id, "contract", &pepper());
    store.create_key(&issued.record).await.expect("create key");
    (directory, issued.token)
}

/// A valid user document.
pub fn user(user_name: &str) -> UserDoc {
    user_with(user_name, None)
}

/// [`user`] with an externalId.
pub fn user_with(user_name: &str, external_id: Option<&str>) -> UserDoc {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "displayName": format!("Display {user_name}"),
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    });
    if let Some(e) = external_id {
        body["externalId"] = json!(e);
    }
    UserDoc::from_request(body).expect("valid user")
}

async fn create(store: &dyn Store, cred: &Credential, doc: UserDoc) -> UserRecord {
    let record = UserRecord::new(doc);
    store.create_user(cred, &record).await.expect("create user");
    record
}

pub async fn directories_and_keys(store: &dyn Store) {
    let (dir, _) = new_tenant(store, "Contract directories").await;
    assert_eq!(store.get_directory(&dir.id).await.unwrap(), Some(dir.clone()));
    assert_eq!(store.get_directory(&new_id()).await.unwrap(), None);
    assert!(store.list_directories().await.unwrap().contains(&dir));

    let second = issue_key(&dir.id, "second", &pepper());
    store.create_key(&second.record).await.unwrap();
    let keys = store.list_keys(&dir.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&second.record));
    assert!(keys.iter().all(|k| k.revoked.is_none()));

    store.revoke_key(&dir.id, &second.record.id, &crate::time::now_rfc3339()).await.unwrap();
    let keys = store.list_keys(&dir.id).await.unwrap();
    assert!(keys.iter().any(|k| k.id == second.record.id && k.revoked.is_some()));
    assert!(matches!(store.revoke_key(&dir.id, &new_id(), "2026-01-01T00:00:00Z").await, Err(StoreError::NotFound)));

    let orphan = issue_key(&new_id(), "orphan", &pepper());
    assert!(matches!(store.create_key(&orphan.record).await, Err(StoreError::NotFound)));
}

pub async fn companies_hold_directories(store: &dyn Store) {
    let short = format!("Acme-{}", &new_id()[..8]);
    let company = Company { short_name: short.clone(), name: "Acme Corp".into(), created: crate::time::now_rfc3339() };
    store.create_company(&company).await.unwrap();
    let again = Company { short_name: short.to_uppercase(), ..company.clone() };
    assert!(matches!(store.create_company(&again).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_company(&short.to_lowercase()).await.unwrap(), Some(company.clone()));
    assert_eq!(store.get_company(&format!("{short}x")).await.unwrap(), None);

    // Two directories in the company; a third in no company is a company of its own.
    let mut members = Vec::new();
    for name in ["Okta EU", "Okta US"] {
        let directory = Directory {
            id: new_id(),
            name: name.into(),
            created: crate::time::now_rfc3339(),
            company: Some(short.clone()),
        };
        store.create_directory(&directory).await.unwrap();
        let stored = store.get_directory(&directory.id).await.unwrap().unwrap();
        assert_eq!(stored.company_key(), crate::company::fold(&short));
        members.push(stored);
    }
    assert_eq!(members[0].company_key(), members[1].company_key());
    let (own, _) = new_tenant(store, "On its own").await;
    assert_eq!(own.company, None);
    assert_eq!(own.company_key(), own.id);
    let own_company = store.get_company(&own.id).await.unwrap().unwrap();
    assert_eq!((own_company.short_name.as_str(), own_company.name.as_str()), (own.id.as_str(), "On its own"));
    // A directory of a named company is not a company by its id; an unknown company holds no directory.
    assert_eq!(store.get_company(&members[0].id).await.unwrap(), None);
    let stray = Directory {
        id: new_id(),
        name: "Stray".into(),
        created: crate::time::now_rfc3339(),
        company: Some(format!("nobody-{}", &new_id()[..8])),
    };
    assert!(matches!(store.create_directory(&stray).await, Err(StoreError::NotFound)));
    assert_eq!(store.get_directory(&stray.id).await.unwrap(), None);
}

fn session(directory: &str, user_id: &str, created: i64) -> SessionRecord {
    SessionRecord {
        id_hash: crate::auth::new_id(),
        directory: directory.into(),
        user_id: user_id.into(),
        created,
        last_used: created,
        expires_at: created + 3600,
        device: "Firefox on Linux".into(),
    }
}

pub async fn sessions_are_kept_listed_and_ended(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract sessions").await;
    let ada = create(store, &cred, user("ada@example.com")).await;
    let now = now_unix();
    let first = session(&dir.id, &ada.id, now - 100);
    let second = session(&dir.id, &ada.id, now - 50);
    store.create_session(&first).await.unwrap();
    store.create_session(&second).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &ada.id, &first.id_hash, now).await.unwrap(), Some(first.clone()));
    // Scoped by directory and user; expired at its end.
    assert_eq!(store.get_session(&new_id(), &ada.id, &first.id_hash, now).await.unwrap(), None);
    assert_eq!(store.get_session(&dir.id, "someone-else", &first.id_hash, now).await.unwrap(), None);
    assert_eq!(store.get_session(&dir.id, &ada.id, &first.id_hash, first.expires_at).await.unwrap(), None);
    // Most recently used first.
    store.touch_session(&dir.id, &ada.id, &first.id_hash, now).await.unwrap();
    let listed = store.list_sessions(&dir.id, &ada.id, now).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id_hash.as_str()).collect::<Vec<_>>(), [&first.id_hash, &second.id_hash]);
    assert_eq!(listed[0].last_used, now);
    assert!(store.end_session(&dir.id, &ada.id, &first.id_hash).await.unwrap());
    assert!(!store.end_session(&dir.id, &ada.id, &first.id_hash).await.unwrap());
    assert_eq!(store.get_session(&dir.id, &ada.id, &first.id_hash, now).await.unwrap(), None);
    assert_eq!(store.list_sessions(&dir.id, &ada.id, now).await.unwrap(), [second]);
}

pub async fn deactivation_ends_sessions_for_good(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract deactivation").await;
    let bob = create(store, &cred, user("bob@example.com")).await;
    let now = now_unix();
    let before = session(&dir.id, &bob.id, now - 10);
    store.create_session(&before).await.unwrap();
    // A profile change keeps the session.
    let renamed = bob.successor(user("bob@example.com"));
    store.replace_user(&cred, &bob, &renamed).await.unwrap();
    assert!(store.get_session(&dir.id, &bob.id, &before.id_hash, now).await.unwrap().is_some());
    // Deactivation ends it; reactivation does not bring it back.
    let mut inactive_doc = user("bob@example.com").into_attributes();
    inactive_doc.insert("active".into(), json!(false));
    let inactive =
        renamed.successor(UserDoc::from_request(serde_json::Value::Object(inactive_doc)).expect("valid user"));
    store.replace_user(&cred, &renamed, &inactive).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &bob.id, &before.id_hash, now).await.unwrap(), None);
    let active = inactive.successor(user("bob@example.com"));
    store.replace_user(&cred, &inactive, &active).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &bob.id, &before.id_hash, now).await.unwrap(), None);
    assert!(store.list_sessions(&dir.id, &bob.id, now).await.unwrap().is_empty());
    // A session made after reactivation works.
    let after = session(&dir.id, &bob.id, now + 2);
    store.create_session(&after).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &bob.id, &after.id_hash, now + 3).await.unwrap(), Some(after));
}

pub async fn address_book_reads_a_company_and_sees_every_change(store: &dyn Store) {
    let short = format!("book-{}", &new_id()[..8]);
    let company = Company { short_name: short.clone(), name: "Book".into(), created: crate::time::now_rfc3339() };
    store.create_company(&company).await.unwrap();
    assert_eq!(store.find_company(&short.to_uppercase()).await.unwrap(), Some(company));
    let mut dirs = Vec::new();
    for name in ["B directory", "A directory"] {
        let directory = Directory {
            id: new_id(),
            name: name.into(),
            created: crate::time::now_rfc3339(),
            company: Some(short.clone()),
        };
        store.create_directory(&directory).await.unwrap();
        let issued = issue_key(&directory.id, "k", &pepper());
        store.create_key(&issued.record).await.unwrap();
        let header = format!("Bearer {}", issued.token);
        dirs.push((directory, Credential::from_authorization(Some(&header), &pepper()).unwrap()));
    }
    let listed = store.company_directories(&crate::company::fold(&short)).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["A directory", "B directory"]);
    let (other, _) = new_tenant(store, "Elsewhere").await;
    assert_eq!(store.company_directories(&other.id).await.unwrap(), std::slice::from_ref(&other));

    let dir_ids: Vec<String> = dirs.iter().map(|(d, _)| d.id.clone()).collect();
    let v0 = store.users_versions(&dir_ids, &[]).await.unwrap();
    let ada = create(store, &dirs[0].1, user("ada@example.com")).await;
    let v1 = store.users_versions(&dir_ids, &v0).await.unwrap();
    assert_eq!(v1[0].changes_since(&v0[0]).users, std::slice::from_ref(&ada.id), "a create names its user");
    assert!(v1[1].changes_since(&v0[1]).is_empty(), "and changes no other directory");
    let ada2 = ada.successor(user("ada@example.com"));
    store.replace_user(&dirs[0].1, &ada, &ada2).await.unwrap();
    let v2 = store.users_versions(&dir_ids, &v1).await.unwrap();
    assert_eq!(v2[0].changes_since(&v1[0]).users, std::slice::from_ref(&ada.id), "a replace names its user");
    assert!(store.users_versions(&dir_ids, &v2).await.unwrap()[0].changes_since(&v2[0]).is_empty(), "reading does not");
    let bob = create(store, &dirs[1].1, user("bob@example.com")).await;
    assert_eq!(store.directory_users(&dir_ids[0]).await.unwrap(), std::slice::from_ref(&ada2));
    assert_eq!(store.directory_users(&dir_ids[1]).await.unwrap(), std::slice::from_ref(&bob));
    store.delete_user(&dirs[1].1, &bob).await.unwrap();
    let v3 = store.users_versions(&dir_ids, &v2).await.unwrap();
    assert_eq!(v3[1].changes_since(&v2[1]).users, std::slice::from_ref(&bob.id), "a delete names its user");
    assert!(store.directory_users(&dir_ids[1]).await.unwrap().is_empty());
    let unknown = store.users_versions(&[new_id()], &[]).await.unwrap();
    assert!(unknown[0].shards.iter().all(|s| s.writes == 0), "a directory without writes has none");

    // Users by id: this directory's only; the shards together hold every user once.
    let more = populate(store, &dirs[0].1, "shard", 12).await;
    let mut wanted = more[..3].to_vec();
    wanted.push(new_id());
    wanted.push(ada.id.clone());
    let mut found = ids(&store.users_by_id(&dir_ids[0], &wanted).await.unwrap());
    found.sort();
    let mut expected = vec![more[0].clone(), more[1].clone(), more[2].clone(), ada.id.clone()];
    expected.sort();
    assert_eq!(found, expected);
    assert!(store.users_by_id(&dir_ids[1], &wanted).await.unwrap().is_empty(), "another directory has none of them");
    let shards = store.users_versions(&dir_ids[..1], &[]).await.unwrap()[0].shards.len();
    let mut in_shards = Vec::new();
    for shard in 0..shards {
        in_shards.extend(ids(&store.shard_users(&dir_ids[0], shard).await.unwrap()));
    }
    in_shards.sort();
    assert_eq!(in_shards, ids(&store.directory_users(&dir_ids[0]).await.unwrap()));
}

/// Whatever a store remembers of its latest writes, the changes it reports cover every write: each written user
/// is named, or its shard is to be re-read.
pub async fn users_changes_cover_every_write(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract changes").await;
    let ids = [dir.id.clone()];
    let people = populate(store, &cred, "change", 6).await;
    let before = store.users_versions(&ids, &[]).await.unwrap();
    let ada = store.get_user(&cred, &people[0]).await.unwrap();
    let mut current = ada.clone();
    for _ in 0..20 {
        let next = current.successor(current.doc.clone());
        store.replace_user(&cred, &current, &next).await.unwrap();
        current = next;
    }
    let bob = store.get_user(&cred, &people[1]).await.unwrap();
    store.delete_user(&cred, &bob).await.unwrap();
    let after = store.users_versions(&ids, &before).await.unwrap();
    let changes = after[0].changes_since(&before[0]);
    for written in [&ada.id, &bob.id] {
        let named = changes.users.contains(written);
        let mut re_read = false;
        for shard in &changes.shards {
            let users = store.shard_users(&dir.id, *shard).await.unwrap();
            re_read |= users.iter().any(|u| &u.id == written) || written == &bob.id;
        }
        assert!(named || re_read, "{written} is named or in a re-read shard: {changes:?}");
    }
    for untouched in &people[2..] {
        assert!(!changes.users.contains(untouched), "{untouched} was not written");
    }
    assert!(store.users_versions(&ids, &after).await.unwrap()[0].changes_since(&after[0]).is_empty());
}

/// One identity, one user: names equal under NFC and full case folding (`Straße`/`STRASSE`, composed and
/// decomposed `é`) are the same userName for uniqueness, lookups and sign-in; migration finds nothing to move.
pub async fn user_names_are_one_identity(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract identity").await;
    let strasse = create(store, &cred, user("Straße@example.com")).await;
    let look_alike = UserRecord::new(user("STRASSE@example.com"));
    assert!(matches!(store.create_user(&cred, &look_alike).await, Err(StoreError::UserNameTaken)));
    assert_eq!(
        store.find_user_by_user_name(&cred, "strasse@EXAMPLE.com").await.unwrap().map(|u| u.id),
        Some(strasse.id.clone())
    );
    assert_eq!(
        store.sign_in_user(&dir.id, "STRASSE@example.com").await.unwrap().map(|u| u.id),
        Some(strasse.id.clone())
    );
    let composed = create(store, &cred, user("jos\u{e9}@example.com")).await;
    let decomposed = UserRecord::new(user("jose\u{301}@example.com"));
    assert!(matches!(store.create_user(&cred, &decomposed).await, Err(StoreError::UserNameTaken)));
    assert_eq!(
        store.find_user_by_user_name(&cred, "JOSE\u{301}@example.com").await.unwrap().map(|u| u.id),
        Some(composed.id.clone())
    );
    // A rename to another spelling of the same identity keeps the name; to another identity frees it.
    let renamed = strasse.successor(user("STRASSE@example.com"));
    store.replace_user(&cred, &strasse, &renamed).await.unwrap();
    let moved = renamed.successor(user("street@example.com"));
    store.replace_user(&cred, &renamed, &moved).await.unwrap();
    create(store, &cred, user("strasse@example.com")).await;
    let migration = store.migrate_user_names(&dir.id).await.unwrap();
    assert_eq!((migration.checked, migration.moved, migration.conflicts.len()), (3, 0, 0));
}

/// A signed-in request's first read: its session, its user and the versions, as the separate calls give them.
pub async fn session_and_versions_read_together(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract session read").await;
    let ada = create(store, &cred, user("ada@example.com")).await;
    let now = now_unix();
    let record = session(&dir.id, &ada.id, now - 10);
    store.create_session(&record).await.unwrap();
    let ids = [dir.id.clone()];
    let lookup = SessionLookup { directory: &dir.id, user_id: &ada.id, id_hash: &record.id_hash, now };
    let read = store.session_and_versions(&lookup, &ids, &[]).await.unwrap();
    assert_eq!(read.session, store.get_session(&dir.id, &ada.id, &record.id_hash, now).await.unwrap());
    assert!(read.session.is_some());
    assert_eq!(read.user.map(|u| u.id), Some(ada.id.clone()));
    assert_eq!(read.versions, store.users_versions(&ids, &[]).await.unwrap());

    let unknown = SessionLookup { id_hash: &"0".repeat(64), ..lookup };
    assert!(store.session_and_versions(&unknown, &ids, &[]).await.unwrap().session.is_none());
    store.end_session(&dir.id, &ada.id, &record.id_hash).await.unwrap();
    assert!(store.session_and_versions(&lookup, &ids, &[]).await.unwrap().session.is_none(), "ended");
}

pub async fn new_certificates_and_cleared_sign_in_end_sessions(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract session ends").await;
    let (other, other_cred) = new_tenant(store, "Contract session stays").await;
    let ada = create(store, &cred, user("ada@example.com")).await;
    let bob = create(store, &other_cred, user("bob@example.com")).await;
    let config = saml_config("https://example.okta.com/app/x/sso/saml");
    store.set_saml_config(&dir.id, &config).await.unwrap();
    let now = now_unix();
    let first = session(&dir.id, &ada.id, now - 10);
    let elsewhere = session(&other.id, &bob.id, now - 10);
    store.create_session(&first).await.unwrap();
    store.create_session(&elsewhere).await.unwrap();
    // Another login URL, the same keys: sessions stay.
    let moved = SamlConfig { login_url: "https://example.okta.com/other".into(), ..config.clone() };
    store.set_saml_config(&dir.id, &moved).await.unwrap();
    assert!(store.get_session(&dir.id, &ada.id, &first.id_hash, now).await.unwrap().is_some());
    // New keys: every session of the directory ends, and no other directory's.
    let rotated = SamlConfig { certificates: vec!["another".into()], ..moved };
    store.set_saml_config(&dir.id, &rotated).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &ada.id, &first.id_hash, now).await.unwrap(), None);
    assert!(store.list_sessions(&dir.id, &ada.id, now).await.unwrap().is_empty());
    assert!(store.get_session(&other.id, &bob.id, &elsewhere.id_hash, now).await.unwrap().is_some());
    // A later session works, until sign-in is cleared.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = session(&dir.id, &ada.id, now + 1);
    store.create_session(&second).await.unwrap();
    assert!(store.get_session(&dir.id, &ada.id, &second.id_hash, now + 2).await.unwrap().is_some());
    store.clear_saml_config(&dir.id).await.unwrap();
    assert_eq!(store.get_session(&dir.id, &ada.id, &second.id_hash, now + 2).await.unwrap(), None);
}

pub async fn create_then_get_round_trips(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract round trip").await;
    let record = create(store, &cred, user("ada@example.com")).await;
    let got = store.get_user(&cred, &record.id).await.unwrap();
    assert_eq!(got, record);
    let found = store.find_user_by_user_name(&cred, "ada@example.com").await.unwrap();
    assert_eq!(found.as_ref(), Some(&record));
    assert!(matches!(store.get_user(&cred, "no-such-id").await, Err(StoreError::NotFound)));
    assert_eq!(store.find_user_by_user_name(&cred, "nobody@example.com").await.unwrap(), None);
    // The stored-text reads give the same user, found the same ways.
    let stored = store.get_stored_user(&cred, &record.id).await.unwrap();
    assert_eq!(stored.into_record().unwrap(), record);
    let stored = store.find_stored_user_by_user_name(&cred, "ADA@example.com").await.unwrap();
    assert_eq!(stored.map(|s| s.into_record().unwrap()), Some(record));
    assert!(matches!(store.get_stored_user(&cred, "no-such-id").await, Err(StoreError::NotFound)));
    assert_eq!(store.find_stored_user_by_user_name(&cred, "nobody@example.com").await.unwrap(), None);
}

pub async fn credentials_are_checked_on_every_call(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract credentials").await;
    let record = create(store, &cred, user("grace@example.com")).await;

    let wrong_secret = Credential { hash: pepper().hash("not the secret at all, not at all"), ..cred.clone() };
    let unknown_key = Credential { key_id: new_id(), ..cred.clone() };
    let (_, other) = new_tenant(store, "Contract other").await;
    // A real key of another directory, presented as if it belonged to this one.
    let borrowed = Credential { directory: dir.id.clone(), ..other.clone() };

    for bad in [&wrong_secret, &unknown_key, &borrowed] {
        assert!(matches!(store.authorize(bad).await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.get_user(bad, &record.id).await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.find_user_by_user_name(bad, "grace@example.com").await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.get_stored_user(bad, &record.id).await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.get_stored_user(bad, "no-such-id").await, Err(StoreError::Unauthorized)));
        assert!(matches!(
            store.find_stored_user_by_user_name(bad, "grace@example.com").await,
            Err(StoreError::Unauthorized)
        ));
        assert!(matches!(
            store.find_stored_user_by_user_name(bad, "nobody@example.com").await,
            Err(StoreError::Unauthorized)
        ));
        assert!(matches!(store.find_users_by_external_id(bad, "x").await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.list_users(bad, 1, 10, now_unix()).await, Err(StoreError::Unauthorized)));
        let fresh = UserRecord::new(user("mallory@example.com"));
        assert!(matches!(store.create_user(bad, &fresh).await, Err(StoreError::Unauthorized)));
        let next = record.successor(user("grace@example.com"));
        assert!(matches!(store.replace_user(bad, &record, &next).await, Err(StoreError::Unauthorized)));
        assert!(matches!(store.delete_user(bad, &record).await, Err(StoreError::Unauthorized)));
    }
    // Nothing was written through a bad credential.
    assert_eq!(store.list_users(&cred, 1, 10, now_unix()).await.unwrap().total, 1);
    assert_eq!(store.get_user(&cred, &record.id).await.unwrap(), record);

    store.revoke_key(&cred.directory, &cred.key_id, &crate::time::now_rfc3339()).await.unwrap();
    assert!(matches!(store.get_user(&cred, &record.id).await, Err(StoreError::Unauthorized)));
    assert!(matches!(store.get_stored_user(&cred, &record.id).await, Err(StoreError::Unauthorized)));
    assert!(matches!(
        store.find_stored_user_by_user_name(&cred, "grace@example.com").await,
        Err(StoreError::Unauthorized)
    ));
    assert!(matches!(store.authorize(&cred).await, Err(StoreError::Unauthorized)));
}

pub async fn user_names_are_unique_case_insensitively(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract uniqueness").await;
    let first = create(store, &cred, user("Ada.Lovelace@Example.com")).await;
    let duplicate = UserRecord::new(user("ada.lovelace@example.COM"));
    assert!(matches!(store.create_user(&cred, &duplicate).await, Err(StoreError::UserNameTaken)));
    assert!(matches!(store.get_user(&cred, &duplicate.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.find_user_by_user_name(&cred, "ADA.LOVELACE@EXAMPLE.COM").await.unwrap(), Some(first));
    assert_eq!(store.list_users(&cred, 1, 10, now_unix()).await.unwrap().total, 1);
}

pub async fn directories_are_isolated(store: &dyn Store) {
    let (_, a) = new_tenant(store, "Contract tenant A").await;
    let (_, b) = new_tenant(store, "Contract tenant B").await;
    let in_a = create(store, &a, user_with("shared@example.com", Some("ext-1"))).await;
    // The same userName is free in another directory.
    let in_b = create(store, &b, user("shared@example.com")).await;
    assert_ne!(in_a.id, in_b.id);

    assert!(matches!(store.get_user(&b, &in_a.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.find_user_by_user_name(&b, "shared@example.com").await.unwrap(), Some(in_b.clone()));
    assert!(store.find_users_by_external_id(&b, "ext-1").await.unwrap().is_empty());
    let page = store.list_users(&b, 1, 100, now_unix()).await.unwrap();
    assert_eq!((page.total, page.users), (1, vec![in_b]));

    let hijack = in_a.successor(user("hijacked@example.com"));
    assert!(matches!(store.replace_user(&b, &in_a, &hijack).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_user(&b, &in_a).await, Err(StoreError::NotFound)));
    assert_eq!(store.get_user(&a, &in_a.id).await.unwrap(), in_a);
}

pub async fn replace_is_conditional_on_version(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract versions").await;
    let v1 = create(store, &cred, user("lin@example.com")).await;
    let v2 = v1.successor(user_with("lin@example.com", Some("okta-1")));
    store.replace_user(&cred, &v1, &v2).await.unwrap();
    assert_eq!(store.get_user(&cred, &v1.id).await.unwrap(), v2);

    // A writer that read v1 loses: its update is refused, nothing changes.
    let stale = v1.successor(user("stale@example.com"));
    assert!(matches!(store.replace_user(&cred, &v1, &stale).await, Err(StoreError::VersionConflict)));
    assert!(matches!(store.delete_user(&cred, &v1).await, Err(StoreError::VersionConflict)));
    assert_eq!(store.get_user(&cred, &v1.id).await.unwrap(), v2);
    assert_eq!(store.find_user_by_user_name(&cred, "stale@example.com").await.unwrap(), None);

    let ghost = UserRecord::new(user("ghost@example.com"));
    let ghost2 = ghost.successor(user("ghost@example.com"));
    assert!(matches!(store.replace_user(&cred, &ghost, &ghost2).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_user(&cred, &ghost).await, Err(StoreError::NotFound)));
}

pub async fn rename_moves_the_user_name_claim(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract rename").await;
    let ada = create(store, &cred, user("ada@example.com")).await;
    let bob = create(store, &cred, user("bob@example.com")).await;

    // Renaming onto a taken name (in any case) fails and changes nothing.
    let clash = ada.successor(user("BOB@example.com"));
    assert!(matches!(store.replace_user(&cred, &ada, &clash).await, Err(StoreError::UserNameTaken)));
    assert_eq!(store.get_user(&cred, &ada.id).await.unwrap(), ada);
    assert_eq!(store.find_user_by_user_name(&cred, "bob@example.com").await.unwrap(), Some(bob));

    // A case-only change keeps the claim.
    let recased = ada.successor(user("ADA@example.com"));
    store.replace_user(&cred, &ada, &recased).await.unwrap();
    assert_eq!(store.find_user_by_user_name(&cred, "ada@EXAMPLE.com").await.unwrap(), Some(recased.clone()));

    // A real rename frees the old name and claims the new one.
    let renamed = recased.successor(user("countess@example.com"));
    store.replace_user(&cred, &recased, &renamed).await.unwrap();
    assert_eq!(store.find_user_by_user_name(&cred, "ada@example.com").await.unwrap(), None);
    assert_eq!(store.find_user_by_user_name(&cred, "countess@example.com").await.unwrap(), Some(renamed));
    create(store, &cred, user("ada@example.com")).await;
    assert_eq!(store.list_users(&cred, 1, 10, now_unix()).await.unwrap().total, 3);
}

pub async fn delete_releases_the_user_name(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract delete").await;
    let ada = create(store, &cred, user("ada@example.com")).await;
    create(store, &cred, user("bob@example.com")).await;
    store.delete_user(&cred, &ada).await.unwrap();
    assert!(matches!(store.get_user(&cred, &ada.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.find_user_by_user_name(&cred, "ada@example.com").await.unwrap(), None);
    assert_eq!(store.list_users(&cred, 1, 10, now_unix()).await.unwrap().total, 1);
    assert!(matches!(store.delete_user(&cred, &ada).await, Err(StoreError::NotFound)));
    create(store, &cred, user("ADA@example.com")).await;
    assert_eq!(store.list_users(&cred, 1, 10, now_unix()).await.unwrap().total, 2);
}

pub async fn list_pages_are_stable_and_complete(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract pages").await;
    let empty = store.list_users(&cred, 1, 10, now_unix()).await.unwrap();
    assert_eq!((empty.total, empty.users.len()), (0, 0));
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(store, &cred, user(&format!("user{i}@example.com"))).await.id);
    }
    ids.sort();
    let mut walked = Vec::new();
    let mut start = 1;
    loop {
        let page = store.list_users(&cred, start, 3, now_unix()).await.unwrap();
        assert_eq!(page.total, 7);
        if page.users.is_empty() {
            break;
        }
        assert!(page.users.len() <= 3);
        start += page.users.len() as u64;
        walked.extend(page.users.into_iter().map(|u| u.id));
    }
    assert_eq!(walked, ids, "pages are ordered by id and cover every user once");
    let tail = store.list_users(&cred, 6, 100, now_unix()).await.unwrap();
    assert_eq!(tail.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), ids[5..].to_vec());
    let none = store.list_users(&cred, 1, 0, now_unix()).await.unwrap();
    assert_eq!((none.total, none.users.len()), (7, 0));
}

/// Creates `n` users named `<prefix><i>@example.com`; returns their ids in id order.
async fn populate(store: &dyn Store, cred: &Credential, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(create(store, cred, user(&format!("{prefix}{i}@example.com"))).await.id);
    }
    ids.sort();
    ids
}

/// A user with a chosen id (to place it before or after a walk's position).
async fn create_with_id(store: &dyn Store, cred: &Credential, id: &str, user_name: &str) -> UserRecord {
    let record = UserRecord { id: id.to_string(), ..UserRecord::new(user(user_name)) };
    store.create_user(cred, &record).await.expect("create user");
    record
}

fn ids(users: &[UserRecord]) -> Vec<String> {
    users.iter().map(|u| u.id.clone()).collect()
}

/// Walks the directory as Okta does (`startIndex` 1, 1 + count, ...) until a short page; returns the ids, in the
/// order served.
async fn index_walk(store: &dyn Store, cred: &Credential, count: u64, now: i64) -> Vec<String> {
    let mut walked = Vec::new();
    let mut start = 1;
    loop {
        let page = store.list_users(cred, start, count, now).await.unwrap();
        assert!(page.users.len() as u64 <= count);
        walked.extend(ids(&page.users));
        if (page.users.len() as u64) < count {
            return walked;
        }
        start += count;
    }
}

pub async fn index_walks_return_every_user_once_in_order(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract index walk").await;
    let expected = populate(store, &cred, "walk", 10).await;
    let now = now_unix();
    for count in [1, 3, 5, 10, 11] {
        assert_eq!(index_walk(store, &cred, count, now).await, expected, "count {count}");
    }
    // Repeating a page (a retried request) gives the same page; the page after the last is empty.
    let again = store.list_users(&cred, 4, 3, now).await.unwrap();
    assert_eq!((again.total, ids(&again.users)), (10, expected[3..6].to_vec()));
    assert_eq!(ids(&store.list_users(&cred, 4, 3, now).await.unwrap().users), expected[3..6].to_vec());
    let past = store.list_users(&cred, 11, 5, now).await.unwrap();
    assert_eq!((past.total, past.users.len()), (10, 0));
    // Another page size from the same index: a cold skip, with the same users.
    assert_eq!(ids(&store.list_users(&cred, 4, 2, now).await.unwrap().users), expected[3..5].to_vec());
    assert_eq!(ids(&store.list_users(&cred, 6, 100, now).await.unwrap().users), expected[5..].to_vec());
}

pub async fn index_walks_interleave_between_directories(store: &dyn Store) {
    let (_, a) = new_tenant(store, "Contract interleaved A").await;
    let (_, b) = new_tenant(store, "Contract interleaved B").await;
    let in_a = populate(store, &a, "a", 7).await;
    let in_b = populate(store, &b, "b", 5).await;
    let now = now_unix();
    let (mut walked_a, mut walked_b) = (Vec::new(), Vec::new());
    // The same indexes in both directories, alternately: each walk sees only its own directory.
    for start in [1, 3, 5, 7, 9] {
        let page_a = store.list_users(&a, start, 2, now).await.unwrap();
        let page_b = store.list_users(&b, start, 2, now).await.unwrap();
        assert_eq!((page_a.total, page_b.total), (7, 5));
        walked_a.extend(ids(&page_a.users));
        walked_b.extend(ids(&page_b.users));
    }
    assert_eq!((walked_a, walked_b), (in_a, in_b));
}

pub async fn index_walks_survive_concurrent_changes(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract changing walk").await;
    let original = populate(store, &cred, "change", 9).await;
    let now = now_unix();
    let first = store.list_users(&cred, 1, 3, now).await.unwrap();
    assert_eq!(ids(&first.users), original[..3].to_vec());
    let mut walked = ids(&first.users);

    // Between pages: a user is created before the walk's position and one after it, an already returned user and a
    // user not yet returned are deleted.
    create_with_id(store, &cred, "00000000000000000000000000000000", "first@example.com").await;
    let last = create_with_id(store, &cred, "ffffffffffffffffffffffffffffffff", "last@example.com").await;
    let returned = store.get_user(&cred, &original[0]).await.unwrap();
    store.delete_user(&cred, &returned).await.unwrap();
    let ahead = store.get_user(&cred, &original[5]).await.unwrap();
    store.delete_user(&cred, &ahead).await.unwrap();

    let mut start = 4;
    loop {
        let page = store.list_users(&cred, start, 3, now).await.unwrap();
        assert_eq!(page.total, 9, "each page counts the directory as it is");
        walked.extend(ids(&page.users));
        if page.users.len() < 3 {
            break;
        }
        start += 3;
    }
    // No user twice, ids strictly increasing: the walk neither repeats nor loops.
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "{walked:?}");
    // Every user that existed throughout is returned; the deleted user not yet reached is not; the user created
    // after the position is.
    let mut expected: Vec<String> = original.iter().filter(|id| **id != ahead.id).cloned().collect();
    expected.push(last.id);
    assert_eq!(walked, expected);
}

pub async fn continuations_expire(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract continuation expiry").await;
    let ids_before = populate(store, &cred, "expiry", 7).await;
    let now = 1_900_000_000;
    assert_eq!(ids(&store.list_users(&cred, 1, 3, now).await.unwrap().users), ids_before[..3].to_vec());
    // The first user goes: index 4 now means different users by position and by continuation.
    let gone = store.get_user(&cred, &ids_before[0]).await.unwrap();
    store.delete_user(&cred, &gone).await.unwrap();

    // Still fresh: the walk continues after the last user it returned.
    let warm = store.list_users(&cred, 4, 3, now + CONTINUATION_TTL_SECS - 1).await.unwrap();
    assert_eq!(ids(&warm.users), ids_before[3..6].to_vec());
    // Expired (whether or not the store has deleted it yet): a cold skip, by position in the current directory.
    let cold = store.list_users(&cred, 4, 3, now + CONTINUATION_TTL_SECS).await.unwrap();
    assert_eq!(ids(&cold.users), ids_before[4..7].to_vec());
    assert_eq!((cold.total, warm.total), (6, 6));
}

pub async fn cold_start_indexes_skip_correctly(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract cold index").await;
    let (_, other) = new_tenant(store, "Contract cold index, other").await;
    let expected = populate(store, &cred, "cold", 8).await;
    // Another directory's walk leaves continuations for the same indexes; they do not apply here.
    populate(store, &other, "elsewhere", 8).await;
    let now = now_unix();
    index_walk(store, &other, 2, now).await;
    for (start, count, range) in [(5, 2, 4..6), (2, 3, 1..4), (8, 5, 7..8), (1, 8, 0..8), (0, 1, 0..1)] {
        let page = store.list_users(&cred, start, count, now).await.unwrap();
        assert_eq!((page.total, ids(&page.users)), (8, expected[range].to_vec()), "startIndex {start}");
    }
    for start in [9, 100, u64::MAX] {
        let page = store.list_users(&cred, start, 3, now).await.unwrap();
        assert_eq!((page.total, page.users.len()), (8, 0), "startIndex {start}");
    }
    let none = store.list_users(&cred, 3, 0, now).await.unwrap();
    assert_eq!((none.total, none.users.len()), (8, 0));
}

pub async fn keyset_pages_walk_by_id(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract keyset").await;
    let empty = store.list_users_after(&cred, None, 5).await.unwrap();
    assert_eq!((empty.total, empty.users.len(), empty.more), (0, 0, false));
    let expected = populate(store, &cred, "keyset", 7).await;
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_users_after(&cred, after.as_deref(), 3).await.unwrap();
        assert_eq!(page.total, 7);
        walked.extend(ids(&page.users));
        assert_eq!(page.more, walked.len() < 7, "more follow exactly when users remain");
        if !page.more {
            break;
        }
        after = page.users.last().map(|u| u.id.clone());
    }
    assert_eq!(walked, expected);
    let exact = store.list_users_after(&cred, Some(&expected[3]), 3).await.unwrap();
    assert_eq!((ids(&exact.users), exact.more), (expected[4..7].to_vec(), false));
    let none = store.list_users_after(&cred, Some(&expected[0]), 0).await.unwrap();
    assert_eq!((none.total, none.users.len(), none.more), (7, 0, false));
    let bad = Credential { hash: pepper().hash("not the secret, not the secret at all"), ..cred.clone() };
    assert!(matches!(store.list_users_after(&bad, None, 3).await, Err(StoreError::Unauthorized)));
    assert!(matches!(store.list_users_after(&bad, None, 0).await, Err(StoreError::Unauthorized)));
    assert!(matches!(store.list_users(&bad, 4, 3, now_unix()).await, Err(StoreError::Unauthorized)));
}

pub async fn external_ids_are_indexed(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract external ids").await;
    let a = create(store, &cred, user_with("a@example.com", Some("00u-okta"))).await;
    let b = create(store, &cred, user_with("b@example.com", Some("00u-okta"))).await;
    create(store, &cred, user_with("c@example.com", Some("00U-OKTA"))).await;
    let mut expected = vec![a.clone(), b];
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(store.find_users_by_external_id(&cred, "00u-okta").await.unwrap(), expected);

    // A write that keeps the value keeps the user findable by it; a changed value moves the index entry.
    let kept = a.successor(user_with("a@example.com", Some("00u-okta")));
    store.replace_user(&cred, &a, &kept).await.unwrap();
    assert_eq!(store.find_users_by_external_id(&cred, "00u-okta").await.unwrap().len(), 2);
    assert_eq!(store.find_user_by_user_name(&cred, "a@example.com").await.unwrap(), Some(kept.clone()));
    let moved = kept.successor(user_with("a@example.com", Some("00u-moved")));
    store.replace_user(&cred, &kept, &moved).await.unwrap();
    assert_eq!(store.find_users_by_external_id(&cred, "00u-moved").await.unwrap(), vec![moved.clone()]);
    assert_eq!(store.find_users_by_external_id(&cred, "00u-okta").await.unwrap().len(), 1);

    let cleared = moved.successor(user("a@example.com"));
    store.replace_user(&cred, &moved, &cleared).await.unwrap();
    assert!(store.find_users_by_external_id(&cred, "00u-moved").await.unwrap().is_empty());
    assert_eq!(store.find_users_by_external_id(&cred, "00u-okta").await.unwrap().len(), 1);
    assert!(store.find_users_by_external_id(&cred, "missing").await.unwrap().is_empty());
}

pub async fn scans_walk_the_directory_by_id(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract scans").await;
    let (_, other) = new_tenant(store, "Contract scans, other").await;
    create(store, &other, user("elsewhere@example.com")).await;
    assert!(store.scan_users(&cred, None, 10).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(store, &cred, user(&format!("scan{i}@example.com"))).await.id);
    }
    ids.sort();
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let step = store.scan_users(&cred, after.as_deref(), 2).await.unwrap();
        assert!(step.len() <= 2);
        let Some(last) = step.last() else { break };
        after = Some(last.id.clone());
        walked.extend(step.into_iter().map(|u| u.id));
    }
    assert_eq!(walked, ids);
    assert_eq!(store.scan_users(&cred, Some(&ids[4]), 10).await.unwrap(), vec![]);
    assert_eq!(store.scan_users(&cred, Some("0"), 0).await.unwrap(), vec![]);
    let bad = Credential { hash: pepper().hash("not the secret, not the secret at all"), ..cred.clone() };
    assert!(matches!(store.scan_users(&bad, None, 10).await, Err(StoreError::Unauthorized)));
    assert!(matches!(store.scan_users(&bad, None, 0).await, Err(StoreError::Unauthorized)));
}

/// Two handles on one database (the admin CLI and the local server) see each other's writes.
pub async fn shared_between_handles(admin: &dyn Store, server: &dyn Store) {
    let (dir, cred) = new_tenant(admin, "Shared").await;
    let record = create(server, &cred, user("shared@example.com")).await;
    assert_eq!(admin.get_directory(&dir.id).await.unwrap(), Some(dir.clone()));
    admin.revoke_key(&dir.id, &cred.key_id, &crate::time::now_rfc3339()).await.unwrap();
    assert!(matches!(server.get_user(&cred, &record.id).await, Err(StoreError::Unauthorized)));
}

fn saml_config(login_url: &str) -> SamlConfig {
    SamlConfig {
        login_url: login_url.to_string(),
        certificates: vec!["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_string()],
        idp_entity_id: Some("http://www.okta.com/exk1".to_string()),
        relay_state_allow_list: vec!["https://app.example.com/".to_string()],
        allow_sha1: false,
        sp_initiated_only: true,
        updated: crate::time::now_rfc3339(),
    }
}

pub async fn saml_configuration_is_kept_per_directory(store: &dyn Store) {
    let (a, _) = new_tenant(store, "Contract SAML A").await;
    let (b, _) = new_tenant(store, "Contract SAML B").await;
    assert_eq!(store.saml_config(&a.id).await.unwrap(), None);

    let config = saml_config("https://example.okta.com/app/x/sso/saml");
    store.set_saml_config(&a.id, &config).await.unwrap();
    assert_eq!(store.saml_config(&a.id).await.unwrap(), Some(config.clone()));
    assert_eq!(store.saml_config(&b.id).await.unwrap(), None);
    // The directory itself is unchanged by its sign-in configuration.
    assert_eq!(store.get_directory(&a.id).await.unwrap(), Some(a.clone()));

    let rotated = SamlConfig { certificates: vec![config.certificates[0].clone(), "second".into()], ..config };
    store.set_saml_config(&a.id, &rotated).await.unwrap();
    assert_eq!(store.saml_config(&a.id).await.unwrap(), Some(rotated));

    store.clear_saml_config(&a.id).await.unwrap();
    assert_eq!(store.saml_config(&a.id).await.unwrap(), None);
    store.clear_saml_config(&a.id).await.unwrap();

    let nowhere = new_id();
    assert!(matches!(store.set_saml_config(&nowhere, &saml_config("https://x")).await, Err(StoreError::NotFound)));
    assert!(matches!(store.clear_saml_config(&nowhere).await, Err(StoreError::NotFound)));
    assert_eq!(store.saml_config(&nowhere).await.unwrap(), None);
    assert_eq!(store.saml_config("").await.unwrap(), None);
}

pub async fn sign_in_lookups_stay_in_their_directory(store: &dyn Store) {
    let (a, cred_a) = new_tenant(store, "Contract sign-in A").await;
    let (b, _) = new_tenant(store, "Contract sign-in B").await;
    let ada = create(store, &cred_a, user("Ada@Example.com")).await;

    assert_eq!(store.sign_in_user(&a.id, "ada@example.COM").await.unwrap(), Some(ada.clone()));
    assert_eq!(store.sign_in_user(&b.id, "ada@example.com").await.unwrap(), None);
    assert_eq!(store.sign_in_user(&a.id, "nobody@example.com").await.unwrap(), None);
    assert_eq!(store.session_user(&a.id, &ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(store.session_user(&b.id, &ada.id).await.unwrap(), None);
    assert_eq!(store.session_user(&a.id, "").await.unwrap(), None);
    assert_eq!(store.session_user(&a.id, &"x".repeat(2000)).await.unwrap(), None);

    // Lookups see changes at once.
    let mut doc = ada.doc.clone().into_attributes();
    doc.insert("active".into(), json!(false));
    let inactive = ada.successor(UserDoc::from_stored(doc));
    store.replace_user(&cred_a, &ada, &inactive).await.unwrap();
    let seen = store.sign_in_user(&a.id, "ada@example.com").await.unwrap().unwrap();
    assert!(!seen.doc.active());
    assert!(!store.session_user(&a.id, &ada.id).await.unwrap().unwrap().doc.active());
}

pub async fn assertions_are_recorded_once(store: &dyn Store) {
    let (a, _) = new_tenant(store, "Contract assertions A").await;
    let (b, _) = new_tenant(store, "Contract assertions B").await;
    let now = 1_900_000_000;
    assert!(store.record_assertion(&a.id, "_a1", now + 300, now).await.unwrap());
    assert!(!store.record_assertion(&a.id, "_a1", now + 300, now + 10).await.unwrap(), "replay");
    assert!(store.record_assertion(&b.id, "_a1", now + 300, now).await.unwrap(), "ids are per directory");
    assert!(store.record_assertion(&a.id, "_a2", now + 300, now).await.unwrap());
    // Once expired (and perhaps not yet deleted by TTL), the id no longer counts.
    assert!(store.record_assertion(&a.id, "_a1", now + 900, now + 300).await.unwrap());
    let long = "x".repeat(5000);
    assert!(store.record_assertion(&a.id, &long, now + 300, now).await.unwrap());
    assert!(!store.record_assertion(&a.id, &long, now + 300, now).await.unwrap());
}

// ---------------------------------------------------------------------------------------------------------------
// Display-name index (manager links)
// ---------------------------------------------------------------------------------------------------------------

/// A valid user document with this displayName.
pub fn user_named(user_name: &str, display_name: &str) -> UserDoc {
    UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "userName": user_name, "displayName": display_name}))
        .expect("valid user")
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

pub async fn display_names_are_found_case_insensitively(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract display names").await;
    let charles = create(store, &cred, user_named("charles", "Charles Babbage")).await;
    create(store, &cred, user_named("ada", "Ada Lovelace")).await;
    for name in ["Charles Babbage", "charles babbage", "CHARLES BABBAGE"] {
        assert_eq!(store.find_user_ids_by_display_name(&cred, name, 2).await.unwrap(), vec![charles.id.clone()]);
    }
    assert!(store.find_user_ids_by_display_name(&cred, "Charles", 2).await.unwrap().is_empty());
    assert!(store.find_user_ids_by_display_name(&cred, "", 2).await.unwrap().is_empty());

    // Several users with one name: ordered by id, at most `limit`.
    let second = create(store, &cred, user_named("charles2", "charles BABBAGE")).await;
    let third = create(store, &cred, user_named("charles3", "Charles Babbage")).await;
    let all = sorted(vec![charles.id.clone(), second.id.clone(), third.id.clone()]);
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 10).await.unwrap(), all);
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await.unwrap(), all[..2].to_vec());
    assert!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 0).await.unwrap().is_empty());

    // Together with a read of a user.
    let ada = store.find_user_by_user_name(&cred, "ada").await.unwrap().unwrap();
    let (read, ids) = store.get_user_and_display_name_ids(&cred, &ada.id, "CHARLES babbage", 2).await.unwrap();
    assert_eq!((read, ids), (ada, all[..2].to_vec()));
    assert!(matches!(
        store.get_user_and_display_name_ids(&cred, "no-such-id", "Charles Babbage", 2).await,
        Err(StoreError::NotFound)
    ));

    // Names too long for a key are found too.
    let long = format!("{} Babbage", "Charles".repeat(300));
    let long_user = create(store, &cred, user_named("long", &long)).await;
    let found = store.find_user_ids_by_display_name(&cred, &long.to_uppercase(), 2).await.unwrap();
    assert_eq!(found, vec![long_user.id]);
}

pub async fn display_name_index_follows_renames_and_deletes(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract display-name index").await;
    let charles = create(store, &cred, user_named("charles", "Charles Babbage")).await;

    // A rename moves the entry; a change of case keeps it findable.
    let renamed = charles.successor(user_named("charles", "Lord Babbage"));
    store.replace_user(&cred, &charles, &renamed).await.unwrap();
    assert!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await.unwrap().is_empty());
    assert_eq!(store.find_user_ids_by_display_name(&cred, "lord babbage", 2).await.unwrap(), vec![charles.id.clone()]);
    let recased = renamed.successor(user_named("charles", "LORD BABBAGE"));
    store.replace_user(&cred, &renamed, &recased).await.unwrap();
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap(), vec![charles.id.clone()]);

    // A write refused (stale version, name taken) moves nothing.
    create(store, &cred, user_named("other", "Someone Else")).await;
    let stale = charles.successor(user_named("charles", "Stale Name"));
    assert!(matches!(store.replace_user(&cred, &charles, &stale).await, Err(StoreError::VersionConflict)));
    let clash = recased.successor(user_named("OTHER", "Clashing Name"));
    assert!(matches!(store.replace_user(&cred, &recased, &clash).await, Err(StoreError::UserNameTaken)));
    for gone in ["Stale Name", "Clashing Name"] {
        assert!(store.find_user_ids_by_display_name(&cred, gone, 2).await.unwrap().is_empty(), "{gone}");
    }
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap(), vec![charles.id.clone()]);

    // A delete removes it; the other bearer of a shared name stays.
    let twin = create(store, &cred, user_named("twin", "lord babbage")).await;
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap().len(), 2);
    store.delete_user(&cred, &recased).await.unwrap();
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap(), vec![twin.id.clone()]);
    store.delete_user(&cred, &twin).await.unwrap();
    assert!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap().is_empty());
    // The name can be taken again.
    let again = create(store, &cred, user_named("again", "Lord Babbage")).await;
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap(), vec![again.id]);
}

pub async fn display_name_lookups_stay_in_their_directory(store: &dyn Store) {
    let (_, a) = new_tenant(store, "Contract display names A").await;
    let (_, b) = new_tenant(store, "Contract display names B").await;
    let in_a = create(store, &a, user_named("charles", "Charles Babbage")).await;
    assert!(store.find_user_ids_by_display_name(&b, "Charles Babbage", 2).await.unwrap().is_empty());
    let in_b = create(store, &b, user_named("charles", "Charles Babbage")).await;
    assert_eq!(store.find_user_ids_by_display_name(&a, "Charles Babbage", 2).await.unwrap(), vec![in_a.id.clone()]);
    assert_eq!(store.find_user_ids_by_display_name(&b, "Charles Babbage", 2).await.unwrap(), vec![in_b.id.clone()]);
    // Another directory's user is not read through this one's lookup.
    assert!(matches!(
        store.get_user_and_display_name_ids(&b, &in_a.id, "Charles Babbage", 2).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.reindex_display_names(&b, std::slice::from_ref(&in_a)).await.unwrap(), 0);
    assert_eq!(store.find_user_ids_by_display_name(&b, "Charles Babbage", 2).await.unwrap(), vec![in_b.id]);
}

pub async fn display_name_lookups_check_the_credential(store: &dyn Store) {
    let (dir, cred) = new_tenant(store, "Contract display names, credentials").await;
    let charles = create(store, &cred, user_named("charles", "Charles Babbage")).await;
    let wrong_secret = Credential { hash: pepper().hash("not the secret at all, not at all"), ..cred.clone() };
    let unknown_key = Credential { key_id: new_id(), ..cred.clone() };
    let (_, other) = new_tenant(store, "Contract display names, other").await;
    let borrowed = Credential { directory: dir.id.clone(), ..other.clone() };
    for bad in [&wrong_secret, &unknown_key, &borrowed] {
        let found = store.find_user_ids_by_display_name(bad, "Charles Babbage", 2).await;
        assert!(matches!(found, Err(StoreError::Unauthorized)));
        let read = store.get_user_and_display_name_ids(bad, &charles.id, "Charles Babbage", 2).await;
        assert!(matches!(read, Err(StoreError::Unauthorized)));
        let missing = store.get_user_and_display_name_ids(bad, "no-such-id", "x", 2).await;
        assert!(matches!(missing, Err(StoreError::Unauthorized)));
        let reindexed = store.reindex_display_names(bad, std::slice::from_ref(&charles)).await;
        assert!(matches!(reindexed, Err(StoreError::Unauthorized)));
    }
    store.revoke_key(&cred.directory, &cred.key_id, &crate::time::now_rfc3339()).await.unwrap();
    assert!(matches!(
        store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await,
        Err(StoreError::Unauthorized)
    ));
}

pub async fn reindex_skips_users_changed_since_read(store: &dyn Store) {
    let (_, cred) = new_tenant(store, "Contract reindex").await;
    let charles = create(store, &cred, user_named("charles", "Charles Babbage")).await;
    let ada = create(store, &cred, user_named("ada", "Ada Lovelace")).await;
    let gone = create(store, &cred, user_named("gone", "Gone User")).await;
    assert_eq!(store.reindex_display_names(&cred, &[]).await.unwrap(), 0);
    let read = store.scan_users(&cred, None, 10).await.unwrap();

    // Changed after the read: renamed, deleted.
    let renamed = charles.successor(user_named("charles", "Lord Babbage"));
    store.replace_user(&cred, &charles, &renamed).await.unwrap();
    store.delete_user(&cred, &gone).await.unwrap();

    assert_eq!(store.reindex_display_names(&cred, &read).await.unwrap(), 1);
    assert!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await.unwrap().is_empty());
    assert!(store.find_user_ids_by_display_name(&cred, "Gone User", 2).await.unwrap().is_empty());
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Lord Babbage", 2).await.unwrap(), vec![charles.id]);
    assert_eq!(store.find_user_ids_by_display_name(&cred, "Ada Lovelace", 2).await.unwrap(), vec![ada.id]);
}

pub async fn concurrent_walks_by_two_clients_keep_their_own_positions(store: &dyn Store) {
    let (directory, okta) = new_tenant(store, "Contract two walkers").await;
    let second = issue_key(&directory.id, "second client", &pepper());
    store.create_key(&second.record).await.expect("create key");
    let other = Credential::from_authorization(Some(&format!("Bearer {}", second.token)), &pepper()).expect("token");
    for (id, name) in [("u-20", "b"), ("u-30", "c"), ("u-40", "d"), ("u-50", "e")] {
        create_with_id(store, &okta, id, &format!("{name}@example.com")).await;
    }
    let now = now_unix();
    let first = store.list_users(&okta, 1, 2, now).await.unwrap();
    assert_eq!(ids(&first.users), ["u-20", "u-30"]);
    // Between Okta's pages a user appears before its position, and another client walks with the same page size.
    create_with_id(store, &okta, "u-10", "a@example.com").await;
    assert_eq!(ids(&store.list_users(&other, 1, 2, now).await.unwrap().users), ["u-10", "u-20"]);
    // Okta's walk continues after the last user it was given, not after the other client's.
    assert_eq!(ids(&store.list_users(&okta, 3, 2, now).await.unwrap().users), ["u-40", "u-50"]);
    assert_eq!(ids(&store.list_users(&other, 3, 2, now).await.unwrap().users), ["u-30", "u-40"]);
}
