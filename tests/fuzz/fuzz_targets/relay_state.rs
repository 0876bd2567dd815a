//! RelayState: `fd_signin::relay::redirect_target` and `is_acceptable`. Input: the RelayState on the first line, the
//! directory's allow-list on the following lines. Oracles: the target is the RelayState or `/`, and `/` exactly
//! when the RelayState is not acceptable; a target that is not on the allow-list, resolved by a browser's URL
//! parser (WHATWG, the `url` crate) against the service's origin, stays on that origin (no open redirect); a target
//! from the allow-list is an entry or lies below an entry ending in `/`.
#![no_main]

use fd_signin::relay::{is_acceptable, redirect_target};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "https://fd.example.com/of/acme";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let relay_state = lines.next().unwrap_or("");
    let allow_list: Vec<String> = lines.map(str::to_string).collect();

    let target = redirect_target(Some(relay_state), &allow_list);
    let acceptable = is_acceptable(relay_state, &allow_list);
    assert_eq!(redirect_target(None, &allow_list), "/");
    if acceptable {
        assert_eq!(target, relay_state);
    } else {
        assert_eq!(target, "/", "{relay_state:?} is not acceptable");
    }

    let allowed =
        allow_list.iter().any(|entry| target == *entry || (entry.ends_with('/') && target.starts_with(entry.as_str())));
    if !allowed {
        let Ok(base) = url::Url::parse(ORIGIN) else { return };
        match base.join(&target) {
            Ok(resolved) => assert_eq!(resolved.origin(), base.origin(), "{target:?} leaves the site: {resolved}"),
            Err(e) => panic!("{target:?} is not a URL reference a browser can follow: {e}"),
        }
    }
});
