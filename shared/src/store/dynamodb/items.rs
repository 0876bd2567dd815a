//! Items ↔ records: reading typed attributes and building the user, claim, key and directory items.

use super::*;

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(name)),
    }
}

pub(super) fn get_opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(name)),
    }
}

pub(super) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

pub(super) fn sort_key_of(item: &Item) -> Option<&str> {
    match item.get("sk") {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// The attributes a user item and its claim share.
pub(super) fn user_attributes(pk: &str, sk: String, user: &UserRecord) -> Result<Item, StoreError> {
    let doc = user.doc.json_text().map_err(|e| StoreError::Backend(format!("serialising user {}: {e}", user.id)))?;
    Ok(HashMap::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(sk)),
        ("id".to_string(), s(&user.id)),
        ("doc".to_string(), s(doc)),
        ("version".to_string(), n(user.version)),
        ("created".to_string(), s(&user.created)),
        ("lastModified".to_string(), s(&user.last_modified)),
    ]))
}

pub(super) fn user_item(pk: &str, user: &UserRecord) -> Result<Item, StoreError> {
    let mut item = user_attributes(pk, user_sk(&user.id), user)?;
    item.insert("unameKey".into(), s(user.doc.user_name_key()));
    if let Some(external_id) = user.doc.external_id() {
        item.insert("extKey".into(), s(ext_key(external_id)));
    }
    Ok(item)
}

pub(super) fn claim_item(pk: &str, user: &UserRecord) -> Result<Item, StoreError> {
    user_attributes(pk, claim_sk(&user.doc.user_name_key()), user)
}

pub(super) fn user_from_item(item: &Item) -> Result<UserRecord, StoreError> {
    let doc = get_s(item, "doc")?;
    let attributes = serde_json::from_str(doc).map_err(|_| corrupt("doc"))?;
    Ok(UserRecord {
        id: get_s(item, "id")?.to_string(),
        version: get_n(item, "version")?,
        created: get_s(item, "created")?.to_string(),
        last_modified: get_s(item, "lastModified")?.to_string(),
        doc: UserDoc::from_stored(attributes),
    })
}

pub(super) fn key_from_item(directory: &str, item: &Item) -> Result<KeyRecord, StoreError> {
    let id = sort_key_of(item).and_then(|sk| sk.strip_prefix("KEY#")).ok_or_else(|| corrupt("sk"))?;
    Ok(KeyRecord {
        directory: directory.to_string(),
        id: id.to_string(),
        name: get_s(item, "name")?.to_string(),
        hash: KeyHash::from_hex(get_s(item, "hash")?).ok_or_else(|| corrupt("hash"))?,
        created: get_s(item, "created")?.to_string(),
        revoked: get_opt_s(item, "revoked")?,
    })
}

pub(super) fn directory_from_item(item: &Item) -> Result<Directory, StoreError> {
    Ok(Directory {
        id: sort_key_of(item).ok_or_else(|| corrupt("sk"))?.to_string(),
        name: get_s(item, "name")?.to_string(),
        created: get_s(item, "created")?.to_string(),
        company: get_opt_s(item, "company")?,
    })
}

pub(super) fn company_from_item(item: &Item) -> Result<Company, StoreError> {
    Ok(Company {
        short_name: get_s(item, "shortName")?.to_string(),
        name: get_s(item, "name")?.to_string(),
        created: get_s(item, "created")?.to_string(),
    })
}
