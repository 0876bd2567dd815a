//! A POST/PUT body as the service reads it: the strict JSON layer (`fd_input::parse_scim`), then
//! `UserDoc::from_request`. Oracle: a document it accepts is accepted again, unchanged, when fed back (validation
//! is idempotent: what is stored reads back as itself).
#![no_main]

use fd_shared::scim::user::UserDoc;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = fd_input::parse_scim(data) else { return };
    let Ok(doc) = UserDoc::from_request(body) else { return };
    let _ = (doc.user_name_key(), doc.display_name_key(), doc.external_id(), doc.active());
    let first = Value::Object(doc.attributes().clone());
    match UserDoc::from_request(first.clone()) {
        Ok(again) => assert_eq!(Value::Object(again.into_attributes()), first, "not idempotent"),
        Err(e) => panic!("an accepted document is refused when fed back ({e:?}): {first}"),
    }
});
