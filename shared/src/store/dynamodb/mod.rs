//! The DynamoDB store (the Lambda functions), the Secrets Manager pepper, and the AWS client configuration.
//!
//! # Table design
//!
//! One table with string keys `pk`/`sk`, the TTL attribute `expiresAt` and one local secondary index:
//!
//! | item            | `pk`        | `sk`                    | attributes                                                    |
//! |-----------------|-------------|-------------------------|---------------------------------------------------------------|
//! | company         | `COMPANY`   | `<folded short name>`   | `shortName`, `name`, `created`                                |
//! | directory       | `DIRECTORY` | `<dir id>`              | `name`, `created`, `company`? (folded short name), `saml`? (JSON [`SamlConfig`]) |
//! | access key      | `DIR#<dir>` | `KEY#<key id>`          | `name`, `hash` (hex), `created`, `revoked`?                   |
//! | user            | `DIR#<dir>` | `USER#<id>`             | `id`, `doc` (JSON), `version`, `created`, `lastModified`, `unameKey`, `extKey`? |
//! | userName claim  | `DIR#<dir>` | `UNAME#<folded name>`   | a copy of the user: `id`, `doc`, `version`, `created`, `lastModified` |
//! | user counter    | `DIR#<dir>` | `COUNT#<0..15>`         | `n` (users), `v` (writes to the shard's users), `r0`…`r7` (their ids, newest first); a user's shard is its id's first hex digit |
//! | display name    | `DIR#<dir>` | `DNAME#<folded name>`   | `ids` (string set): the users bearing that displayName        |
//! | seen assertion  | `DIR#<dir>` | `SAMLID#<sha256 of id>` | `expiresAt` (TTL)                                             |
//! | session         | `SESSION#<dir>#<user>` | `<sha256 of id>` | `created`, `lastUsed`, `device`, `storedAtMs`, `expiresAt` (TTL) |
//! | sessions ended  | `DIR#<dir>` | `SESSIONSOFF#<user>`    | `revokedAtMs`: sessions stored until then are over (deactivation) |
//! | list continuation | `DIR#<dir>` | `PAGE#<key>#<count>#<startIndex>` | `after` (user id), `expiresAt` (TTL)                          |
//!
//! The LSI `byExternalId` (`pk` HASH, `extKey` RANGE, projection ALL) indexes user items only: claims carry no
//! `extKey`. Sort keys are limited to 1024 bytes, so a folded userName or an externalId too long to be a key is
//! replaced by its SHA-256 under a distinct prefix (`UNAMEH#<hex>` / `#sha256:<hex>`); lookups re-check the exact
//! value against the stored document. Display names go by digest the same way (`DNAMEH#<hex>`), unchecked: the
//! item holds ids only.
//!
//! The display-name item is the index behind manager links: every user write adds the user's id to the set of its
//! (folded) displayName, and a rename or delete takes it out, inside the write's own transaction. A lookup is then
//! one item read, which rides in the same `BatchGetItem` as the key item (and, for a PUT, the user). A set emptied
//! by deletes stays as an item without `ids`. The set bounds the users sharing one display name in a directory to
//! about 10,000 (400 KB per item).
//!
//! # Call budget
//!
//! Every user operation authorises the credential in the same round trip: `get_user` and
//! `find_user_by_user_name` are one `BatchGetItem` (key item + user or claim item), every write is one
//! `TransactWriteItems` whose first action is a `ConditionCheck` on the key item. Writes keep the user item, its
//! userName claim and the sharded user counter consistent in that one transaction.
//!
//! Listing a page (`list_users`) reads the key item and the counter shards concurrently with the page itself when
//! it starts at index 1; further pages read the key item with the continuation item in one `BatchGetItem` (and the
//! counter shards concurrently), then `Query` the page from the continuation's `ExclusiveStartKey`, then put the
//! next continuation (`PutItem`, after a full page). A sequential walk reads each user item once. A `startIndex`
//! without an unexpired continuation skips `startIndex - 1` users with `Select COUNT` queries first.
//!
//! # Sign-in
//!
//! Accepted assertion ids (and answered AuthnRequest ids, as `request:<id>`) are single-use items with a TTL.
//! DynamoDB deletes expired items late (hours; an emulator never), so the condition compares `expiresAt` with the
//! current time itself: `record_assertion` is a `PutItem` conditioned on no unexpired item. Outstanding
//! AuthnRequests are not stored at all: they travel in a sealed cookie (`fd-signin`).

use super::{
    AddressBookStore, AdminStore, CONTINUATION_TTL_SECS, Company, Directory, KeysetPage, NameMigration, SamlConfig,
    SessionRecord, SessionStore, SignInStore, StoreError, UserPage, UserStore,
};
use crate::auth::{Credential, KeyHash, KeyRecord, Pepper};
use crate::scim::manager::display_name_key;
use crate::scim::user::{UserDoc, UserRecord, legacy_user_name_key, user_name_key};
use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{AsyncSleep, ConfigBag, Credentials, Intercept, RuntimeComponents, SharedAsyncSleep};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete, KeySchemaElement,
    KeyType, KeysAndAttributes, LocalSecondaryIndex, PointInTimeRecoverySpecification, Projection, ProjectionType, Put,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, Select, SseSpecification, TableDescription, TableStatus,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod address_book;
mod admin;
mod bootstrap;
mod config;
mod counter;
mod errors;
mod items;
mod keys;
mod secrets;
mod sessions;
mod sign_in;
#[cfg(test)]
mod tests;
mod tx;
mod users;

pub use bootstrap::bootstrap_table;
pub use config::{SdkLimits, aws_config, dynamodb_client, emulator_config, emulator_config_with, https_client};
pub use counter::CallCounter;
use errors::*;
use items::*;
use keys::*;
pub use secrets::{bootstrap_secret, load_pepper, load_secret_text};
use tx::*;

type Item = HashMap<String, AttributeValue>;

/// Name of the local secondary index on `(pk, extKey)`.
pub const EXTERNAL_ID_INDEX: &str = "byExternalId";
/// Name of the TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Number of user-counter shards per directory.
pub const COUNTER_SHARDS: u32 = 16;
/// How many of its latest writes a counter shard remembers (`r0`…`r7`).
const RECENT_WRITES: usize = 8;

const DIRECTORY_PK: &str = "DIRECTORY";
const COMPANY_PK: &str = "COMPANY";
const MAX_SORT_KEY_BYTES: usize = 1024;
/// First attempt plus three retries after a `TransactionConflict`.
const TRANSACTION_ATTEMPTS: u32 = 4;
/// Bound on `BatchGetItem` rounds spent on `UnprocessedKeys`.
const BATCH_GET_ATTEMPTS: u32 = 8;
/// Bound on waiting for a new table to become ACTIVE.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(180);
/// Bound on retrying point-in-time recovery right after table creation.
const PITR_ATTEMPTS: u32 = 20;
/// Users per `TransactWriteItems` when reindexing display names: a check and at most one update each, plus the
/// key check, within the 100 actions of a transaction.
const REINDEX_BATCH: usize = 45;
/// Longest service message carried into a [`StoreError`].
const MAX_MESSAGE_CHARS: usize = 300;

const KEY_CONDITION: &str = "attribute_exists(pk) AND #hash = :hash AND attribute_not_exists(#revoked)";
const CCF: &str = "ConditionalCheckFailed";

// ---------------------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------------------

/// DynamoDB-backed [`Store`] over one table (see the module documentation for its layout).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store over `table` using `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A store over `table` whose client counts its calls into `counter`.
    pub fn with_counter(config: &SdkConfig, table: impl Into<String>, counter: &CallCounter) -> Self {
        Self::new(dynamodb_client(config, Some(counter)), table)
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn key_key(credential: &Credential) -> Item {
        primary_key(dir_pk(&credential.directory), key_sk(&credential.key_id))
    }

    /// Admits `credential` against its key item (absent: not admitted).
    fn check_key(credential: &Credential, item: Option<&Item>) -> Result<(), StoreError> {
        let Some(item) = item else {
            return Err(StoreError::Unauthorized);
        };
        let record = key_from_item(&credential.directory, item)?;
        if credential.admitted_by(&record) { Ok(()) } else { Err(StoreError::Unauthorized) }
    }

    async fn pause(&self, attempt: u32) {
        let sleep: Option<SharedAsyncSleep> = self.client.config().sleep_impl();
        if let Some(sleep) = sleep {
            let base = 10 * u64::from(attempt.min(6) + 1);
            let jitter = rand::random_range(0..=base * 2);
            sleep.sleep(Duration::from_millis(base + jitter)).await;
        }
    }

    async fn get_key_item(&self, credential: &Credential) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_key(credential)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Strongly consistent `BatchGetItem` of `keys` (at most 100), retrying only unprocessed keys.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                self.pause(attempt).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys.is_empty() => pending = rest.keys,
                _ => return Ok(found),
            }
        }
        Err(StoreError::Unavailable("BatchGetItem: keys still unprocessed after retries".into()))
    }

    /// Runs a paginated `Query` to the end, from `start` (exclusive) when given.
    async fn query_all(
        &self,
        operation: &str,
        query: QueryFluentBuilder,
        mut start: Option<Item>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error(operation, e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    fn query_prefix(&self, pk: &str, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// Bulk-loads `users` into `directory` with `BatchWriteItem` (user items, userName claims, counter shards), for
    /// benchmarks and tests that need large directories quickly. Unlike [`Store::create_user`] it checks neither the
    /// credential nor uniqueness: ids and userNames must be new.
    #[cfg(feature = "contract-tests")]
    pub async fn seed_users(&self, directory: &str, users: &[UserRecord]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let pk = dir_pk(directory);
        let mut requests = Vec::with_capacity(users.len() * 2);
        for user in users {
            for item in [user_item(&pk, user)?, claim_item(&pk, user)?] {
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(build_error)?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..BATCH_GET_ATTEMPTS {
                if attempt > 0 {
                    self.pause(attempt).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchWriteItem", e))?;
                match out.unprocessed_items.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.is_empty() => pending = rest,
                    _ => break,
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable("BatchWriteItem: items still unprocessed after retries".into()));
            }
        }
        // Count the users in their shards, as creates do (the writes too: an address book re-reads the shards).
        let mut per_shard = [0u64; COUNTER_SHARDS as usize];
        for user in users {
            per_shard[user_shard(&user.id) as usize] += 1;
        }
        for (shard, count) in (0..COUNTER_SHARDS).zip(per_shard) {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(primary_key(pk.clone(), counter_sk(shard))))
                .update_expression("ADD #n :delta, #v :delta")
                .expression_attribute_names("#n", "n")
                .expression_attribute_names("#v", "v")
                .expression_attribute_values(":delta", n(count))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateItem", e))?;
        }
        Ok(())
    }

    /// The directory's user count: the sum of its counter shards.
    /// One item by key (strongly consistent); `None` for keys DynamoDB could not hold.
    async fn get_item(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        if unusable_key(&sk) || unusable_key(&pk) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Applies `expression` (naming `#saml`, valued by `:saml`) to an existing directory item.
    async fn update_directory(
        &self,
        directory: &str,
        expression: &str,
        value: Option<AttributeValue>,
    ) -> Result<(), StoreError> {
        if unusable_key(directory) {
            return Err(StoreError::NotFound);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(DIRECTORY_PK.into(), directory.into())))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#saml", "saml")
            .set_expression_attribute_values(value.map(|v| HashMap::from([(":saml".to_string(), v)])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Up to `count` users of the directory `pk` by id, from `start` (exclusive), and, when `probe` is set,
    /// whether more follow (it then reads one user more than asked for, to tell).
    async fn query_users(
        &self,
        pk: &str,
        mut start: Option<Item>,
        count: u64,
        probe: bool,
    ) -> Result<(Vec<UserRecord>, bool), StoreError> {
        let wanted = if probe { count.saturating_add(1) } else { count };
        let mut users = Vec::new();
        while (users.len() as u64) < wanted {
            let out = self
                .query_prefix(pk, "USER#")
                .limit(i32::try_from(wanted - users.len() as u64).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                users.push(user_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let more = users.len() as u64 > count;
        users.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok((users, more))
    }

    /// Skips `n` users of the directory `pk` by counting them (`Select COUNT`, no items returned): the key to
    /// continue from, or `None` when the directory has no more than `n` users.
    async fn skip_users(&self, pk: &str, n: u64) -> Result<Option<Item>, StoreError> {
        let mut start: Option<Item> = None;
        let mut to_skip = n;
        while to_skip > 0 {
            let out = self
                .query_prefix(pk, "USER#")
                .select(Select::Count)
                .limit(i32::try_from(to_skip).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            to_skip = to_skip.saturating_sub(u64::try_from(out.count).unwrap_or(0));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(None),
            }
        }
        Ok(start)
    }

    /// Remembers that index `start_index` of the directory `pk` starts after user `after`. Best effort: the page
    /// being served is correct either way, and a lost continuation only makes the next page skip.
    async fn remember_continuation(&self, pk: &str, page_sk: String, after: &str, now: i64) {
        let mut item = primary_key(pk.to_string(), page_sk);
        item.insert("after".into(), s(after));
        item.insert(TTL_ATTRIBUTE.into(), n(now.saturating_add(CONTINUATION_TTL_SECS)));
        let sent = self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await;
        if let Err(e) = sent {
            tracing::warn!(error = %sdk_error("PutItem", e), "could not remember a list continuation");
        }
    }

    async fn count_users(&self, directory: &str) -> Result<u64, StoreError> {
        let shards = self.query_all("Query", self.query_prefix(&dir_pk(directory), "COUNT#"), None).await?;
        let mut total: i64 = 0;
        for shard in &shards {
            total = total.saturating_add(get_n::<i64>(shard, "n")?);
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }
}

/// Whether `sort_key` cannot be a DynamoDB key value (empty or over-long): it then names no item.
fn unusable_key(sort_key: &str) -> bool {
    sort_key.is_empty() || sort_key.len() > MAX_SORT_KEY_BYTES
}
