//! [`AddressBookStore`] on DynamoDB. A directory's users version is its 16 counter shards: a user write adds 1 to
//! `v` of its user's shard (the id's first hex digit) and shifts the user id into the shard's `r0`…`r7`, inside
//! its own transaction. A reader gets every shard of up to six directories, with the session, its revocation
//! markers and its user, in one `BatchGetItem`; it then re-reads the users named in `r*`, or, past those, the one
//! shard's users (one sort-key range).

use super::*;
use crate::store::{SessionAndVersions, SessionLookup, ShardVersion, UsersVersion};

/// Keys per `BatchGetItem` (DynamoDB's limit).
const BATCH_GET_KEYS: usize = 100;

/// The counter-shard keys of `directories`, in directory then shard order.
fn shard_keys(directories: &[String]) -> Vec<Item> {
    directories
        .iter()
        .flat_map(|d| (0..COUNTER_SHARDS).map(move |shard| primary_key(dir_pk(d), counter_sk(shard))))
        .collect()
}

/// Each directory's [`UsersVersion`] from the counter-shard items among `items` (absent shards have no writes).
fn versions_from(directories: &[String], items: &[Item]) -> Result<Vec<UsersVersion>, StoreError> {
    let empty = UsersVersion { shards: vec![ShardVersion::default(); COUNTER_SHARDS as usize] };
    let mut versions = vec![empty; directories.len()];
    for item in items {
        let (Some(AttributeValue::S(pk)), Some(sk)) = (item.get("pk"), sort_key_of(item)) else { continue };
        let Some(shard) = sk.strip_prefix("COUNT#").and_then(|s| s.parse::<usize>().ok()) else { continue };
        let Some(slot) = directories.iter().position(|d| dir_pk(d) == *pk) else { continue };
        let Some(entry) = versions[slot].shards.get_mut(shard) else { continue };
        entry.writes = if item.contains_key("v") { get_n(item, "v")? } else { 0 };
        entry.recent = (0..RECENT_WRITES)
            .map_while(|i| match item.get(&format!("r{i}")) {
                Some(AttributeValue::S(id)) if !id.is_empty() => Some(id.clone()),
                _ => None,
            })
            .collect();
    }
    Ok(versions)
}

impl DynamoStore {
    /// Gets `keys` strongly consistently, in `BatchGetItem`s of at most 100 keys.
    async fn batch_get_all(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            items.extend(self.batch_get(chunk.to_vec()).await?);
        }
        Ok(items)
    }
}

#[async_trait]
impl AddressBookStore for DynamoStore {
    async fn find_company(&self, short_name: &str) -> Result<Option<Company>, StoreError> {
        AdminStore::get_company(self, short_name).await
    }

    async fn find_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        AdminStore::get_directory(self, id).await
    }

    async fn company_directories(&self, company_key: &str) -> Result<Vec<Directory>, StoreError> {
        let all = AdminStore::list_directories(self).await?;
        Ok(all.into_iter().filter(|d| d.company_key() == company_key).collect())
    }

    /// Every shard with its latest writes, whatever `known` says (they come with the shard items).
    async fn users_versions(
        &self,
        directories: &[String],
        _known: &[UsersVersion],
    ) -> Result<Vec<UsersVersion>, StoreError> {
        let items = self.batch_get_all(shard_keys(directories)).await?;
        versions_from(directories, &items)
    }

    async fn directory_users(&self, directory: &str) -> Result<Vec<UserRecord>, StoreError> {
        let items = self.query_all("Query", self.query_prefix(&dir_pk(directory), "USER#"), None).await?;
        items.iter().map(user_from_item).collect()
    }

    fn user_shard(&self, id: &str) -> usize {
        user_shard(id) as usize
    }

    async fn shard_users(&self, directory: &str, shard: usize) -> Result<Vec<UserRecord>, StoreError> {
        let shard = u32::try_from(shard).ok().filter(|s| *s < COUNTER_SHARDS).ok_or(StoreError::NotFound)?;
        let prefix = shard_user_prefix(shard);
        let items = self.query_all("Query", self.query_prefix(&dir_pk(directory), &prefix), None).await?;
        items.iter().map(user_from_item).collect()
    }

    async fn users_by_id(&self, directory: &str, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        let pk = dir_pk(directory);
        let mut unique: Vec<&String> = ids.iter().filter(|id| !unusable_key(&user_sk(id))).collect();
        unique.sort();
        unique.dedup();
        let keys = unique.into_iter().map(|id| primary_key(pk.clone(), user_sk(id))).collect();
        self.batch_get_all(keys).await?.iter().map(user_from_item).collect()
    }

    /// One `BatchGetItem` (for up to six directories): the session, its two revocation markers, its user and every
    /// counter shard.
    async fn session_and_versions(
        &self,
        session: &SessionLookup<'_>,
        directories: &[String],
        _known: &[UsersVersion],
    ) -> Result<SessionAndVersions, StoreError> {
        let session_keys = self.session_keys(session.directory, session.user_id, session.id_hash);
        let user_key = primary_key(dir_pk(session.directory), user_sk(session.user_id));
        let readable = session_keys.is_some() && !unusable_key(&user_sk(session.user_id));
        let mut keys = shard_keys(directories);
        if readable {
            keys.extend(session_keys.into_iter().flatten());
            keys.push(user_key);
        }
        let items = self.batch_get_all(keys).await?;
        let versions = versions_from(directories, &items)?;
        if !readable {
            return Ok(SessionAndVersions { session: None, user: None, versions });
        }
        let record = self.session_from(&items, session.directory, session.user_id, session.now)?;
        let user_sk = user_sk(session.user_id);
        let user_pk = dir_pk(session.directory);
        let user = items
            .iter()
            .find(|item| {
                sort_key_of(item) == Some(user_sk.as_str())
                    && matches!(item.get("pk"), Some(AttributeValue::S(pk)) if *pk == user_pk)
            })
            .map(user_from_item)
            .transpose()?;
        Ok(SessionAndVersions { session: record, user, versions })
    }
}
