//! Companies: the rule for a company's short name, and its key. Pure.
//!
//! A short name is 2–40 ASCII letters, digits, `-` and `_`, unique case-insensitively: its key is the ASCII
//! lowercase form. Thirty-two hex digits are refused: that shape is a directory id, and a directory created
//! without a company is a company of its own under its id (see [`crate::store::Directory::company_key`]).

/// Why a short name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShortNameError {
    /// Shorter than 2 or longer than 40 characters.
    #[error("a company's short name has 2 to 40 characters")]
    Length,
    /// A character other than an ASCII letter, digit, `-` or `_`.
    #[error("a company's short name has only letters, digits, '-' and '_'")]
    Character,
    /// 32 hex digits: reserved for directories that are companies of their own.
    #[error("a company's short name cannot be 32 hex digits (that is a directory id)")]
    Reserved,
}

/// Checks a short name an admin chose.
pub fn check_short_name(short_name: &str) -> Result<(), ShortNameError> {
    if !(2..=40).contains(&short_name.len()) {
        return Err(ShortNameError::Length);
    }
    if !short_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ShortNameError::Character);
    }
    if crate::auth::is_id(&short_name.to_ascii_lowercase()) {
        return Err(ShortNameError::Reserved);
    }
    Ok(())
}

/// Whether `text` could name a company: a valid short name, or a directory id (a company of its own).
pub fn is_company_key(text: &str) -> bool {
    check_short_name(text).is_ok() || crate::auth::is_id(text)
}

/// The key a short name is stored and looked up under (case-insensitive).
pub fn fold(short_name: &str) -> String {
    short_name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        for ok in ["ac", "Acme", "acme-corp_2", &"x".repeat(40)] {
            assert_eq!(check_short_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_short_name("a"), Err(ShortNameError::Length));
        assert_eq!(check_short_name(&"x".repeat(41)), Err(ShortNameError::Length));
        for bad in ["acme corp", "acmé", "acme/x", "a.b", "<script>"] {
            assert_eq!(check_short_name(bad), Err(ShortNameError::Character), "{bad}");
        }
        assert_eq!(check_short_name("0123456789ABCDEF0123456789abcdef"), Err(ShortNameError::Reserved));
        assert_eq!(fold("AcMe"), "acme");
        assert!(is_company_key("0123456789abcdef0123456789abcdef"));
        assert!(!is_company_key("../etc"));
    }
}
