//! Signing in through a SAML IdP, end to end against the real binaries: `fd-admin saml set` with the
//! development IdP's certificate, users provisioned over SCIM, responses signed by `fd-dev-idp` posted to
//! `fd-local`'s ACS, the session cookie presented to `/me` and to the address book's API. Once on SQLite, once on
//! DynamoDB (moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use fd_tests::{Backend, LocalServer, binary, json};
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};

#[tokio::test]
async fn sign_in_on_sqlite() {
    sign_in(Backend::sqlite()).await;
}

#[tokio::test]
async fn sign_in_on_dynamodb() {
    sign_in(Backend::dynamodb()).await;
}

const IDP_SSO_URL: &str = "https://idp.example.com/app/fd/sso/saml";

struct DevIdp {
    key: PathBuf,
    public_url: String,
}

impl DevIdp {
    async fn run(&self, args: &[&str]) -> String {
        let output = tokio::process::Command::new(binary("fd-dev-idp"))
            .arg("--key")
            .arg(&self.key)
            .args(args)
            .env_remove("FD_PUBLIC_URL")
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "fd-dev-idp {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// A signed response as the HTTP-POST form body.
    async fn form(&self, directory: &str, user: &str, extra: &[&str]) -> String {
        let mut args = vec!["response", "--directory", directory, "--user", user, "--public-url", &self.public_url];
        args.extend_from_slice(&["--format", "form"]);
        args.extend_from_slice(extra);
        self.run(&args).await
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn post_acs(server: &LocalServer, directory: &str, form: String) -> reqwest::Response {
    post_acs_with_cookie(server, directory, form, None).await
}

/// Posts to the ACS as the browser that started an SP-initiated sign-in: with its request cookie.
async fn post_acs_with_cookie(
    server: &LocalServer,
    directory: &str,
    form: String,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = no_redirects()
        .post(format!("{}/saml/{directory}/acs", server.origin()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn me(server: &LocalServer, cookie: &str) -> (u16, Value) {
    let response = no_redirects().get(format!("{}/me", server.origin())).header("Cookie", cookie).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { json(&text) })
}

async fn get_json(server: &LocalServer, path: &str, cookie: Option<&str>) -> (u16, Value) {
    let mut request = no_redirects().get(format!("{}{path}", server.origin()));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The AuthnRequest id in an HTTP-Redirect binding URL.
fn authn_request_id(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    let encoded = url_param(query, "SAMLRequest").unwrap();
    let deflated = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).unwrap();
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..].split('"').next().unwrap().to_string()
}

fn url_param(query: &str, name: &str) -> Option<String> {
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| {
        let v = v.replace('+', " ");
        let mut out = Vec::new();
        let bytes = v.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    })
}

async fn sign_in(backend: Backend) {
    backend.prepare().await;
    let (directory, _, token) = backend.tenant("Sign-in").await;
    let server = backend.start_local().await;
    let scratch = std::env::temp_dir().join(format!("fd-e2e-idp-{directory}"));
    std::fs::create_dir_all(&scratch).unwrap();
    let idp = DevIdp { key: scratch.join("idp-key.pem"), public_url: server.origin().to_string() };
    let certificate = scratch.join("idp-cert.pem");
    std::fs::write(&certificate, idp.run(&["certificate"]).await).unwrap();

    // Before configuration, sign-in fails closed.
    assert_eq!(post_acs(&server, &directory, idp.form(&directory, "ada@example.com", &[]).await).await.status(), 403);

    // The admin's configuration, and what fd-admin tells them to paste into Okta.
    let cert_arg = certificate.to_str().unwrap();
    let origin = server.origin().to_string();
    let set = ["saml", "set", "--directory", &directory, "--login-url", IDP_SSO_URL, "--certificate", cert_arg];
    backend.admin(&[&set[..], &["--public-url", &origin]].concat()).await;
    let shown =
        json(&backend.admin(&["saml", "show", "--directory", &directory, "--public-url", &origin, "--json"]).await);
    assert_eq!(shown["acs_url"], json!(format!("{origin}/saml/{directory}/acs")));
    assert_eq!(shown["entity_id"], json!(format!("{origin}/saml/{directory}/metadata")));
    assert_eq!(shown["metadata_url"], json!(format!("{origin}/saml/{directory}/metadata")));
    assert_eq!(shown["login_url"], json!(format!("{origin}/saml/{directory}/login")));
    assert_eq!(shown["idp_sso_url"], json!(IDP_SSO_URL));

    // Okta provisions the user.
    let created = server
        .call(
            "POST",
            "/Users",
            Some(&token),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "Ada@Example.com",
                "displayName": "Ada Lovelace",
                "active": true
            })),
        )
        .await;
    assert_eq!(created.status, 201);
    let user_id = created.body["id"].as_str().unwrap().to_string();

    // IdP-initiated (Okta's dashboard tile), NameID in another case.
    let form = idp.form(&directory, "ada@example.com", &["--relay-state", "/people"]).await;
    let answer = post_acs(&server, &directory, form.clone()).await;
    assert_eq!(answer.status(), 303);
    assert_eq!(header(&answer, "location").as_deref(), Some("/people"));
    let set_cookie = header(&answer, "set-cookie").unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.split("; ").any(|a| a == attribute), "{attribute} in {set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("fd_session="));
    let (status, resource) = me(&server, &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(resource["id"], json!(user_id));
    assert_eq!(resource["userName"], json!("Ada@Example.com"));

    // The address book under the session: search, facets, the contact with its manager link, the vCard.
    let grace = server
        .call(
            "POST",
            "/Users",
            Some(&token),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": "grace@example.com",
                "displayName": "Grace Hopper",
                "title": "Rear Admiral",
                "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"displayName": "Ada Lovelace"}}
            })),
        )
        .await;
    assert_eq!(grace.status, 201);
    let grace_id = grace.body["id"].as_str().unwrap().to_string();
    let (status, found) = get_json(&server, "/api/contacts?q=gra", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert_eq!(found["total"], json!(1));
    assert_eq!(found["contacts"][0]["displayName"], json!("Grace Hopper"));
    let (_, facets) = get_json(&server, "/api/facets", Some(&cookie)).await;
    assert!(facets.to_string().contains("Rear Admiral"), "{facets}");
    let (status, contact) = get_json(&server, &format!("/api/contacts/{grace_id}"), Some(&cookie)).await;
    assert_eq!(status, 200);
    assert_eq!(contact["manager"]["id"], json!(user_id), "{contact}");
    let (_, ada) = get_json(&server, &format!("/api/contacts/{user_id}"), Some(&cookie)).await;
    assert_eq!(ada["directReports"][0]["id"], json!(grace_id), "{ada}");
    let vcard = no_redirects()
        .get(format!("{}/contacts/{grace_id}.vcf", server.origin()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(vcard.status(), 200);
    assert!(header(&vcard, "content-type").unwrap().starts_with("text/vcard"));
    assert!(vcard.text().await.unwrap().contains("FN:Grace Hopper"));
    assert_eq!(get_json(&server, "/api/contacts?q=gra", None).await.0, 401, "no session, no address book");

    // The same response again is a replay.
    let replay = post_acs(&server, &directory, form).await;
    assert_eq!(replay.status(), 403);
    assert!(header(&replay, "set-cookie").is_none());

    // SP-initiated: the AuthnRequest is answered once.
    let login = no_redirects().get(format!("{origin}/saml/{directory}/login?RelayState=%2Fhome")).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let location = header(&login, "location").unwrap();
    assert!(location.starts_with(&format!("{IDP_SSO_URL}?SAMLRequest=")), "{location}");
    let request_id = authn_request_id(&location);
    // Starting a sign-in stores nothing: the request travels in a sealed cookie, which the answer must bring.
    let request_cookie = header(&login, "set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert!(request_cookie.starts_with("fd_saml_request="), "{request_cookie}");
    let answer = idp.form(&directory, "ada@example.com", &["--in-response-to", &request_id]).await;
    assert_eq!(post_acs(&server, &directory, answer.clone()).await.status(), 403, "without the browser's cookie");
    let answer = idp.form(&directory, "ada@example.com", &["--in-response-to", &request_id]).await;
    assert_eq!(post_acs_with_cookie(&server, &directory, answer, Some(&request_cookie)).await.status(), 303);
    let again = idp.form(&directory, "ada@example.com", &["--in-response-to", &request_id]).await;
    assert_eq!(post_acs_with_cookie(&server, &directory, again, Some(&request_cookie)).await.status(), 403);

    // Deactivated by Okta: the session stops working at once, and sign-in is refused.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    assert_eq!(server.call("PATCH", &format!("/Users/{user_id}"), Some(&token), Some(&patch)).await.status, 200);
    assert_eq!(me(&server, &cookie).await.0, 401);
    let refused = post_acs(&server, &directory, idp.form(&directory, "ada@example.com", &[]).await).await;
    assert_eq!(refused.status(), 403);
    assert!(header(&refused, "set-cookie").is_none());
    // A colleague still finds her, marked deactivated.
    let colleague = post_acs(&server, &directory, idp.form(&directory, "grace@example.com", &[]).await).await;
    assert_eq!(colleague.status(), 303);
    let grace_cookie = header(&colleague, "set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert_eq!(get_json(&server, "/api/contacts?q=ada", Some(&cookie)).await.0, 401, "her session is over");
    let (_, found) = get_json(&server, "/api/contacts?q=ada", Some(&grace_cookie)).await;
    assert_eq!((found["total"].clone(), found["contacts"][0]["active"].clone()), (json!(1), json!(false)));
    let (_, found) = get_json(&server, "/api/contacts?q=ada&active=true", Some(&grace_cookie)).await;
    assert_eq!(found["total"], json!(0), "only active people");

    // Reactivated: the old session stays over; the user signs in again.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": true}}]
    });
    assert_eq!(server.call("PATCH", &format!("/Users/{user_id}"), Some(&token), Some(&patch)).await.status, 200);
    assert_eq!(me(&server, &cookie).await.0, 401);
    let again = post_acs(&server, &directory, idp.form(&directory, "ada@example.com", &[]).await).await;
    assert_eq!(again.status(), 303);
    let fresh = header(&again, "set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert_ne!(fresh, cookie);
    assert_eq!(me(&server, &fresh).await.0, 200);

    // Cleared: sign-in stops.
    backend.admin(&["saml", "clear", "--directory", &directory]).await;
    assert_eq!(post_acs(&server, &directory, idp.form(&directory, "ada@example.com", &[]).await).await.status(), 403);

    server.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    cleanup(&backend);
}

fn cleanup(backend: &Backend) {
    if let Backend::Sqlite { data_dir } = backend {
        let _ = std::fs::remove_dir_all(Path::new(data_dir));
    }
}
