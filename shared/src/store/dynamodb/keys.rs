//! Partition and sort key codecs: every `pk`/`sk` the table holds is built here.

use super::*;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn dir_pk(directory: &str) -> String {
    format!("DIR#{directory}")
}

pub(super) fn key_sk(key_id: &str) -> String {
    format!("KEY#{key_id}")
}

pub(super) fn user_sk(id: &str) -> String {
    format!("USER#{id}")
}

pub(super) fn counter_sk(shard: u32) -> String {
    format!("COUNT#{shard}")
}

/// The counter shard of a user: the first hex digit of its id. Ids are the server's lowercase UUIDs, so users
/// spread evenly, and a shard's users are one sort-key range ([`shard_user_prefix`]). (Any other id would count
/// in shard `first byte mod 16` and be missed by that shard's re-read; the server writes none.)
pub(super) fn user_shard(id: &str) -> u32 {
    let first = id.bytes().next().unwrap_or(0);
    char::from(first).to_digit(16).filter(|_| !first.is_ascii_uppercase()).unwrap_or(u32::from(first) % COUNTER_SHARDS)
}

/// The sort-key prefix of the users of a counter shard.
pub(super) fn shard_user_prefix(shard: u32) -> String {
    format!("USER#{shard:x}")
}

/// The claim sort key for a folded userName; names too long for a sort key are claimed by digest.
pub(super) fn claim_sk(folded_user_name: &str) -> String {
    let plain = format!("UNAME#{folded_user_name}");
    if plain.len() <= MAX_SORT_KEY_BYTES { plain } else { format!("UNAMEH#{}", sha256_hex(folded_user_name)) }
}

/// The claim a userName had before the identity rule, where it differs from today's ([`claim_sk`] of
/// [`user_name_key`]): users written then are still found there until `migrate_user_names` moves them.
pub(super) fn legacy_claim_sk(user_name: &str) -> Option<String> {
    let legacy = claim_sk(&legacy_user_name_key(user_name));
    (legacy != claim_sk(&user_name_key(user_name))).then_some(legacy)
}

/// The LSI sort key for an externalId; empty or over-long values (not allowed as index keys) go by digest.
pub(super) fn ext_key(external_id: &str) -> String {
    if !external_id.is_empty() && external_id.len() <= MAX_SORT_KEY_BYTES {
        external_id.to_string()
    } else {
        format!("#sha256:{}", sha256_hex(external_id))
    }
}

/// The display-name index item for a folded displayName; names too long for a sort key go by digest.
pub(super) fn display_name_sk(folded_display_name: &str) -> String {
    let plain = format!("DNAME#{folded_display_name}");
    if plain.len() <= MAX_SORT_KEY_BYTES { plain } else { format!("DNAMEH#{}", sha256_hex(folded_display_name)) }
}

/// The ids of a display-name index item, ordered, at most `limit`.
pub(super) fn display_name_ids(item: Option<&Item>, limit: u64) -> Result<Vec<String>, StoreError> {
    let mut ids = match item.and_then(|item| item.get("ids")) {
        None => Vec::new(),
        Some(AttributeValue::Ss(ids)) => ids.clone(),
        Some(_) => return Err(corrupt("ids")),
    };
    ids.sort();
    ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(ids)
}

/// The continuation of a walk by access key `key_id` with page size `count`, at `start_index`: walks by other
/// clients, or with another page size, never share one.
pub(super) fn continuation_sk(key_id: &str, count: u64, start_index: u64) -> String {
    format!("PAGE#{key_id}#{count}#{start_index}")
}

/// The `ExclusiveStartKey` of a query over a directory's users that starts after user `id`.
pub(super) fn after_user(pk: &str, id: &str) -> Item {
    primary_key(pk.to_string(), user_sk(id))
}

pub(super) fn assertion_sk(assertion_id: &str) -> String {
    format!("SAMLID#{}", sha256_hex(assertion_id))
}

pub(super) fn primary_key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}
