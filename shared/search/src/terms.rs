//! The terms a contact is indexed under, each tagged with the fields it came from.
//!
//! A term is a normalised word of a searchable field ([`crate::normalize::for_each_index_word`]), a phone digit
//! suffix ([`crate::normalize::for_each_phone_suffix`]), or an exact-name key: [`EXACT_MARK`] followed by the words
//! of the display name, of "given family" or of the nickname joined by spaces. The mark sorts before every word, so
//! a prefix lookup of a query word never reaches an exact-name key.

use crate::contact::Contact;
use crate::normalize::{for_each_index_word, for_each_phone_suffix, normalize, words};

/// Field bits of a posting (a term may come from several fields of one contact).
pub(crate) type Fields = u16;

pub(crate) const DISPLAY_NAME: Fields = 1 << 0;
pub(crate) const GIVEN_NAME: Fields = 1 << 1;
pub(crate) const FAMILY_NAME: Fields = 1 << 2;
pub(crate) const NICK_NAME: Fields = 1 << 3;
pub(crate) const USER_NAME: Fields = 1 << 4;
pub(crate) const EMAIL: Fields = 1 << 5;
pub(crate) const TITLE: Fields = 1 << 6;
pub(crate) const DEPARTMENT: Fields = 1 << 7;
pub(crate) const DIVISION: Fields = 1 << 8;
pub(crate) const EMPLOYEE_NUMBER: Fields = 1 << 9;
pub(crate) const PHONE: Fields = 1 << 10;
/// The term is an exact-name key, not a word.
pub(crate) const EXACT: Fields = 1 << 15;

/// The fields whose words make a "name prefix" match.
pub(crate) const NAME: Fields = DISPLAY_NAME | GIVEN_NAME | FAMILY_NAME | NICK_NAME;

/// The first character of every exact-name key.
pub(crate) const EXACT_MARK: char = '\u{1}';

/// The exact-name key term for query or name `text`, or `None` when it has no words.
pub(crate) fn exact_term(text: &str) -> Option<String> {
    let key = words(text).join(" ");
    (!key.is_empty()).then(|| format!("{EXACT_MARK}{key}"))
}

/// All terms of `contact`, sorted by term, each once, with the union of the fields it occurs in.
pub(crate) fn contact_terms(contact: &Contact) -> Vec<(String, Fields)> {
    let mut terms: Vec<(String, Fields)> = Vec::with_capacity(32);
    add_words(&contact.display_name, DISPLAY_NAME, &mut terms);
    let optional = [
        (&contact.given_name, GIVEN_NAME),
        (&contact.family_name, FAMILY_NAME),
        (&contact.nick_name, NICK_NAME),
        (&contact.primary_email, EMAIL),
        (&contact.primary_phone, PHONE),
        (&contact.title, TITLE),
        (&contact.department, DEPARTMENT),
        (&contact.division, DIVISION),
        (&contact.employee_number, EMPLOYEE_NUMBER),
    ];
    for (value, field) in optional {
        if let Some(value) = value {
            add_words(value, field, &mut terms);
        }
    }
    add_words(&contact.user_name, USER_NAME, &mut terms);
    for email in &contact.emails {
        add_words(email, EMAIL, &mut terms);
    }
    for phone in &contact.phones {
        add_words(phone, PHONE, &mut terms);
    }
    let full_name = format!(
        "{} {}",
        contact.given_name.as_deref().unwrap_or_default(),
        contact.family_name.as_deref().unwrap_or_default()
    );
    let names = [Some(contact.display_name.as_str()), Some(full_name.as_str()), contact.nick_name.as_deref()];
    for name in names.into_iter().flatten() {
        if let Some(key) = exact_term(name) {
            terms.push((key, EXACT));
        }
    }
    terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    terms.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 |= next.1;
        }
        same
    });
    terms
}

fn add_words(text: &str, field: Fields, terms: &mut Vec<(String, Fields)>) {
    let normalized = normalize(text);
    for_each_index_word(&normalized, |w| terms.push((w.to_owned(), field)));
    if field == PHONE {
        for_each_phone_suffix(&normalized, |d| terms.push((d.to_owned(), field)));
    }
}
