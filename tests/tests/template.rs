//! `template.yaml` agrees with the code: the five SCIM functions are built from their crates and routed by verb, the
//! sign-in function serves exactly the sign-in routes with the least privilege it needs, and
//! `fd-admin bootstrap` (`bootstrap_table`) creates the table exactly as the template defines it (checked against
//! DynamoDB on moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::Client;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn template() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The template's HTTP API events are exactly the route table that `fd-local` routes by
/// ([`fd_shared::routes::ROUTES`]), function by function.
#[test]
fn template_routes_are_the_route_table() {
    let t = template();
    let mut in_template = BTreeSet::new();
    for (logical, resource) in t["Resources"].as_mapping().unwrap() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|e| e["Type"].as_str() == Some("HttpApi")) {
            in_template.insert((
                s(logical).to_string(),
                s(&event["Properties"]["Method"]).to_uppercase(),
                s(&event["Properties"]["Path"]).to_string(),
            ));
        }
    }
    let in_code: BTreeSet<(String, String, String)> = fd_shared::routes::ROUTES
        .iter()
        .map(|r| (r.function.logical_id().to_string(), r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(in_template, in_code);
}

#[test]
fn each_scim_verb_has_its_own_function_built_from_its_crate() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(s(&globals["Runtime"]), "provided.al2023");
    assert_eq!(globals["Architectures"][0].as_str(), Some("x86_64"));
    for (logical, verb) in [
        ("ScimGetFunction", "get"),
        ("ScimPostFunction", "post"),
        ("ScimPutFunction", "put"),
        ("ScimPatchFunction", "patch"),
        ("ScimDeleteFunction", "delete"),
    ] {
        let function = &t["Resources"][logical];
        assert_eq!(s(&function["Type"]), "AWS::Serverless::Function", "{logical}");
        assert_eq!(s(&function["Metadata"]["BuildMethod"]), "rust-cargolambda", "{logical}");
        assert_eq!(s(&function["Metadata"]["BuildProperties"]["Binary"]), format!("scim-{verb}"), "{logical}");
        assert_eq!(s(&function["Properties"]["CodeUri"]), format!("functions/scim-{verb}"), "{logical}");
        let events = function["Properties"]["Events"].as_mapping().unwrap();
        let routes: BTreeSet<(String, String)> = events
            .values()
            .map(|e| {
                assert_eq!(s(&e["Type"]), "HttpApi");
                (s(&e["Properties"]["Method"]).to_uppercase(), s(&e["Properties"]["Path"]).to_string())
            })
            .collect();
        assert_eq!(routes, BTreeSet::from([(verb.to_uppercase(), "/scim/v2/{proxy+}".to_string())]), "{logical}");
    }
}

/// The DynamoDB actions a function's role allows.
fn table_actions(t: &Value, logical: &str) -> BTreeSet<String> {
    let statements = t["Resources"][logical]["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
    statements
        .iter()
        .flat_map(|st| st["Action"].as_sequence().unwrap().iter().map(|a| s(a).to_string()))
        .filter(|a| a.starts_with("dynamodb:"))
        .collect()
}

#[test]
fn each_function_may_make_the_calls_its_store_operations_make() {
    let t = template();
    let has = |logical: &str, actions: &[&str]| {
        let allowed = table_actions(&t, logical);
        for action in actions {
            assert!(allowed.contains(*action), "{logical} lacks {action}");
        }
    };
    // Every SCIM call checks the key item with BatchGetItem/GetItem or a transaction's ConditionCheck.
    for logical in ["ScimGetFunction", "ScimPostFunction", "ScimPutFunction", "ScimPatchFunction", "ScimDeleteFunction"]
    {
        has(logical, &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]);
    }
    // Listing (GET, and POST /Users/.search) remembers where the next page starts.
    has("ScimGetFunction", &["dynamodb:PutItem"]);
    has("ScimPostFunction", &["dynamodb:PutItem"]);
    // Writes are transactions of puts, updates (counters, display-name sets), deletes and key checks.
    has("ScimPostFunction", &["dynamodb:TransactWriteItems", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]);
    for logical in ["ScimPutFunction", "ScimPatchFunction", "ScimDeleteFunction"] {
        has(logical, &["dynamodb:TransactWriteItems", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]);
        has(logical, &["dynamodb:ConditionCheckItem"]);
    }
    for logical in ["ScimPutFunction", "ScimPatchFunction"] {
        has(logical, &["dynamodb:PutItem"]);
    }
}

/// The logical id named by a `!Ref` tag.
fn reference(v: &Value) -> &str {
    match v {
        Value::Tagged(tagged) if tagged.tag == "Ref" => s(&tagged.value),
        other => panic!("not a !Ref: {other:?}"),
    }
}

#[test]
fn sign_in_has_its_own_function_routes_and_secret() {
    let t = template();
    let function = &t["Resources"]["SamlAcsFunction"];
    assert_eq!(s(&function["Metadata"]["BuildMethod"]), "rust-cargolambda");
    assert_eq!(s(&function["Metadata"]["BuildProperties"]["Binary"]), "saml-acs");
    assert_eq!(s(&function["Properties"]["CodeUri"]), "functions/saml-acs");
    let routes: BTreeSet<(String, String)> = function["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|e| (s(&e["Properties"]["Method"]).to_uppercase(), s(&e["Properties"]["Path"]).to_string()))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/saml/{directory}/acs"),
        ("GET", "/saml/{directory}/login"),
        ("GET", "/saml/{directory}/metadata"),
        ("GET", "/me"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(routes, expected);
    // Each route is one the handler serves (and fd-local routes the same way).
    for (method, path) in &expected {
        let concrete = path.replace("{directory}", "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert!(fd_signin::http::is_sign_in_route(method, &concrete), "{method} {path}");
    }

    let env = &function["Properties"]["Environment"]["Variables"];
    assert_eq!(reference(&env["FD_SESSION_SECRET_ID"]), "SessionKeySecret");
    assert!(!env["FD_PUBLIC_URL"].is_null(), "the ACS URL derives from FD_PUBLIC_URL");
    assert_eq!(s(&t["Resources"]["SessionKeySecret"]["Type"]), "AWS::SecretsManager::Secret");

    // Least privilege: the session key (not the pepper), and only the item calls sign-in makes.
    let statements = function["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
    let mut actions = BTreeSet::new();
    for statement in statements {
        for action in statement["Action"].as_sequence().unwrap() {
            actions.insert(s(action).to_string());
        }
        if statement["Action"][0].as_str() == Some("secretsmanager:GetSecretValue") {
            assert_eq!(reference(&statement["Resource"]), "SessionKeySecret");
        }
    }
    let expected_actions: BTreeSet<String> = [
        "secretsmanager:GetSecretValue",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    assert_eq!(actions, expected_actions);
}

/// The web function reads the table, and may change session items only (their partition keys start `SESSION#`).
#[test]
fn the_web_function_reads_and_changes_sessions_only() {
    let t = template();
    let function = &t["Resources"]["WebFunction"];
    assert_eq!(s(&function["Metadata"]["BuildProperties"]["Binary"]), "web");
    assert_eq!(s(&function["Properties"]["CodeUri"]), "functions/web");
    let statements = function["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
    for statement in statements {
        let actions: Vec<&str> = statement["Action"].as_sequence().unwrap().iter().map(s).collect();
        let reads = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
        let writes: Vec<String> = actions
            .iter()
            .filter(|a| a.starts_with("dynamodb:") && !reads.contains(a))
            .map(|a| a.to_string())
            .collect();
        if writes.is_empty() {
            continue;
        }
        assert!(writes.iter().all(|a| a == "dynamodb:UpdateItem" || a == "dynamodb:DeleteItem"), "{writes:?}");
        let leading = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
        assert_eq!(leading.as_sequence().map(|v| v.iter().map(s).collect::<Vec<_>>()), Some(vec!["SESSION#*"]));
    }
    assert!(table_actions(&t, "WebFunction").contains("dynamodb:BatchGetItem"));
}

#[tokio::test]
async fn bootstrap_creates_the_table_the_template_defines() {
    let endpoint = std::env::var("FD_TEST_AWS_ENDPOINT")
        .expect("FD_TEST_AWS_ENDPOINT is not set: run infra/scripts/test.sh (it starts moto)");
    let t = template();
    let props = &t["Resources"]["UsersTable"]["Properties"];

    let config = fd_shared::store::dynamodb::emulator_config(&endpoint).await;
    let client = Client::new(&config);
    let table = format!("fd-template-{}", fd_shared::auth::new_id());
    assert!(fd_shared::store::dynamodb::bootstrap_table(&client, &table).await.unwrap());
    let described = client.describe_table().table_name(&table).send().await.unwrap().table.unwrap();

    let key_schema = |v: &Value| -> Vec<(String, String)> {
        v.as_sequence().unwrap().iter().map(|k| (s(&k["AttributeName"]).into(), s(&k["KeyType"]).into())).collect()
    };
    let actual_keys = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        ks.iter().map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string())).collect()
    };
    assert_eq!(actual_keys(described.key_schema()), key_schema(&props["KeySchema"]));

    let expected_attrs: BTreeSet<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| (s(&a["AttributeName"]).into(), s(&a["AttributeType"]).into()))
        .collect();
    let actual_attrs: BTreeSet<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_string(), a.attribute_type().as_str().to_string()))
        .collect();
    assert_eq!(actual_attrs, expected_attrs);

    let expected_lsis: Vec<_> = props["LocalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(&i["IndexName"]).to_string(),
                key_schema(&i["KeySchema"]),
                s(&i["Projection"]["ProjectionType"]).to_string(),
            )
        })
        .collect();
    let actual_lsis: Vec<_> = described
        .local_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                actual_keys(i.key_schema()),
                i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(actual_lsis, expected_lsis);

    assert_eq!(s(&props["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        described.billing_mode_summary().and_then(|b| b.billing_mode()).map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
    assert_eq!(props["DeletionProtectionEnabled"].as_bool(), described.deletion_protection_enabled());

    let ttl = client.describe_time_to_live().table_name(&table).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), props["TimeToLiveSpecification"]["AttributeName"].as_str());
    let backups = client.describe_continuous_backups().table_name(&table).send().await.unwrap();
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(pitr.as_deref(), Some("ENABLED"));
}

/// API Gateway throttles every route, and the unauthenticated sign-in routes harder.
#[test]
fn routes_are_throttled() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    assert_eq!(reference(&api["DefaultRouteSettings"]["ThrottlingRateLimit"]), "ApiRateLimit");
    assert_eq!(reference(&api["DefaultRouteSettings"]["ThrottlingBurstLimit"]), "ApiBurstLimit");
    for route in ["POST /saml/{directory}/acs", "GET /saml/{directory}/login"] {
        let settings = &api["RouteSettings"][route];
        assert_eq!(reference(&settings["ThrottlingRateLimit"]), "SignInRateLimit", "{route}");
        assert!(fd_shared::routes::ROUTES.iter().any(|r| format!("{} {}", r.method, r.path) == route), "{route}");
    }
    let limit = |name: &str| t["Parameters"][name]["Default"].as_u64().unwrap();
    assert!(limit("SignInRateLimit") < limit("ApiRateLimit"));
}
