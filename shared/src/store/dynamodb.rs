//! The DynamoDB store (the Lambda functions), the Secrets Manager pepper, and the AWS client configuration.
//!
//! # Table design
//!
//! One table with string keys `pk`/`sk`, the TTL attribute `expiresAt` and one local secondary index:
//!
//! | item            | `pk`        | `sk`                    | attributes                                                    |
//! |-----------------|-------------|-------------------------|---------------------------------------------------------------|
//! | directory       | `DIRECTORY` | `<dir id>`              | `name`, `created`, `saml`? (JSON [`SamlConfig`])             |
//! | access key      | `DIR#<dir>` | `KEY#<key id>`          | `name`, `hash` (hex), `created`, `revoked`?                   |
//! | user            | `DIR#<dir>` | `USER#<id>`             | `id`, `doc` (JSON), `version`, `created`, `lastModified`, `unameKey`, `extKey`? |
//! | userName claim  | `DIR#<dir>` | `UNAME#<folded name>`   | a copy of the user: `id`, `doc`, `version`, `created`, `lastModified` |
//! | user counter    | `DIR#<dir>` | `COUNT#<0..15>`         | `n`                                                           |
//! | display name    | `DIR#<dir>` | `DNAME#<folded name>`   | `ids` (string set): the users bearing that displayName        |
//! | AuthnRequest    | `DIR#<dir>` | `SAMLREQ#<sha256 of id>`| `expiresAt` (TTL)                                             |
//! | seen assertion  | `DIR#<dir>` | `SAMLID#<sha256 of id>` | `expiresAt` (TTL)                                             |
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
//! AuthnRequest ids and accepted assertion ids are single-use items with a TTL. DynamoDB deletes expired items
//! late (hours; an emulator never), so every condition compares `expiresAt` with the current time itself:
//! `take_saml_request` is a `DeleteItem` conditioned on an unexpired item, `record_assertion` a `PutItem`
//! conditioned on no unexpired item.

use super::{CONTINUATION_TTL_SECS, Directory, KeysetPage, SamlConfig, Store, StoreError, UserPage};
use crate::auth::{Credential, KeyHash, KeyRecord, Pepper};
use crate::scim::manager::display_name_key;
use crate::scim::user::{UserDoc, UserRecord, user_name_key};
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

type Item = HashMap<String, AttributeValue>;

/// Name of the local secondary index on `(pk, extKey)`.
pub const EXTERNAL_ID_INDEX: &str = "byExternalId";
/// Name of the TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Number of user-counter shards per directory.
pub const COUNTER_SHARDS: u32 = 16;

const DIRECTORY_PK: &str = "DIRECTORY";
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
// AWS configuration
// ---------------------------------------------------------------------------------------------------------------

/// An HTTPS client on rustls with the *ring* crypto provider (no aws-lc), also able to speak plain HTTP to local
/// emulators.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The standard AWS configuration chain (environment, profile, container/instance credentials; `AWS_REGION`;
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`) over [`https_client`].
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}

/// Configuration for a local emulator (moto, DynamoDB Local) at `endpoint_url`: region `us-east-1` and fixed dummy
/// credentials, whatever the process environment says.
pub async fn emulator_config(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "fd-emulator"))
        .endpoint_url(endpoint_url)
        .load()
        .await
}

/// A DynamoDB client from `config`, counting its calls into `counter` when given.
pub fn dynamodb_client(config: &SdkConfig, counter: Option<&CallCounter>) -> Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(counter) = counter {
        builder = builder.interceptor(counter.clone());
    }
    Client::from_conf(builder.build())
}

// ---------------------------------------------------------------------------------------------------------------
// Call counter
// ---------------------------------------------------------------------------------------------------------------

/// Counts SDK calls per operation name (`"BatchGetItem"`, `"TransactWriteItems"`, ...), for benchmarks and the
/// call-budget tests. Clones share the counts. Attach it with [`dynamodb_client`] or [`DynamoStore::with_counter`].
///
/// [`CallCounter::get`] counts operations as the store issued them (one per SDK `send`);
/// [`CallCounter::attempts`] counts HTTP attempts, which also include the SDK's own retries;
/// [`CallCounter::items_read`] counts the items the successful responses report read: `ScannedCount` of `Query`
/// (items counted by `Select COUNT` included), the items returned by `GetItem` and `BatchGetItem`.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
    attempts: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
    items: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
}

impl CallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Operations named `operation` issued so far.
    pub fn get(&self, operation: &str) -> u64 {
        read(&self.calls, operation)
    }

    /// HTTP attempts of `operation` so far (retries included).
    pub fn attempts(&self, operation: &str) -> u64 {
        read(&self.attempts, operation)
    }

    /// Items read by `operation` so far (see the type's documentation).
    pub fn items_read(&self, operation: &str) -> u64 {
        read(&self.items, operation)
    }

    /// Items read by every operation so far.
    pub fn items_read_total(&self) -> u64 {
        lock(&self.items).values().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// All operations issued so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Operation name → operations issued, for every operation with a non-zero count.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        lock(&self.calls)
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for map in [&self.calls, &self.attempts, &self.items] {
            for counter in lock(map).values() {
                counter.store(0, Ordering::Relaxed);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counts stay meaningful even if a holder panicked.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, operation: &str) -> u64 {
    lock(map).get(operation).map_or(0, |c| c.load(Ordering::Relaxed))
}

fn bump(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, cfg: &ConfigBag) {
    add(map, cfg, 1);
}

fn add(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, cfg: &ConfigBag, n: u64) {
    let name = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
    let counter = {
        let mut map = lock(map);
        match map.get(name) {
            Some(c) => Arc::clone(c),
            None => Arc::clone(map.entry(name.to_string()).or_default()),
        }
    };
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Items a successful response reports read, for the operations that read items.
fn items_in(output: &aws_smithy_runtime_api::client::interceptors::context::Output) -> Option<u64> {
    use aws_sdk_dynamodb::operation::{
        batch_get_item::BatchGetItemOutput, get_item::GetItemOutput, query::QueryOutput,
    };
    if let Some(out) = output.downcast_ref::<QueryOutput>() {
        return Some(u64::try_from(out.scanned_count).unwrap_or(0));
    }
    if let Some(out) = output.downcast_ref::<GetItemOutput>() {
        return Some(u64::from(out.item.is_some()));
    }
    output
        .downcast_ref::<BatchGetItemOutput>()
        .map(|out| out.responses.as_ref().map_or(0, |r| r.values().map(|items| items.len() as u64).sum()))
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "fd-call-counter"
    }

    // Not `read_before_execution`: client-level interceptors run that before the operation's `Metadata` is in the
    // config bag. Serialisation happens once per operation, before the retry loop.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        bump(&self.calls, cfg);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        bump(&self.attempts, cfg);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(n) = context.output_or_error().ok().and_then(items_in) {
            add(&self.items, cfg, n);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
    out.push('…');
    out
}

fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
            | "InternalServerError"
            | "InternalFailure"
            | "InternalServiceError"
            | "TransactionInProgressException"
    )
}

/// Maps an SDK failure: throttling, 5xx, timeouts and connection failures are [`StoreError::Unavailable`],
/// everything else [`StoreError::Backend`]. Messages name the operation and the service's error code and message
/// only (never request values).
fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("UnknownError");
            let message = truncate(ctx.err().message().unwrap_or_default());
            let status = ctx.raw().status().as_u16();
            if is_transient_code(code) || status >= 500 {
                StoreError::Unavailable(format!("{operation}: {code}: {message}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}: {message}"))
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(format!("{operation}: {}", truncate(&DisplayErrorContext(&err).to_string())))
        }
        _ => StoreError::Backend(format!("{operation}: {}", truncate(&DisplayErrorContext(&err).to_string()))),
    }
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("building a DynamoDB request: {err}"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("stored item has a missing or malformed `{what}` attribute"))
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and items
// ---------------------------------------------------------------------------------------------------------------

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn dir_pk(directory: &str) -> String {
    format!("DIR#{directory}")
}

fn key_sk(key_id: &str) -> String {
    format!("KEY#{key_id}")
}

fn user_sk(id: &str) -> String {
    format!("USER#{id}")
}

fn counter_sk(shard: u32) -> String {
    format!("COUNT#{shard}")
}

/// The claim sort key for a folded userName; names too long for a sort key are claimed by digest.
fn claim_sk(folded_user_name: &str) -> String {
    let plain = format!("UNAME#{folded_user_name}");
    if plain.len() <= MAX_SORT_KEY_BYTES { plain } else { format!("UNAMEH#{}", sha256_hex(folded_user_name)) }
}

/// The LSI sort key for an externalId; empty or over-long values (not allowed as index keys) go by digest.
fn ext_key(external_id: &str) -> String {
    if !external_id.is_empty() && external_id.len() <= MAX_SORT_KEY_BYTES {
        external_id.to_string()
    } else {
        format!("#sha256:{}", sha256_hex(external_id))
    }
}

/// The display-name index item for a folded displayName; names too long for a sort key go by digest.
fn display_name_sk(folded_display_name: &str) -> String {
    let plain = format!("DNAME#{folded_display_name}");
    if plain.len() <= MAX_SORT_KEY_BYTES { plain } else { format!("DNAMEH#{}", sha256_hex(folded_display_name)) }
}

/// The ids of a display-name index item, ordered, at most `limit`.
fn display_name_ids(item: Option<&Item>, limit: u64) -> Result<Vec<String>, StoreError> {
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
fn continuation_sk(key_id: &str, count: u64, start_index: u64) -> String {
    format!("PAGE#{key_id}#{count}#{start_index}")
}

/// The `ExclusiveStartKey` of a query over a directory's users that starts after user `id`.
fn after_user(pk: &str, id: &str) -> Item {
    primary_key(pk.to_string(), user_sk(id))
}

fn saml_request_sk(request_id: &str) -> String {
    format!("SAMLREQ#{}", sha256_hex(request_id))
}

fn assertion_sk(assertion_id: &str) -> String {
    format!("SAMLID#{}", sha256_hex(assertion_id))
}

fn primary_key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(name)),
    }
}

fn get_opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(name)),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

fn sort_key_of(item: &Item) -> Option<&str> {
    match item.get("sk") {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// The attributes a user item and its claim share.
fn user_attributes(pk: &str, sk: String, user: &UserRecord) -> Result<Item, StoreError> {
    let doc = serde_json::to_string(user.doc.attributes())
        .map_err(|e| StoreError::Backend(format!("serialising user {}: {e}", user.id)))?;
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

fn user_item(pk: &str, user: &UserRecord) -> Result<Item, StoreError> {
    let mut item = user_attributes(pk, user_sk(&user.id), user)?;
    item.insert("unameKey".into(), s(user.doc.user_name_key()));
    if let Some(external_id) = user.doc.external_id() {
        item.insert("extKey".into(), s(ext_key(external_id)));
    }
    Ok(item)
}

fn claim_item(pk: &str, user: &UserRecord) -> Result<Item, StoreError> {
    user_attributes(pk, claim_sk(&user.doc.user_name_key()), user)
}

fn user_from_item(item: &Item) -> Result<UserRecord, StoreError> {
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

fn key_from_item(directory: &str, item: &Item) -> Result<KeyRecord, StoreError> {
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

fn directory_from_item(item: &Item) -> Result<Directory, StoreError> {
    Ok(Directory {
        id: sort_key_of(item).ok_or_else(|| corrupt("sk"))?.to_string(),
        name: get_s(item, "name")?.to_string(),
        created: get_s(item, "created")?.to_string(),
    })
}

/// Whether the transaction action at `index` failed its condition.
fn failed(reasons: &[CancellationReason], index: usize) -> bool {
    reasons.get(index).and_then(CancellationReason::code) == Some(CCF)
}

/// After a versioned write's condition failed: NotFound if the item was gone, VersionConflict otherwise (the
/// action asked for `ALL_OLD` on failure).
fn missing_or_changed(reasons: &[CancellationReason], index: usize) -> StoreError {
    match reasons.get(index).and_then(CancellationReason::item) {
        Some(old) if !old.is_empty() => StoreError::VersionConflict,
        _ => StoreError::NotFound,
    }
}

fn cancelled(operation: &str, reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    StoreError::Backend(format!("{operation}: transaction cancelled [{}]", codes.join(", ")))
}

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

    /// The key-item check every user write starts with.
    fn key_check(&self, credential: &Credential) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key_key(credential)))
            .condition_expression(KEY_CONDITION)
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_names("#revoked", "revoked")
            .expression_attribute_values(":hash", s(credential.hash.to_hex()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    fn counter_update(&self, pk: &str, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let shard = rand::random_range(0..COUNTER_SHARDS);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk.to_string(), counter_sk(shard))))
            .update_expression("ADD #n :delta")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Adds `ids` to (or, with `add == false`, removes them from) the display-name index item of `folded`.
    fn display_name_update(
        &self,
        pk: &str,
        folded: &str,
        ids: Vec<String>,
        add: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk.to_string(), display_name_sk(folded))))
            .update_expression(if add { "ADD #ids :ids" } else { "DELETE #ids :ids" })
            .expression_attribute_names("#ids", "ids")
            .expression_attribute_values(":ids", AttributeValue::Ss(ids))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        all_old_on_failure: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        for (k, v) in names {
            put = put.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            put = put.expression_attribute_values(k, v);
        }
        if all_old_on_failure {
            put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        Ok(TransactWriteItem::builder().put(put.build().map_err(build_error)?).build())
    }

    fn delete(
        &self,
        key: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        all_old_on_failure: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key)).condition_expression(condition);
        for (k, v) in names {
            delete = delete.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            delete = delete.expression_attribute_values(k, v);
        }
        if all_old_on_failure {
            delete = delete.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(build_error)?).build())
    }

    /// Runs one `TransactWriteItems` built by `build` (rebuilt per attempt), retrying transaction conflicts with
    /// jittered backoff. `Ok(Err(reasons))` is a cancellation the caller maps (a condition failed).
    async fn transact(
        &self,
        operation: &str,
        build: impl Fn() -> Result<Vec<TransactWriteItem>, StoreError>,
    ) -> Result<Result<(), Vec<CancellationReason>>, StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                self.pause(attempt).await;
            }
            let sent = self.client.transact_write_items().set_transact_items(Some(build()?)).send().await;
            let err = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = err.as_service_error() else {
                return Err(sdk_error(operation, err));
            };
            let reasons = cancel.cancellation_reasons().to_vec();
            let has = |code: &str| reasons.iter().any(|r| r.code() == Some(code));
            if has(CCF) {
                return Ok(Err(reasons));
            }
            if has("TransactionConflict") {
                tracing::debug!(operation, attempt, "DynamoDB transaction conflict; retrying");
                continue;
            }
            if has("ThrottlingError") || has("ProvisionedThroughputExceeded") {
                return Err(StoreError::Unavailable(format!("{operation}: transaction throttled")));
            }
            return Ok(Err(reasons));
        }
        Err(StoreError::Unavailable(format!("{operation}: transaction conflicts persisted after retries")))
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
        // Spread the count over the shards, as creates do.
        for shard in 0..COUNTER_SHARDS {
            let share = users.len() as u64 / u64::from(COUNTER_SHARDS)
                + u64::from((shard as usize) < users.len() % COUNTER_SHARDS as usize);
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(primary_key(pk.clone(), counter_sk(shard))))
                .update_expression("ADD #n :delta")
                .expression_attribute_names("#n", "n")
                .expression_attribute_values(":delta", n(share))
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

#[async_trait]
impl Store for DynamoStore {
    async fn create_directory(&self, directory: &Directory) -> Result<(), StoreError> {
        let item = HashMap::from([
            ("pk".to_string(), s(DIRECTORY_PK)),
            ("sk".to_string(), s(&directory.id)),
            ("name".to_string(), s(&directory.name)),
            ("created".to_string(), s(&directory.created)),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::Backend(format!("directory {} already exists", directory.id)))
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(DIRECTORY_PK))
            .consistent_read(true);
        let items = self.query_all("Query", query, None).await?;
        let mut directories = items.iter().map(directory_from_item).collect::<Result<Vec<_>, _>>()?;
        directories.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(directories)
    }

    async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        self.get_item(DIRECTORY_PK.into(), id.into()).await?.as_ref().map(directory_from_item).transpose()
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let pk = dir_pk(&key.directory);
        let result = self
            .transact("TransactWriteItems", || {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(primary_key(DIRECTORY_PK.into(), key.directory.clone())))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                let mut item = primary_key(pk.clone(), key_sk(&key.id));
                item.insert("name".into(), s(&key.name));
                item.insert("hash".into(), s(key.hash.to_hex()));
                item.insert("created".into(), s(&key.created));
                if let Some(revoked) = &key.revoked {
                    item.insert("revoked".into(), s(revoked));
                }
                Ok(vec![
                    TransactWriteItem::builder().condition_check(check).build(),
                    self.put(item, "attribute_not_exists(pk)", &[], vec![], false)?,
                ])
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::NotFound),
            Err(reasons) if failed(&reasons, 1) => {
                Err(StoreError::Backend(format!("access key {} already exists", key.id)))
            }
            Err(reasons) => Err(cancelled("create_key", &reasons)),
        }
    }

    async fn list_keys(&self, directory: &str) -> Result<Vec<KeyRecord>, StoreError> {
        let items = self.query_all("Query", self.query_prefix(&dir_pk(directory), "KEY#"), None).await?;
        let mut keys = items.iter().map(|item| key_from_item(directory, item)).collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(keys)
    }

    async fn revoke_key(&self, directory: &str, key_id: &str, at: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(dir_pk(directory), key_sk(key_id))))
            // The first revocation time is kept.
            .update_expression("SET #revoked = if_not_exists(#revoked, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#revoked", "revoked")
            .expression_attribute_values(":at", s(at))
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
        let folded = user_name_key(user_name);
        let key_sk = key_sk(&credential.key_id);
        let claim_sk = claim_sk(&folded);
        let keys = vec![Self::key_key(credential), primary_key(dir_pk(&credential.directory), claim_sk.clone())];
        let items = self.batch_get(keys).await?;
        Self::check_key(credential, items.iter().find(|i| sort_key_of(i) == Some(key_sk.as_str())))?;
        let Some(claim) = items.iter().find(|i| sort_key_of(i) == Some(claim_sk.as_str())) else {
            return Ok(None);
        };
        let user = user_from_item(claim)?;
        // Digest-keyed claims: confirm the name itself.
        Ok((user.doc.user_name_key() == folded).then_some(user))
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
                Ok(vec![
                    self.key_check(credential)?,
                    self.put(user_item(&pk, user)?, "attribute_not_exists(pk)", &[], vec![], false)?,
                    self.put(claim_item(&pk, user)?, "attribute_not_exists(pk)", &[], vec![], false)?,
                    self.counter_update(&pk, 1)?,
                    self.display_name_update(&pk, &user.doc.display_name_key(), vec![user.id.clone()], true)?,
                ])
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::Unauthorized),
            Err(reasons) if failed(&reasons, 2) => Err(StoreError::UserNameTaken),
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
        // The claim being kept or released must belong to this user; a missing one is tolerated (self-healing).
        const OWN_CLAIM: &str = "attribute_not_exists(pk) OR #id = :id";
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
                    items.push(self.delete(
                        primary_key(pk.clone(), old_claim.clone()),
                        OWN_CLAIM,
                        &[("#id", "id")],
                        vec![(":id", s(&previous.id))],
                        false,
                    )?);
                } else {
                    items.push(self.put(
                        claim_item(&pk, next)?,
                        OWN_CLAIM,
                        &[("#id", "id")],
                        vec![(":id", s(&previous.id))],
                        false,
                    )?);
                }
                // The display-name index: moved on rename, re-added otherwise (which indexes older users too).
                let (old_name, new_name) = (previous.doc.display_name_key(), next.doc.display_name_key());
                if display_name_sk(&old_name) != display_name_sk(&new_name) {
                    items.push(self.display_name_update(&pk, &old_name, vec![previous.id.clone()], false)?);
                }
                items.push(self.display_name_update(&pk, &new_name, vec![next.id.clone()], true)?);
                Ok(items)
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::Unauthorized),
            Err(reasons) if failed(&reasons, 1) => Err(missing_or_changed(&reasons, 1)),
            Err(reasons) if renamed && failed(&reasons, 2) => Err(StoreError::UserNameTaken),
            Err(reasons) => Err(cancelled("replace_user", &reasons)),
        }
    }

    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError> {
        let pk = dir_pk(&credential.directory);
        let claim = claim_sk(&previous.doc.user_name_key());
        let result = self
            .transact("TransactWriteItems", || {
                Ok(vec![
                    self.key_check(credential)?,
                    self.delete(
                        primary_key(pk.clone(), user_sk(&previous.id)),
                        "#version = :prev",
                        &[("#version", "version")],
                        vec![(":prev", n(previous.version))],
                        true,
                    )?,
                    self.delete(
                        primary_key(pk.clone(), claim.clone()),
                        "attribute_not_exists(pk) OR #id = :id",
                        &[("#id", "id")],
                        vec![(":id", s(&previous.id))],
                        false,
                    )?,
                    self.counter_update(&pk, -1)?,
                    self.display_name_update(&pk, &previous.doc.display_name_key(), vec![previous.id.clone()], false)?,
                ])
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
                            let check = ConditionCheck::builder()
                                .table_name(&self.table)
                                .set_key(Some(primary_key(pk.clone(), user_sk(&user.id))))
                                .condition_expression("#version = :v")
                                .expression_attribute_names("#version", "version")
                                .expression_attribute_values(":v", n(user.version))
                                .build()
                                .map_err(build_error)?;
                            items.push(TransactWriteItem::builder().condition_check(check).build());
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

    async fn set_saml_config(&self, directory: &str, config: &SamlConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.update_directory(directory, "SET #saml = :saml", Some(s(json))).await
    }

    async fn saml_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError> {
        let item = self.get_item(DIRECTORY_PK.into(), directory.into()).await?;
        match item.as_ref().map(|item| get_opt_s(item, "saml")).transpose()?.flatten() {
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|_| corrupt("saml")),
            None => Ok(None),
        }
    }

    async fn clear_saml_config(&self, directory: &str) -> Result<(), StoreError> {
        self.update_directory(directory, "REMOVE #saml", None).await
    }

    async fn sign_in_user(&self, directory: &str, user_name: &str) -> Result<Option<UserRecord>, StoreError> {
        let folded = user_name_key(user_name);
        let Some(claim) = self.get_item(dir_pk(directory), claim_sk(&folded)).await? else {
            return Ok(None);
        };
        let user = user_from_item(&claim)?;
        // Digest-keyed claims: confirm the name itself.
        Ok((user.doc.user_name_key() == folded).then_some(user))
    }

    async fn session_user(&self, directory: &str, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.get_item(dir_pk(directory), user_sk(id)).await?.as_ref().map(user_from_item).transpose()
    }

    async fn remember_saml_request(
        &self,
        directory: &str,
        request_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = primary_key(dir_pk(directory), saml_request_sk(request_id));
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn take_saml_request(&self, directory: &str, request_id: &str, now: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(dir_pk(directory), saml_request_sk(request_id))))
            .condition_expression("attribute_exists(pk) AND #exp > :now")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("DeleteItem", e)),
        }
    }

    async fn record_assertion(
        &self,
        directory: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut item = primary_key(dir_pk(directory), assertion_sk(assertion_id));
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An expired record that TTL has not deleted yet does not count.
            .condition_expression("attribute_not_exists(pk) OR #exp <= :now")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }
}

/// Whether `sort_key` cannot be a DynamoDB key value (empty or over-long): it then names no item.
fn unusable_key(sort_key: &str) -> bool {
    sort_key.is_empty() || sort_key.len() > MAX_SORT_KEY_BYTES
}

// ---------------------------------------------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------------------------------------------

fn key_schema(pairs: &[(&str, KeyType)]) -> Result<Vec<KeySchemaElement>, StoreError> {
    pairs
        .iter()
        .map(|(name, ty)| KeySchemaElement::builder().attribute_name(*name).key_type(ty.clone()).build())
        .collect::<Result<_, _>>()
        .map_err(build_error)
}

/// Whether an existing table has the key schema and index this store needs.
fn check_table_shape(table: &str, description: &TableDescription) -> Result<(), StoreError> {
    let has_key = |elements: &[KeySchemaElement], name: &str, ty: KeyType| {
        elements.iter().any(|e| e.attribute_name() == name && *e.key_type() == ty)
    };
    let keys = description.key_schema();
    if !(has_key(keys, "pk", KeyType::Hash) && has_key(keys, "sk", KeyType::Range)) {
        return Err(StoreError::Backend(format!("table {table} exists but its key schema is not (pk HASH, sk RANGE)")));
    }
    let lsi_ok = description.local_secondary_indexes().iter().any(|lsi| {
        lsi.index_name() == Some(EXTERNAL_ID_INDEX)
            && has_key(lsi.key_schema(), "pk", KeyType::Hash)
            && has_key(lsi.key_schema(), "extKey", KeyType::Range)
    });
    if !lsi_ok {
        return Err(StoreError::Backend(format!(
            "table {table} exists without the local secondary index {EXTERNAL_ID_INDEX} (pk, extKey); \
             LSIs can only be defined when a table is created, so recreate the table"
        )));
    }
    Ok(())
}

async fn sleep_for(client: &Client, duration: Duration) -> Result<(), StoreError> {
    let sleep = client.config().sleep_impl().ok_or_else(|| StoreError::Backend("no async sleep configured".into()))?;
    sleep.sleep(duration).await;
    Ok(())
}

async fn wait_active(client: &Client, table: &str) -> Result<TableDescription, StoreError> {
    let interval = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        let out = client.describe_table().table_name(table).send().await.map_err(|e| sdk_error("DescribeTable", e))?;
        if let Some(description) = out.table {
            if description.table_status() == Some(&TableStatus::Active) {
                return Ok(description);
            }
        }
        if waited >= TABLE_ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable(format!(
                "table {table} did not become ACTIVE within {}s",
                TABLE_ACTIVE_TIMEOUT.as_secs()
            )));
        }
        sleep_for(client, interval).await?;
        waited += interval;
    }
}

/// Creates the table as `template.yaml` defines it (on-demand billing, `pk`/`sk` string keys, the LSI
/// [`EXTERNAL_ID_INDEX`] on `extKey` with projection ALL, server-side encryption, deletion protection), waits
/// until it is ACTIVE, then enables TTL on [`TTL_ATTRIBUTE`] and point-in-time recovery.
///
/// Returns `Ok(false)` without changing anything if the table already exists (after checking it has the key schema
/// and index this store needs: an LSI cannot be added later).
pub async fn bootstrap_table(client: &Client, table: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(table).send().await {
        Ok(out) => {
            let description = match out.table {
                Some(d) if d.table_status() == Some(&TableStatus::Creating) => wait_active(client, table).await?,
                Some(d) => d,
                None => {
                    return Err(StoreError::Backend(format!("DescribeTable {table}: empty answer")));
                }
            };
            check_table_shape(table, &description)?;
            return Ok(false);
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(e) => return Err(sdk_error("DescribeTable", e)),
    }

    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let lsi = LocalSecondaryIndex::builder()
        .index_name(EXTERNAL_ID_INDEX)
        .set_key_schema(Some(key_schema(&[("pk", KeyType::Hash), ("extKey", KeyType::Range)])?))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build_error)?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("extKey")?)
        .set_key_schema(Some(key_schema(&[("pk", KeyType::Hash), ("sk", KeyType::Range)])?))
        .local_secondary_indexes(lsi)
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .deletion_protection_enabled(true)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Created concurrently by someone else: theirs to configure.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            let description = wait_active(client, table).await?;
            check_table_shape(table, &description)?;
            return Ok(false);
        }
        Err(e) => return Err(sdk_error("CreateTable", e)),
    }
    wait_active(client, table).await?;

    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("UpdateTimeToLive", e))?;

    // Right after creation AWS may answer ContinuousBackupsUnavailableException for a while.
    let pitr = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(build_error)?;
    for attempt in 1..=PITR_ATTEMPTS {
        let result = client
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(pitr.clone())
            .send()
            .await;
        match result {
            Ok(_) => break,
            Err(e)
                if attempt < PITR_ATTEMPTS
                    && e.as_service_error().is_some_and(|e| e.is_continuous_backups_unavailable_exception()) =>
            {
                sleep_for(client, Duration::from_secs(3)).await?;
            }
            Err(e) => return Err(sdk_error("UpdateContinuousBackups", e)),
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------------------------

/// Creates the secret `secret_id` (the pepper, or the session-signing key) with a fresh random value
/// ([`Pepper::generate_text`]) unless it exists. Returns whether it was created.
pub async fn bootstrap_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    description: &str,
) -> Result<bool, StoreError> {
    match client.describe_secret().secret_id(secret_id).send().await {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(e) => return Err(sdk_error("DescribeSecret", e)),
    }
    let created = client
        .create_secret()
        .name(secret_id)
        .description(description)
        .secret_string(Pepper::generate_text())
        .send()
        .await;
    match created {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => Ok(false),
        Err(e) => Err(sdk_error("CreateSecret", e)),
    }
}

/// Reads the pepper: the bytes of the secret's `SecretString`.
pub async fn load_pepper(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<Pepper, StoreError> {
    let text = load_secret_text(client, secret_id).await?;
    Pepper::new(text.into_bytes())
        .map_err(|_| StoreError::Backend(format!("secret {secret_id} is too short to be a pepper (32 bytes minimum)")))
}

/// Reads a secret's `SecretString`.
pub async fn load_secret_text(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<String, StoreError> {
    let out =
        client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| sdk_error("GetSecretValue", e))?;
    out.secret_string.ok_or_else(|| StoreError::Backend(format!("secret {secret_id} has no SecretString")))
}

#[cfg(test)]
mod tests {
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
}
