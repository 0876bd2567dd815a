//! A PATCH body as the service reads it: the strict JSON layer (`fd_input::parse_scim`), then
//! `PatchRequest::parse`, then `.apply` to a fixed user (Okta's 25 attributes, a manager, two emails). Oracle: a
//! patch that applies gives a document that `UserDoc::from_request` accepts again (PATCH cannot store what PUT
//! could not).
#![no_main]

use fd_shared::scim::patch::PatchRequest;
use fd_shared::scim::user::UserDoc;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn user() -> &'static UserDoc {
    static USER: OnceLock<UserDoc> = OnceLock::new();
    USER.get_or_init(|| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "00u1ab2cd3EF4gh5i6j7",
            "userName": "ada.lovelace@example.com",
            "displayName": "Ada Lovelace",
            "nickName": "Ada",
            "title": "Analyst",
            "userType": "Employee",
            "preferredLanguage": "en-GB",
            "locale": "en-GB",
            "timezone": "Europe/London",
            "profileUrl": "https://intranet.example.com/people/ada",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace", "middleName": "King", "honorificPrefix": "Lady",
                     "honorificSuffix": "Countess"},
            "emails": [{"value": "ada.lovelace@example.com", "type": "work", "primary": true},
                       {"value": "ada.private@example.net", "type": "home"}],
            "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}, {"value": "+44 7700 900000", "type": "mobile"}],
            "addresses": [{"type": "work", "streetAddress": "12 St James's Square", "locality": "London",
                           "region": "London", "postalCode": "SW1Y 4JH", "country": "GB", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "1815", "costCenter": "R&D", "organization": "Analytical Engines",
                "division": "Computing", "department": "Mathematics",
                "manager": {"displayName": "Charles Babbage"}
            },
            "groups": [],
            "password": "xx3Sq5w7cQ"
        });
        match UserDoc::from_request(body) {
            Ok(doc) => doc,
            Err(e) => panic!("the fixed user is not valid: {e:?}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = fd_input::parse_scim(data) else { return };
    let Ok(patch) = PatchRequest::parse(body) else { return };
    if let Ok(doc) = patch.apply(user()) {
        let attributes = Value::Object(doc.attributes().clone());
        if let Err(e) = UserDoc::from_request(attributes.clone()) {
            panic!("PATCH produced a document PUT would refuse ({e:?}): {attributes}");
        }
    }
});
