//! [`SessionStore`] on DynamoDB: one item per session, in a partition of the user's sessions
//! (`SESSION#<directory>#<user id>`, sort key the id hash), with a TTL. Sessions live outside the directory's
//! partition so that the web function's role can be allowed to change session items and nothing else
//! (`dynamodb:LeadingKeys` `SESSION#*`). Deactivation does not look the sessions up: [`UserStore::replace_user`] puts a marker item
//! `SESSIONSOFF#<user id>` (`revokedAtMs`) in its own transaction, and a session stored at or before the marker
//! (`storedAtMs`, both the store's clock in milliseconds) is ended. Reading a session reads both items in one
//! `BatchGetItem`.

use super::*;

fn sessions_pk(directory: &str, user_id: &str) -> String {
    format!("SESSION#{directory}#{user_id}")
}

/// The marker that ends a user's sessions stored at or before its `revokedAtMs`.
pub(super) fn sessions_off_sk(user_id: &str) -> String {
    format!("SESSIONSOFF#{user_id}")
}

/// The marker that ends every session of the directory stored at or before its `revokedAtMs` (its SAML
/// configuration was cleared or its certificates changed). `*` is never a user id.
const DIRECTORY_SESSIONS_OFF_SK: &str = "SESSIONSOFF#*";

fn session_from_item(directory: &str, user_id: &str, item: &Item) -> Result<SessionRecord, StoreError> {
    let id_hash = sort_key_of(item).ok_or_else(|| corrupt("sk"))?;
    Ok(SessionRecord {
        id_hash: id_hash.to_string(),
        directory: directory.to_string(),
        user_id: user_id.to_string(),
        created: get_n(item, "created")?,
        last_used: get_n(item, "lastUsed")?,
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
        device: get_s(item, "device")?.to_string(),
    })
}

impl DynamoStore {
    /// When the user's sessions were last ended, by a deactivation or for the whole directory, if ever
    /// (milliseconds): the later of the two markers among `items`.
    fn revoked_at(items: &[Item], directory: &str, user_id: &str) -> Result<Option<i64>, StoreError> {
        let pk = dir_pk(directory);
        let markers = [sessions_off_sk(user_id), DIRECTORY_SESSIONS_OFF_SK.to_string()];
        let is_marker = |item: &&Item| {
            matches!(item.get("pk"), Some(AttributeValue::S(p)) if *p == pk)
                && sort_key_of(item).is_some_and(|sk| markers.iter().any(|m| m == sk))
        };
        let mut latest: Option<i64> = None;
        for item in items.iter().filter(is_marker) {
            let at: i64 = get_n(item, "revokedAtMs")?;
            latest = Some(latest.map_or(at, |l| l.max(at)));
        }
        Ok(latest)
    }

    /// Ends every session of the directory (a marker: see the module documentation).
    pub(super) async fn end_directory_sessions(&self, directory: &str) -> Result<(), StoreError> {
        let mut marker = primary_key(dir_pk(directory), DIRECTORY_SESSIONS_OFF_SK.to_string());
        marker.insert("revokedAtMs".into(), n(crate::time::now_unix_millis()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(marker))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    /// The keys [`SessionStore::get_session`] reads: the session and its two revocation markers (`None` for ids
    /// DynamoDB could not hold as keys: no such session).
    pub(super) fn session_keys(&self, directory: &str, user_id: &str, id_hash: &str) -> Option<[Item; 3]> {
        let pk = sessions_pk(directory, user_id);
        if unusable_key(id_hash) || unusable_key(&pk) {
            return None;
        }
        Some([
            primary_key(pk, id_hash.to_string()),
            primary_key(dir_pk(directory), sessions_off_sk(user_id)),
            primary_key(dir_pk(directory), DIRECTORY_SESSIONS_OFF_SK.to_string()),
        ])
    }

    /// The session among `items` (read with [`DynamoStore::session_keys`]), if unexpired at `now` and not ended.
    pub(super) fn session_from(
        &self,
        items: &[Item],
        directory: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let pk = sessions_pk(directory, user_id);
        let revoked_at = Self::revoked_at(items, directory, user_id)?;
        let Some(item) = items.iter().find(|i| matches!(i.get("pk"), Some(AttributeValue::S(p)) if *p == pk)) else {
            return Ok(None);
        };
        let session = session_from_item(directory, user_id, item)?;
        Ok(Self::user_session_valid(item, &session, revoked_at, now).then_some(session))
    }

    fn user_session_valid(item: &Item, session: &SessionRecord, revoked_at: Option<i64>, now: i64) -> bool {
        let stored_at = get_n::<i64>(item, "storedAtMs").unwrap_or(session.created.saturating_mul(1000));
        session.expires_at > now && revoked_at.is_none_or(|at| stored_at > at)
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut item = primary_key(sessions_pk(&session.directory, &session.user_id), session.id_hash.clone());
        item.insert("created".into(), n(session.created));
        item.insert("lastUsed".into(), n(session.last_used));
        item.insert(TTL_ATTRIBUTE.into(), n(session.expires_at));
        item.insert("device".into(), s(&session.device));
        item.insert("storedAtMs".into(), n(crate::time::now_unix_millis()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn get_session(
        &self,
        directory: &str,
        user_id: &str,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(keys) = self.session_keys(directory, user_id, id_hash) else {
            return Ok(None);
        };
        let items = self.batch_get(keys.to_vec()).await?;
        self.session_from(&items, directory, user_id, now)
    }

    async fn touch_session(&self, directory: &str, user_id: &str, id_hash: &str, now: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(sessions_pk(directory, user_id), id_hash.to_string())))
            .update_expression("SET lastUsed = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn list_sessions(&self, directory: &str, user_id: &str, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(sessions_pk(directory, user_id)))
            .consistent_read(true);
        let items = self.query_all("Query", query, None).await?;
        let markers = self
            .batch_get(vec![
                primary_key(dir_pk(directory), sessions_off_sk(user_id)),
                primary_key(dir_pk(directory), DIRECTORY_SESSIONS_OFF_SK.to_string()),
            ])
            .await?;
        let revoked_at = Self::revoked_at(&markers, directory, user_id)?;
        let mut sessions = Vec::new();
        for item in &items {
            let session = session_from_item(directory, user_id, item)?;
            if Self::user_session_valid(item, &session, revoked_at, now) {
                sessions.push(session);
            }
        }
        sessions.sort_by(|a, b| b.last_used.cmp(&a.last_used).then_with(|| a.id_hash.cmp(&b.id_hash)));
        Ok(sessions)
    }

    async fn end_session(&self, directory: &str, user_id: &str, id_hash: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(sessions_pk(directory, user_id), id_hash.to_string())))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
