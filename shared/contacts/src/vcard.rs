//! vCard 4.0 (RFC 6350) for a contact.

mod file_name;
mod text;

pub use file_name::vcard_file_name;

use crate::address::Address;
use crate::contact::{Contact, EmailKind, PhoneKind};
use crate::links::{safe_http_url, tel_uri};
use text::{escape, push_folded};

/// The contact as a vCard 4.0 (RFC 6350): UTF-8, CRLF line endings, values escaped (§3.4) and lines folded at 75
/// octets (§3.2).
///
/// Properties, each only when the contact has the value: `UID` (`urn:uuid:` for a UUID id, else the id as text),
/// `FN`, `N`, `NICKNAME`, `TITLE`, `ORG` (no organisation name; division and department as units), `EMAIL`,
/// `TEL` (a `tel:` URI when the number makes one, else text), `ADR` (the work address, with the RFC 8605 `CC`
/// parameter when the country is a code), `URL` (only a safe `http(s)` URL), `LANG` (from `preferredLanguage`,
/// ranked by `PREF` when it lists several) and `TZ`. The primary email and phone carry `PREF=1`.
pub fn vcard(contact: &Contact) -> String {
    let mut card = Card::default();
    card.raw("BEGIN", "VCARD");
    card.raw("VERSION", "4.0");
    if let Some(id) = contact.id.as_deref().filter(|id| !id.is_empty()) {
        match uuid(id) {
            Some(uuid) => card.raw("UID", &format!("urn:uuid:{uuid}")),
            None => card.raw("UID;VALUE=text", &escape(id)),
        }
    }
    card.raw("FN", &escape(&contact.display_name));
    if contact.given_name.is_some() || contact.family_name.is_some() {
        card.compound("N", &[&contact.family_name, &contact.given_name, &None, &None, &None]);
    }
    card.text("NICKNAME", &contact.nick_name);
    card.text("TITLE", &contact.title);
    let mut org: Vec<&Option<String>> = vec![&None];
    org.extend([&contact.division, &contact.department].into_iter().filter(|unit| unit.is_some()));
    if org.len() > 1 {
        card.compound("ORG", &org);
    }
    for (i, email) in contact.emails.iter().enumerate() {
        let kind = match email.kind {
            EmailKind::Work => ";TYPE=work",
            EmailKind::Home => ";TYPE=home",
            EmailKind::Other => "",
        };
        card.raw(&format!("EMAIL{kind}{}", pref(i)), &escape(&email.value));
    }
    for (i, phone) in contact.phones.iter().enumerate() {
        let kind = match phone.kind {
            PhoneKind::Work => "work,voice",
            PhoneKind::Mobile => "cell",
            PhoneKind::Home => "home,voice",
            PhoneKind::Fax => "fax",
            PhoneKind::Pager => "pager",
            PhoneKind::Other => "voice",
        };
        match tel_uri(&phone.value) {
            Some(uri) => card.raw(&format!("TEL;VALUE=uri;TYPE={kind}{}", pref(i)), &uri),
            None => card.raw(&format!("TEL;TYPE={kind}{}", pref(i)), &escape(&phone.value)),
        }
    }
    if let Some(address) = contact.address.as_ref().filter(|a| !a.is_empty()) {
        adr(&mut card, address);
    }
    if let Some(url) = contact.profile_url.as_deref().and_then(safe_http_url) {
        card.raw("URL", url);
    }
    let languages = contact.preferred_language.as_deref().map(language_tags).unwrap_or_default();
    for (i, tag) in languages.iter().enumerate() {
        let name = if languages.len() > 1 { format!("LANG;PREF={}", i + 1) } else { "LANG".to_string() };
        card.raw(&name, tag);
    }
    card.text("TZ", &contact.timezone);
    card.raw("END", "VCARD");
    card.out
}

/// A vCard under construction.
#[derive(Default)]
struct Card {
    out: String,
}

impl Card {
    /// A property whose value is already in vCard syntax.
    fn raw(&mut self, name: &str, value: &str) {
        push_folded(&format!("{name}:{value}"), &mut self.out);
    }

    /// A TEXT property, when it has a value.
    fn text(&mut self, name: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.raw(name, &escape(value));
        }
    }

    /// A compound property: components escaped and separated by `;`.
    fn compound(&mut self, name: &str, components: &[&Option<String>]) {
        let value: Vec<String> = components.iter().map(|c| c.as_deref().map(escape).unwrap_or_default()).collect();
        self.raw(name, &value.join(";"));
    }
}

/// `;PREF=1` for the first (primary) value of a property.
fn pref(index: usize) -> &'static str {
    if index == 0 { ";PREF=1" } else { "" }
}

/// `ADR;TYPE=work[;CC=..]:;;street;locality;region;postal code;country`.
/// Nothing is written for an address whose every part is blank once the characters a vCard cannot carry are
/// dropped (an address of control characters is no address).
fn adr(card: &mut Card, address: &Address) {
    let present = |c: &Option<String>| c.as_deref().is_some_and(|v| !blank(v));
    let has_components =
        [&address.street_address, &address.locality, &address.region, &address.postal_code].into_iter().any(present);
    // Without components, the formatted address stands in as the street address.
    let street = if has_components { &address.street_address } else { &address.formatted };
    let country = address.country_display().map(str::to_string);
    if !has_components && !present(street) && !present(&country) {
        return;
    }
    let name = match address.country_code() {
        Some(code) => format!("ADR;TYPE=work;CC={code}"),
        None => "ADR;TYPE=work".to_string(),
    };
    card.compound(&name, &[&None, &None, street, &address.locality, &address.region, &address.postal_code, &country]);
}

/// Whether `value` has nothing but white space and control characters.
fn blank(value: &str) -> bool {
    value.chars().all(|c| c.is_whitespace() || c.is_ascii_control())
}

/// The UUID in canonical lower-case form when `id` is one (8-4-4-4-12 hex digits).
fn uuid(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    let shaped = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    shaped.then(|| id.to_ascii_lowercase())
}

/// Language tags from a `preferredLanguage` list (`da, en-gb;q=0.8`): well-formed tags (`_` read as `-`), highest
/// quality first, without wildcards, `q=0` or duplicates.
fn language_tags(list: &str) -> Vec<String> {
    let mut ranked: Vec<(u16, String)> = Vec::new();
    for entry in list.split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or_default().trim().replace('_', "-");
        let mut quality = Some(1000);
        for param in parts {
            if let Some(q) = param.trim().strip_prefix("q=").or_else(|| param.trim().strip_prefix("Q=")) {
                quality = parse_quality(q.trim());
            }
        }
        let Some(quality) = quality.filter(|q| *q > 0) else { continue };
        if is_language_tag(&tag) && !ranked.iter().any(|(_, t)| t.eq_ignore_ascii_case(&tag)) {
            ranked.push((quality, tag));
        }
    }
    ranked.sort_by_key(|(q, _)| std::cmp::Reverse(*q));
    ranked.into_iter().map(|(_, tag)| tag).collect()
}

/// An RFC 9110 quality value (`0`, `0.5`, `1.000`) in thousandths.
fn parse_quality(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if !matches!(whole, "0" | "1") || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{whole}{fraction:0<3}").parse::<u16>().ok()?;
    (thousandths <= 1000).then_some(thousandths)
}

/// A well-formed BCP 47 tag, loosely: a 2–8 letter primary subtag, then 1–8 character alphanumeric subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert_eq!(
            uuid("2819C223-7F76-453A-919D-413861904646").as_deref(),
            Some("2819c223-7f76-453a-919d-413861904646")
        );
        for not in [
            "",
            "2819c223-7f76-453a-919d-41386190464",
            "2819c2237f76-453a-919d-4138619046461",
            "g819c223-7f76-453a-919d-413861904646",
        ] {
            assert_eq!(uuid(not), None, "{not}");
        }
    }

    #[test]
    fn preferred_language_lists() {
        assert_eq!(language_tags("en-US"), ["en-US"]);
        assert_eq!(language_tags("en_GB"), ["en-GB"]);
        assert_eq!(language_tags("da, en-gb;q=0.8, en;q=0.7"), ["da", "en-gb", "en"]);
        assert_eq!(language_tags("en;q=0.5, fr, *;q=0.1, de;q=0, nl;q=2, x;q=1"), ["fr", "en"]);
        assert_eq!(language_tags("en, EN, en-US;Q=1.000"), ["en", "en-US"]);
        assert_eq!(language_tags("English (US)"), Vec::<String>::new());
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("1.001"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality(".5"), None);
    }
}
