//! Micro-benchmarks of the pure SCIM code: filter parse, filter evaluation per user, PATCH parse + apply.
//!
//! Run with `cargo bench -p fd-shared --bench scim` (divan; medians, among other statistics, per case). No I/O.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;
use std::sync::OnceLock;

use divan::{Bencher, black_box};
use fd_shared::scim::filter;
use fd_shared::scim::patch::PatchRequest;
use fd_shared::scim::user::{UserDoc, UserRecord};
use serde_json::{Value, json};

/// A user as Okta provisions it, with all mapped attributes.
fn okta_user(i: usize) -> UserRecord {
    let doc = UserDoc::from_request(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("user{i}@example.com"),
        "externalId": format!("00u{i:08}"),
        "name": {"givenName": "Ada", "familyName": format!("Lovelace{i}")},
        "displayName": format!("Ada Lovelace {i}"),
        "nickName": "Ada", "title": "Analyst", "locale": "en-GB", "preferredLanguage": "en",
        "timezone": "Europe/London", "userType": "Employee", "profileUrl": "https://intranet.example.com/ada",
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true},
                   {"value": format!("user{i}@example.net"), "type": "other"}],
        "phoneNumbers": [{"value": "+44 20 7946 0018", "type": "work", "primary": true},
                         {"value": "+44 7700 900123", "type": "mobile"}],
        "addresses": [{"type": "work", "primary": true, "streetAddress": "12 St James's Square",
                       "locality": "London", "region": "England", "postalCode": "SW1Y 4LB", "country": "GB"}],
        "active": i % 7 != 0,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i}"), "costCenter": "CC-42", "division": "Engines",
            "department": if i % 3 == 0 { "Analytics" } else { "Engineering" },
            "manager": {"displayName": "Charles Babbage"}
        }
    }))
    .expect("valid user");
    UserRecord::new(doc)
}

/// 1,000 users rendered as the server returns them; evaluation cycles through them.
fn users() -> &'static [Value] {
    static USERS: OnceLock<Vec<Value>> = OnceLock::new();
    USERS.get_or_init(|| (0..1000).map(|i| okta_user(i).to_scim("https://fd.example.com/scim/v2/Users")).collect())
}

/// A filter case: divan names it by its label.
#[derive(Clone, Copy)]
struct Filter {
    label: &'static str,
    text: &'static str,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label)
    }
}

const FILTERS: [Filter; 6] = [
    Filter { label: "userName eq (index lookup form)", text: r#"userName eq "user500@example.com""# },
    Filter { label: "title co", text: r#"title co "Analy""# },
    Filter {
        label: "enterprise department eq and active",
        text: r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Analytics" and active eq true"#,
    },
    Filter { label: "value filter on emails", text: r#"emails[type eq "work" and value ew "@example.com"]"# },
    Filter {
        label: "or / not / pr",
        text: r#"(name.familyName sw "Love" or nickName pr) and not (userType eq "Contractor")"#,
    },
    Filter { label: "meta.lastModified gt", text: r#"meta.lastModified gt "2020-01-01T00:00:00Z""# },
];

/// Parsing the filter text.
#[divan::bench(args = FILTERS)]
fn filter_parse(bencher: Bencher, case: Filter) {
    bencher.bench(|| filter::parse(black_box(case.text)).unwrap());
}

/// Evaluating a parsed filter against one rendered user (the next of the 1,000 at each iteration).
#[divan::bench(args = FILTERS)]
fn filter_evaluate_per_user(bencher: Bencher, case: Filter) {
    let users = users();
    let parsed = filter::parse(case.text).unwrap();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % users.len();
        parsed.matches(black_box(&users[i]))
    });
}

/// A PATCH case: divan names it by its label.
#[derive(Clone, Copy)]
enum Patch {
    OktaDeactivate,
    EntraReplace3Paths,
    AddRemoveMultiValued,
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OktaDeactivate => "Okta deactivate (no path)",
            Self::EntraReplace3Paths => "Entra Replace, 3 paths",
            Self::AddRemoveMultiValued => "add + remove multi-valued",
        })
    }
}

impl Patch {
    fn body(self) -> Value {
        match self {
            Self::OktaDeactivate => json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]}),
            Self::EntraReplace3Paths => json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": "title", "value": "Engineer"},
                    {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
                    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}]}),
            Self::AddRemoveMultiValued => json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "add", "path": "emails", "value": [{"value": "ada@example.org", "type": "home"}]},
                    {"op": "remove", "path": "phoneNumbers"}]}),
        }
    }
}

const PATCHES: [Patch; 3] = [Patch::OktaDeactivate, Patch::EntraReplace3Paths, Patch::AddRemoveMultiValued];

/// Parsing a PATCH request and applying it to an Okta user, which re-validates the whole patched user. The
/// request body (an owned JSON value, as the server has it after reading the request) is cloned outside the
/// timed part.
#[divan::bench(args = PATCHES)]
fn patch_parse_apply(bencher: Bencher, case: Patch) {
    let base = okta_user(1);
    let body = case.body();
    PatchRequest::parse(body.clone()).unwrap().apply(&base.doc).unwrap();
    bencher
        .with_inputs(|| body.clone())
        .bench_local_values(|body| PatchRequest::parse(body).unwrap().apply(black_box(&base.doc)).unwrap());
}

fn main() {
    divan::main();
}
