//! The userName identity rule end to end: provisioning refuses look-alikes over HTTP, and `fd-admin users
//! check-names` lists users stored before the rule whose names it refuses.
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
}
