//! The contact page: every attribute with a value, labelled, in display order.

use crate::address::format_address;
use crate::contact::{Contact, Manager};
use crate::links::{mailto_uri, safe_http_url, tel_uri};

/// One labelled attribute on the contact page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The human label, e.g. "Mobile phone" or "Cost center".
    pub label: &'static str,
    /// The value.
    pub value: FieldValue<'a>,
}

/// A value on the contact page, typed by how it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// Plain text.
    Text(&'a str),
    /// An email address (a `mailto:` link when plausible).
    Email(&'a str),
    /// A phone number (a `tel:` link when it is one).
    Phone(&'a str),
    /// A web address (a link only when [`safe_http_url`] accepts it).
    Url(&'a str),
    /// A postal address, in lines for its country.
    Address(Vec<String>),
    /// The manager; the caller may link to the manager's contact when the id is known.
    Manager(&'a Manager),
}

impl FieldValue<'_> {
    /// The text to show (address lines joined with `\n`).
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) | Self::Email(t) | Self::Phone(t) | Self::Url(t) => (*t).to_string(),
            Self::Address(lines) => lines.join("\n"),
            Self::Manager(m) => m.display_name.clone(),
        }
    }

    /// The link target, when the value is safe to link: `mailto:`, `tel:` or an `http(s):` URL.
    pub fn href(&self) -> Option<String> {
        match self {
            Self::Email(address) => mailto_uri(address),
            Self::Phone(number) => tel_uri(number),
            Self::Url(url) => safe_http_url(url).map(str::to_string),
            Self::Text(_) | Self::Address(_) | Self::Manager(_) => None,
        }
    }
}

impl Contact {
    /// Every attribute that has a value, labelled, in display order: name, job, contact details, address, profile,
    /// then account details. `externalId` and `active` are not listed.
    pub fn fields(&self) -> Vec<Field<'_>> {
        let mut out = Vec::new();
        if !self.display_name.is_empty() {
            out.push(Field { label: "Display name", value: FieldValue::Text(&self.display_name) });
        }
        text(&mut out, "Given name", &self.given_name);
        text(&mut out, "Family name", &self.family_name);
        text(&mut out, "Nickname", &self.nick_name);
        text(&mut out, "Title", &self.title);
        text(&mut out, "Department", &self.department);
        text(&mut out, "Division", &self.division);
        if let Some(manager) = &self.manager {
            out.push(Field { label: "Manager", value: FieldValue::Manager(manager) });
        }
        for email in &self.emails {
            out.push(Field { label: email.kind.label(), value: FieldValue::Email(&email.value) });
        }
        for phone in &self.phones {
            out.push(Field { label: phone.kind.label(), value: FieldValue::Phone(&phone.value) });
        }
        if let Some(lines) = self.address.as_ref().map(format_address).filter(|l| !l.is_empty()) {
            out.push(Field { label: "Address", value: FieldValue::Address(lines) });
        }
        if let Some(url) = &self.profile_url {
            out.push(Field { label: "Profile", value: FieldValue::Url(url) });
        }
        text(&mut out, "Username", &self.user_name);
        text(&mut out, "Employee number", &self.employee_number);
        text(&mut out, "Cost center", &self.cost_center);
        text(&mut out, "User type", &self.user_type);
        text(&mut out, "Preferred language", &self.preferred_language);
        text(&mut out, "Locale", &self.locale);
        text(&mut out, "Time zone", &self.timezone);
        out
    }
}

fn text<'a>(out: &mut Vec<Field<'a>>, label: &'static str, value: &'a Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        out.push(Field { label, value: FieldValue::Text(v) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::ENTERPRISE_USER_SCHEMA;
    use serde_json::{Value, json};

    /// A user carrying all 25 Okta attributes, shaped as Okta's SCIM 2.0 connector sends them.
    fn okta_user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "00u1a2b3c4",
            "userName": "ada@example.com",
            "displayName": "Ada Lovelace",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "nickName": "Countess",
            "emails": [
                {"type": "work", "primary": true, "value": "ada@example.com"},
                {"type": "other", "value": "ada@analytical.example"}
            ],
            "profileUrl": "https://intranet.example.com/people/ada",
            "phoneNumbers": [
                {"type": "work", "primary": true, "value": "+44 20 7946 0018"},
                {"type": "mobile", "value": "+44 7700 900123"}
            ],
            "addresses": [{
                "type": "work", "primary": true, "streetAddress": "12 St James's Square",
                "locality": "London", "region": "Greater London", "postalCode": "SW1Y 4LB", "country": "GB"
            }],
            "preferredLanguage": "en-GB",
            "locale": "en-GB",
            "timezone": "Europe/London",
            "userType": "Employee",
            "title": "Analyst",
            "active": true,
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": "1815",
                "costCenter": "CC-42",
                "division": "Engines",
                "department": "Analytical",
                "manager": {"value": "c0ffee00-0000-4000-8000-000000000001", "$ref": "../Users/c0ffee00", "displayName": "Charles Babbage"}
            },
            "meta": {"resourceType": "User", "version": "W/\"3\""}
        })
    }

    #[test]
    fn every_okta_attribute_is_listed_in_order() {
        let contact = Contact::from_scim(&okta_user());
        let fields: Vec<(&str, String)> = contact.fields().iter().map(|f| (f.label, f.value.text())).collect();
        let expected = [
            ("Display name", "Ada Lovelace"),
            ("Given name", "Ada"),
            ("Family name", "Lovelace"),
            ("Nickname", "Countess"),
            ("Title", "Analyst"),
            ("Department", "Analytical"),
            ("Division", "Engines"),
            ("Manager", "Charles Babbage"),
            ("Work email", "ada@example.com"),
            ("Other email", "ada@analytical.example"),
            ("Work phone", "+44 20 7946 0018"),
            ("Mobile phone", "+44 7700 900123"),
            ("Address", "12 St James's Square\nLondon\nGreater London\nSW1Y 4LB\nUnited Kingdom"),
            ("Profile", "https://intranet.example.com/people/ada"),
            ("Username", "ada@example.com"),
            ("Employee number", "1815"),
            ("Cost center", "CC-42"),
            ("User type", "Employee"),
            ("Preferred language", "en-GB"),
            ("Locale", "en-GB"),
            ("Time zone", "Europe/London"),
        ];
        let expected: Vec<(&str, String)> = expected.iter().map(|(l, v)| (*l, v.to_string())).collect();
        assert_eq!(fields, expected);
        assert!(!fields.iter().any(|(_, v)| v.contains("00u1a2b3c4")), "externalId is not shown");
        assert_eq!(contact.manager.and_then(|m| m.id).as_deref(), Some("c0ffee00-0000-4000-8000-000000000001"));
    }

    #[test]
    fn links_only_where_safe() {
        let mut user = okta_user();
        user["profileUrl"] = json!("javascript:alert(document.cookie)");
        user["phoneNumbers"][1]["value"] = json!("+44 7700 900123 ext. 5");
        let contact = Contact::from_scim(&user);
        let href = |label: &str| contact.fields().into_iter().find(|f| f.label == label).and_then(|f| f.value.href());
        assert_eq!(href("Profile"), None);
        assert_eq!(href("Mobile phone"), None);
        assert_eq!(href("Work phone").as_deref(), Some("tel:+442079460018"));
        assert_eq!(href("Work email").as_deref(), Some("mailto:ada@example.com"));
        assert_eq!(href("Manager"), None);
        assert_eq!(href("Address"), None);
    }

    #[test]
    fn only_attributes_with_values() {
        let contact = Contact::from_scim(&json!({"userName": "grace", "title": " "}));
        let labels: Vec<_> = contact.fields().iter().map(|f| f.label).collect();
        assert_eq!(labels, ["Display name", "Username"]);
        assert_eq!(Contact::default().fields(), []);
    }
}
