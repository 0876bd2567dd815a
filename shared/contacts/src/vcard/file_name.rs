//! A safe file name for a contact's vCard.

use crate::contact::Contact;

/// Longest file name stem, in bytes.
const MAX_STEM: usize = 64;

/// A safe ASCII file name for the contact's vCard, for `Content-Disposition` (e.g. `ada-lovelace.vcf`).
///
/// Made of lower-case ASCII letters, digits and single hyphens, from the display name (common Latin accents folded:
/// `Zoë Müller` → `zoe-muller`), else the part of the userName before `@`, else `contact`.
pub fn vcard_file_name(contact: &Contact) -> String {
    let stem = slug(&contact.display_name)
        .or_else(|| contact.user_name.as_deref().and_then(|u| slug(u.split('@').next().unwrap_or(u))))
        .unwrap_or_else(|| "contact".to_string());
    format!("{stem}.vcf")
}

fn slug(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut pending_hyphen = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue; // combining marks: the base letter is already written
        }
        let folded = fold(c);
        if folded.is_empty() {
            pending_hyphen = !out.is_empty();
            continue;
        }
        if out.len() > MAX_STEM {
            break;
        }
        if pending_hyphen {
            out.push('-');
            pending_hyphen = false;
        }
        out.push_str(folded);
    }
    if out.len() > MAX_STEM {
        // Cut at the last word boundary within the limit (mid-word only for a single long word).
        let whole_word = out.as_bytes().get(MAX_STEM) == Some(&b'-');
        let cut = out.get(..MAX_STEM).unwrap_or_default();
        let cut = if whole_word { cut } else { cut.rsplit_once('-').map_or(cut, |(head, _)| head) };
        out = cut.to_string();
    }
    (!out.is_empty()).then_some(out)
}

/// A lower-case character as ASCII letters or a digit; empty for anything else.
fn fold(c: char) -> &'static str {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
        "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match c {
        'a'..='z' => LETTERS[usize::from(c as u8 - b'a')],
        '0'..='9' => DIGITS[usize::from(c as u8 - b'0')],
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ĺ' | 'ľ' | 'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(display_name: &str, user_name: Option<&str>) -> String {
        vcard_file_name(&Contact {
            display_name: display_name.into(),
            user_name: user_name.map(Into::into),
            ..Contact::default()
        })
    }

    #[test]
    fn ascii_slugs() {
        assert_eq!(name("Ada Lovelace", None), "ada-lovelace.vcf");
        assert_eq!(name("  O'Brien, Seán (Ops) ", None), "o-brien-sean-ops.vcf");
        assert_eq!(name("Zoë Müller-Łukasiewicz", None), "zoe-muller-lukasiewicz.vcf");
        assert_eq!(name("Straße Æsir", None), "strasse-aesir.vcf");
        assert_eq!(name("İlkay", None), "ilkay.vcf");
        assert_eq!(name("José", None), "jose.vcf");
    }

    #[test]
    fn hostile_names_stay_safe() {
        for hostile in ["../../etc/passwd", "a\"; filename=evil.exe", "x\r\nSet-Cookie: a=b", "evil\u{202E}fdp.exe"] {
            let file = name(hostile, None);
            assert!(
                file.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
                "{file}"
            );
            assert!(file.ends_with(".vcf") && !file.contains(".."), "{file}");
        }
        assert_eq!(name("evil\u{202E}fdp.exe", None), "evil-fdp-exe.vcf");
        assert_eq!(name(&"a".repeat(4096), None).len(), MAX_STEM + 4);
        assert_eq!(name(&"ab ".repeat(100), None), format!("{}.vcf", ["ab"; 21].join("-")));
    }

    #[test]
    fn fallbacks() {
        assert_eq!(name("山田太郎", Some("taro.yamada@example.jp")), "taro-yamada.vcf");
        assert_eq!(name("山田太郎", Some("山田")), "contact.vcf");
        assert_eq!(name("", None), "contact.vcf");
    }
}
