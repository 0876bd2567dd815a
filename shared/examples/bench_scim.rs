//! Micro-benchmarks of the pure SCIM code: filter parse, filter evaluation per user, PATCH parse + apply.
//!
//! `cargo run --release -p fd-shared --example bench_scim` prints the median of several batches for each case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::scim::filter;
use fd_shared::scim::patch::PatchRequest;
use fd_shared::scim::user::{UserDoc, UserRecord};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Instant;

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

/// Median nanoseconds per iteration over `batches` batches of `per_batch` runs of `f`.
fn median_ns(batches: usize, per_batch: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples: Vec<f64> = (0..batches)
        .map(|b| {
            let start = Instant::now();
            for i in 0..per_batch {
                f(b * per_batch + i);
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let users: Vec<Value> = (0..1000).map(|i| okta_user(i).to_scim("https://fd.example.com/scim/v2/Users")).collect();
    let filters = [
        ("userName eq (index lookup form)", r#"userName eq "user500@example.com""#),
        ("title co", r#"title co "Analy""#),
        (
            "enterprise department eq and active",
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Analytics" and active eq true"#,
        ),
        ("value filter on emails", r#"emails[type eq "work" and value ew "@example.com"]"#),
        ("or / not / pr", r#"(name.familyName sw "Love" or nickName pr) and not (userType eq "Contractor")"#),
        ("meta.lastModified gt", r#"meta.lastModified gt "2020-01-01T00:00:00Z""#),
    ];
    println!("{:<40} {:>12} {:>16}", "filter", "parse (ns)", "evaluate/user (ns)");
    for (label, text) in filters {
        let parse = median_ns(21, 2_000, |_| {
            black_box(filter::parse(black_box(text)).unwrap());
        });
        let parsed = filter::parse(text).unwrap();
        let eval = median_ns(21, 20_000, |i| {
            black_box(parsed.matches(black_box(&users[i % users.len()])));
        });
        println!("{label:<40} {parse:>12.0} {eval:>16.0}");
    }

    let base = okta_user(1);
    let patches = [
        (
            "Okta deactivate (no path)",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]}),
        ),
        (
            "Entra Replace, 3 paths",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "title", "value": "Engineer"},
                {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}]}),
        ),
        (
            "add + remove multi-valued",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "add", "path": "emails", "value": [{"value": "ada@example.org", "type": "home"}]},
                {"op": "remove", "path": "phoneNumbers"}]}),
        ),
    ];
    println!("\n{:<40} {:>22}", "PATCH", "parse + apply (ns)");
    for (label, body) in patches {
        PatchRequest::parse(body.clone()).unwrap().apply(&base.doc).unwrap();
        let ns = median_ns(21, 2_000, |_| {
            let request = PatchRequest::parse(black_box(body.clone())).unwrap();
            black_box(request.apply(black_box(&base.doc)).unwrap());
        });
        println!("{label:<40} {ns:>22.0}");
    }
}
