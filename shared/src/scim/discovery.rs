//! Service provider configuration endpoints (RFC 7644 §4, RFC 7643 §5–7): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, generated from the schema definitions the server enforces and advertising
//! exactly what it implements.

use super::cursor::CURSOR_TIMEOUT_SECS;
use super::error::ScimError;
use super::list::{DEFAULT_COUNT, MAX_COUNT, list_response};
use super::schema::{
    AttrType, AttributeDef, ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, Mutability, Returned, SchemaDef, USER, USER_SCHEMA,
};
use serde_json::{Value, json};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The schemas this server serves.
static SCHEMAS: [&SchemaDef; 2] = [&USER, &ENTERPRISE_USER];

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        // RFC 9865 §4. Index paging stays the default, so clients that know only RFC 7644 see no change.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": CURSOR_TIMEOUT_SECS
        },
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Directory access key",
            "description": "A directory's access key (fd-admin key create), sent as Authorization: Bearer <token>.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

fn user_resource_type(base_url: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/User")}
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base_url: &str) -> Value {
    list_response(1, 1, vec![user_resource_type(base_url)])
}

/// `GET /ResourceTypes/{id}`.
pub fn resource_type(base_url: &str, id: &str) -> Result<Value, ScimError> {
    if id.eq_ignore_ascii_case("User") {
        Ok(user_resource_type(base_url))
    } else {
        Err(ScimError::not_found(format!("No resource type {id}.")))
    }
}

fn attribute(def: &AttributeDef) -> Value {
    let mut out = json!({
        "name": def.name,
        "type": match def.ty {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        },
        "multiValued": def.multi_valued,
        "description": def.description,
        "required": def.required,
        "caseExact": def.case_exact,
        "mutability": match def.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match def.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": if def.unique { "server" } else { "none" },
    });
    if def.ty == AttrType::Reference {
        out["referenceTypes"] = json!(if def.name == "$ref" { vec!["User"] } else { vec!["external"] });
    }
    if !def.sub_attributes.is_empty() {
        out["subAttributes"] = Value::Array(def.sub_attributes.iter().map(attribute).collect());
    }
    out
}

fn schema(def: &SchemaDef, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": def.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", def.id)}
    })
}

/// `GET /Schemas`.
pub fn schemas(base_url: &str) -> Value {
    list_response(SCHEMAS.len() as u64, 1, SCHEMAS.iter().map(|s| schema(s, base_url)).collect())
}

/// `GET /Schemas/{id}`.
pub fn schema_by_id(base_url: &str, id: &str) -> Result<Value, ScimError> {
    SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema(s, base_url))
        .ok_or_else(|| ScimError::not_found(format!("No schema {id}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_provider_config_advertises_what_is_implemented() {
        let spc = service_provider_config("https://x/scim/v2");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["filter"]["supported"], true);
        assert_eq!(spc["filter"]["maxResults"], MAX_COUNT);
        assert_eq!(spc["etag"]["supported"], true);
        assert_eq!(spc["sort"]["supported"], true);
        assert_eq!(
            spc["pagination"],
            serde_json::json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
                               "defaultPageSize": DEFAULT_COUNT, "maxPageSize": MAX_COUNT,
                               "cursorTimeout": CURSOR_TIMEOUT_SECS})
        );
        // Not implemented, so not advertised.
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["changePassword"]["supported"], false);
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    }

    #[test]
    fn schemas_are_generated_from_the_enforced_definitions() {
        let list = schemas("https://x/scim/v2");
        assert_eq!(list["totalResults"], 2);
        let user = schema_by_id("https://x/scim/v2", USER_SCHEMA).unwrap();
        let names: Vec<&str> =
            user["attributes"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names.len(), USER.attributes.len());
        let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["required"], true);
        let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(
            (password["returned"].as_str(), password["mutability"].as_str()),
            (Some("never"), Some("writeOnly"))
        );
        let emails = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert!(emails["subAttributes"].as_array().unwrap().iter().any(|s| s["name"] == "primary"));
        let enterprise = schema_by_id("https://x/scim/v2", &ENTERPRISE_USER_SCHEMA.to_uppercase()).unwrap();
        assert_eq!(enterprise["id"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(schema_by_id("https://x/scim/v2", "urn:nope").unwrap_err().status, 404);
    }

    #[test]
    fn resource_types() {
        let list = super::resource_types("https://x/scim/v2");
        assert_eq!(list["Resources"][0]["endpoint"], "/Users");
        assert_eq!(list["Resources"][0]["schemaExtensions"][0]["schema"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(resource_type("https://x/scim/v2", "user").unwrap()["id"], "User");
        assert_eq!(resource_type("https://x/scim/v2", "Group").unwrap_err().status, 404);
    }
}
