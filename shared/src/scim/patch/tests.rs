//! Unit tests of PATCH parsing and application (RFC 7644 §3.5.2), with the shapes Okta and Entra ID send.

use super::*;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, Returned};
use serde_json::json;

fn doc() -> UserDoc {
    UserDoc::from_request(json!({
        "schemas": [USER_SCHEMA],
        "userName": "ada@example.com",
        "displayName": "Ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "active": true,
    }))
    .unwrap()
}

/// A user with several values in each multi-valued attribute.
fn rich() -> UserDoc {
    UserDoc::from_request(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "ada@example.com",
        "displayName": "Ada",
        "emails": [
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home", "display": "Home"},
        ],
        "phoneNumbers": [
            {"value": "+44 1", "type": "mobile", "primary": true},
            {"value": "+44 2", "type": "work"},
        ],
        "addresses": [{"type": "home", "locality": "London", "country": "GB"}],
        ENTERPRISE_USER_SCHEMA: {"department": "Analytics", "manager": {"value": "m-1", "displayName": "Babbage"}},
    }))
    .unwrap()
}

fn patch_on(user: &UserDoc, ops: Value) -> Result<UserDoc, ScimError> {
    PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?.apply(user)
}

fn patch(ops: Value) -> Result<UserDoc, ScimError> {
    patch_on(&doc(), ops)
}

/// Applies a PatchOp body given as the exact JSON text a client sends.
fn patch_text(user: &UserDoc, body: &str) -> Result<UserDoc, ScimError> {
    PatchRequest::parse(serde_json::from_str(body).unwrap())?.apply(user)
}

fn scim_type(result: Result<UserDoc, ScimError>) -> (u16, Option<ScimType>) {
    let err = result.unwrap_err();
    (err.status, err.scim_type)
}

#[test]
fn okta_deactivate_and_reactivate() {
    let off = patch(json!([{"op": "replace", "value": {"active": false}}])).unwrap();
    assert!(!off.active());
    let on = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": true}}]}))
    .unwrap()
    .apply(&off)
    .unwrap();
    assert!(on.active());
    assert_eq!(on.attributes()["name"], doc().attributes()["name"]);
}

#[test]
fn entra_capitalised_op_and_string_boolean() {
    let body = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    }"#;
    assert!(!patch_text(&doc(), body).unwrap().active());
    let out = patch(json!([{"op": "Add", "path": "nickName", "value": "Babs"}])).unwrap();
    assert_eq!(out.attributes()["nickName"], "Babs");
}

#[test]
fn sub_attribute_and_extension_paths() {
    let out = patch(json!([
        {"op": "replace", "path": "name.familyName", "value": "Byron"},
        {"op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:department"), "value": "Analytics"},
        {"op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": {"displayName": "Babbage"}},
    ]))
    .unwrap();
    assert_eq!(out.attributes()["name"], json!({"givenName": "Ada", "familyName": "Byron"}));
    assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["department"], "Analytics");
    assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["manager"]["displayName"], "Babbage");
    assert!(out.attributes()["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE_USER_SCHEMA)));
}

#[test]
fn add_appends_to_multi_valued_and_remove_deletes() {
    let out = patch(json!([
        {"op": "add", "path": "emails", "value": [{"value": "ada@home.example", "type": "home"}]},
        {"op": "remove", "path": "name.givenName"},
    ]))
    .unwrap();
    assert_eq!(out.attributes()["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(out.attributes()["name"], json!({"familyName": "Lovelace"}));
}

#[test]
fn add_of_values_already_present_repeats_nothing() {
    let out = patch(json!([
        {"op": "add", "path": "emails", "value": [{"Value": "ada@example.com", "type": "work", "primary": "True"}]},
        {"op": "add", "path": "emails", "value": {"value": "ada@home.example", "type": "home"}},
        {"op": "add", "path": "emails", "value": [{"value": "ada@home.example", "type": "home"}]},
    ]))
    .unwrap();
    assert_eq!(
        out.attributes()["emails"],
        json!([
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"},
        ])
    );
}

#[test]
fn remove_without_filter_removes_every_value() {
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails"}])).unwrap();
    assert!(!out.attributes().contains_key("emails"));
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails.display"}])).unwrap();
    assert_eq!(out.attributes()["emails"][1], json!({"value": "ada@home.example", "type": "home"}));
}

#[test]
fn entra_remove_names_the_values_in_value() {
    // The shape of Microsoft Entra ID's member removal, applied to a multi-valued attribute of a User.
    let body = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "emails", "value": [{"value": "ADA@home.example"}]}]
    }"#;
    let out = patch_text(&rich(), body).unwrap();
    assert_eq!(out.attributes()["emails"], json!([{"value": "ada@example.com", "type": "work", "primary": true}]));
    // A value that is not there removes nothing.
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails", "value": {"value": "x@y"}}])).unwrap();
    assert_eq!(out, rich());
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails", "value": ["ada@example.com"]}])).unwrap();
    assert_eq!(out.attributes()["emails"].as_array().map(Vec::len), Some(1));
}

#[test]
fn no_path_replace_merges_complex_attributes() {
    let out =
        patch(json!([{"op": "replace", "value": {"name": {"familyName": "King"}, "title": "Countess"}}])).unwrap();
    assert_eq!(out.attributes()["name"], json!({"givenName": "Ada", "familyName": "King"}));
    assert_eq!(out.attributes()["title"], "Countess");
}

#[test]
fn value_filter_selects_the_sub_attribute_to_replace() {
    let out = patch_on(
        &rich(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "lovelace@example.com"}]),
    )
    .unwrap();
    assert_eq!(
        out.attributes()["emails"],
        json!([
            {"value": "lovelace@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home", "display": "Home"},
        ])
    );
    let out = patch_on(
        &rich(),
        json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value",
                "value": "+44 9"}]),
    )
    .unwrap();
    assert_eq!(out.attributes()["phoneNumbers"][0]["value"], "+44 9");
    assert_eq!(out.attributes()["phoneNumbers"][1]["value"], "+44 2");
}

#[test]
fn value_filter_replaces_whole_values() {
    let out = patch_on(
        &rich(),
        json!([{"op": "replace", "path": "addresses[type eq \"home\"]",
                "value": {"type": "home", "streetAddress": "12 St James's Square"}}]),
    )
    .unwrap();
    assert_eq!(out.attributes()["addresses"], json!([{"type": "home", "streetAddress": "12 St James's Square"}]));
}

#[test]
fn value_filter_remove_removes_matching_values_or_their_sub_attribute() {
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])).unwrap();
    assert_eq!(out.attributes()["emails"], json!([{"value": "ada@home.example", "type": "home", "display": "Home"}]));
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "addresses[type eq \"home\"].locality"}])).unwrap();
    assert_eq!(out.attributes()["addresses"], json!([{"type": "home", "country": "GB"}]));
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails[value ew \"example\"]"}])).unwrap();
    assert_eq!(out.attributes()["emails"].as_array().map(Vec::len), Some(1));
    // The last value removed unassigns the attribute; a filter matching nothing changes nothing.
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "addresses[country eq \"gb\"]"}])).unwrap();
    assert!(!out.attributes().contains_key("addresses"));
    let out = patch_on(&rich(), json!([{"op": "remove", "path": "emails[type eq \"other\"]"}])).unwrap();
    assert_eq!(out, rich());
}

#[test]
fn replace_matching_nothing_is_no_target() {
    for path in [
        "emails[type eq \"other\"]",
        "emails[value eq \"nobody@example.com\"].display",
        "phoneNumbers[type eq \"fax\" and primary eq true].value",
        "name[givenName eq \"Grace\"].familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"m-2\"].displayName",
    ] {
        let result = patch_on(&rich(), json!([{"op": "replace", "path": path, "value": {"value": "x"}}]));
        assert_eq!(scim_type(result), (400, Some(ScimType::NoTarget)), "{path}");
    }
}

#[test]
fn making_a_value_primary_clears_the_others() {
    let out = patch_on(&rich(), json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]))
        .unwrap();
    assert_eq!(out.attributes()["emails"][0]["primary"], false);
    assert_eq!(out.attributes()["emails"][1]["primary"], true);
    let out = patch_on(
        &rich(),
        json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "+44 3", "type": "home", "primary": true}]}]),
    )
    .unwrap();
    let primaries: Vec<&Value> =
        out.attributes()["phoneNumbers"].as_array().unwrap().iter().filter(|p| p["primary"] == true).collect();
    assert_eq!(primaries, [&json!({"value": "+44 3", "type": "home", "primary": true})]);
    // Two new primary values at once are refused by validation.
    let two = json!([{"op": "add", "path": "emails", "value": [
        {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}]}]);
    assert_eq!(scim_type(patch(two)), (400, Some(ScimType::InvalidValue)));
}

/// Microsoft Entra ID's user update, as documented ("Update User [Multi-valued properties]").
#[test]
fn entra_update_user_multi_valued_properties() {
    let body = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
                {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "updatedEmail@microsoft.com"
                },
                {
                "op": "Replace",
                "path": "name.familyName",
                "value": "updatedFamilyName"
                }
        ]
    }"#;
    let out = patch_text(&doc(), body).unwrap();
    assert_eq!(
        out.attributes()["emails"],
        json!([{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}])
    );
    assert_eq!(out.attributes()["name"]["familyName"], "updatedFamilyName");
}

/// Microsoft Entra ID's "replace multiple attributes", without and with its SCIM-compliance flag.
#[test]
fn entra_replace_multiple_attributes() {
    let without_flag = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace",
             "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
             "value": "Eqpj"}
        ]
    }"#;
    let out = patch_text(&doc(), without_flag).unwrap();
    assert_eq!(out.attributes()["displayName"], "Pvlo");
    assert_eq!(out.attributes()["emails"][0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(out.attributes()["name"], json!({"givenName": "Gtfd", "familyName": "Pkqf"}));
    assert_eq!(out.external_id(), Some("Eqpj"));
    assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "Eqpj");

    let with_flag = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}
        ]
    }"#;
    let out = patch_text(&doc(), with_flag).unwrap();
    assert_eq!(out.attributes()["displayName"], "Bjfe");
    assert_eq!(out.attributes()["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
    assert_eq!(out.attributes()["name"], json!({"givenName": "Kkom", "familyName": "Unua"}));
    assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "Aklq");
    let department = json!([{"op": "Replace", "value": {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X"}}]);
    assert_eq!(patch(department).unwrap().attributes()[ENTERPRISE_USER_SCHEMA]["department"], "X");
}

#[test]
fn entra_add_into_a_complex_attribute_that_does_not_exist() {
    let bare =
        UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "displayName": "B"})).unwrap();
    let body = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "name.givenName", "value": "Barbara"}]
    }"#;
    assert_eq!(patch_text(&bare, body).unwrap().attributes()["name"], json!({"givenName": "Barbara"}));
    let out = patch_on(&bare, json!([{"op": "Replace", "value": {"name.familyName": "Jensen"}}])).unwrap();
    assert_eq!(out.attributes()["name"], json!({"familyName": "Jensen"}));
}

#[test]
fn entra_manager_by_id() {
    let add = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
        }]
    }"#;
    let out = patch_text(&doc(), add).unwrap();
    assert_eq!(
        out.attributes()[ENTERPRISE_USER_SCHEMA],
        json!({"manager": {"value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}})
    );
    assert!(out.attributes()["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE_USER_SCHEMA)));

    let replace = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }]
    }"#;
    let out = patch_text(&out, replace).unwrap();
    assert_eq!(
        out.attributes()[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"})
    );

    let remove = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Remove",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        }]
    }"#;
    let removed = patch_text(&out, remove).unwrap();
    assert!(!removed.attributes().contains_key(ENTERPRISE_USER_SCHEMA));
    assert_eq!(removed.attributes()["schemas"], json!([USER_SCHEMA]));

    // Removal naming the manager, by value or by filter: only that manager is removed.
    let path = format!("{ENTERPRISE_USER_SCHEMA}:manager");
    let other = patch_on(&out, json!([{"op": "Remove", "path": path, "value": [{"value": "someone-else"}]}]));
    assert_eq!(other.unwrap(), out);
    let by_value = patch_on(
        &out,
        json!([{"op": "Remove", "path": path,
        "value": [{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}]}]),
    );
    assert!(!by_value.unwrap().attributes().contains_key(ENTERPRISE_USER_SCHEMA));
    let by_filter = patch_on(&rich(), json!([{"op": "remove", "path": format!("{path}[value eq \"m-1\"]")}]));
    assert_eq!(by_filter.unwrap().attributes()[ENTERPRISE_USER_SCHEMA], json!({"department": "Analytics"}));
    // In a no-path value, as Entra ID sends extension attributes there.
    let out = patch(json!([{"op": "Add", "value": {ENTERPRISE_USER_SCHEMA: {"manager": "m-7"}}}])).unwrap();
    assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m-7"}));
}

#[test]
fn entra_add_to_a_typed_value_that_does_not_exist_creates_it() {
    let body = r#"{
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"}
        ]
    }"#;
    let out = patch_text(&rich(), body).unwrap();
    assert_eq!(
        out.attributes()["addresses"],
        json!([
            {"type": "home", "locality": "London", "country": "GB"},
            {"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "postalCode": "98052"},
        ])
    );
    // The same on a user with no addresses at all, and with replace (Entra ID sends either).
    let out =
        patch(json!([{"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}])).unwrap();
    assert_eq!(out.attributes()["addresses"], json!([{"type": "work", "locality": "Redmond"}]));
    let out = patch(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
        {"op": "Add", "path": "emails[type eq \"other\"]", "value": {"value": "ada@other.example"}},
    ]))
    .unwrap();
    assert_eq!(out.attributes()["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555"}]));
    assert_eq!(out.attributes()["emails"][1], json!({"type": "other", "value": "ada@other.example"}));
}

#[test]
fn errors_are_scim_errors() {
    let cases: Vec<(Value, ScimType)> = vec![
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (json!([{"op": "replace", "path": "id", "value": "x"}]), ScimType::Mutability),
        (json!([{"op": "replace", "path": "meta.created", "value": "2011-05-13T04:42:34Z"}]), ScimType::Mutability),
        (json!([{"op": "remove", "path": "groups[value eq \"g\"]"}]), ScimType::Mutability),
        (json!([{"op": "replace", "value": {"id": "x"}}]), ScimType::Mutability),
        (json!([{"op": "remove", "path": "userName"}]), ScimType::Mutability),
        (json!([{"op": "replace", "path": "active", "value": "perhaps"}]), ScimType::InvalidValue),
        (json!([{"op": "replace", "path": "displayName"}]), ScimType::InvalidValue),
        (json!([{"op": "replace", "path": "emails", "value": "ada@example.com"}]), ScimType::InvalidValue),
        (json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": "x"}]), ScimType::InvalidValue),
        (json!([{"op": "move", "path": "title", "value": "x"}]), ScimType::InvalidSyntax),
        (json!([{"op": "replace", "path": "urn:example:unknown:attr", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "name..x", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "value": "not an object"}]), ScimType::InvalidValue),
        (json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "emails[type eq \"work\"]value", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "emails[type eq \"work\"].value.x", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "emails]", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "title.value", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "favourite[value eq \"x\"]", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "name.givenName[value eq \"x\"]", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "emails[type eq]", "value": "x"}]), ScimType::InvalidFilter),
        (json!([{"op": "replace", "path": "emails[]", "value": "x"}]), ScimType::InvalidFilter),
        (json!([{"op": "replace", "path": "emails[colour eq \"x\"]", "value": "x"}]), ScimType::InvalidFilter),
        (json!([{"op": "replace", "path": "emails[primary eq \"yes\"]", "value": "x"}]), ScimType::InvalidFilter),
        (json!([{"op": "replace", "path": "emails[type[value pr]]", "value": "x"}]), ScimType::InvalidFilter),
    ];
    for (ops, expected) in cases {
        let err = patch(ops.clone()).unwrap_err();
        assert_eq!((err.status, err.scim_type), (400, Some(expected)), "{ops}");
    }
    let err = PatchRequest::parse(json!({"Operations": [{"op": "remove", "path": "title"}]})).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    let err = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []})).unwrap_err();
    assert_eq!(err.status, 400);
}

#[test]
fn brackets_inside_filter_strings_are_text() {
    let out = patch_on(
        &rich(),
        json!([{"op": "add", "path": "emails[display eq \"Home]\" or type eq \"home\"].display", "value": "[x]"}]),
    )
    .unwrap();
    assert_eq!(out.attributes()["emails"][1]["display"], "[x]");
}

#[test]
fn immutable_attributes_may_only_be_added() {
    let immutable = AttributeDef {
        name: "badge",
        ty: AttrType::String,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::Immutable,
        returned: Returned::Default,
        unique: false,
        sub_attributes: &[],
        description: "",
    };
    assert!(check_mutability(&immutable, false).is_ok());
    let err = check_mutability(&immutable, true).unwrap_err();
    assert_eq!((err.status, err.scim_type), (400, Some(ScimType::Mutability)));
}

#[test]
fn a_failing_operation_changes_nothing() {
    let before = rich();
    for failing in [
        json!({"op": "replace", "path": "active", "value": 3}),
        json!({"op": "replace", "path": "emails[value eq \"x@y\"].display", "value": "x"}),
    ] {
        let request = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
            {"op": "replace", "path": "title", "value": "Countess"},
            failing,
        ]}))
        .unwrap();
        assert!(request.apply(&before).is_err());
        assert_eq!(before, rich());
    }
}

#[test]
fn password_is_accepted_and_dropped() {
    let out = patch(json!([{"op": "replace", "path": "password", "value": "hunter2"}])).unwrap();
    assert!(!out.attributes().contains_key("password"));
}

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;
    use proptest::sample::select;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9][a-zA-Z0-9@. ]{0,11}"
    }

    /// Values of a multi-valued attribute, at most one of them primary.
    fn values(types: &'static [&'static str]) -> impl Strategy<Value = Option<Value>> {
        option::of(vec((text(), select(types), any::<bool>()), 0..4)).prop_map(|items| {
            items.map(|items| {
                let mut primary_seen = false;
                let items = items.into_iter().map(|(value, ty, primary)| {
                    let primary = primary && !primary_seen;
                    primary_seen |= primary;
                    json!({"value": value, "type": ty, "primary": primary})
                });
                Value::Array(items.collect())
            })
        })
    }

    fn user() -> impl Strategy<Value = UserDoc> {
        let name = option::of((option::of(text()), option::of(text())));
        let addresses = option::of(vec((text(), select(&["work", "home"][..])), 0..3));
        let enterprise = option::of((option::of(text()), option::of(select(&["m-1", "m-2"][..]))));
        (
            (text(), text(), name, option::of(text()), any::<bool>()),
            (values(&["work", "home", "other"]), values(&["work", "mobile"]), addresses, enterprise),
        )
            .prop_filter_map("valid users only", |((user_name, display, name, title, active), multi)| {
                let (emails, phones, addresses, enterprise) = multi;
                let mut body = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": user_name,
                    "displayName": display, "active": active, "title": title, "emails": emails,
                    "phoneNumbers": phones});
                if let Some((given, family)) = name {
                    body["name"] = json!({"givenName": given, "familyName": family});
                }
                if let Some(addresses) = addresses {
                    body["addresses"] = addresses.into_iter().map(|(l, t)| json!({"locality": l, "type": t})).collect();
                }
                if let Some((department, manager)) = enterprise {
                    body[ENTERPRISE_USER_SCHEMA] =
                        json!({"department": department, "manager": manager.map(|m| json!({"value": m}))});
                }
                UserDoc::from_request(body).ok()
            })
    }

    const PATHS: &[&str] = &[
        "title",
        "displayName",
        "userName",
        "active",
        "externalId",
        "nickName",
        "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
        "name",
        "name.givenName",
        "name.familyName",
        "name[givenName pr].familyName",
        "emails",
        "emails.value",
        "emails.primary",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[type eq \"home\"].primary",
        "emails[value co \"@\"]",
        "emails[type eq \"work\" and primary eq true].value",
        "emails[not (type eq \"work\")].display",
        "phoneNumbers",
        "phoneNumbers[type eq \"mobile\"].value",
        "phoneNumbers[type eq \"mobile\" and primary eq true].value",
        "addresses",
        "addresses[type eq \"work\"]",
        "addresses[type eq \"work\"].locality",
        "addresses[type eq \"home\"].primary",
        "x509Certificates[type eq \"a\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"m-1\"]",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nothing",
        "favouriteColour",
        "favouriteColour.shade",
        "password",
        "id",
        "meta.created",
        "groups",
        "schemas",
        "",
        "emails[",
        "emails[type eq]",
        "emails[colour eq \"x\"]",
        "emails[type eq \"work\"]x",
        "title[value eq \"x\"]",
        "name..x",
        "urn:example:unknown:attr",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let fixed = select(vec![
            json!("x"),
            json!("m-2"),
            json!(""),
            json!(" "),
            json!(true),
            json!(false),
            json!("True"),
            json!("False"),
            json!(3),
            json!(1.5),
            Value::Null,
            json!({}),
            json!([]),
            json!(["a", "b"]),
            json!({"value": "a@example.com", "type": "work", "primary": true}),
            json!({"value": "c@example.com", "type": "home"}),
            json!({"Value": "c@example.com", "Primary": "True"}),
            json!([{"value": "a@example.com", "type": "work"}]),
            json!([{"value": "e@example.com", "type": "other", "primary": true}, {"value": "g@example.com"}]),
            json!([{"value": "e@example.com", "primary": true}, {"value": "g@example.com", "primary": true}]),
            json!({"givenName": "G", "familyName": null}),
            json!({"locality": "L", "type": "work"}),
            json!({"value": "m-3", "displayName": "Boss"}),
            json!({"title": "T", "name.givenName": "N",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D"}),
            json!({"active": false}),
            json!({"active": "False", "emails[type eq \"work\"].value": "w@example.com"}),
            json!({"department": "R", "manager": "m-2"}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-4"}}}),
            json!({"id": "x"}),
            json!({"userName": ""}),
            json!("x".repeat(5000)),
        ]);
        prop_oneof![3 => fixed, 1 => text().prop_map(Value::String)]
    }

    /// Values that suit the path they are sent with.
    fn typed_operation() -> impl Strategy<Value = (Option<&'static str>, Option<Value>)> {
        let texts = select(vec![
            "title",
            "nickName",
            "displayName",
            "externalId",
            "name.givenName",
            "emails.value",
            "emails[type eq \"work\"].value",
            "emails[type eq \"home\"].display",
            "phoneNumbers[type eq \"mobile\"].value",
            "addresses[type eq \"work\"].locality",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ]);
        let booleans = select(vec![
            "active",
            "emails[type eq \"home\"].primary",
            "emails[type eq \"work\" and primary eq false].primary",
            "phoneNumbers[type eq \"work\"].primary",
            "addresses[type eq \"home\"].primary",
        ]);
        let element = (text(), select(&["work", "home", "other", "mobile"][..]), any::<bool>())
            .prop_map(|(value, ty, primary)| json!({"value": value, "type": ty, "primary": primary}));
        let whole = (select(&["emails", "phoneNumbers", "emails[type eq \"work\"]"][..]), vec(element, 1..3)).prop_map(
            |(path, mut elements)| {
                let value =
                    if elements.len() == 1 || path.contains('[') { elements.remove(0) } else { json!(elements) };
                (path, value)
            },
        );
        let attributes = (text(), any::<bool>(), text()).prop_map(|(title, active, given)| {
            json!({"title": title, "active": active, "name.givenName": given,
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-9"})
        });
        let remove = select(vec![
            "emails",
            "emails[type eq \"work\"]",
            "emails[primary eq true].display",
            "phoneNumbers[value co \"1\"]",
            "addresses[type eq \"home\"].locality",
            "name.givenName",
            "title",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"m-1\"]",
        ]);
        prop_oneof![
            (texts, text()).prop_map(|(p, t)| (Some(p), Some(json!(t)))),
            (booleans, select(vec![json!(true), json!(false), json!("True")])).prop_map(|(p, b)| (Some(p), Some(b))),
            whole.prop_map(|(p, v)| (Some(p), Some(v))),
            attributes.prop_map(|v| (None, Some(v))),
            remove.prop_map(|p| (Some(p), None)),
        ]
    }

    fn operation() -> impl Strategy<Value = Value> {
        let ops = prop_oneof![
            9 => select(&["add", "Add", "replace", "Replace", "remove", "Remove"][..]),
            1 => Just("move"),
        ];
        let random = (option::of(select(PATHS)), option::of(json_value()));
        let target = prop_oneof![2 => typed_operation(), 1 => random];
        (ops, target).prop_map(|(op, (path, value))| {
            let mut operation = json!({"op": op});
            if let Some(path) = path {
                operation["path"] = json!(path);
            }
            if let Some(value) = value {
                operation["value"] = value;
            }
            operation
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Whatever a PATCH produces passes the validation of a PUT; whatever it refuses is a SCIM 400.
        #[test]
        fn patched_users_are_valid_users(user in user(), ops in vec(operation(), 1..6)) {
            let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
            match PatchRequest::parse(body).and_then(|request| request.apply(&user)) {
                Ok(patched) => {
                    let revalidated = UserDoc::from_request(Value::Object(patched.attributes().clone()));
                    prop_assert_eq!(revalidated, Ok(patched));
                }
                Err(error) => {
                    prop_assert_eq!(error.status, 400);
                    prop_assert!(error.scim_type.is_some(), "{:?}", error);
                }
            }
        }
    }
}
