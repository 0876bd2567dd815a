//! Writes the seed inputs of every fuzz target into `corpus/<target>/seed-*` (and, if missing, the trusted IdP
//! certificate `saml_idp_cert.pem`): `cargo run --example seeds` in tests/fuzz. The shapes are those Okta and
//! Microsoft Entra ID send (from the project's tests); the SAML responses are signed by the development IdP with
//! the key of the SAML tests, at the fixed time the `saml_response` target checks them against.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode, encode_post_value};
use fd_saml::{TrustedKeys, ValidationConfig, validate_response};
use fd_shared::okta::OKTA_ATTRIBUTES;
use fd_signin::session::{Session, SessionKey};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

// Must match fuzz_targets/saml_response.rs and fuzz_targets/session_cookie.rs.
const SP_ENTITY_ID: &str = "https://fd.example.com/saml/dir-1/metadata";
const ACS_URL: &str = "https://fd.example.com/saml/dir-1/acs";
const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1fd2dev3idp4";
const ISSUED_AT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SESSION_KEY: &[u8] = b"fuzzing-session-key-0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn filters() {
    let filters = [
        r#"userName eq "Ada.Lovelace@example.com""#,
        r#"externalId eq "00u1ab2cd3EF4gh5i6j7""#,
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        r#"USERNAME eq "BJENSEN""#,
        r#"emails ew "JENSEN.ORG""#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or not (title pr)"#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"not (userName eq "x") and (title sw "tour" or title sw "x")"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T06:42:34+02:00""#,
        r#"name.givenName eq "A \"quoted\" name""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName eq "x" and (title pr or active eq true)"#,
        r#"active eq false and phoneNumbers[type eq "mobile" and primary eq true]"#,
        r#"addresses[country eq "GB" and postalCode sw "SW1"] and nickName ne null"#,
        r#"displayName eq "Jos\u00e9 Mar\u00eda" or userName ge "m" and userName lt "n""#,
        r#"userName eq "a")"#,
        r#"emails[type eq "work"][value pr]"#,
    ];
    for (i, filter) in filters.iter().enumerate() {
        write("scim_filter", &format!("{i:02}"), filter.as_bytes());
    }
}

fn patches() {
    let op = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let bodies = [
        // Okta: deactivate, reactivate, profile push with path-less values.
        op(json!([{"op": "replace", "value": {"active": false}}])),
        op(json!([{"op": "replace", "value": {"active": true, "title": "Countess", "name": {"familyName": "King"}}}])),
        // Entra ID: capitalised ops, string booleans, value-filter paths, dotted keys, manager by id.
        op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        op(json!([
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": format!("{enterprise}:employeeNumber"), "value": "Eqpj"}
        ])),
        op(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
            {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
                format!("{enterprise}:employeeNumber"): "Aklq"}}
        ])),
        op(
            json!([{"op": "Add", "path": format!("{enterprise}:manager"), "value": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]),
        ),
        op(json!([{"op": "Remove", "path": format!("{enterprise}:manager"),
            "value": [{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}]}])),
        op(json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
            {"op": "Add", "path": "emails[type eq \"other\"]", "value": {"value": "ada@other.example"}}
        ])),
        op(json!([
            {"op": "add", "path": "emails", "value": [{"Value": "ada@example.com", "type": "work", "primary": "True"}]},
            {"op": "remove", "path": "emails[value ew \"example.net\"]"},
            {"op": "Remove", "path": "emails", "value": [{"value": "ADA@home.example"}]},
            {"op": "remove", "path": "addresses[type eq \"work\"].locality"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "+44 1"},
            {"op": "remove", "path": "name.givenName"}
        ])),
        op(json!([{"op": "Add", "value": {enterprise: {"manager": "m-7", "department": "X"}}}])),
        op(json!([{"op": "replace", "path": "meta.created", "value": "2011-05-13T04:42:34Z"}])),
    ];
    for (i, body) in bodies.iter().enumerate() {
        write("scim_patch", &format!("{i:02}"), serde_json::to_string_pretty(body).unwrap().as_bytes());
    }
}

fn users() {
    // Okta's create: all 25 mapped attributes, externalId, an empty groups list and a placeholder password.
    let mut okta = Map::new();
    okta.insert(
        "schemas".into(),
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ]),
    );
    for attr in &OKTA_ATTRIBUTES {
        let value = match attr.variable {
            "username" | "email" => "ada.lovelace@example.com".to_string(),
            "secondEmail" => "ada.private@example.net".to_string(),
            "profileUrl" => "https://intranet.example.com/people/ada".to_string(),
            other => format!("{other} Ada"),
        };
        attr.write(&mut okta, &value);
    }
    okta.insert("externalId".into(), json!("00u1ab2cd3EF4gh5i6j7"));
    okta.insert("active".into(), json!(true));
    okta.insert("groups".into(), json!([]));
    okta.insert("password".into(), json!("xx3Sq5w7cQ"));
    let entra = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tour Operations", "manager": "26118915-6090-4610-87e4-49d8ca9f808d"
        }
    });
    let minimal = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen",
        "displayName": "Babs Jensen"});
    let rfc = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": "True",
        "password": "t1meMa$heen",
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
                 "version": "W/\"3694e05e9dff591\"", "location": "https://example.com/v2/Users/2819c223"}
    });
    for (name, user) in [("okta", Value::Object(okta)), ("entra", entra), ("minimal", minimal), ("rfc7643", rfc)] {
        write("scim_user", name, serde_json::to_string_pretty(&user).unwrap().as_bytes());
    }
}

fn sessions() {
    let key = SessionKey::new(SESSION_KEY.to_vec()).unwrap();
    let session = Session {
        directory: "6c8d3c1e0f2a4b5c9d7e8f0a1b2c3d4e".into(),
        user_id: "2819c223-7f76-453a-919d-413861904646".into(),
        id: "q2Jx1hS0h2ZqfQh0m4bq2h3KpVt0f8f0bJ6sKJx9m2E".into(),
        expires_at: ISSUED_AT + 8 * 3600,
    };
    let sealed = session.seal(&key);
    let header = format!("theme=dark; fd_session={sealed}; _ga=GA1.2.3");
    write("session_cookie", "header", &[&[0u8][..], header.as_bytes()].concat());
    write("session_cookie", "header-two", &[&[0u8][..], format!("{header}; fd_session=\"x\"").as_bytes()].concat());
    write("session_cookie", "value", &[&[1u8][..], sealed.as_bytes()].concat());
    let expired = Session { expires_at: ISSUED_AT - 1, ..session.clone() }.seal(&key);
    write("session_cookie", "expired", &[&[1u8][..], expired.as_bytes()].concat());
    let fields = format!("{}\0{}\0{}\0{}", session.directory, session.user_id, session.id, session.expires_at);
    write("session_cookie", "fields", &[&[2u8][..], fields.as_bytes()].concat());
    write("session_cookie", "fields-dot", &[&[2u8][..], b"dir.1\0user\0id\0-5".as_slice()].concat());
}

fn relay_states() {
    let seeds = [
        "/people?q=ada%20love\nhttps://app.example.com/\nhttps://other.example.com/exact",
        "https://app.example.com/x/y?z=1\nhttps://app.example.com/",
        "https://other.example.com/exact\nhttps://other.example.com/exact",
        "https://other.example.com/exact/more\nhttps://other.example.com/exact",
        "//evil.example\nhttps://app.example.com/",
        "/\\evil.example",
        "https://app.example.com.evil.example/\nhttps://app.example.com",
        "javascript:alert(1)",
        "/of/acme/people/2819c223-7f76-453a-919d-413861904646?tab=reports#top",
        "/a\r\nSet-Cookie: x=y",
    ];
    for (i, seed) in seeds.iter().enumerate() {
        write("relay_state", &format!("{i:02}"), seed.as_bytes());
    }
}

fn saml() {
    let fixtures = root().join("../../shared/saml/tests/fixtures");
    let key = |name: &str| std::fs::read_to_string(fixtures.join(name)).unwrap();
    let idp = DevIdp::from_private_key_pem(IDP_ENTITY_ID, &key("idp_key.pem")).unwrap();
    let attacker = DevIdp::from_private_key_pem(IDP_ENTITY_ID, &key("attacker_key.pem")).unwrap();
    let cert = root().join("saml_idp_cert.pem");
    if !Path::new(&cert).exists() {
        std::fs::write(&cert, idp.certificate_pem()).unwrap();
    }
    let now = OffsetDateTime::from_unix_timestamp(ISSUED_AT).unwrap();
    let options = |user: &str, sign: SignMode, n: u32| {
        let mut o = ResponseOptions::new(SP_ENTITY_ID, ACS_URL, user, now);
        o.sign = sign;
        o.response_id = format!("id{n:032x}");
        o.assertion_id = format!("id{:032x}", n + 1000);
        o.session_index = Some(format!("id{:032x}", n + 2000));
        o
    };
    let mut sp_initiated = options("ada@example.com", SignMode::Both, 1);
    sp_initiated.in_response_to = Some("id4f1e2d3c".into());
    sp_initiated.attributes = vec![
        ("email".into(), vec!["ada@example.com".into()]),
        ("groups".into(), vec!["Everyone".into(), "fd-admins".into()]),
    ];
    let idp_initiated = options("grace.hopper@example.com", SignMode::AssertionOnly, 2);
    let mut response_only = options("Charles.Babbage@Example.com", SignMode::ResponseOnly, 3);
    response_only.embed_certificate = false;
    response_only.session_index = None;
    let unsigned = options("ada@example.com", SignMode::None, 4);
    let mut failed = options("ada@example.com", SignMode::None, 5);
    failed.status_code = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
    let signed = [
        ("sp-initiated", idp.signed_response(&sp_initiated).unwrap()),
        ("idp-initiated", idp.signed_response(&idp_initiated).unwrap()),
        ("response-only", idp.signed_response(&response_only).unwrap()),
        ("unsigned", idp.signed_response(&unsigned).unwrap()),
        ("failed", idp.signed_response(&failed).unwrap()),
        ("attacker", attacker.signed_response(&options("mallory@example.com", SignMode::Both, 6)).unwrap()),
    ];
    // The target's configuration and clock: the signed seeds must pass, so that fuzzing reaches the checks after
    // the signature.
    let keys = TrustedKeys::from_pem(&std::fs::read_to_string(&cert).unwrap()).unwrap();
    let config = ValidationConfig::new(SP_ENTITY_ID, ACS_URL, keys).with_idp_entity_id(IDP_ENTITY_ID);
    let check_at = now + time::Duration::minutes(1);
    for (name, xml) in &signed {
        assert!(xml.starts_with('<'), "{name}: the target takes documents starting with '<' as XML");
        let result = validate_response(encode_post_value(xml).as_bytes(), &config, check_at);
        let should_pass = matches!(*name, "sp-initiated" | "idp-initiated" | "response-only");
        assert_eq!(result.is_ok(), should_pass, "{name}: {result:?}");
        write("saml_response", name, xml.as_bytes());
    }
    // The form value itself, as the browser posts it (base64).
    write("saml_response", "form-value", idp.signed_response_base64(&idp_initiated).unwrap().as_bytes());
}

fn main() {
    filters();
    patches();
    users();
    sessions();
    relay_states();
    saml();
    println!("seeds written under {}", root().join("corpus").display());
}
