//! The SCIM `filter` parser (`fd_shared::scim::filter::parse`), then what the service does with a parsed filter:
//! the index check and evaluation against a fixed user. Oracle: printing a filter and parsing the text gives the
//! same filter (the parser's documented round trip), unless the printed form exceeds the parser's own bounds
//! (printing parenthesises every `and`/`or`, so a long flat chain prints deeper than it was written).
#![no_main]

use fd_shared::scim::filter::{self, MAX_FILTER_BYTES};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn user() -> &'static Value {
    static USER: OnceLock<Value> = OnceLock::new();
    USER.get_or_init(|| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "00u1ab2cd3EF4gh5i6j7",
            "userName": "Ada.Lovelace@example.com",
            "displayName": "Ada Lovelace",
            "nickName": "Ada",
            "title": "Analyst",
            "userType": "Employee",
            "preferredLanguage": "en-GB",
            "locale": "en-GB",
            "timezone": "Europe/London",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace", "middleName": "King", "honorificPrefix": "Lady"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true},
                       {"value": "ada.private@example.net", "type": "home"}],
            "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}, {"value": "+44 7700 900000", "type": "mobile"}],
            "addresses": [{"type": "work", "streetAddress": "12 St James's Square", "locality": "London",
                           "postalCode": "SW1Y 4JH", "country": "GB", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "1815", "costCenter": "R&D", "organization": "Analytical Engines",
                "division": "Computing", "department": "Mathematics",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "Charles Babbage"}
            },
            "meta": {"resourceType": "User", "created": "2024-01-23T04:56:22Z",
                     "lastModified": "2024-05-13T04:42:34Z", "version": "W/\"3\""}
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = filter::parse(text) else { return };
    let _ = parsed.index_lookup();
    let _ = parsed.matches(user());
    let printed = parsed.to_string();
    if printed.len() > MAX_FILTER_BYTES {
        return;
    }
    match filter::parse(&printed) {
        Ok(again) => assert_eq!(again, parsed, "{text:?} printed as {printed:?}"),
        Err(e) if e.detail.contains("nest at most") || e.detail.contains("at most") => {}
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e:?}"),
    }
});
