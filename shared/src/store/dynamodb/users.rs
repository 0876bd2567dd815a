//! [`UserStore`] on DynamoDB: the SCIM operations, each authorised by the credential in the same round trip.

use super::*;

#[async_trait]
impl UserStore for DynamoStore {
    async fn authorize(&self, credential: &Credential) -> Result<(), StoreError> {
        let item = self.get_key_item(credential).await?;
        Self::check_key(credential, item.as_ref())
    }

    async fn get_user(&self, credential: &Credential, id: &str) -> Result<UserRecord, StoreError> {
        let pk = dir_pk(&credential.directory);
        let key_sk = key_sk(&credential.key_id);
        let user_sk = user_sk(id);
        let mut keys = vec![Self::key_key(credential)];
        // An id too long to be a key names no user; the credential is still checked first.
        let fetch_user = user_sk.len() <= MAX_SORT_KEY_BYTES;
        if fetch_user {
            keys.push(primary_key(pk, user_sk.clone()));
        }
        let items = self.batch_get(keys).await?;
        Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
        match items.iter().find(|i| fetch_user && sort_key_of(i) == Some(user_sk.as_str())) {
            Some(item) => user_from_item(item),
            None => Err(StoreError::NotFound),
        }
    }

    async fn find_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let key_sk = key_sk(&credential.key_id);
        let mut keys = vec![Self::key_key(credential)];
        keys.extend(claim_keys(&credential.directory, user_name));
        let items = self.batch_get(keys).await?;
        Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
        claimed_user(&items, user_name)
    }

    async fn find_users_by_external_id(
        &self,
        credential: &Credential,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EXTERNAL_ID_INDEX)
            .key_condition_expression("pk = :pk AND #ext = :ext")
            .expression_attribute_names("#ext", "extKey")
            .expression_attribute_values(":pk", s(dir_pk(&credential.directory)))
            .expression_attribute_values(":ext", s(ext_key(external_id)))
            .consistent_read(true);
        let (key_item, first) = tokio::join!(self.get_key_item(credential), query.clone().send());
        Self::check_key(credential, key_item?.as_ref())?;
        let first = first.map_err(|e| sdk_error("Query", e))?;
        let mut items = first.items.unwrap_or_default();
        if let Some(start) = first.last_evaluated_key.filter(|k| !k.is_empty()) {
            items.extend(self.query_all("Query", query, Some(start)).await?);
        }
        let mut users = Vec::with_capacity(items.len());
        for item in &items {
            let user = user_from_item(item)?;
            // Digest-keyed values: keep exact matches only.
            if user.doc.external_id() == Some(external_id) {
                users.push(user);
            }
        }
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    async fn list_users(
        &self,
        credential: &Credential,
        start_index: u64,
        count: u64,
        now: i64,
    ) -> Result<UserPage, StoreError> {
        let start_index = start_index.max(1);
        let pk = dir_pk(&credential.directory);
        if count == 0 {
            let (key_item, total) =
                tokio::join!(self.get_key_item(credential), self.count_users(&credential.directory));
            Self::check_key(credential, key_item?.as_ref())?;
            return Ok(UserPage { total: total?, users: Vec::new() });
        }
        let (total, users) = if start_index == 1 {
            // Nothing to continue from: the page is read with the key item and the count.
            let (key_item, total, users) = tokio::join!(
                self.get_key_item(credential),
                self.count_users(&credential.directory),
                self.query_users(&pk, None, count, false),
            );
            Self::check_key(credential, key_item?.as_ref())?;
            (total?, users?.0)
        } else {
            let key_sk = key_sk(&credential.key_id);
            let page_sk = continuation_sk(&credential.key_id, count, start_index);
            let keys = vec![Self::key_key(credential), primary_key(pk.clone(), page_sk.clone())];
            let (items, total) = tokio::join!(self.batch_get(keys), self.count_users(&credential.directory));
            let items = items?;
            Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
            let total = total?;
            // DynamoDB deletes expired items late: an expired continuation is ignored.
            let continuation = items
                .iter()
                .find(|i| sort_key_of(i) == Some(page_sk.as_str()))
                .filter(|i| get_n::<i64>(i, TTL_ATTRIBUTE).is_ok_and(|expires| expires > now))
                .map(|i| get_s(i, "after").map(|after| after_user(&pk, after)))
                .transpose()?;
            let start = match continuation {
                Some(start) => Some(start),
                None => match self.skip_users(&pk, start_index - 1).await? {
                    Some(start) => Some(start),
                    // Fewer users than startIndex - 1: an empty page.
                    None => return Ok(UserPage { total, users: Vec::new() }),
                },
            };
            (total, self.query_users(&pk, start, count, false).await?.0)
        };
        if let Some(last) = users.last().filter(|_| users.len() as u64 == count) {
            let next = continuation_sk(&credential.key_id, count, start_index.saturating_add(count));
            self.remember_continuation(&pk, next, &last.id, now).await;
        }
        Ok(UserPage { total, users })
    }

    async fn list_users_after(
        &self,
        credential: &Credential,
        after: Option<&str>,
        count: u64,
    ) -> Result<KeysetPage, StoreError> {
        let pk = dir_pk(&credential.directory);
        if count == 0 {
            let (key_item, total) =
                tokio::join!(self.get_key_item(credential), self.count_users(&credential.directory));
            Self::check_key(credential, key_item?.as_ref())?;
            return Ok(KeysetPage { total: total?, users: Vec::new(), more: false });
        }
        let start = after.filter(|id| !unusable_key(&user_sk(id))).map(|id| after_user(&pk, id));
        if after.is_some() && start.is_none() {
            // Not an id a user can have: nothing sorts after it that this walk could have reached.
            Self::check_key(credential, self.get_key_item(credential).await?.as_ref())?;
            return Ok(KeysetPage {
                total: self.count_users(&credential.directory).await?,
                users: Vec::new(),
                more: false,
            });
        }
        let (key_item, total, page) = tokio::join!(
            self.get_key_item(credential),
            self.count_users(&credential.directory),
            self.query_users(&pk, start, count, true),
        );
        Self::check_key(credential, key_item?.as_ref())?;
        let (users, more) = page?;
        Ok(KeysetPage { total: total?, users, more })
    }

    async fn scan_users(
        &self,
        credential: &Credential,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let pk = dir_pk(&credential.directory);
        let mut cursor: Option<Item> = after.map(|id| {
            HashMap::from([
                ("pk".to_string(), AttributeValue::S(pk.clone())),
                ("sk".to_string(), AttributeValue::S(user_sk(id))),
            ])
        });
        let mut users = Vec::new();
        let mut first = true;
        while (users.len() as u64) < limit {
            let wanted = limit - users.len() as u64;
            let page = self
                .query_prefix(&pk, "USER#")
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(cursor.take())
                .send();
            let out = if first {
                // The key check rides along with the first page.
                let (key_item, out) = tokio::join!(self.get_key_item(credential), page);
                Self::check_key(credential, key_item?.as_ref())?;
                first = false;
                out
            } else {
                page.await
            }
            .map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                users.push(user_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => cursor = Some(key),
                _ => break,
            }
        }
        if first {
            Self::check_key(credential, self.get_key_item(credential).await?.as_ref())?;
        }
        users.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(users)
    }

    async fn create_user(&self, credential: &Credential, user: &UserRecord) -> Result<(), StoreError> {
        let pk = dir_pk(&credential.directory);
        let result = self
            .transact("TransactWriteItems", || {
                let mut items = vec![
                    self.key_check(credential)?,
                    self.put(user_item(&pk, user)?, "attribute_not_exists(pk)", &[], vec![], false)?,
                    self.put(claim_item(&pk, user)?, "attribute_not_exists(pk)", &[], vec![], false)?,
                    self.counter_update(&pk, 1, &user.id)?,
                    self.display_name_update(&pk, &user.doc.display_name_key(), vec![user.id.clone()], true)?,
                ];
                // A user of the same name written before the identity rule, not yet migrated, holds the name too.
                if let Some(legacy) = legacy_claim_sk(user.doc.user_name()) {
                    items.push(self.absent(primary_key(pk.clone(), legacy))?);
                }
                Ok(items)
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::Unauthorized),
            Err(reasons) if failed(&reasons, 2) || failed(&reasons, 5) => Err(StoreError::UserNameTaken),
            // The id already exists: a create expects no stored version.
            Err(reasons) if failed(&reasons, 1) => Err(StoreError::VersionConflict),
            Err(reasons) => Err(cancelled("create_user", &reasons)),
        }
    }

    async fn replace_user(
        &self,
        credential: &Credential,
        previous: &UserRecord,
        next: &UserRecord,
    ) -> Result<(), StoreError> {
        if previous.id != next.id {
            return Err(StoreError::Backend("replace_user: previous and next records have different ids".into()));
        }
        let pk = dir_pk(&credential.directory);
        let old_claim = claim_sk(&previous.doc.user_name_key());
        let new_claim = claim_sk(&next.doc.user_name_key());
        let renamed = old_claim != new_claim;
        let result = self
            .transact("TransactWriteItems", || {
                let mut items = vec![
                    self.key_check(credential)?,
                    self.put(
                        user_item(&pk, next)?,
                        "#version = :prev",
                        &[("#version", "version")],
                        vec![(":prev", n(previous.version))],
                        true,
                    )?,
                ];
                if renamed {
                    items.push(self.put(claim_item(&pk, next)?, "attribute_not_exists(pk)", &[], vec![], false)?);
                    items.push(self.delete_own_claim(&pk, old_claim.clone(), &previous.id)?);
                } else {
                    items.push(self.put_own_claim(&pk, next)?);
                }
                // A claim from before the identity rule moves to the identity key with this write.
                if let Some(legacy) = legacy_claim_sk(previous.doc.user_name()).filter(|l| *l != new_claim) {
                    items.push(self.delete_own_claim(&pk, legacy, &previous.id)?);
                }
                // The display-name index: moved on rename, re-added otherwise (which indexes older users too).
                let (old_name, new_name) = (previous.doc.display_name_key(), next.doc.display_name_key());
                if display_name_sk(&old_name) != display_name_sk(&new_name) {
                    items.push(self.display_name_update(&pk, &old_name, vec![previous.id.clone()], false)?);
                }
                items.push(self.display_name_update(&pk, &new_name, vec![next.id.clone()], true)?);
                // The users version moves (a counter shard, count unchanged): the address book's index is stale.
                items.push(self.counter_update(&pk, 0, &previous.id)?);
                if previous.doc.active() && !next.doc.active() {
                    // Deactivation ends the user's sessions, without looking them up (see `sessions`).
                    let mut marker = primary_key(pk.clone(), sessions::sessions_off_sk(&previous.id));
                    marker.insert("revokedAtMs".into(), n(crate::time::now_unix_millis()));
                    items.push(self.put(
                        marker,
                        "attribute_exists(pk) OR attribute_not_exists(pk)",
                        &[],
                        vec![],
                        false,
                    )?);
                }
                Ok(items)
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::Unauthorized),
            Err(reasons) if failed(&reasons, 1) => Err(missing_or_changed(&reasons, 1)),
            // The claim is another user's: renamed onto a taken name, or (not renamed) the identity key of a name
            // from before the rule, already held by a look-alike.
            Err(reasons) if failed(&reasons, 2) => Err(StoreError::UserNameTaken),
            Err(reasons) => Err(cancelled("replace_user", &reasons)),
        }
    }

    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError> {
        let pk = dir_pk(&credential.directory);
        let claim = claim_sk(&previous.doc.user_name_key());
        let result = self
            .transact("TransactWriteItems", || {
                let mut items = vec![
                    self.key_check(credential)?,
                    self.delete(
                        primary_key(pk.clone(), user_sk(&previous.id)),
                        "#version = :prev",
                        &[("#version", "version")],
                        vec![(":prev", n(previous.version))],
                        true,
                    )?,
                    self.delete_own_claim(&pk, claim.clone(), &previous.id)?,
                    self.counter_update(&pk, -1, &previous.id)?,
                    self.display_name_update(&pk, &previous.doc.display_name_key(), vec![previous.id.clone()], false)?,
                ];
                if let Some(legacy) = legacy_claim_sk(previous.doc.user_name()) {
                    items.push(self.delete_own_claim(&pk, legacy, &previous.id)?);
                }
                Ok(items)
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::Unauthorized),
            Err(reasons) if failed(&reasons, 1) => Err(missing_or_changed(&reasons, 1)),
            Err(reasons) => Err(cancelled("delete_user", &reasons)),
        }
    }

    async fn find_user_ids_by_display_name(
        &self,
        credential: &Credential,
        display_name: &str,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let key_sk = key_sk(&credential.key_id);
        let name_sk = display_name_sk(&display_name_key(display_name));
        let keys = vec![Self::key_key(credential), primary_key(dir_pk(&credential.directory), name_sk.clone())];
        let items = self.batch_get(keys).await?;
        Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
        display_name_ids(items.iter().find(|i| sort_key_of(i) == Some(name_sk.as_str())), limit)
    }

    async fn get_user_and_display_name_ids(
        &self,
        credential: &Credential,
        id: &str,
        display_name: &str,
        limit: u64,
    ) -> Result<(UserRecord, Vec<String>), StoreError> {
        let pk = dir_pk(&credential.directory);
        let key_sk = key_sk(&credential.key_id);
        let user_sk = user_sk(id);
        let name_sk = display_name_sk(&display_name_key(display_name));
        let mut keys = vec![Self::key_key(credential), primary_key(pk.clone(), name_sk.clone())];
        // An id too long to be a key names no user; the credential is still checked first.
        let fetch_user = user_sk.len() <= MAX_SORT_KEY_BYTES;
        if fetch_user {
            keys.push(primary_key(pk, user_sk.clone()));
        }
        let items = self.batch_get(keys).await?;
        Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
        let user = match items.iter().find(|i| fetch_user && sort_key_of(i) == Some(user_sk.as_str())) {
            Some(item) => user_from_item(item)?,
            None => return Err(StoreError::NotFound),
        };
        let ids = display_name_ids(items.iter().find(|i| sort_key_of(i) == Some(name_sk.as_str())), limit)?;
        Ok((user, ids))
    }

    async fn reindex_display_names(&self, credential: &Credential, users: &[UserRecord]) -> Result<u64, StoreError> {
        let pk = dir_pk(&credential.directory);
        let mut indexed = 0;
        for chunk in users.chunks(REINDEX_BATCH) {
            let mut pending: Vec<&UserRecord> = chunk.iter().collect();
            while !pending.is_empty() {
                let result = self
                    .transact("TransactWriteItems", || {
                        let mut items = vec![self.key_check(credential)?];
                        // Each user must still be at the version read, else its own write indexed it.
                        for user in &pending {
                            items.push(self.at_version(&pk, user)?);
                        }
                        // One update per name: a transaction may touch an item once.
                        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
                        for user in &pending {
                            by_name.entry(user.doc.display_name_key()).or_default().push(user.id.clone());
                        }
                        for (name, ids) in by_name {
                            items.push(self.display_name_update(&pk, &name, ids, true)?);
                        }
                        Ok(items)
                    })
                    .await?;
                match result {
                    Ok(()) => {
                        indexed += pending.len() as u64;
                        break;
                    }
                    Err(reasons) if failed(&reasons, 0) => return Err(StoreError::Unauthorized),
                    Err(reasons) => {
                        let before = pending.len();
                        pending = pending
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| !failed(&reasons, i + 1))
                            .map(|(_, user)| user)
                            .collect();
                        if pending.len() == before {
                            return Err(cancelled("reindex_display_names", &reasons));
                        }
                    }
                }
            }
        }
        Ok(indexed)
    }
}

/// The claim keys a userName may be found under: its identity key, and the key from before the identity rule
/// where that differs.
pub(super) fn claim_keys(directory: &str, user_name: &str) -> Vec<Item> {
    let pk = dir_pk(directory);
    let mut keys = vec![primary_key(pk.clone(), claim_sk(&user_name_key(user_name)))];
    keys.extend(legacy_claim_sk(user_name).map(|legacy| primary_key(pk, legacy)));
    keys
}

/// The user claiming `user_name` among `items` (read with [`claim_keys`]): the identity-key claim first, else a
/// claim from before the rule; only if the claimed user's name is the same identity (digest-keyed claims, and
/// lowercase keys of names that fold differently, are confirmed by the name itself).
pub(super) fn claimed_user(items: &[Item], user_name: &str) -> Result<Option<UserRecord>, StoreError> {
    let key = user_name_key(user_name);
    let claims = [Some(claim_sk(&key)), legacy_claim_sk(user_name)];
    for claim in claims.iter().flatten() {
        if let Some(item) = items.iter().find(|i| sort_key_of(i) == Some(claim.as_str())) {
            let user = user_from_item(item)?;
            if user.doc.user_name_key() == key {
                return Ok(Some(user));
            }
        }
    }
    Ok(None)
}
