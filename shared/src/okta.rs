//! The Okta attribute mapping: the 25 profile attributes Okta provisions, and where each lives in a SCIM User.
//!
//! This table is the single source for the product documentation (`docs/okta-mapping.md` is generated from it and
//! checked by a test), for the end-to-end tests that replay Okta's calls, and for the `fd-admin okta-mapping` command.

use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
use serde_json::{Map, Value};

/// Where one Okta attribute lives inside a SCIM User resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimLocation {
    /// A top-level attribute of the core schema, e.g. `userName`.
    Core(&'static str),
    /// A sub-attribute of a singular complex core attribute, e.g. `name.givenName`.
    CoreSub(&'static str, &'static str),
    /// A sub-attribute of the multi-valued entry with the given `type`, e.g. `emails[type eq "work"].value`.
    Typed { attribute: &'static str, kind: &'static str, sub: &'static str, primary: bool },
    /// A top-level attribute of the Enterprise User extension.
    Enterprise(&'static str),
    /// A sub-attribute of an Enterprise User complex attribute, e.g. `manager.displayName`.
    EnterpriseSub(&'static str, &'static str),
}

/// One row of the Okta mapping.
#[derive(Debug, Clone, Copy)]
pub struct OktaAttribute {
    /// Okta's label in its profile editor.
    pub display_name: &'static str,
    /// Okta's variable name.
    pub variable: &'static str,
    /// Whether Okta always sends it.
    pub mandatory: bool,
    /// The SCIM location.
    pub location: ScimLocation,
}

const fn row(display_name: &'static str, variable: &'static str, location: ScimLocation) -> OktaAttribute {
    OktaAttribute { display_name, variable, mandatory: false, location }
}

const fn typed(attribute: &'static str, kind: &'static str, sub: &'static str, primary: bool) -> ScimLocation {
    ScimLocation::Typed { attribute, kind, sub, primary }
}

/// The 25 attributes of the product page, in its order.
pub static OKTA_ATTRIBUTES: [OktaAttribute; 25] = [
    OktaAttribute { mandatory: true, ..row("Username", "username", ScimLocation::Core("userName")) },
    OktaAttribute { mandatory: true, ..row("Display name", "displayName", ScimLocation::Core("displayName")) },
    row("Given name", "givenName", ScimLocation::CoreSub("name", "givenName")),
    row("Family name", "familyName", ScimLocation::CoreSub("name", "familyName")),
    row("Nickname", "nickName", ScimLocation::Core("nickName")),
    row("Primary email", "email", typed("emails", "work", "value", true)),
    row("Second email", "secondEmail", typed("emails", "other", "value", false)),
    row("Profile Url", "profileUrl", ScimLocation::Core("profileUrl")),
    row("Primary phone", "primaryPhone", typed("phoneNumbers", "work", "value", true)),
    row("Mobile Phone", "mobilePhone", typed("phoneNumbers", "mobile", "value", false)),
    row("Street address", "streetAddress", typed("addresses", "work", "streetAddress", true)),
    row("Locality", "locality", typed("addresses", "work", "locality", true)),
    row("Region", "region", typed("addresses", "work", "region", true)),
    row("Postal Code", "postalCode", typed("addresses", "work", "postalCode", true)),
    row("Country code", "country", typed("addresses", "work", "country", true)),
    row("Preferred language", "preferredLanguage", ScimLocation::Core("preferredLanguage")),
    row("Locale", "locale", ScimLocation::Core("locale")),
    row("Time zone", "timezone", ScimLocation::Core("timezone")),
    row("User type", "userType", ScimLocation::Core("userType")),
    row("Employee number", "employeeNumber", ScimLocation::Enterprise("employeeNumber")),
    row("Cost center", "costCenter", ScimLocation::Enterprise("costCenter")),
    row("Title", "title", ScimLocation::Core("title")),
    row("Division", "division", ScimLocation::Enterprise("division")),
    row("Department", "department", ScimLocation::Enterprise("department")),
    row("Manager display name", "managerDisplayName", ScimLocation::EnterpriseSub("manager", "displayName")),
];

impl OktaAttribute {
    /// The SCIM path of this attribute (RFC 7644 §3.5.2 syntax).
    pub fn scim_path(&self) -> String {
        match self.location {
            ScimLocation::Core(a) => a.to_string(),
            ScimLocation::CoreSub(a, s) => format!("{a}.{s}"),
            ScimLocation::Typed { attribute, kind, sub, .. } => format!("{attribute}[type eq \"{kind}\"].{sub}"),
            ScimLocation::Enterprise(a) => format!("{ENTERPRISE_USER_SCHEMA}:{a}"),
            ScimLocation::EnterpriseSub(a, s) => format!("{ENTERPRISE_USER_SCHEMA}:{a}.{s}"),
        }
    }

    /// Reads this attribute's string value from a SCIM User resource.
    pub fn read<'a>(&self, user: &'a Value) -> Option<&'a str> {
        let value = match self.location {
            ScimLocation::Core(a) => user.get(a),
            ScimLocation::CoreSub(a, s) => user.get(a).and_then(|v| v.get(s)),
            ScimLocation::Typed { attribute, kind, sub, .. } => user
                .get(attribute)
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find(|i| i.get("type").and_then(Value::as_str) == Some(kind)))
                .and_then(|i| i.get(sub)),
            ScimLocation::Enterprise(a) => user.get(ENTERPRISE_USER_SCHEMA).and_then(|e| e.get(a)),
            ScimLocation::EnterpriseSub(a, s) => {
                user.get(ENTERPRISE_USER_SCHEMA).and_then(|e| e.get(a)).and_then(|v| v.get(s))
            }
        };
        value.and_then(Value::as_str)
    }

    /// Writes this attribute into a SCIM User resource the way Okta's SCIM 2.0 connector shapes it.
    pub fn write(&self, user: &mut Map<String, Value>, value: &str) {
        let text = Value::String(value.to_string());
        match self.location {
            ScimLocation::Core(a) => {
                user.insert(a.into(), text);
            }
            ScimLocation::CoreSub(a, s) => {
                object_entry(user, a).insert(s.into(), text);
            }
            ScimLocation::Typed { attribute, kind, sub, primary } => {
                let items = user.entry(attribute).or_insert_with(|| Value::Array(Vec::new()));
                if !items.is_array() {
                    *items = Value::Array(Vec::new());
                }
                if let Value::Array(items) = items {
                    let position = items.iter().position(|i| i.get("type").and_then(Value::as_str) == Some(kind));
                    let index = position.unwrap_or_else(|| {
                        let mut entry = Map::new();
                        entry.insert("type".into(), Value::String(kind.into()));
                        if primary {
                            entry.insert("primary".into(), Value::Bool(true));
                        }
                        items.push(Value::Object(entry));
                        items.len() - 1
                    });
                    if let Some(Value::Object(entry)) = items.get_mut(index) {
                        entry.insert(sub.into(), text);
                    }
                }
            }
            ScimLocation::Enterprise(a) => {
                object_entry(user, ENTERPRISE_USER_SCHEMA).insert(a.into(), text);
            }
            ScimLocation::EnterpriseSub(a, s) => {
                object_entry(object_entry(user, ENTERPRISE_USER_SCHEMA), a).insert(s.into(), text);
            }
        }
    }
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(inner) => inner,
        // Unreachable: the slot was made an object just above.
        _ => unreachable!("slot is an object"),
    }
}

/// The mapping as a Markdown table (the body of `docs/okta-mapping.md`).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Okta display name | Okta variable | Mandatory | SCIM attribute |\n| --- | --- | --- | --- |\n");
    for attr in &OKTA_ATTRIBUTES {
        out.push_str(&format!(
            "| {} | {} | {} | `{}` |\n",
            attr.display_name,
            attr.variable,
            if attr.mandatory { "yes" } else { "" },
            attr.scim_path()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn twenty_five_distinct_attributes() {
        let mut names: Vec<_> = OKTA_ATTRIBUTES.iter().map(|a| a.variable).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 25);
        let mut paths: Vec<_> = OKTA_ATTRIBUTES.iter().map(|a| a.scim_path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 25);
    }

    #[test]
    fn write_then_read_every_attribute() {
        let mut user = Map::new();
        for attr in &OKTA_ATTRIBUTES {
            attr.write(&mut user, &format!("v-{}", attr.variable));
        }
        let user = Value::Object(user);
        for attr in &OKTA_ATTRIBUTES {
            assert_eq!(attr.read(&user), Some(format!("v-{}", attr.variable).as_str()), "{}", attr.variable);
        }
        assert_eq!(user["emails"][0], json!({"type": "work", "primary": true, "value": "v-email"}));
        assert_eq!(user["emails"][1], json!({"type": "other", "value": "v-secondEmail"}));
        assert_eq!(user["addresses"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn docs_table_is_generated_from_this_mapping() {
        let doc = include_str!("../../docs/okta-mapping.md");
        assert!(doc.contains(&markdown_table()), "regenerate docs/okta-mapping.md with `fd-admin okta-mapping`");
    }
}
