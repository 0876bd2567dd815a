//! Where the browser goes after signing in: RelayState, when it is safe, else `/`.

/// The redirect target for `relay_state`: a same-site absolute path, or an absolute URL the directory allows
/// (exactly, or below an entry that ends in `/`). Anything else (other sites, `//host`, `\`, schemes, control
/// characters) gives `/`, so RelayState can never make an open redirect.
pub fn redirect_target(relay_state: Option<&str>, allow_list: &[String]) -> String {
    match relay_state {
        Some(target) if is_local_path(target) || is_allowed(target, allow_list) => target.to_string(),
        _ => "/".to_string(),
    }
}

/// Whether `target` is acceptable as RelayState at all (sent with an AuthnRequest).
pub fn is_acceptable(target: &str, allow_list: &[String]) -> bool {
    is_local_path(target) || is_allowed(target, allow_list)
}

fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && target.chars().all(|c| c.is_ascii_graphic())
}

fn is_allowed(target: &str, allow_list: &[String]) -> bool {
    target.chars().all(|c| c.is_ascii_graphic())
        && allow_list
            .iter()
            .any(|entry| target == entry || (entry.ends_with('/') && target.starts_with(entry.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_targets_are_followed() {
        let allow = vec!["https://app.example.com/".to_string(), "https://other.example.com/exact".to_string()];
        assert_eq!(redirect_target(None, &allow), "/");
        assert_eq!(redirect_target(Some("/people?q=ada"), &allow), "/people?q=ada");
        assert_eq!(redirect_target(Some("https://app.example.com/x"), &allow), "https://app.example.com/x");
        assert_eq!(redirect_target(Some("https://other.example.com/exact"), &allow), "https://other.example.com/exact");
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "https://evil.com",
            "https://app.example.com.evil.com/",
            "https://other.example.com/exact/more",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x=y",
            "",
            "people",
        ] {
            assert_eq!(redirect_target(Some(bad), &allow), "/", "{bad:?}");
        }
    }
}
