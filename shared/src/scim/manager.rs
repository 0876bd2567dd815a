//! Manager links: turning the manager's display name that Okta sends into a reference to the manager's own User.
//!
//! Okta sends the Enterprise User `manager` as `{"displayName": "Charles Babbage"}` only. When that name
//! (compared case-insensitively, as userNames are) belongs to exactly one user of the directory, the server adds
//! `manager.value` (that user's id) and `manager.$ref` (its URL); when no user or several users have the name, the
//! manager keeps only its display name.
//!
//! The link belongs either to the server or to the client:
//!
//! - a **server link** is a manager with no `value` and no `$ref`, or with a `value` and a `$ref` ending in
//!   `/Users/<value>` (the form the server writes, also when a client echoes it back). The server recomputes it
//!   from `displayName` whenever it decides to;
//! - a **client link** is any other `value` or `$ref` (Microsoft Entra ID sets the manager by id), and any `value`
//!   a PUT or PATCH introduces ([`is_new_client_value`]): kept as sent, never recomputed by that write.
//!
//! This module decides; the service and `fd-admin users relink-managers` look the names up.

use super::schema::ENTERPRISE_USER_SCHEMA;
use super::user::UserDoc;
use serde_json::{Map, Value};

/// How many users a lookup asks for: enough to tell none, one and several apart.
pub const LOOKUP_LIMIT: u64 = 2;

/// Folds a display name for case-insensitive matching (lowercase: a display name is not an identifier, and the
/// display-name index of both stores is keyed by this folding).
pub fn display_name_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

/// The manager object of a document's attributes, for changing it.
fn manager_mut(attributes: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    attributes.get_mut(ENTERPRISE_USER_SCHEMA)?.get_mut("manager")?.as_object_mut()
}

/// A `manager.$ref` is the server's to write: a client's is dropped unless it has the server's shape for the
/// manager's `value` (`…/Users/{value}`: an echo of a link the server rendered). What is stored is never shown:
/// [`render_reference`] writes the reference from the `value` and the deployment's URL.
pub fn drop_client_reference(attributes: &mut Map<String, Value>) {
    let Some(manager) = manager_mut(attributes) else { return };
    let value = manager.get("value").and_then(Value::as_str).filter(|v| !v.is_empty());
    let servers = match (value, manager.get("$ref").and_then(Value::as_str)) {
        (_, None) => return,
        (Some(value), Some(reference)) => {
            reference.strip_suffix(value).is_some_and(|prefix| prefix.ends_with("/Users/"))
        }
        (None, Some(_)) => false,
    };
    if !servers {
        manager.shift_remove("$ref");
    }
}

/// The `manager.$ref` of a rendered user: `{users_url}/{value}` when the manager has a `value`, else none.
pub fn render_reference(attributes: &mut Map<String, Value>, users_url: &str) {
    let Some(manager) = manager_mut(attributes) else { return };
    match manager.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) {
        Some(value) => {
            let reference = format!("{users_url}/{value}");
            manager.insert("$ref".into(), Value::String(reference));
        }
        None => {
            manager.shift_remove("$ref");
        }
    }
}

/// The enterprise `manager` object of a document, if any.
fn manager(doc: &UserDoc) -> Option<&Map<String, Value>> {
    doc.attributes().get(ENTERPRISE_USER_SCHEMA)?.get("manager")?.as_object()
}

/// Whether `manager` carries a link the server wrote (or none at all), which the server may recompute.
fn is_server_link(manager: &Map<String, Value>) -> bool {
    match (manager.get("value"), manager.get("$ref")) {
        (None, None) => true,
        (Some(Value::String(value)), Some(Value::String(reference))) => {
            !value.is_empty()
                && reference.strip_suffix(value.as_str()).is_some_and(|prefix| prefix.ends_with("/Users/"))
        }
        _ => false,
    }
}

/// The manager's display name when the link is the server's to compute: a non-blank `manager.displayName` and no
/// client link. `None` means "leave the manager as it is".
pub fn resolvable_name(doc: &UserDoc) -> Option<&str> {
    let manager = manager(doc)?;
    let name = manager.get("displayName")?.as_str()?;
    (!name.trim().is_empty() && is_server_link(manager)).then_some(name)
}

/// The id a server link points to (`None` without a link, or when the link is the client's).
pub fn linked_id(doc: &UserDoc) -> Option<&str> {
    let manager = manager(doc)?;
    let value = manager.get("value")?.as_str()?;
    is_server_link(manager).then_some(value)
}

/// Whether `next` carries a manager `value` that `previous` did not: one the client has just sent (a PUT or PATCH
/// setting the manager by id), which is the client's whatever its `$ref`, and kept as sent. An unchanged value is
/// an echo of the stored link and follows the rules above.
pub fn is_new_client_value(previous: &UserDoc, next: &UserDoc) -> bool {
    let value = |doc| manager(doc).and_then(|m| m.get("value")).and_then(Value::as_str).filter(|v| !v.is_empty());
    value(next).is_some() && value(next) != value(previous)
}

/// A client's manager `value` with the `$ref` the server wrote for an earlier link (PATCH merges a new `value`
/// into the stored manager): that `$ref` now points elsewhere, so it is dropped; any other `$ref` is the client's.
pub fn without_stale_reference(doc: UserDoc) -> UserDoc {
    let stale = manager(&doc).is_some_and(|m| {
        let value = m.get("value").and_then(Value::as_str).unwrap_or("");
        m.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit_once("/Users/")).is_some_and(|(_, id)| id != value)
    });
    if !stale {
        return doc;
    }
    let mut attributes = doc.into_attributes();
    if let Some(Value::Object(manager)) =
        attributes.get_mut(ENTERPRISE_USER_SCHEMA).and_then(|ext| ext.get_mut("manager"))
    {
        manager.shift_remove("$ref");
    }
    UserDoc::from_stored(attributes)
}

/// Whether two documents carry the same `manager` (both absent counts as the same).
pub fn same_manager(a: &UserDoc, b: &UserDoc) -> bool {
    manager(a) == manager(b)
}

/// The link the server computes for a document of user `own_id` from `matches`, the ids of (up to
/// [`LOOKUP_LIMIT`]) users whose display name equals the manager's: exactly one match that is not the user
/// itself sets `manager.value` and `manager.$ref` (`{users_url}/{id}`); otherwise both are removed and the display
/// name stays alone. Documents without a resolvable name are returned unchanged.
pub fn link(doc: UserDoc, matches: &[String], own_id: &str, users_url: &str) -> UserDoc {
    if resolvable_name(&doc).is_none() {
        return doc;
    }
    let target = match matches {
        [only] if only != own_id => Some(only.as_str()),
        _ => None,
    };
    let mut attributes = doc.into_attributes();
    if let Some(Value::Object(manager)) =
        attributes.get_mut(ENTERPRISE_USER_SCHEMA).and_then(|ext| ext.get_mut("manager"))
    {
        match target {
            Some(id) => {
                let reference = format!("{users_url}/{id}");
                // Keep an equivalent reference written under another base URL rather than rewrite the user.
                let current = manager.get("value").and_then(Value::as_str) == Some(id);
                if !current {
                    manager.insert("value".into(), Value::String(id.to_string()));
                    manager.insert("$ref".into(), Value::String(reference));
                }
            }
            None => {
                manager.shift_remove("value");
                manager.shift_remove("$ref");
            }
        }
    }
    UserDoc::from_stored(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_SCHEMA;
    use serde_json::json;

    const USERS: &str = "https://example.com/scim/v2/Users";

    fn doc(manager: Value) -> UserDoc {
        UserDoc::from_request(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "ada",
            "displayName": "Ada Lovelace",
            ENTERPRISE_USER_SCHEMA: {"department": "Analytics", "manager": manager},
        }))
        .unwrap()
    }

    fn manager_of(doc: &UserDoc) -> Value {
        doc.attributes()[ENTERPRISE_USER_SCHEMA]["manager"].clone()
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn okta_names_are_resolvable_client_links_are_not() {
        assert_eq!(resolvable_name(&doc(json!({"displayName": "Charles Babbage"}))), Some("Charles Babbage"));
        // A `$ref` without a value is dropped: the name is resolved.
        let reference_only = doc(json!({"displayName": "Charles", "$ref": "https://example.com/scim/v2/Users/c1"}));
        assert_eq!(resolvable_name(&reference_only), Some("Charles"));
        // The server's own link (any base URL) may be recomputed.
        let ours =
            doc(json!({"displayName": "Charles", "value": "c1", "$ref": "http://127.0.0.1:3000/scim/v2/Users/c1"}));
        assert_eq!(resolvable_name(&ours), Some("Charles"));
        for client in [
            json!({"value": "c1"}),
            json!({"displayName": "Charles", "value": "c1"}),
            json!({"displayName": "Charles", "value": "c1", "$ref": "https://example.com/people/c1"}),
            json!({"displayName": "Charles", "value": "c1", "$ref": "https://example.com/scim/v2/Users/xc1"}),
            json!({"displayName": "   "}),
        ] {
            assert_eq!(resolvable_name(&doc(client.clone())), None, "{client}");
        }
        let without = UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "A"}));
        assert_eq!(resolvable_name(&without.unwrap()), None);
    }

    #[test]
    fn exactly_one_other_user_links() {
        let linked = link(doc(json!({"displayName": "Charles Babbage"})), &ids(&["c1"]), "self", USERS);
        assert_eq!(
            manager_of(&linked),
            json!({"displayName": "Charles Babbage", "value": "c1", "$ref": format!("{USERS}/c1")})
        );
        assert_eq!(linked.attributes()[ENTERPRISE_USER_SCHEMA]["department"], "Analytics");
        // Already linked to the same user under another base URL: unchanged.
        let other_base =
            json!({"displayName": "Charles", "value": "c1", "$ref": "http://127.0.0.1:3000/scim/v2/Users/c1"});
        assert_eq!(link(doc(other_base.clone()), &ids(&["c1"]), "self", USERS), doc(other_base));
    }

    #[test]
    fn none_several_or_oneself_keep_the_display_name_alone() {
        let stale = json!({"displayName": "Charles", "value": "c1", "$ref": format!("{USERS}/c1")});
        for matches in [ids(&[]), ids(&["c1", "c2"]), ids(&["self"])] {
            let unlinked = link(doc(stale.clone()), &matches, "self", USERS);
            assert_eq!(manager_of(&unlinked), json!({"displayName": "Charles"}), "{matches:?}");
        }
        // A stale server link moves to the one user now bearing the name.
        let moved = link(doc(stale), &ids(&["c2"]), "self", USERS);
        assert_eq!(manager_of(&moved)["value"], "c2");
    }

    #[test]
    fn client_links_are_never_replaced() {
        let entra = json!({"displayName": "Charles", "value": "entra-id"});
        assert_eq!(link(doc(entra.clone()), &ids(&["c1"]), "self", USERS), doc(entra.clone()));
        assert_eq!(link(doc(entra.clone()), &ids(&[]), "self", USERS), doc(entra));
    }

    #[test]
    fn a_value_the_client_just_sent_is_the_clients() {
        let okta = doc(json!({"displayName": "Ada"}));
        let linked = doc(json!({"displayName": "Ada", "value": "u1", "$ref": format!("{USERS}/u1")}));
        let by_id = doc(json!({"displayName": "Ada", "value": "u2", "$ref": format!("{USERS}/u2")}));
        assert!(is_new_client_value(&okta, &by_id));
        assert!(is_new_client_value(&linked, &by_id));
        assert!(!is_new_client_value(&linked, &linked), "an echo of the stored link");
        assert!(!is_new_client_value(&linked, &okta));
    }

    #[test]
    fn a_new_client_value_drops_the_servers_old_reference() {
        let merged = doc(json!({"displayName": "Ada", "value": "m-7", "$ref": format!("{USERS}/u1")}));
        assert_eq!(manager_of(&without_stale_reference(merged)), json!({"displayName": "Ada", "value": "m-7"}));
        let consistent = doc(json!({"value": "m-7", "$ref": format!("{USERS}/m-7")}));
        assert_eq!(manager_of(&without_stale_reference(consistent.clone())), manager_of(&consistent));
        let external = doc(json!({"value": "m-7", "$ref": "https://hr.example.com/people/7"}));
        assert_eq!(manager_of(&without_stale_reference(external.clone())), manager_of(&external));
    }

    #[test]
    fn managers_compare_whole() {
        let a = doc(json!({"displayName": "Charles"}));
        assert!(same_manager(&a, &doc(json!({"displayName": "Charles"}))));
        assert!(!same_manager(&a, &doc(json!({"displayName": "charles"}))));
        assert!(!same_manager(&a, &link(a.clone(), &ids(&["c1"]), "self", USERS)));
        assert_eq!(display_name_key("Charles BABBAGE"), "charles babbage");
    }
}
