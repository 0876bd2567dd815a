//! The userName identity rule end to end: provisioning refuses look-alikes over HTTP, and `fd-admin users
//! check-names` lists users stored before the rule whose names it refuses; names of one identity (case, full case
//! folding, composition) are one user; `fd-admin users migrate-names` reports what it moved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::auth::Credential;
use fd_shared::runtime::StoreConfig;
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_tests::{Backend, json};
use serde_json::Value;

#[tokio::test]
async fn look_alikes_are_refused_and_earlier_ones_are_listed() {
    let backend = Backend::sqlite();
    let (directory, _, token) = backend.tenant("Identity").await;
    let server = backend.start_local().await;
    let user = |name: &str| {
        serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                           "displayName": "Kim"})
    };
    assert_eq!(server.call("POST", "/Users", Some(&token), Some(&user("kim@example.com"))).await.status, 201);
    // One identity: another case, or full case folding (ß → ss), or decomposed é is the same user.
    assert_eq!(server.call("POST", "/Users", Some(&token), Some(&user("Straße@example.com"))).await.status, 201);
    assert_eq!(server.call("POST", "/Users", Some(&token), Some(&user("jos\u{e9}@example.com"))).await.status, 201);
    for same in ["KIM@example.com", "STRASSE@example.com", "jose\u{301}@example.com"] {
        assert_eq!(server.call("POST", "/Users", Some(&token), Some(&user(same))).await.status, 409, "{same:?}");
    }
    let filter = "/Users?filter=userName%20eq%20%22strasse%40EXAMPLE.com%22";
    assert_eq!(server.call("GET", filter, Some(&token), None).await.body["totalResults"], 1);
    for look_alike in ["\u{212A}im@example.com", "kim@example.com ", "k\u{200b}im@example.com"] {
        let refused = server.call("POST", "/Users", Some(&token), Some(&user(look_alike))).await;
        assert_eq!(refused.status, 400, "{look_alike:?}");
        assert_eq!(refused.body["scimType"], "invalidValue");
    }
    server.stop().await;

    // A user written before the rule, straight into the store (the store does not judge names).
    let Backend::Sqlite { data_dir } = &backend else { unreachable!() };
    let config = StoreConfig { data_dir: Some(data_dir.clone()), ..StoreConfig::default() };
    let (store, pepper) = config.open().await.unwrap();
    let credential = Credential::from_authorization(Some(&format!("Bearer {token}")), &pepper).unwrap();
    let old = UserDoc::from_stored(user("old kim@example.com").as_object().unwrap().clone());
    store.create_user(&credential, &UserRecord::new(old)).await.unwrap();
    drop(store);

    let listed: Value = json(&backend.admin(&["users", "check-names", "--directory", &directory, "--json"]).await);
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["old kim@example.com"]);
    assert!(listed[0]["reason"].as_str().unwrap().contains("U+0020"), "{listed}");

    // Nothing to move on a store written under the rule; the report names the directory.
    let migrated: Value = json(&backend.admin(&["users", "migrate-names", "--directory", &directory, "--json"]).await);
    assert_eq!(migrated[0]["checked"], 4);
    assert_eq!(migrated[0]["moved"], 0);
    assert_eq!(migrated[0]["conflicts"], serde_json::json!([]));
}
