//! The `fd_session` cookie: `cookie_value` (the `Cookie` header) and `Session::open` (tag, then fields) under a
//! fixed key. The first byte picks the mode:
//! - 0: the rest is a `Cookie` header: `cookie_value`, then `open` of what it finds;
//! - 1: the rest is a cookie value: `open`;
//! - otherwise: the rest is split at NUL bytes into directory, user id, session id and expiry, sealed with the key
//!   (so the tag is right and `open` reads the fields), and opened again. Oracle: a sealed session opens to itself
//!   when its fields hold no `.`, it fits the 512-byte limit and it has not expired; otherwise it does not open.
#![no_main]

use fd_signin::session::{Session, SessionKey, cookie_value};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn key() -> &'static SessionKey {
    static KEY: OnceLock<SessionKey> = OnceLock::new();
    KEY.get_or_init(|| match SessionKey::new(b"fuzzing-session-key-0123456789abcdef".to_vec()) {
        Ok(key) => key,
        Err(e) => panic!("{e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match mode {
        0 => {
            if let Some(value) = cookie_value(text) {
                assert!(text.contains(value));
                let _ = Session::open(value, key(), NOW);
            }
        }
        1 => {
            let _ = Session::open(text, key(), NOW);
        }
        _ => {
            let mut fields = text.splitn(4, '\0');
            let (directory, user_id, id) =
                (fields.next().unwrap_or(""), fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            let expires_at = fields.next().and_then(|e| e.parse::<i64>().ok()).unwrap_or(NOW + 3600);
            let session = Session { directory: directory.into(), user_id: user_id.into(), id: id.into(), expires_at };
            let sealed = session.seal(key());
            let opened = Session::open(&sealed, key(), NOW);
            let should_open = !directory.contains('.') && !id.contains('.') && sealed.len() <= 512 && NOW < expires_at;
            if should_open {
                assert_eq!(opened.as_ref(), Some(&session), "{sealed}");
            } else {
                assert!(opened.is_none(), "{sealed} opened to {opened:?}");
            }
        }
    }
});
