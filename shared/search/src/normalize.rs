//! Text normalisation and tokenisation, applied identically to the data and to the query.
//!
//! [`normalize`] maps every character through NFKD, drops combining marks, applies full Unicode case folding,
//! decomposes and folds once more (case folding can produce decomposable characters: `İ` → `i̇`), drops marks again
//! and finally maps a few letters that have no decomposition (`ı` → `i`, `ø` → `o`, `ł` → `l`, `æ` → `ae`, …).
//! Invisible format characters (zero-width spaces and joiners, bidi embeddings and overrides, the soft hyphen,
//! the BOM) are removed. The result compares equal for `José`/`jose` (NFC or NFD input), `Müller`/`muller`,
//! `Straße`/`strasse` and `ＡＢＣ`/`abc`.
//!
//! [`words`] splits normalised text into maximal runs of alphanumeric characters; everything else separates words.
//! The index also stores, for names written with an apostrophe (`O'Brien`), the joined word (`obrien`); see
//! [`for_each_index_word`].

use caseless::Caseless;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The normalised form of `text`: accent-free, case-folded, compatibility-decomposed (see the module docs).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_normalized(c, &mut out);
    }
    out
}

/// The words of `text` after [`normalize`]: maximal runs of alphanumeric characters, in order, duplicates kept.
pub fn words(text: &str) -> Vec<String> {
    let normalized = normalize(text);
    normalized.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// Calls `f` with every word the index stores for `normalized` text: the [`words`], plus, for a run of words joined
/// only by apostrophes (`o'brien`, `d'angelo`), the words concatenated (`obrien`), so that both `brien` and
/// `obrien` find `O'Brien`.
pub(crate) fn for_each_index_word(normalized: &str, mut f: impl FnMut(&str)) {
    for chunk in normalized.split(|c: char| !c.is_alphanumeric() && !is_apostrophe(c)) {
        let mut parts = 0;
        for word in chunk.split(is_apostrophe).filter(|w| !w.is_empty()) {
            parts += 1;
            f(word);
        }
        if parts > 1 {
            let joined: String = chunk.chars().filter(|&c| !is_apostrophe(c)).collect();
            f(&joined);
        }
    }
}

/// Calls `f` with the digit strings the index stores for a normalised phone number: the ASCII digits of the whole
/// number from the start of each digit group to its end. `+31-20-555 0101` gives `31205550101`, `205550101`,
/// `5550101` and `0101`, so that `+31 20 555`, `20 555` and `555 0101` all find it.
pub(crate) fn for_each_phone_suffix(normalized: &str, mut f: impl FnMut(&str)) {
    let digits: String = normalized.chars().filter(char::is_ascii_digit).collect();
    let mut position = 0;
    let mut previous_was_digit = false;
    for c in normalized.chars() {
        let is_digit = c.is_ascii_digit();
        if is_digit && !previous_was_digit {
            f(&digits[position..]);
        }
        if is_digit {
            position += 1;
        }
        previous_was_digit = is_digit;
    }
}

/// Whether `normalized` query text asks for a phone number: it has at least one ASCII digit and no other
/// alphanumeric character (`+31 20`, `(020) 555-01`). Returns the concatenated digits in that case.
pub(crate) fn phone_query_digits(normalized: &str) -> Option<String> {
    let mut digits = String::new();
    for c in normalized.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c.is_alphanumeric() {
            return None;
        }
    }
    (!digits.is_empty()).then_some(digits)
}

fn is_apostrophe(c: char) -> bool {
    // U+02BC MODIFIER LETTER APOSTROPHE is mapped to `'` by `normalize`.
    matches!(c, '\'' | '\u{2019}')
}

fn push_normalized(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    decompose_compatible(c, |d| {
        if is_combining_mark(d) || is_invisible(d) {
            return;
        }
        for folded in std::iter::once(d).default_case_fold() {
            decompose_compatible(folded, |e| {
                if !is_combining_mark(e) && !is_invisible(e) {
                    for refolded in std::iter::once(e).default_case_fold() {
                        push_letter(refolded, out);
                    }
                }
            });
        }
    });
}

/// Letters without a canonical decomposition that readers still expect to match their base letter.
fn push_letter(c: char, out: &mut String) {
    match c {
        'ı' => out.push('i'),
        'ø' => out.push('o'),
        'ł' => out.push('l'),
        'đ' | 'ð' => out.push('d'),
        'ħ' => out.push('h'),
        'æ' => out.push_str("ae"),
        'œ' => out.push_str("oe"),
        'þ' => out.push_str("th"),
        '\u{02BC}' => out.push('\''),
        _ => out.push(c),
    }
}

/// Format characters that are invisible in a name and must neither split nor change a word.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}
