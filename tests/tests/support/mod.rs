//! Driving the SCIM functions' handlers in-process, as API Gateway would: shared by the tests that count or
//! disturb DynamoDB requests (`dynamodb_calls`, `faults`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use fd_shared::okta::OKTA_ATTRIBUTES;
use fd_shared::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use fd_shared::service::ScimService;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

/// The moto endpoint the test script exports; the tests fail (never skip) without it.
pub fn aws_endpoint() -> String {
    match std::env::var("FD_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("FD_TEST_AWS_ENDPOINT is not set: run infra/scripts/test.sh (it starts moto)"),
    }
}

/// A SCIM request as API Gateway hands it to a function.
pub fn request(method: &str, path: &str, token: &str, body: Option<&Value>) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com/scim/v2{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json; charset=utf-8")
        .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
        .unwrap()
}

/// The response of the function that serves the request's verb (one function per verb, as deployed).
pub async fn handle(service: &ScimService, req: Request) -> Response<Body> {
    let method = req.method().as_str().to_string();
    match method.as_str() {
        "GET" => scim_get::handle(service, req).await,
        "POST" => scim_post::handle(service, req).await,
        "PUT" => scim_put::handle(service, req).await,
        "PATCH" => scim_patch::handle(service, req).await,
        _ => scim_delete::handle(service, req).await,
    }
    .unwrap()
}

/// A response's JSON body (`null` when empty).
pub fn body_of(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Empty => Value::Null,
        b => serde_json::from_slice(b.as_ref()).unwrap(),
    }
}

/// A user as Okta sends it: every one of the 25 attributes, valued after `tag`, active.
pub fn okta_user(tag: &str) -> Value {
    let mut user = Map::new();
    user.insert("schemas".into(), json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    for attr in &OKTA_ATTRIBUTES {
        attr.write(&mut user, &format!("{tag}-{}", attr.variable));
    }
    user.insert("externalId".into(), json!(format!("00u{tag}")));
    user.insert("active".into(), json!(true));
    Value::Object(user)
}
