//! [`Contact`]: a SCIM User as the address book shows it.

use crate::address::Address;
use crate::scim::{entries, entry_type, has_type, is_primary, object, text, text_at};
use serde_json::{Map, Value};

/// The key of the Enterprise User extension in a User resource (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A directory user as a contact: every attribute Okta provisions, read leniently from the SCIM resource.
///
/// Text values are trimmed; blank values are absent. `externalId` is deliberately not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The server-assigned SCIM `id`.
    pub id: Option<String>,
    /// `active`; an unassigned value means active.
    pub active: bool,
    /// `userName`.
    pub user_name: Option<String>,
    /// The name to show: `displayName`, else `name.formatted`, else given and family name, else `userName`, else
    /// the primary email, else the `id` (empty only when the resource has none of these).
    pub display_name: String,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `nickName`.
    pub nick_name: Option<String>,
    /// `title` (job title).
    pub title: Option<String>,
    /// `emails`: the primary first, then work, then the others in their order; duplicates dropped.
    pub emails: Vec<Email>,
    /// `phoneNumbers`: the primary first, then work, then mobile, then the others in their order; duplicates dropped.
    pub phones: Vec<Phone>,
    /// The work address (see [`Contact::from_scim`] for which entry of `addresses` that is).
    pub address: Option<Address>,
    /// `profileUrl`, as stored (use [`crate::safe_http_url`] before making it a link).
    pub profile_url: Option<String>,
    /// `preferredLanguage` (an `Accept-Language` style list, e.g. `en-US` or `da, en-gb;q=0.8`).
    pub preferred_language: Option<String>,
    /// `locale`, e.g. `en-US`.
    pub locale: Option<String>,
    /// `timezone`, an IANA time zone name such as `Europe/Amsterdam`.
    pub timezone: Option<String>,
    /// `userType`, e.g. `Employee`.
    pub user_type: Option<String>,
    /// Enterprise `employeeNumber`.
    pub employee_number: Option<String>,
    /// Enterprise `costCenter`.
    pub cost_center: Option<String>,
    /// Enterprise `division`.
    pub division: Option<String>,
    /// Enterprise `department`.
    pub department: Option<String>,
    /// Enterprise `manager`.
    pub manager: Option<Manager>,
}

impl Default for Contact {
    /// An active contact with no attributes.
    fn default() -> Self {
        Self {
            id: None,
            active: true,
            user_name: None,
            display_name: String::new(),
            given_name: None,
            family_name: None,
            nick_name: None,
            title: None,
            emails: Vec::new(),
            phones: Vec::new(),
            address: None,
            profile_url: None,
            preferred_language: None,
            locale: None,
            timezone: None,
            user_type: None,
            employee_number: None,
            cost_center: None,
            division: None,
            department: None,
            manager: None,
        }
    }
}

/// The `type` of an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// `work` (Okta's primary email).
    Work,
    /// `home`.
    Home,
    /// `other`, any other type, or none (Okta's second email).
    Other,
}

impl EmailKind {
    fn from_scim(kind: Option<&str>) -> Self {
        match kind {
            Some(k) if k.eq_ignore_ascii_case("work") => Self::Work,
            Some(k) if k.eq_ignore_ascii_case("home") => Self::Home,
            _ => Self::Other,
        }
    }

    /// The label on the contact page, e.g. "Work email".
    pub fn label(self) -> &'static str {
        match self {
            Self::Work => "Work email",
            Self::Home => "Home email",
            Self::Other => "Other email",
        }
    }
}

/// One email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The address as stored (use [`crate::mailto_uri`] to make it a link).
    pub value: String,
    /// Its type.
    pub kind: EmailKind,
    /// Whether the resource marks it `primary`.
    pub primary: bool,
}

/// The `type` of a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// `work` (Okta's primary phone).
    Work,
    /// `mobile` (Okta's mobile phone).
    Mobile,
    /// `home`.
    Home,
    /// `fax`.
    Fax,
    /// `pager`.
    Pager,
    /// `other`, any other type, or none.
    Other,
}

impl PhoneKind {
    fn from_scim(kind: Option<&str>) -> Self {
        let Some(kind) = kind else { return Self::Other };
        [
            ("work", Self::Work),
            ("mobile", Self::Mobile),
            ("home", Self::Home),
            ("fax", Self::Fax),
            ("pager", Self::Pager),
        ]
        .into_iter()
        .find_map(|(name, k)| kind.eq_ignore_ascii_case(name).then_some(k))
        .unwrap_or(Self::Other)
    }

    /// The label on the contact page, e.g. "Mobile phone".
    pub fn label(self) -> &'static str {
        match self {
            Self::Work => "Work phone",
            Self::Mobile => "Mobile phone",
            Self::Home => "Home phone",
            Self::Fax => "Fax",
            Self::Pager => "Pager",
            Self::Other => "Other phone",
        }
    }
}

/// One phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// The number as stored (use [`crate::tel_uri`] to make it a link).
    pub value: String,
    /// Its type.
    pub kind: PhoneKind,
    /// Whether the resource marks it `primary`.
    pub primary: bool,
}

/// The manager (Enterprise `manager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    /// The manager's display name, as Okta sent it.
    pub display_name: String,
    /// The manager's user id, when the server linked the name to exactly one user.
    pub id: Option<String>,
}

impl Contact {
    /// Reads a SCIM User resource. Never fails: missing or wrongly-typed attributes are absent.
    ///
    /// The address is the `addresses` entry of type `work` (the primary one first), else an entry without a type
    /// (the primary one first); home and other addresses are not shown in the address book. A manager without a
    /// `displayName` is absent.
    pub fn from_scim(resource: &Value) -> Contact {
        let name = object(resource, "name");
        let name_part = |key: &str| name.and_then(|n| text_at(n, key));
        let given_name = name_part("givenName");
        let family_name = name_part("familyName");
        let enterprise = object(resource, ENTERPRISE_USER_SCHEMA);
        let enterprise_text = |key: &str| enterprise.and_then(|e| text_at(e, key));
        let id = text(resource.get("id"));
        let user_name = text(resource.get("userName"));
        let emails = read_emails(resource);
        let display_name = text(resource.get("displayName"))
            .or_else(|| name_part("formatted"))
            .or_else(|| join_name(given_name.as_deref(), family_name.as_deref()))
            .or_else(|| user_name.clone())
            .or_else(|| emails.first().map(|e| e.value.clone()))
            .or_else(|| id.clone())
            .unwrap_or_default();
        Contact {
            active: resource.get("active").and_then(Value::as_bool).unwrap_or(true),
            display_name,
            nick_name: text(resource.get("nickName")),
            title: text(resource.get("title")),
            phones: read_phones(resource),
            address: read_address(resource),
            profile_url: text(resource.get("profileUrl")),
            preferred_language: text(resource.get("preferredLanguage")),
            locale: text(resource.get("locale")),
            timezone: text(resource.get("timezone")),
            user_type: text(resource.get("userType")),
            employee_number: enterprise_text("employeeNumber"),
            cost_center: enterprise_text("costCenter"),
            division: enterprise_text("division"),
            department: enterprise_text("department"),
            manager: enterprise.and_then(|e| e.get("manager")).and_then(Value::as_object).and_then(read_manager),
            id,
            user_name,
            given_name,
            family_name,
            emails,
        }
    }

    /// The email to use first: the primary one, else the first work address, else the first one.
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.first()
    }

    /// The phone to use first: the primary one, else the first work number, else the first mobile, else the first.
    pub fn primary_phone(&self) -> Option<&Phone> {
        self.phones.first()
    }
}

fn join_name(given: Option<&str>, family: Option<&str>) -> Option<String> {
    match (given, family) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

/// Multi-valued entries with a `value`, ordered by `rank` (stable), duplicates (by `key`) dropped.
fn ranked<T>(
    resource: &Value,
    attribute: &str,
    make: impl Fn(String, Option<&str>, bool) -> T,
    rank: impl Fn(&T) -> u8,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let mut items: Vec<T> = entries(resource, attribute)
        .filter_map(|e| Some(make(text_at(e, "value")?, entry_type(e), is_primary(e))))
        .collect();
    items.sort_by_key(&rank);
    let mut seen = Vec::with_capacity(items.len());
    items.retain(|item| {
        let k = key(item);
        let fresh = !seen.contains(&k);
        seen.push(k);
        fresh
    });
    items
}

fn read_emails(resource: &Value) -> Vec<Email> {
    ranked(
        resource,
        "emails",
        |value, kind, primary| Email { value, kind: EmailKind::from_scim(kind), primary },
        |e| match (e.primary, e.kind) {
            (true, _) => 0,
            (false, EmailKind::Work) => 1,
            (false, _) => 2,
        },
        |e| e.value.to_lowercase(),
    )
}

fn read_phones(resource: &Value) -> Vec<Phone> {
    ranked(
        resource,
        "phoneNumbers",
        |value, kind, primary| Phone { value, kind: PhoneKind::from_scim(kind), primary },
        |p| match (p.primary, p.kind) {
            (true, _) => 0,
            (false, PhoneKind::Work) => 1,
            (false, PhoneKind::Mobile) => 2,
            (false, _) => 3,
        },
        |p| p.value.clone(),
    )
}

fn read_address(resource: &Value) -> Option<Address> {
    let candidates = |typed: fn(&Map<String, Value>) -> bool| {
        let all: Vec<_> = entries(resource, "addresses").filter(|e| typed(e)).map(address_of).collect();
        let primary = entries(resource, "addresses").filter(|e| typed(e) && is_primary(e)).map(address_of);
        primary.chain(all).find(|a| !a.is_empty())
    };
    candidates(|e| has_type(e, "work")).or_else(|| candidates(|e| entry_type(e).is_none()))
}

fn address_of(entry: &Map<String, Value>) -> Address {
    Address {
        street_address: text_at(entry, "streetAddress"),
        locality: text_at(entry, "locality"),
        region: text_at(entry, "region"),
        postal_code: text_at(entry, "postalCode"),
        country: text_at(entry, "country"),
        formatted: text_at(entry, "formatted"),
    }
}

fn read_manager(manager: &Map<String, Value>) -> Option<Manager> {
    Some(Manager { display_name: text_at(manager, "displayName")?, id: text_at(manager, "value") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_resource_is_active_and_named_by_user_name() {
        let c = Contact::from_scim(&json!({"id": "u1", "userName": "ada@example.com"}));
        assert!(c.active);
        assert_eq!(c.display_name, "ada@example.com");
        assert_eq!(c.id.as_deref(), Some("u1"));
        assert_eq!(c.emails, []);
        assert_eq!(c.address, None);
    }

    #[test]
    fn display_name_fallbacks() {
        let cases = [
            (json!({"displayName": " Ada L. ", "name": {"formatted": "F"}, "userName": "u"}), "Ada L."),
            (json!({"displayName": "  ", "name": {"formatted": "Ada King", "givenName": "Ada"}}), "Ada King"),
            (json!({"displayName": 7, "name": {"givenName": "Ada", "familyName": "Lovelace"}}), "Ada Lovelace"),
            (json!({"name": {"familyName": "Lovelace"}, "userName": "u"}), "Lovelace"),
            (json!({"name": "Ada", "userName": "ada"}), "ada"),
            (json!({"emails": [{"value": "a@example.com"}], "id": "x"}), "a@example.com"),
            (json!({"id": "x"}), "x"),
            (json!("not an object"), ""),
        ];
        for (resource, expected) in cases {
            assert_eq!(Contact::from_scim(&resource).display_name, expected, "{resource}");
        }
    }

    #[test]
    fn wrong_types_are_absent() {
        let c = Contact::from_scim(&json!({
            "userName": ["x"], "active": "false", "title": {"a": 1}, "emails": {"value": "a@b"},
            "phoneNumbers": [5, {"value": 5}, {"type": "work"}], "addresses": "Main St",
            ENTERPRISE_USER_SCHEMA: {"department": 1, "manager": "Grace"},
        }));
        assert!(c.active);
        assert_eq!((c.user_name, c.title, c.department, c.manager), (None, None, None, None));
        assert!(c.emails.is_empty() && c.phones.is_empty() && c.address.is_none());
    }

    #[test]
    fn emails_primary_then_work_then_others_without_duplicates() {
        let c = Contact::from_scim(&json!({"emails": [
            {"value": "home@example.com", "type": "home"},
            {"value": "other@example.com", "type": "other"},
            {"value": "work@example.com", "type": "Work"},
            {"value": "main@example.com", "type": "other", "primary": true},
            {"value": "WORK@example.com", "type": "home"},
            {"value": " "},
        ]}));
        let got: Vec<_> = c.emails.iter().map(|e| (e.value.as_str(), e.kind, e.primary)).collect();
        assert_eq!(
            got,
            [
                ("main@example.com", EmailKind::Other, true),
                ("work@example.com", EmailKind::Work, false),
                ("home@example.com", EmailKind::Home, false),
                ("other@example.com", EmailKind::Other, false),
            ]
        );
        assert_eq!(c.primary_email().map(|e| e.value.as_str()), Some("main@example.com"));
    }

    #[test]
    fn phones_primary_work_mobile_then_others() {
        let c = Contact::from_scim(&json!({"phoneNumbers": [
            {"value": "+1 555 0101", "type": "fax"},
            {"value": "+1 555 0102", "type": "mobile"},
            {"value": "+1 555 0103", "type": "work"},
            {"value": "+1 555 0104"},
            {"value": "+1 555 0105", "type": "pager", "primary": true},
        ]}));
        let got: Vec<_> = c.phones.iter().map(|p| (p.value.as_str(), p.kind)).collect();
        assert_eq!(
            got,
            [
                ("+1 555 0105", PhoneKind::Pager),
                ("+1 555 0103", PhoneKind::Work),
                ("+1 555 0102", PhoneKind::Mobile),
                ("+1 555 0101", PhoneKind::Fax),
                ("+1 555 0104", PhoneKind::Other),
            ]
        );
        assert_eq!(c.primary_phone().map(|p| p.kind), Some(PhoneKind::Pager));
    }

    #[test]
    fn address_is_the_primary_work_one_and_never_home() {
        let home = json!({"type": "home", "primary": true, "locality": "Home town"});
        let work = json!({"type": "work", "locality": "Work town"});
        let work_primary = json!({"type": "WORK", "primary": true, "locality": "HQ"});
        let untyped = json!({"locality": "Somewhere"});
        let pick = |addresses: Value| Contact::from_scim(&json!({"addresses": addresses})).address;
        let locality = |a: Option<Address>| a.and_then(|a| a.locality);
        assert_eq!(locality(pick(json!([home, work, work_primary]))).as_deref(), Some("HQ"));
        assert_eq!(locality(pick(json!([home, untyped, work]))).as_deref(), Some("Work town"));
        assert_eq!(locality(pick(json!([home, untyped]))).as_deref(), Some("Somewhere"));
        assert_eq!(pick(json!([home])), None);
        assert_eq!(locality(pick(json!([{"type": "work", "primary": true}, work]))).as_deref(), Some("Work town"));
    }

    #[test]
    fn manager_needs_a_display_name() {
        let read = |m: Value| Contact::from_scim(&json!({ENTERPRISE_USER_SCHEMA: {"manager": m}})).manager;
        assert_eq!(
            read(json!({"value": "m1", "$ref": "../Users/m1", "displayName": "Grace Hopper"})),
            Some(Manager { display_name: "Grace Hopper".into(), id: Some("m1".into()) })
        );
        assert_eq!(read(json!({"displayName": "Grace"})), Some(Manager { display_name: "Grace".into(), id: None }));
        assert_eq!(read(json!({"value": "m1"})), None);
    }

    #[test]
    fn external_id_is_not_read_and_inactive_is_kept() {
        let c = Contact::from_scim(&json!({"userName": "u", "externalId": "00u1", "active": false}));
        assert!(!c.active);
        assert!(!format!("{c:?}").contains("00u1"));
    }
}
