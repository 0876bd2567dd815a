//! Unit tests of the key codecs and error messages.

use super::*;

#[test]
fn long_names_and_external_ids_go_by_digest() {
    assert_eq!(claim_sk("ada@example.com"), "UNAME#ada@example.com");
    let long = "a".repeat(2000);
    let sk = claim_sk(&long);
    assert!(sk.starts_with("UNAMEH#") && sk.len() == 7 + 64, "{sk}");
    assert_eq!(ext_key("00u1"), "00u1");
    assert!(ext_key("").starts_with("#sha256:"));
    assert!(ext_key(&long).starts_with("#sha256:"));
    assert!(ext_key(&"x".repeat(MAX_SORT_KEY_BYTES)).len() == MAX_SORT_KEY_BYTES);
}

#[test]
fn long_display_names_go_by_digest() {
    assert_eq!(display_name_sk("charles babbage"), "DNAME#charles babbage");
    let sk = display_name_sk(&"b".repeat(2000));
    assert!(sk.starts_with("DNAMEH#") && sk.len() == 7 + 64, "{sk}");
    // No other prefix queried under a directory matches these items.
    for prefix in ["USER#", "KEY#", "COUNT#"] {
        assert!(!sk.starts_with(prefix) && !display_name_sk("user#x").starts_with(prefix));
    }
}

#[test]
fn messages_are_bounded() {
    assert_eq!(truncate("short"), "short");
    assert_eq!(truncate(&"x".repeat(1000)).chars().count(), MAX_MESSAGE_CHARS + 1);
}
